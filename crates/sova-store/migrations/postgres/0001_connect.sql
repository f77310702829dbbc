-- Connect API foundation: operators, customers, credentials, users, tokens, wallets, addresses, deposits, ledger.
-- Times are Unix milliseconds (BIGINT); amounts are canonical decimal strings; ids are UUID text.

CREATE TABLE operators (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE customers (
    seq          BIGSERIAL PRIMARY KEY,
    customer_id  TEXT NOT NULL UNIQUE,
    email        TEXT NOT NULL,
    entity_name  TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE credentials (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    customer_id  TEXT NOT NULL REFERENCES customers(customer_id),
    name         TEXT,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at   BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX credentials_customer ON credentials(customer_id, seq);

CREATE TABLE users (
    seq           BIGSERIAL PRIMARY KEY,
    user_id       TEXT NOT NULL UNIQUE,
    customer_id   TEXT NOT NULL REFERENCES customers(customer_id),
    user_type     TEXT NOT NULL,
    email         TEXT NOT NULL,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    phone         TEXT,
    date_of_birth TEXT,
    country       TEXT,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX users_customer ON users(customer_id, seq);

CREATE TABLE user_tokens (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(user_id),
    customer_id  TEXT NOT NULL REFERENCES customers(customer_id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE wallets (
    seq          BIGSERIAL PRIMARY KEY,
    wallet_id    TEXT NOT NULL UNIQUE,
    customer_id  TEXT NOT NULL REFERENCES customers(customer_id),
    user_id      TEXT NOT NULL REFERENCES users(user_id),
    name         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX wallets_customer ON wallets(customer_id, seq);
CREATE INDEX wallets_user ON wallets(user_id, seq);

CREATE TABLE derivation_counters (
    family     TEXT PRIMARY KEY,
    next_index BIGINT NOT NULL
);

CREATE TABLE addresses (
    seq              BIGSERIAL PRIMARY KEY,
    address_id       TEXT NOT NULL UNIQUE,
    wallet_id        TEXT NOT NULL REFERENCES wallets(wallet_id),
    customer_id      TEXT NOT NULL REFERENCES customers(customer_id),
    user_id          TEXT NOT NULL,
    currency         TEXT NOT NULL,
    network          TEXT NOT NULL,
    address          TEXT NOT NULL,
    family           TEXT NOT NULL,
    derivation_index BIGINT NOT NULL,
    derivation_path  TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (network, address, currency),
    UNIQUE (family, derivation_index)
);
CREATE INDEX addresses_wallet ON addresses(wallet_id, seq);
CREATE INDEX addresses_customer ON addresses(customer_id, seq);

CREATE TABLE deposits (
    seq          BIGSERIAL PRIMARY KEY,
    deposit_id   TEXT NOT NULL UNIQUE,
    wallet_id    TEXT NOT NULL REFERENCES wallets(wallet_id),
    customer_id  TEXT NOT NULL REFERENCES customers(customer_id),
    address_id   TEXT NOT NULL REFERENCES addresses(address_id),
    address      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    network      TEXT NOT NULL,
    amount       TEXT NOT NULL,
    status       TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    sandbox      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX deposits_wallet ON deposits(wallet_id, seq);
CREATE INDEX deposits_customer ON deposits(customer_id, seq);

-- Double-entry ledger: every transaction's entries sum to zero per currency.
CREATE TABLE ledger_accounts (
    account    TEXT PRIMARY KEY,
    currency   TEXT NOT NULL,
    balance    TEXT NOT NULL,
    may_go_negative BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ledger_transactions (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    reference  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (kind, reference)
);

CREATE TABLE ledger_entries (
    seq        BIGSERIAL PRIMARY KEY,
    txn_id     TEXT NOT NULL REFERENCES ledger_transactions(id),
    account    TEXT NOT NULL REFERENCES ledger_accounts(account),
    currency   TEXT NOT NULL,
    amount     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries(account, seq);
