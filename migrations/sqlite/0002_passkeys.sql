-- Passkeys (WebAuthn credentials) and the "create a passkey" offer's last showing.
-- The serialised credential holds only public data (public key, counter, flags).

CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    -- base64url of the credential id the authenticator returns; unique across accounts.
    credential_id TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    sign_count INTEGER NOT NULL DEFAULT 0,
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backup_state INTEGER NOT NULL DEFAULT 0,
    user_verified INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX passkeys_customer ON passkeys(customer_id);

ALTER TABLE customers ADD COLUMN passkey_offered_at INTEGER;
