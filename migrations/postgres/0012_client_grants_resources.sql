-- What each client is registered for (issue #11):
-- grant_types: space-separated OAuth grant types (RFC 6749 §5.2 unauthorized_client otherwise);
-- introspect: 1 for a resource server that may introspect tokens issued to other clients
--   (RFC 7662 §2.2 leaves that decision to the server);
-- resources: JSON array of absolute URIs the client may name as RFC 8707 `resource`;
-- allowed_origins: JSON array of extra web origins for CORS besides its redirect URIs'.
ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN introspect BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
-- Existing clients keep what they could do before: the code flow (and refresh) when they have
-- redirect URIs; client_credentials when confidential with registered scopes. A confidential
-- client without redirect URIs (a machine client, what a resource server is) keeps introspecting
-- other clients' tokens as it could before.
UPDATE clients SET grant_types = TRIM(
    CASE WHEN redirect_uris <> '[]' THEN 'authorization_code refresh_token' ELSE '' END
    || CASE WHEN secret_hash IS NOT NULL AND allowed_scopes <> '' THEN ' client_credentials' ELSE '' END
);
UPDATE clients SET introspect = 1 WHERE secret_hash IS NOT NULL AND redirect_uris = '[]';
-- The RFC 8707 resource a token family's access tokens are for; empty: the issuer.
ALTER TABLE grants ADD COLUMN resource TEXT NOT NULL DEFAULT '';
