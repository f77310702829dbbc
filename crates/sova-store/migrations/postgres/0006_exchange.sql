-- Exchange (seed 002): accounts by master address, the API-key registry, nonce sets, and the engine's event log.

-- Account ids are numbers (the vendor's `accountID`/`aid`); a master account has master_id NULL, a sub-account
-- the id of its master. 999 is the vendor's treasury id and 0 the fee account: ids start at 1001.
CREATE TABLE ex_accounts (
    account_id BIGINT PRIMARY KEY,
    address    TEXT NOT NULL,
    master_id  BIGINT,
    label      TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ex_accounts_one_master ON ex_accounts (address) WHERE master_id IS NULL;
CREATE INDEX ex_accounts_by_master ON ex_accounts (master_id);

-- API keys of a master account (address lower-case 0x hex). A revoked key's row is deleted.
CREATE TABLE ex_api_keys (
    master     TEXT NOT NULL,
    name       TEXT NOT NULL,
    key_type   BIGINT NOT NULL,
    public_key TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (master, name)
);

-- The 100 highest accepted nonces per (signer, domain) scope (`spot:0xabc...`): a nonce is inserted when accepted
-- and deleted when it drops out of its scope's 100 highest. The primary key refuses a second acceptance.
CREATE TABLE ex_nonces (
    scope TEXT NOT NULL,
    nonce BIGINT NOT NULL,
    PRIMARY KEY (scope, nonce)
);

-- The engine's events, one row per committed group of commands, in sequencer order. Replaying them rebuilds the
-- books and balances exactly.
CREATE TABLE ex_log (
    seq    BIGINT PRIMARY KEY,
    ts     BIGINT NOT NULL,
    events BYTEA NOT NULL
);
