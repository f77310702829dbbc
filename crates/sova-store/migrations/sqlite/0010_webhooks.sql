-- Signed webhooks with an outbox (issue 16): endpoints per customer, events written in the transaction of the
-- change they report, one delivery row per (event, endpoint) that the dispatcher claims, sends and reschedules.
CREATE TABLE webhook_endpoints (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id       TEXT NOT NULL UNIQUE,
    customer_id       TEXT NOT NULL REFERENCES customers(customer_id),
    url               TEXT NOT NULL,
    description       TEXT,
    -- JSON array of event types; empty = every type.
    event_types       TEXT NOT NULL,
    -- JSON array of {key, value} sent with every delivery.
    headers           TEXT NOT NULL,
    -- The Standard Webhooks secret (whsec_...), sealed; during a rotation the previous one signs too until then.
    secret_sealed     TEXT NOT NULL,
    previous_sealed   TEXT,
    previous_until    BIGINT,
    -- 1 for the vendor's single `POST /customers/{id}/webhooks` target.
    vendor            BIGINT NOT NULL,
    status            TEXT NOT NULL,
    disabled_reason   TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_customer ON webhook_endpoints(customer_id, seq);

CREATE TABLE webhook_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    customer_id  TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX webhook_events_customer ON webhook_events(customer_id, created_at);

CREATE TABLE webhook_deliveries (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     TEXT NOT NULL UNIQUE,
    event_id        TEXT NOT NULL REFERENCES webhook_events(event_id),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(endpoint_id),
    customer_id     TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL,
    response_status BIGINT,
    response_body   TEXT,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, seq);
