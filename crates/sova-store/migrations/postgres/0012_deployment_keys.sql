-- Replicas on one database must derive the same addresses and offer the same x402 keys (issue 14, item 11): the
-- first server to start pins a fingerprint of each key here; a replica whose keys differ refuses to start.
CREATE TABLE deployment_keys (
    name        TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
