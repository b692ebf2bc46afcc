//! The key ring and the lifecycle of signing keys, as pure rules of time. A key is `next`
//! (published in the JWKS, not signing yet: OIDC Core §10.1.1, relying parties' JWKS caches
//! see it before any token names it) until its `activates_at`; `current` (it signs) until a
//! newer key of its algorithm activates; `retired` (still published, signs nothing) until
//! every token it could have signed has expired (`retain_ms` after it stopped signing); then
//! `expired` (gone from the JWKS). A `revoked` key is gone at once and verifies nothing.
//!
//! `Keys` holds the stored keys and a view (`KeyRing`) computed for the current time, rebuilt
//! when the next transition is due or the keys are replaced (`replace`, called by
//! `keys::ring::reload`).

use super::keys::{Alg, SigningKey};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// Where a key is in its life, at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Next,
    Current,
    Retired,
    Expired,
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
            KeyState::Revoked => "revoked",
        }
    }

    /// Published in the JWKS (and so accepted on tokens it signed).
    pub fn published(self) -> bool {
        matches!(self, KeyState::Next | KeyState::Current | KeyState::Retired)
    }
}

/// The times that decide a key's state.
#[derive(Debug, Clone)]
pub struct KeyTimes {
    pub kid: String,
    pub alg: Alg,
    pub created_at: i64,
    pub activates_at: i64,
    pub revoked_at: Option<i64>,
}

/// A key's state at `now`, and when it stops (or stopped) signing, if a successor is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub state: KeyState,
    pub retires_at: Option<i64>,
}

/// The standing of every key (same order as `keys`) at `now`. The successor of a key is the
/// next unrevoked key of its algorithm in activation order; a revoked successor never takes
/// over, so revoking a `next` key leaves the current one signing.
pub fn standings(keys: &[KeyTimes], retain_ms: i64, now: i64) -> Vec<Standing> {
    keys.iter()
        .map(|k| {
            if k.revoked_at.is_some() {
                return Standing { state: KeyState::Revoked, retires_at: None };
            }
            let order = |x: &KeyTimes| (x.activates_at, x.created_at, x.kid.clone());
            let retires_at = keys
                .iter()
                .filter(|o| o.alg == k.alg && o.revoked_at.is_none() && order(o) > order(k))
                .map(|o| o.activates_at)
                .min();
            let state = if k.activates_at > now {
                KeyState::Next
            } else {
                match retires_at {
                    Some(r) if r <= now && r + retain_ms <= now => KeyState::Expired,
                    Some(r) if r <= now => KeyState::Retired,
                    _ => KeyState::Current,
                }
            };
            Standing { state, retires_at }
        })
        .collect()
}

/// When the standing of some key changes next after `now` (`i64::MAX`: never by time alone).
fn next_transition(keys: &[KeyTimes], retain_ms: i64, now: i64) -> i64 {
    let standings = standings(keys, retain_ms, now);
    keys.iter()
        .zip(&standings)
        .flat_map(|(k, s)| [Some(k.activates_at), s.retires_at.map(|r| r + retain_ms)])
        .flatten()
        .filter(|t| *t > now)
        .min()
        .unwrap_or(i64::MAX)
}

/// A stored key, parsed, with its times.
#[derive(Clone)]
pub struct StoredKey {
    pub key: Arc<SigningKey>,
    pub times: KeyTimes,
}

/// The keys as they stand at one moment: what signs, what verifies, the JWKS.
pub struct KeyRing {
    published: Vec<Arc<SigningKey>>,
    current: Vec<Arc<SigningKey>>,
    pub default_alg: Alg,
    jwks: String,
    valid_until: i64,
}

impl KeyRing {
    /// Every key current (no lifecycle): for tests and tools that hold one key per algorithm.
    pub fn new(keys: Vec<SigningKey>, default_alg: Alg) -> anyhow::Result<KeyRing> {
        let stored: Vec<StoredKey> = keys
            .into_iter()
            .map(|k| StoredKey {
                times: KeyTimes { kid: k.kid.clone(), alg: k.alg, created_at: 0, activates_at: 0, revoked_at: None },
                key: Arc::new(k),
            })
            .collect();
        KeyRing::at(&stored, default_alg, 0, 0)
    }

    /// The ring at `now`; every algorithm must have a current key.
    pub fn at(stored: &[StoredKey], default_alg: Alg, retain_ms: i64, now: i64) -> anyhow::Result<KeyRing> {
        let times: Vec<KeyTimes> = stored.iter().map(|s| s.times.clone()).collect();
        let standings = standings(&times, retain_ms, now);
        let published: Vec<Arc<SigningKey>> =
            stored.iter().zip(&standings).filter(|(_, s)| s.state.published()).map(|(k, _)| k.key.clone()).collect();
        let mut current = Vec::new();
        for alg in Alg::ALL {
            let key = stored
                .iter()
                .zip(&standings)
                .find(|(k, s)| k.key.alg == alg && s.state == KeyState::Current)
                .map(|(k, _)| k.key.clone())
                .ok_or_else(|| anyhow::anyhow!("no current {} signing key", alg.as_str()))?;
            current.push(key);
        }
        let jwks = json!({ "keys": published.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() }).to_string();
        let valid_until = next_transition(&times, retain_ms, now);
        Ok(KeyRing { published, current, default_alg, jwks, valid_until })
    }

    /// The key that signs with `alg` now.
    pub fn current(&self, alg: Alg) -> &SigningKey {
        self.current.iter().find(|k| k.alg == alg).expect("KeyRing::at checked every algorithm")
    }

    /// A published key (next, current or retired): the only keys a token may name.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.published.iter().find(|k| k.kid == kid).map(|k| &**k)
    }

    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }
}

/// The stored keys and the ring at the current time, shared by every request.
pub struct Keys {
    pub default_alg: Alg,
    retain_ms: i64,
    held: RwLock<Held>,
    reloading: AtomicBool,
}

/// A reload under way; dropping it lets the next one start.
pub struct Reloading<'a>(&'a AtomicBool);

impl Drop for Reloading<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

struct Held {
    stored: Arc<Vec<StoredKey>>,
    view: Arc<KeyRing>,
    loaded_at: i64,
}

impl Keys {
    /// `retain_ms`: how long a key stays published after it stopped signing (the longest
    /// lifetime of a token it signed).
    pub fn new(stored: Vec<StoredKey>, default_alg: Alg, retain_ms: i64, now: i64) -> anyhow::Result<Keys> {
        let view = Arc::new(KeyRing::at(&stored, default_alg, retain_ms, now)?);
        let held = RwLock::new(Held { stored: Arc::new(stored), view, loaded_at: now });
        Ok(Keys { default_alg, retain_ms, held, reloading: AtomicBool::new(false) })
    }

    /// The ring as it stands at `now` (recomputed only when a key changes state).
    pub fn at(&self, now: i64) -> Arc<KeyRing> {
        {
            let held = self.held.read().unwrap_or_else(|p| p.into_inner());
            if now < held.view.valid_until {
                return held.view.clone();
            }
        }
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        if now >= held.view.valid_until {
            match KeyRing::at(&held.stored, self.default_alg, self.retain_ms, now) {
                Ok(view) => held.view = Arc::new(view),
                Err(e) => tracing::error!(error = %e, "the signing keys cannot serve: keeping the previous ring"),
            }
        }
        held.view.clone()
    }

    /// Replace the stored keys (after a reload from the database); refused, keeping the old
    /// ones, when some algorithm would have no current key.
    pub fn replace(&self, stored: Vec<StoredKey>, now: i64) -> anyhow::Result<()> {
        let view = Arc::new(KeyRing::at(&stored, self.default_alg, self.retain_ms, now)?);
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        *held = Held { stored: Arc::new(stored), view, loaded_at: now };
        Ok(())
    }

    /// The stored keys as last loaded (parsed keys are reused by a reload).
    pub fn stored(&self) -> Arc<Vec<StoredKey>> {
        self.held.read().unwrap_or_else(|p| p.into_inner()).stored.clone()
    }

    pub fn loaded_at(&self) -> i64 {
        self.held.read().unwrap_or_else(|p| p.into_inner()).loaded_at
    }

    /// Another node changed the keys: the next request reloads them (`reload_if_stale`).
    pub fn mark_stale(&self) {
        self.held.write().unwrap_or_else(|p| p.into_inner()).loaded_at = 0;
    }

    /// Start a reload unless one is under way.
    pub fn begin_reload(&self) -> Option<Reloading<'_>> {
        (!self.reloading.swap(true, Ordering::AcqRel)).then_some(Reloading(&self.reloading))
    }

    pub fn retain_ms(&self) -> i64 {
        self.retain_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(kid: &str, activates_at: i64, revoked_at: Option<i64>) -> KeyTimes {
        KeyTimes { kid: kid.into(), alg: Alg::Es256, created_at: activates_at - 10, activates_at, revoked_at }
    }

    #[test]
    fn a_key_is_next_then_current_then_retired_then_gone() {
        let keys = [times("a", 0, None), times("b", 100, None)];
        let at = |now| standings(&keys, 50, now).iter().map(|s| s.state).collect::<Vec<_>>();
        assert_eq!(at(10), [KeyState::Current, KeyState::Next]);
        assert_eq!(at(100), [KeyState::Retired, KeyState::Current]);
        assert_eq!(at(149), [KeyState::Retired, KeyState::Current]);
        assert_eq!(at(150), [KeyState::Expired, KeyState::Current]);
        assert_eq!(standings(&keys, 50, 10)[0].retires_at, Some(100));
        assert_eq!(next_transition(&keys, 50, 10), 100);
        assert_eq!(next_transition(&keys, 50, 100), 150);
    }

    #[test]
    fn a_revoked_successor_never_takes_over() {
        let keys = [times("a", 0, None), times("b", 100, Some(50))];
        let s = standings(&keys, 50, 200);
        assert_eq!((s[0].state, s[1].state), (KeyState::Current, KeyState::Revoked));
    }
}
