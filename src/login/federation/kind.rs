//! The kinds of connector Tessera knows: generic OpenID Connect and OAuth 2.0, and the
//! presets of well-known providers. One enum, so that a misspelt kind is a compile error
//! rather than a provider silently treated as another.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    /// Any OpenID Connect provider (discovery from its issuer).
    Oidc,
    /// Any OAuth 2.0 provider with a userinfo endpoint (no ID token).
    Oauth2,
    Google,
    Microsoft,
    Apple,
    Github,
    Facebook,
}

impl ConnectorKind {
    pub const ALL: [ConnectorKind; 7] = [
        ConnectorKind::Oidc,
        ConnectorKind::Oauth2,
        ConnectorKind::Google,
        ConnectorKind::Microsoft,
        ConnectorKind::Apple,
        ConnectorKind::Github,
        ConnectorKind::Facebook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Oidc => "oidc",
            ConnectorKind::Oauth2 => "oauth2",
            ConnectorKind::Google => "google",
            ConnectorKind::Microsoft => "microsoft",
            ConnectorKind::Apple => "apple",
            ConnectorKind::Github => "github",
            ConnectorKind::Facebook => "facebook",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectorKind> {
        ConnectorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the kind speaks OpenID Connect (ID tokens) rather than plain OAuth 2.0.
    pub fn is_oidc(self) -> bool {
        matches!(self, ConnectorKind::Oidc | ConnectorKind::Google | ConnectorKind::Microsoft | ConnectorKind::Apple)
    }

    /// The kinds, for messages: "oidc, oauth2, …".
    pub fn list() -> String {
        ConnectorKind::ALL.map(ConnectorKind::as_str).join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in ConnectorKind::ALL {
            assert_eq!(ConnectorKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(ConnectorKind::parse("Google"), None);
        assert!(ConnectorKind::Apple.is_oidc() && !ConnectorKind::Github.is_oidc());
    }
}
