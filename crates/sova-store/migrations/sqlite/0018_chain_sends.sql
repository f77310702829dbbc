-- EVM withdrawals sent for real (issue 18): the hot wallet's next nonce per network (taken in the transaction that
-- stores the signed transaction, so a restart or two withdrawals at once never reuse or skip one), and every signed
-- version of a withdrawal's transaction (a replacement is a new row with the same nonce).
CREATE TABLE chain_nonces (
    network    TEXT NOT NULL,
    sender     TEXT NOT NULL,
    next_nonce BIGINT NOT NULL,
    PRIMARY KEY (network, sender)
);

CREATE TABLE chain_sends (
    seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
    withdrawal_id            TEXT NOT NULL,
    network                  TEXT NOT NULL,
    sender                   TEXT NOT NULL,
    nonce                    BIGINT NOT NULL,
    tx_hash                  TEXT NOT NULL UNIQUE,
    raw_tx                   TEXT NOT NULL,
    max_fee_per_gas          TEXT NOT NULL,
    max_priority_fee_per_gas TEXT NOT NULL,
    created_at               BIGINT NOT NULL
);
CREATE INDEX chain_sends_withdrawal ON chain_sends(withdrawal_id, seq);
CREATE INDEX withdrawals_network_step ON withdrawals(network, sub_status);
