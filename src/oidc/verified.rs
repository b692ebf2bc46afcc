//! A bounded memory of access tokens whose signature and claims were already checked, so a
//! resource call with a token seen before costs no signature verification (ES256 verify is
//! the largest CPU cost of userinfo and introspection). Revocation, and whether the token's
//! client still exists and holds its scope, are still read from the store on every call (in
//! the same read as the rest), so this memory never keeps a token of a deleted client alive;
//! an entry never outlives its token's `exp`, and it remembers the signing key's `kid`, so a
//! token of a key revoked since is refused at once.

use super::tokens::AccessTokenClaims;
use crate::crypto::secrets;
use std::collections::HashMap;
use std::sync::Mutex;

const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<Vec<u8>, (AccessTokenClaims, String)>>,
}

impl VerifiedTokens {
    /// The claims and the `kid` of the key that signed the token.
    pub fn get(&self, token: &str, now_secs: i64) -> Option<(AccessTokenClaims, String)> {
        let key = secrets::sha256(token.as_bytes());
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&key).filter(|(c, _)| c.exp > now_secs).cloned()
    }

    pub fn put(&self, token: &str, claims: &AccessTokenClaims, kid: &str, now_secs: i64) {
        let key = secrets::sha256(token.as_bytes());
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, (c, _)| c.exp > now_secs);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (claims.clone(), kid.to_string()));
    }
}
