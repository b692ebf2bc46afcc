-- Minors and guardians (issue #13). An age check is required by a purpose or by a client
-- (kind 'purpose' or 'client', with its id); a customer under the age of digital consent
-- for their country needs a guardian's approval for age-checked items.
CREATE TABLE age_checks (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);

-- One approval asked of a guardian: the items (JSON: purpose, policy, version, text hash),
-- the hash of the mail link (the link itself is never stored), the hash of the guardian's
-- address, and where it stands: pending, approved, declined, withdrawn. It outlives the
-- authorization request: the same link lets the guardian withdraw later.
CREATE TABLE guardian_approvals (
    id TEXT PRIMARY KEY,
    link_hash TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    guardian_email_hash TEXT NOT NULL,
    items TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX guardian_approvals_customer ON guardian_approvals (customer_id, client_id);
