//! Request parameters as OAuth defines them: each at most once (RFC 6749 §3.1, §3.2), and a
//! parameter sent without a value is treated as omitted.

use crate::error::{Error, Result};
use std::collections::HashMap;

/// Bounds on what a request may carry, so no caller can make the server parse or keep more:
/// one value (a JWT `id_token_hint` fits), all names and values together, and their count.
pub const MAX_VALUE_LEN: usize = 4096;
pub const MAX_TOTAL_LEN: usize = 16 * 1024;
pub const MAX_PARAMS: usize = 64;

pub fn check_sizes(pairs: &[(String, String)]) -> Result<()> {
    if pairs.len() > MAX_PARAMS {
        return Err(Error::invalid_request("the request has too many parameters"));
    }
    if let Some((name, _)) = pairs.iter().find(|(k, v)| k.len() > 64 || v.len() > MAX_VALUE_LEN) {
        let name: String = name.chars().take(64).collect();
        return Err(Error::invalid_request(format!("the {name} parameter is too long")));
    }
    if pairs.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > MAX_TOTAL_LEN {
        return Err(Error::invalid_request("the request is too large"));
    }
    Ok(())
}

/// `Debug` (below) never prints a secret parameter's value.
#[derive(Default, Clone)]
pub struct Params(HashMap<String, String>);

/// Parameters whose values are credentials (RFC 6749 §2.3.1, §4.1.3, §6; RFC 7636 §4.5;
/// RFC 7009/7662 `token`; RFC 7523 assertions) or personal data (`id_token_hint`, `login_hint`).
const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "access_token",
    "client_assertion",
    "assertion",
    "id_token_hint",
    "login_hint",
];

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort();
        let mut m = f.debug_map();
        for k in keys {
            let v = if SECRET_PARAMS.contains(&k.as_str()) { "[redacted]" } else { self.0[k].as_str() };
            m.entry(k, &v);
        }
        m.finish()
    }
}

impl Params {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Params> {
        check_sizes(&pairs)?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            if map.insert(k, v).is_some() {
                return Err(Error::invalid_request("a parameter was included more than once"));
            }
        }
        Ok(Params(map))
    }

    /// Like `from_pairs`, but keeps the first value of a repeated parameter and names the
    /// repeated ones, so the authorization endpoint can report them once the client and the
    /// redirect URI are trusted (RFC 6749 §4.1.2.1).
    pub fn noting_duplicates(pairs: Vec<(String, String)>) -> (Params, Vec<String>) {
        let mut map: HashMap<String, String> = HashMap::with_capacity(pairs.len());
        let mut repeated = Vec::new();
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            match map.entry(k) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    if !repeated.contains(e.key()) {
                        repeated.push(e.key().clone());
                    }
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        (Params(map), repeated)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &'static str) -> Result<&str> {
        self.get(name).ok_or_else(|| Error::invalid_request(format!("the {name} parameter is missing")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_and_empty_means_absent() {
        let p =
            |v: &[(&str, &str)]| Params::from_pairs(v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect());
        assert!(p(&[("a", "1"), ("a", "2")]).is_err());
        let ok = p(&[("a", "1"), ("b", "")]).unwrap();
        assert_eq!(ok.get("a"), Some("1"));
        assert_eq!(ok.get("b"), None);
        assert!(ok.require("b").is_err());
        assert!(p(&[("a", &"x".repeat(MAX_VALUE_LEN))]).is_ok());
        assert!(p(&[("a", &"x".repeat(MAX_VALUE_LEN + 1))]).is_err());
        let many: Vec<(String, String)> = (0..5).map(|i| (i.to_string(), "x".repeat(4000))).collect();
        assert!(Params::from_pairs(many).is_err(), "the total is bounded");
    }

    #[test]
    fn debug_hides_credentials() {
        let p = Params::from_pairs(vec![
            ("grant_type".into(), "authorization_code".into()),
            ("client_secret".into(), "s3cret-value".into()),
            ("code_verifier".into(), "verifier-value".into()),
        ])
        .unwrap();
        let text = format!("{p:?}");
        assert!(text.contains("authorization_code") && text.contains("client_secret"), "{text}");
        assert!(!text.contains("s3cret-value") && !text.contains("verifier-value"), "{text}");
    }
}
