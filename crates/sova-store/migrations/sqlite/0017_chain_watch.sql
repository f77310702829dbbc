-- Chain watching (issue 18): the blocks each network's watcher followed (by hash and parent; a block a reorg took
-- away is marked orphaned, never deleted), the payments to issued addresses seen in them (insert-only: one row per
-- transaction output or log per block it was seen in), and each on-chain deposit's place in the chain.
CREATE TABLE chain_blocks (
    network     TEXT NOT NULL,
    height      BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    parent      TEXT NOT NULL,
    seen_at     BIGINT NOT NULL,
    orphaned_at BIGINT,
    PRIMARY KEY (network, hash)
);
CREATE INDEX chain_blocks_height ON chain_blocks(network, height);

CREATE TABLE chain_observations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    network    TEXT NOT NULL,
    tx_hash    TEXT NOT NULL,
    idx        BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    height     BIGINT NOT NULL,
    address    TEXT NOT NULL,
    currency   TEXT NOT NULL,
    amount     TEXT NOT NULL,
    deposit_id TEXT NOT NULL,
    seen_at    BIGINT NOT NULL,
    UNIQUE (network, tx_hash, idx, block_hash)
);
CREATE INDEX chain_observations_deposit ON chain_observations(deposit_id, seq);

ALTER TABLE deposits ADD COLUMN output_index BIGINT;
ALTER TABLE deposits ADD COLUMN block_hash TEXT;
ALTER TABLE deposits ADD COLUMN block_height BIGINT;
ALTER TABLE deposits ADD COLUMN confirmations BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deposits ADD COLUMN shortfall TEXT;
CREATE UNIQUE INDEX deposits_on_chain ON deposits(network, tx_hash, output_index) WHERE output_index IS NOT NULL;
CREATE INDEX deposits_block ON deposits(network, block_hash);
CREATE INDEX deposits_confirming ON deposits(network, status, block_height);
