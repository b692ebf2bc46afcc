-- Social login: connectors to upstream providers, configured by admins, and the upstream
-- identities linked to customers.

CREATE TABLE connectors (
    -- A short slug, e.g. "google"; it appears in URLs.
    id TEXT PRIMARY KEY,
    -- oidc | oauth2 | google | microsoft | apple | github | facebook
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    icon TEXT NOT NULL DEFAULT '',
    position BIGINT NOT NULL DEFAULT 0,
    enabled BIGINT NOT NULL DEFAULT 1,
    -- OpenID Connect issuer (discovery); empty for plain OAuth 2.0.
    issuer TEXT NOT NULL DEFAULT '',
    authorization_endpoint TEXT NOT NULL DEFAULT '',
    token_endpoint TEXT NOT NULL DEFAULT '',
    userinfo_endpoint TEXT NOT NULL DEFAULT '',
    client_id TEXT NOT NULL,
    -- The client secret (or Apple's private key), sealed with the master key; write-only.
    sealed_secret BYTEA,
    scopes TEXT NOT NULL DEFAULT '',
    -- JSON: which upstream claim is the subject, email, email_verified, name.
    claim_mapping TEXT NOT NULL DEFAULT '{}',
    -- Trust this provider's verified emails to link existing accounts without proof.
    authoritative_email BIGINT NOT NULL DEFAULT 0,
    acr TEXT NOT NULL DEFAULT '',
    -- JSON: preset settings (Microsoft tenant, Apple team and key id).
    settings TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE federated_identities (
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    email TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    PRIMARY KEY (connector_id, subject)
);
CREATE INDEX federated_identities_customer ON federated_identities(customer_id);
