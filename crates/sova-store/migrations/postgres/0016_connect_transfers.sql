-- Connect transfers between wallets (issue 17): held at creation, moved on confirmation with a one-time code.
CREATE TABLE connect_transfers (
    seq                   BIGSERIAL PRIMARY KEY,
    transfer_id           TEXT NOT NULL UNIQUE,
    customer_id           TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    source_wallet_id      TEXT NOT NULL,
    destination_wallet_id TEXT NOT NULL,
    transfer_type         TEXT NOT NULL,
    purpose               TEXT NOT NULL,
    description           TEXT NOT NULL,
    currency              TEXT NOT NULL,
    amount                TEXT NOT NULL,
    status                TEXT NOT NULL,
    code_hash             TEXT,
    code_expires_at       BIGINT,
    code_tries            BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    completed_at          BIGINT
);
CREATE INDEX connect_transfers_customer ON connect_transfers(customer_id, seq);
CREATE INDEX connect_transfers_source ON connect_transfers(source_wallet_id, seq);
CREATE INDEX connect_transfers_destination ON connect_transfers(destination_wallet_id, seq);
