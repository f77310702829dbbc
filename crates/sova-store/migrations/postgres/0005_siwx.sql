-- SIWX onboarding (seed 003): tenant signing keys (RFC 9421), seen signature nonces, SIWX customers and their
-- challenges, the account -> Connect user link, and the generic idempotency store.

-- A tenant's (a Connect customer's) RFC 9421 keys. `key_material` is the public key as registered, or for
-- hmac-sha256 the secret encrypted under a key derived from the server key (never the plain secret).
CREATE TABLE httpsig_keys (
    tenant_id    TEXT NOT NULL REFERENCES customers(customer_id),
    keyid        TEXT NOT NULL,
    alg          TEXT NOT NULL,
    key_material TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    PRIMARY KEY (tenant_id, keyid)
);

-- RFC 9421 `nonce`s seen, per key, until the signature could no longer pass the time checks.
CREATE TABLE httpsig_nonces (
    tenant_id  TEXT NOT NULL,
    keyid      TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, keyid, nonce)
);
CREATE INDEX httpsig_nonces_expires ON httpsig_nonces(expires_at);

-- SIWX customers. `challenge` holds the exact text issued (verified byte for byte), NULL once consumed.
CREATE TABLE siwx_customers (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES customers(customer_id),
    external_id          TEXT NOT NULL,
    account              TEXT NOT NULL,
    status               TEXT NOT NULL,
    challenge            TEXT,
    challenge_nonce      TEXT UNIQUE,
    challenge_issued_at  BIGINT,
    challenge_expires_at BIGINT,
    user_id              TEXT,
    verified_at          BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (tenant_id, external_id)
);

-- One Connect user per (tenant, verified CAIP-10 account).
CREATE TABLE siwx_accounts (
    tenant_id  TEXT NOT NULL,
    account    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account)
);

-- Idempotency keys of every surface (scope = surface and tenant), kept 24 h. IN_FLIGHT rows hold a lock
-- (`lock_token` until `locked_until`); COMPLETED rows hold the response to replay.
CREATE TABLE idempotency_keys (
    scope            TEXT NOT NULL,
    idem_key         TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    status           TEXT NOT NULL,
    lock_token       TEXT NOT NULL,
    locked_until     BIGINT NOT NULL,
    response_status  BIGINT,
    response_headers TEXT,
    response_body    TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys(expires_at);
