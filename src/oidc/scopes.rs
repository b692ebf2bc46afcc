//! Scopes (RFC 6749 §3.3) and the claims each one releases (OpenID Connect Core §5.4).

use crate::error::{Error, Result};

/// Scopes Tessera understands for people. Others are ignored (OIDC Core §3.1.2.1).
pub const SUPPORTED: &[&str] = &["openid", "email", "profile", "phone", "address", "offline_access"];

/// Claims released per scope (OIDC Core §5.4), also published as `claims_supported`.
pub const EMAIL_CLAIMS: &[&str] = &["email", "email_verified"];
pub const PROFILE_CLAIMS: &[&str] = &["name", "given_name", "family_name", "birthdate", "updated_at"];
pub const PHONE_CLAIMS: &[&str] = &["phone_number", "phone_number_verified"];
pub const ADDRESS_CLAIMS: &[&str] = &["address"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parse a space-delimited scope string; each token must use the RFC 6749 §3.3 characters.
    pub fn parse(s: &str) -> Result<Scopes> {
        let mut out: Vec<String> = Vec::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)) {
                return Err(Error::InvalidScope("a scope contains characters that are not allowed"));
            }
            if !out.iter().any(|t| t == token) {
                out.push(token.to_string());
            }
        }
        Ok(Scopes(out))
    }

    /// Keep only the scopes in `allowed`.
    pub fn retain(mut self, allowed: impl Fn(&str) -> bool) -> Scopes {
        self.0.retain(|s| allowed(s));
        self
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dedupes_and_checks_characters() {
        let s = Scopes::parse("openid  email openid").unwrap();
        assert_eq!(s.to_string(), "openid email");
        assert!(Scopes::parse("open\"id").is_err());
        assert!(Scopes::parse("a\\b").is_err());
        let narrowed = Scopes::parse("openid postal").unwrap().retain(|s| SUPPORTED.contains(&s));
        assert_eq!(narrowed.to_string(), "openid");
        assert!(Scopes::parse("openid").unwrap().is_subset_of(&s));
        assert!(!Scopes::parse("profile").unwrap().is_subset_of(&s));
    }
}
