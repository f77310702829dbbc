-- Guards shared by every replica on one database (issue 14, item 9): each Cs-* signature is accepted once
-- anywhere, and each credential's requests are counted in one fixed window across replicas.
CREATE TABLE used_signatures (
    sig        BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_signatures_expiry ON used_signatures (expires_at);

CREATE TABLE rate_windows (
    key        TEXT NOT NULL,
    win        BIGINT NOT NULL,
    used       BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key, win)
);
CREATE INDEX rate_windows_expiry ON rate_windows (expires_at);
