-- Second factors (TOTP with recovery codes), what the sessions page shows, and where a
-- client wants back-channel logout tokens.

CREATE TABLE totp_factors (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    -- The shared secret, sealed with the master key (AES-256-GCM).
    sealed_secret BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    -- RFC 6238 §5.2: a time step is accepted once; only later steps may follow.
    last_used_step BIGINT NOT NULL DEFAULT 0,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (customer_id, code_hash)
);

ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN persistent BIGINT NOT NULL DEFAULT 0;

ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
