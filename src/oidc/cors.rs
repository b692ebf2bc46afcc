//! Which web origins may call the provider's API from a browser (CORS): the origins of every
//! registered redirect URI (a single-page app calls `/token` from the page it was sent back
//! to), each client's `--allowed-origin`s, and `cors_allowed_origins`. Discovery and the JWKS
//! are public documents, open to any origin. Credentials (cookies) are never allowed
//! cross-origin: these endpoints do not use them, and a wildcard must never come with
//! credentials (Fetch Standard, CORS protocol).

use crate::error::Result;
use crate::state::AppState;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// The allowed origins, rebuilt from the store at most every `client_cache_secs`.
#[derive(Default)]
pub struct Origins {
    cached: RwLock<Option<(i64, Arc<HashSet<String>>)>>,
}

pub use crate::config::origin_of;

impl Origins {
    /// Rebuild from the store at the next request (clients changed).
    pub fn forget(&self) {
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Paths whose answers any origin may read: public, unauthenticated documents.
pub fn is_public_document(path: &str) -> bool {
    matches!(path, "/.well-known/openid-configuration" | "/jwks.json")
}

/// Whether `origin` may call the token, UserInfo, introspection and revocation endpoints.
pub async fn allowed(state: &AppState, origin: &str, now: i64) -> Result<bool> {
    let fresh = {
        let cached = state.cors_origins.cached.read().unwrap_or_else(|e| e.into_inner());
        cached.as_ref().filter(|(until, _)| *until > now).map(|(_, set)| set.clone())
    };
    let set = match fresh {
        Some(set) => set,
        None => {
            let mut set: HashSet<String> =
                state.config.cors_allowed_origins.split_whitespace().map(String::from).collect();
            for client in super::clients::list(&state.store).await? {
                set.extend(client.redirect_uris.iter().filter_map(|u| origin_of(u)));
                set.extend(client.allowed_origins.iter().cloned());
            }
            let set = Arc::new(set);
            let until = now + state.config.client_cache_secs * 1000;
            *state.cors_origins.cached.write().unwrap_or_else(|e| e.into_inner()) = Some((until, set.clone()));
            set
        }
    };
    Ok(set.contains(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(origin_of("https://spa.example/cb?x=1").as_deref(), Some("https://spa.example"));
        assert_eq!(origin_of("http://localhost:3000/cb").as_deref(), Some("http://localhost:3000"));
        assert_eq!(origin_of("https://spa.example:443/cb").as_deref(), Some("https://spa.example"));
        assert_eq!(origin_of("com.example.app:/cb"), None);
    }
}
