-- Withdrawal policies, approvals and address books (issue 16): the policy version and rule applied and the approvals
-- a withdrawal needs are kept on it; votes are one per approver; address-book entries become usable after a
-- cooling-off period.
ALTER TABLE withdrawals ADD COLUMN policy_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE withdrawals ADD COLUMN policy_rule TEXT;
ALTER TABLE withdrawals ADD COLUMN approvals_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE withdrawals ADD COLUMN approval_expires_at BIGINT;

CREATE TABLE withdrawal_policies (
    seq         BIGSERIAL PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(customer_id),
    version     BIGINT NOT NULL,
    -- The policy document (JSON): rules, default action, cooling-off, approval window.
    document    TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (customer_id, version)
);

CREATE TABLE withdrawal_approvals (
    seq           BIGSERIAL PRIMARY KEY,
    withdrawal_id TEXT NOT NULL REFERENCES withdrawals(withdrawal_id),
    approver      TEXT NOT NULL,
    decision      TEXT NOT NULL,
    reason        TEXT,
    at            BIGINT NOT NULL,
    UNIQUE (withdrawal_id, approver)
);

CREATE TABLE address_book (
    seq         BIGSERIAL PRIMARY KEY,
    entry_id    TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(customer_id),
    user_id     TEXT NOT NULL REFERENCES users(user_id),
    network     TEXT NOT NULL,
    address     TEXT NOT NULL,
    label       TEXT,
    usable_at   BIGINT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX address_book_live ON address_book(user_id, network, address) WHERE status = 'ACTIVE';
CREATE INDEX withdrawals_velocity ON withdrawals(customer_id, currency, created_at);
