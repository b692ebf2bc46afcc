-- Key rotation, master-key rotation and breach readiness (issue #15).
-- A signing key is published from created_at, signs from activates_at (OIDC Core §10.1.1:
-- clients' JWKS caches see it first), stops signing when a newer key of its algorithm
-- activates (then stays published until every token it signed has expired), and is
-- withdrawn at once when revoked_at is set.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;
UPDATE signing_keys SET activates_at = created_at;

-- Secrets of the server itself, sealed with the master key: after a master-key rotation the
-- root of derived keys (pairwise subjects, CSRF and recovery-code hashes) stays the old
-- key's, so nothing derived from it changes.
CREATE TABLE sealed_settings (
    name TEXT PRIMARY KEY,
    sealed_value BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Breach: the next sign-in needs a fresh mail proof (and the account's authenticator app).
ALTER TABLE customers ADD COLUMN reverify_required BIGINT NOT NULL DEFAULT 0;

-- Breach: access tokens of a client (or of every client, '*') issued at or before
-- not_before (ms) are revoked; client_credentials tokens belong to no token family.
CREATE TABLE access_token_cutoffs (
    client_id TEXT PRIMARY KEY,
    not_before BIGINT NOT NULL
);
