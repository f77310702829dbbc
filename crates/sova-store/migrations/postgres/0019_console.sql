-- The operator console (issue 19): its sessions (the cookie's token stored as a keyed hash, with the session's
-- CSRF token; signing out revokes the row, so a copied cookie stops working), and the audit log of every change an
-- operator makes through it.
CREATE TABLE console_sessions (
    token_hash  TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX console_sessions_operator ON console_sessions(operator_id);

CREATE TABLE console_audit (
    seq         BIGSERIAL PRIMARY KEY,
    operator_id TEXT NOT NULL,
    email       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    detail      TEXT,
    at          BIGINT NOT NULL
);
