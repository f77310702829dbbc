-- Connect trading (issue 17): quotes on Sova's own spot book and the orders that take them.
CREATE TABLE connect_quotes (
    quote_id     TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    wallet_id    TEXT NOT NULL,
    pair         TEXT NOT NULL,
    side         TEXT NOT NULL,
    quantity     TEXT NOT NULL,
    amount       TEXT NOT NULL,
    price        TEXT NOT NULL,
    fee          TEXT NOT NULL,
    fee_currency TEXT NOT NULL,
    terms        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    order_id     TEXT
);
CREATE INDEX connect_quotes_expiry ON connect_quotes(expires_at);

CREATE TABLE connect_trades (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id       TEXT NOT NULL UNIQUE,
    quote_id       TEXT NOT NULL UNIQUE,
    customer_id    TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    wallet_id      TEXT NOT NULL,
    pair           TEXT NOT NULL,
    side           TEXT NOT NULL,
    base_currency  TEXT NOT NULL,
    quote_currency TEXT NOT NULL,
    quantity       TEXT NOT NULL,
    amount         TEXT NOT NULL,
    price          TEXT NOT NULL,
    fee            TEXT NOT NULL,
    fee_currency   TEXT NOT NULL,
    held           TEXT NOT NULL,
    status         TEXT NOT NULL,
    reason         TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    completed_at   INTEGER
);
CREATE INDEX connect_trades_customer ON connect_trades(customer_id, seq);
CREATE INDEX connect_trades_wallet ON connect_trades(wallet_id, seq);
CREATE INDEX connect_trades_pending ON connect_trades(status, created_at);
