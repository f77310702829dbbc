-- Wallets as the vendor reference has them (issue 15): a description, a type (`virtual` | `real`), the
-- (network, currency) pairs the wallet was created with (JSON `[{"network","currency"}]`; an address is provisioned
-- for each at creation), several currencies per wallet (ledger accounts `wallet:{id}` for the first currency,
-- `wallet:{id}:{CUR}` for the others), and names unique per user (case-insensitive).
-- An older database with two wallets of one user under the same name stops this migration with a unique-constraint
-- error naming the index: rename one (PATCH /wallets/{id}), then start again.
ALTER TABLE wallets ADD COLUMN description TEXT;
ALTER TABLE wallets ADD COLUMN wallet_type TEXT NOT NULL DEFAULT 'virtual';
ALTER TABLE wallets ADD COLUMN networks TEXT NOT NULL DEFAULT '[]';
CREATE UNIQUE INDEX wallets_user_name ON wallets (user_id, lower(name));
