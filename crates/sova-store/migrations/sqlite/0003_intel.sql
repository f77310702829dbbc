-- Intel API (seed 001): accounts holding credits, operator-issued ak_<hex> keys, usage history, x402 payments.

CREATE TABLE intel_accounts (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL UNIQUE,
    credits    BIGINT NOT NULL CHECK (credits >= 0),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE intel_keys (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES intel_accounts(id),
    key_hash   TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- One row per billed call (cost > 0), refund (cost < 0) or top-up (kind = 'topup').
CREATE TABLE intel_usage (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES intel_accounts(id),
    key_id     TEXT,
    kind       TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    cost       BIGINT NOT NULL,
    balance    BIGINT NOT NULL,
    trace_id   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX intel_usage_key ON intel_usage(key_id, seq);
CREATE INDEX intel_usage_account ON intel_usage(account_id, seq);

-- x402 payments: the replay store (by message hash and by transaction signature, kept 24 h) and the in-flight lock.
CREATE TABLE x402_payments (
    message_hash TEXT PRIMARY KEY,
    tx_signature TEXT NOT NULL UNIQUE,
    payer        TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    network      TEXT NOT NULL,
    resource     TEXT NOT NULL,
    status       TEXT NOT NULL,
    locked_until BIGINT NOT NULL,
    detail       TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX x402_payments_created ON x402_payments(created_at);
