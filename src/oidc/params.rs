//! Request parameters as OAuth defines them: each at most once (RFC 6749 §3.1, §3.2), and a
//! parameter sent without a value is treated as omitted.

use crate::error::{Error, Result};
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Params> {
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
    }
}
