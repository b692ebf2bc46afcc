-- Issue #10, federation: identities keyed by the provider's issuer and subject (a subject is
-- unique only within its issuer, OpenID Connect Core §5.7), per-connector trust in the
-- provider's amr, and per-connector callbacks (mix-up defence, RFC 9207).

-- RFC 8176 values of the provider's amr passed on after "fed" (space-separated).
ALTER TABLE connectors ADD COLUMN trusted_amr TEXT NOT NULL DEFAULT '';
-- Connectors made before each had its own callback are registered at their provider with
-- the shared /login/federated/callback: they keep it until the admin switches.
ALTER TABLE connectors ADD COLUMN shared_callback INTEGER NOT NULL DEFAULT 0;
UPDATE connectors SET shared_callback = 1;

-- The OpenID issuer, or for plain OAuth 2.0 the origin of the userinfo URL.
ALTER TABLE federated_identities ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
UPDATE federated_identities SET issuer = COALESCE((
    SELECT CASE
        WHEN c.kind IN ('oidc', 'google', 'microsoft', 'apple') THEN c.issuer
        WHEN instr(c.userinfo_endpoint, '://') = 0 THEN ''
        WHEN instr(substr(c.userinfo_endpoint, instr(c.userinfo_endpoint, '://') + 3), '/') = 0 THEN c.userinfo_endpoint
        ELSE substr(c.userinfo_endpoint, 1, instr(c.userinfo_endpoint, '://') + 1
            + instr(substr(c.userinfo_endpoint, instr(c.userinfo_endpoint, '://') + 3), '/'))
    END
    FROM connectors c WHERE c.id = federated_identities.connector_id
), '');
CREATE INDEX federated_identities_issuer_subject ON federated_identities(issuer, subject);
