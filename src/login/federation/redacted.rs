//! `Debug` for the connector types that carry a client secret: every field but the secret,
//! which shows only whether it is set (a `{:?}` in a log line must not leak it).

use super::connectors::{Connector, ConnectorInput};
use std::fmt;

fn shown(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "[redacted]")
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("view", &self.view)
            .field("secret", &shown(&self.secret))
            .field("extra", &self.extra)
            .finish()
    }
}

impl fmt::Debug for ConnectorInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorInput")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("display_name", &self.display_name)
            .field("icon", &self.icon)
            .field("position", &self.position)
            .field("enabled", &self.enabled)
            .field("issuer", &self.issuer)
            .field("authorization_endpoint", &self.authorization_endpoint)
            .field("token_endpoint", &self.token_endpoint)
            .field("userinfo_endpoint", &self.userinfo_endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &shown(&self.client_secret))
            .field("scopes", &self.scopes)
            .field("claim_mapping", &self.claim_mapping)
            .field("authoritative_email", &self.authoritative_email)
            .field("acr", &self.acr)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
