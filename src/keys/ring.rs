//! Loading the signing keys from the store into the shared `Keys`: at start (generating a key
//! for any algorithm that has none current), on `reload` (the "keys changed" hook: called
//! after a change in this process, and by whatever tells nodes that keys changed), and when
//! the copy in memory is older than `client_cache_secs` (the fallback that makes a second
//! node see a change made by the CLI without a restart).

use crate::crypto::keys::{Alg, Keys, SigningKey};
use crate::crypto::ring::{KeyState, KeyTimes, StoredKey, standings};
use crate::crypto::sealed::MasterKey;
use crate::state::AppState;
use crate::store::{SigningKeyRecord, Store};
use std::sync::Arc;

/// The AEAD purpose signing keys are sealed for.
pub const SIGNING_KEY_PURPOSE: &str = "signing-key";

/// How long a key stays published after it stopped signing: the longest lifetime of a token
/// it could have signed (ID token or access token).
pub fn retain_ms(config: &crate::Config) -> i64 {
    config.id_token_ttl_secs.max(config.access_token_ttl_secs) * 1000
}

pub fn times(r: &SigningKeyRecord) -> Option<KeyTimes> {
    Some(KeyTimes {
        kid: r.kid.clone(),
        alg: Alg::parse(&r.alg)?,
        created_at: r.created_at,
        activates_at: r.activates_at,
        revoked_at: r.revoked_at,
    })
}

/// A new key of `alg`, sealed, that starts signing at `activates_at`.
pub fn new_key(master: &MasterKey, alg: Alg, now: i64, activates_at: i64) -> anyhow::Result<SigningKeyRecord> {
    let (key, der) = SigningKey::generate(alg)?;
    Ok(SigningKeyRecord {
        kid: key.kid,
        alg: alg.as_str().into(),
        sealed_pkcs8: master.seal(SIGNING_KEY_PURPOSE, &der),
        created_at: now,
        activates_at,
        revoked_at: None,
    })
}

/// The published keys, parsed (reusing keys already parsed in `known`). Revoked and expired
/// keys are not even opened.
async fn published(
    store: &Store,
    master: &MasterKey,
    known: &[StoredKey],
    retain: i64,
    now: i64,
) -> anyhow::Result<(Vec<StoredKey>, Vec<KeyTimes>)> {
    let records = store.signing_keys().await?;
    let (records, all): (Vec<_>, Vec<_>) = records.into_iter().filter_map(|r| times(&r).map(|t| (r, t))).unzip();
    let mut keys = Vec::new();
    for ((record, t), s) in records.into_iter().zip(&all).zip(standings(&all, retain, now)) {
        if !s.state.published() {
            continue;
        }
        let key = match known.iter().find(|k| k.times.kid == record.kid) {
            Some(k) => k.key.clone(),
            None => {
                let der = master.open(SIGNING_KEY_PURPOSE, &record.sealed_pkcs8)?;
                Arc::new(SigningKey::from_pkcs8(record.kid.clone(), t.alg, &der)?)
            }
        };
        keys.push(StoredKey { key, times: t.clone() });
    }
    Ok((keys, all))
}

/// The keys at start; an algorithm without a current key gets one, signing at once.
pub async fn load(store: &Store, master: &MasterKey, config: &crate::Config, now: i64) -> anyhow::Result<Keys> {
    let default_alg = Alg::parse(&config.signing_alg).ok_or_else(|| anyhow::anyhow!("signing_alg"))?;
    let retain = retain_ms(config);
    let (mut keys, all) = published(store, master, &[], retain, now).await?;
    let states = standings(&all, retain, now);
    for alg in Alg::ALL {
        if !all.iter().zip(&states).any(|(t, s)| t.alg == alg && s.state == KeyState::Current) {
            let record = new_key(master, alg, now, now)?;
            store.insert_signing_key(&record).await?;
            tracing::info!(kid = %record.kid, alg = alg.as_str(), "generated a signing key");
            let der = master.open(SIGNING_KEY_PURPOSE, &record.sealed_pkcs8)?;
            let key = Arc::new(SigningKey::from_pkcs8(record.kid.clone(), alg, &der)?);
            keys.push(StoredKey { key, times: times(&record).expect("a known algorithm") });
        }
    }
    Keys::new(keys, default_alg, retain, now)
}

/// The "keys changed" hook: read the keys again and serve them from now on.
pub async fn reload(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let known = state.keys.stored();
    let (keys, _) = published(&state.store, &state.master_key, &known, state.keys.retain_ms(), now).await?;
    state.keys.replace(keys, now)
}

/// Reload when the keys in memory are older than the cache TTL (one reload at a time; the
/// others keep serving the keys they have).
pub async fn reload_if_stale(state: &AppState, now: i64) {
    if now.saturating_sub(state.keys.loaded_at()) < state.config.client_cache_secs * 1000 {
        return;
    }
    let Some(_reloading) = state.keys.begin_reload() else {
        return;
    };
    if let Err(e) = reload(state).await {
        tracing::error!(error = %format!("{e:#}"), "reloading the signing keys failed; serving the ones in memory");
    }
}
