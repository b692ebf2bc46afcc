//! Rotating signing keys. `rotate` adds a `next` key that is published at once and signs once
//! its lead time has passed (OpenID Connect Core §10.1.1: "the JWK Set … can contain multiple
//! keys … the signer can begin using a new key at its discretion and signals the change to
//! the verifier using the kid value"; relying parties that cache the JWKS must have seen the
//! key before a token names it). `revoke` withdraws a key at once (a breach): when it was the
//! current key, its waiting successor (or a new key) signs from that moment. Every change is
//! audited and reloads this node's ring; other nodes reload within the cache TTL.

use super::ring::{self, new_key, times};
use crate::crypto::keys::Alg;
use crate::crypto::ring::{KeyState, KeyTimes, standings};
use crate::ephemeral::changes::ConfigChange;
use crate::error::{Error, Result};
use crate::events::audit::{self, Caller};
use crate::state::AppState;
use crate::store::{SigningKeyRecord, Store};
use serde::Serialize;
use serde_json::json;

/// A signing key as `tessera keys list` and the admin API show it (never key material).
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub kid: String,
    pub alg: &'static str,
    pub state: KeyState,
    pub created_at: i64,
    pub activates_at: i64,
    /// When it stops (or stopped) signing, once a successor exists.
    pub retires_at: Option<i64>,
    /// When it leaves the JWKS after retiring (every token it signed has expired).
    pub unpublished_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn views(records: &[SigningKeyRecord], retain: i64, now: i64) -> Vec<KeyView> {
    let all: Vec<KeyTimes> = records.iter().filter_map(times).collect();
    all.iter()
        .zip(standings(&all, retain, now))
        .map(|(t, s)| KeyView {
            kid: t.kid.clone(),
            alg: t.alg.as_str(),
            state: s.state,
            created_at: t.created_at,
            activates_at: t.activates_at,
            retires_at: s.retires_at,
            unpublished_at: s.retires_at.filter(|_| s.state != KeyState::Revoked).map(|r| r + retain),
            revoked_at: t.revoked_at,
        })
        .collect()
}

/// Every key with its state at `now`, newest first.
pub async fn list(state: &AppState, now: i64) -> Result<Vec<KeyView>> {
    Ok(views(&state.store.signing_keys().await?, ring::retain_ms(&state.config), now))
}

/// Add a `next` key for `alg` (every algorithm when `None`) that signs after `lead_ms`
/// (default `key_rotation_lead_secs`). Returns the new keys.
pub async fn rotate(
    state: &AppState,
    by: Caller<'_>,
    alg: Option<Alg>,
    lead_ms: Option<i64>,
    now: i64,
) -> Result<Vec<KeyView>> {
    let lead = lead_ms.unwrap_or(state.config.key_rotation_lead_secs * 1000);
    if lead < 0 {
        return Err(Error::bad_input("the lead time cannot be negative"));
    }
    let algs = alg.map(|a| vec![a]).unwrap_or_else(|| Alg::ALL.to_vec());
    let mut tx = state.store.begin().await?;
    let mut added = Vec::new();
    for alg in algs {
        let record = new_key(&state.master_key, alg, now, now + lead)?;
        Store::insert_signing_key_in(&mut tx, &record).await?;
        let detail = json!({ "alg": alg.as_str(), "activates_at": record.activates_at });
        audit::record_in(&mut tx, by.entry("keys.rotated", Some(&record.kid)).detail(detail), now).await?;
        added.push(record);
    }
    tx.commit().await?;
    ring::reload(state).await?;
    state.ephemeral.announce(ConfigChange::Keys).await;
    tracing::info!(keys = added.len(), lead_ms = lead, "signing keys rotated");
    Ok(views(&added, ring::retain_ms(&state.config), now))
}

/// Withdraw key `kid` at once. When it was the current key of its algorithm, the waiting
/// successor (else a new key) signs from now. Returns the keys changed or added.
pub async fn revoke(state: &AppState, by: Caller<'_>, kid: &str, now: i64) -> Result<Vec<KeyView>> {
    let records = state.store.signing_keys().await?;
    let all: Vec<KeyTimes> = records.iter().filter_map(times).collect();
    let states = standings(&all, ring::retain_ms(&state.config), now);
    let (target, standing) = all.iter().zip(&states).find(|(t, _)| t.kid == kid).ok_or(Error::NotFound)?;
    let mut tx = state.store.begin().await?;
    if !Store::revoke_signing_key_in(&mut tx, kid, now).await? {
        return Err(Error::bad_input("this key is already revoked"));
    }
    let mut changed = vec![kid.to_string()];
    let mut added = Vec::new();
    if standing.state == KeyState::Current {
        // The successor: the next unrevoked key of the algorithm in activation order.
        let successor = all
            .iter()
            .zip(&states)
            .filter(|(t, s)| t.alg == target.alg && s.state == KeyState::Next)
            .min_by_key(|(t, _)| (t.activates_at, t.created_at, t.kid.clone()))
            .map(|(t, _)| t.kid.clone());
        match successor {
            Some(next) => {
                Store::activate_signing_key_in(&mut tx, &next, now).await?;
                changed.push(next);
            }
            None => {
                let record = new_key(&state.master_key, target.alg, now, now)?;
                Store::insert_signing_key_in(&mut tx, &record).await?;
                changed.push(record.kid.clone());
                added.push(record);
            }
        }
    }
    let detail = json!({ "alg": target.alg.as_str(), "was": standing.state.as_str(), "signing_now": changed.get(1) });
    audit::record_in(&mut tx, by.entry("keys.revoked", Some(kid)).detail(detail), now).await?;
    tx.commit().await?;
    ring::reload(state).await?;
    state.ephemeral.announce(ConfigChange::Keys).await;
    tracing::warn!(kid, "signing key revoked");
    let records = state.store.signing_keys().await?;
    let all = views(&records, ring::retain_ms(&state.config), now);
    Ok(all.into_iter().filter(|v| changed.contains(&v.kid)).collect())
}

/// The schedule (`key_rotation_days`, run by the worker on every node): an algorithm whose
/// newest key is older than that gets a `next` key with the configured lead time. Returns
/// how many this call added. Several nodes run it at the same moment: each scheduled key is
/// inserted as the one successor of the key it replaces, so when two nodes find the same
/// key due, the store takes one insert and the other adds nothing (and audits nothing).
pub async fn rotate_due(state: &AppState, now: i64) -> Result<usize> {
    let days = state.config.key_rotation_days;
    if days <= 0 {
        return Ok(0);
    }
    let records = state.store.signing_keys().await?;
    let lead = state.config.key_rotation_lead_secs * 1000;
    let mut added = 0;
    for alg in Alg::ALL {
        // Newest first (`signing_keys` orders by creation).
        let mut of_alg = records.iter().filter(|r| Alg::parse(&r.alg) == Some(alg));
        if of_alg.clone().find(|r| r.revoked_at.is_none()).is_some_and(|r| r.created_at + days * 86_400_000 > now) {
            continue;
        }
        // The slot every node names alike: the newest key of the algorithm, revoked or not
        // (a revoked scheduled key does not block the next one).
        let succeeds = of_alg.next().map_or_else(|| alg.as_str().to_string(), |r| r.kid.clone());
        let record = new_key(&state.master_key, alg, now, now + lead)?;
        let mut tx = state.store.begin().await?;
        if !Store::insert_scheduled_signing_key_in(&mut tx, &record, &succeeds).await? {
            tracing::debug!(alg = alg.as_str(), "another node rotated this key on schedule");
            continue;
        }
        let detail = json!({ "alg": alg.as_str(), "activates_at": record.activates_at, "succeeds": succeeds });
        let by = Caller { actor: audit::Actor::System, from: None };
        audit::record_in(&mut tx, by.entry("keys.rotated", Some(&record.kid)).detail(detail), now).await?;
        tx.commit().await?;
        added += 1;
    }
    if added > 0 {
        ring::reload(state).await?;
        state.ephemeral.announce(ConfigChange::Keys).await;
    }
    Ok(added)
}
