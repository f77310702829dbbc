-- Connect withdrawals (issue 16): the two-stage flow (hold, confirmation code, send), every transition an event.
-- Amounts are canonical decimal strings; `total` (amount + fee) is what the hold took from the wallet.
CREATE TABLE withdrawals (
    seq             BIGSERIAL PRIMARY KEY,
    withdrawal_id   TEXT NOT NULL UNIQUE,
    customer_id     TEXT NOT NULL REFERENCES customers(customer_id),
    user_id         TEXT NOT NULL REFERENCES users(user_id),
    wallet_id       TEXT NOT NULL REFERENCES wallets(wallet_id),
    currency        TEXT NOT NULL,
    network         TEXT NOT NULL,
    address         TEXT NOT NULL,
    amount          TEXT NOT NULL,
    fee             TEXT NOT NULL,
    total           TEXT NOT NULL,
    fee_included    BIGINT NOT NULL,
    memo            TEXT,
    status          TEXT NOT NULL,
    sub_status      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    code_hash       TEXT,
    code_expires_at BIGINT,
    code_tries      BIGINT NOT NULL,
    tx_hash         TEXT,
    sandbox         BIGINT NOT NULL,
    initiator       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    completed_at    BIGINT,
    -- A key names one withdrawal of a customer forever: a retried request can never send twice.
    UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX withdrawals_customer ON withdrawals(customer_id, seq);
CREATE INDEX withdrawals_user ON withdrawals(user_id, seq);
CREATE INDEX withdrawals_pending ON withdrawals(status, sub_status, created_at);

CREATE TABLE withdrawal_events (
    seq           BIGSERIAL PRIMARY KEY,
    withdrawal_id TEXT NOT NULL REFERENCES withdrawals(withdrawal_id),
    status        TEXT NOT NULL,
    sub_status    TEXT NOT NULL,
    actor         TEXT NOT NULL,
    detail        TEXT,
    at            BIGINT NOT NULL
);
CREATE INDEX withdrawal_events_withdrawal ON withdrawal_events(withdrawal_id, seq);
