-- Consent as its own model (issue #13): versioned policies, purposes that point to them, the
-- purposes each client may ask for, and the append-only consent ledger.

-- One row per published version of a policy; the text is kept exactly as published and its
-- SHA-256 (hex) is what ledger entries point to.
CREATE TABLE policies (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    summary TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    material INTEGER NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);

-- What the brand may do with a customer's data. data_categories and channels are
-- space-separated words; retired purposes stay for the ledger but are no longer offered.
CREATE TABLE purposes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    notice TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    data_categories TEXT NOT NULL DEFAULT '',
    channels TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    retired_at INTEGER
);

-- The purposes a client is registered for: required (with the reason shown) or optional.
CREATE TABLE client_purposes (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    purpose_id TEXT NOT NULL REFERENCES purposes(id),
    required INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (client_id, purpose_id)
);

-- Every grant and withdrawal, as proof. Append-only: each entry carries the hash of the
-- previous entry of the same customer (seq - 1), and consent_heads the hash of the last one,
-- so an edited, deleted or truncated entry breaks the chain (`tessera consent verify`).
CREATE TABLE consent_ledger (
    customer_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    item TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    text_hash TEXT NOT NULL,
    action TEXT NOT NULL,
    at INTEGER NOT NULL,
    channel TEXT NOT NULL,
    session_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (customer_id, seq)
);
CREATE INDEX consent_ledger_client ON consent_ledger (client_id, customer_id);

CREATE TABLE consent_heads (
    customer_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);

-- Where each customer stands on each purpose an app asked for (the ledger keeps the
-- history): granted 1 or refused 0, and the policy version the decision was made on.
CREATE TABLE purpose_decisions (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    purpose_id TEXT NOT NULL,
    granted INTEGER NOT NULL,
    policy_id TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    decided_at INTEGER NOT NULL,
    PRIMARY KEY (customer_id, client_id, purpose_id)
);
