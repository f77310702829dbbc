-- The vendor reference's user fields and lifecycle (issue 15): role, purpose, the phone as country + national
-- number (beside the E.164 `phone` both shapes fill), the KYC `individual` object (JSON; the id number kept only
-- masked), soft deletion, and email and phone unique among a customer's users that are not deleted.
-- An older database holding two live users of one customer with the same email (case-insensitive) or phone stops
-- this migration with a unique-constraint error naming the index: resolve the duplicates, then start again.
ALTER TABLE users ADD COLUMN account_role TEXT;
ALTER TABLE users ADD COLUMN account_purpose TEXT;
ALTER TABLE users ADD COLUMN phone_country_code TEXT;
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE users ADD COLUMN individual TEXT;
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
CREATE UNIQUE INDEX users_email_unique ON users (customer_id, lower(email)) WHERE status <> 'DELETED';
CREATE UNIQUE INDEX users_phone_unique ON users (customer_id, phone) WHERE phone IS NOT NULL AND status <> 'DELETED';
