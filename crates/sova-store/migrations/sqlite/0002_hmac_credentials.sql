-- HMAC (Cs-*) credentials: a public access key, the salt from which the server re-derives the secret key with its
-- server key (the secret itself is never stored), and a keyed hash of the passphrase.
ALTER TABLE credentials ADD COLUMN access_key TEXT;
ALTER TABLE credentials ADD COLUMN hmac_salt TEXT;
ALTER TABLE credentials ADD COLUMN passphrase_hash TEXT;
CREATE UNIQUE INDEX credentials_access_key ON credentials(access_key);
