//! Revoking sessions and tokens, rotating keys with the old ones withdrawn, and forcing
//! re-verification, each for a scope and each with a dry run.

use super::{Report, Scope, audit};
use crate::crypto::ring::KeyState;
use crate::error::Result;
use crate::events::audit::{Caller, SessionEnd};
use crate::state::AppState;
use crate::store::Store;

/// Sessions ended per transaction.
const BATCH: i64 = 200;

/// End every live session in the scope (with back-channel logout queued) and revoke every
/// token family and access token in it.
pub async fn revoke(state: &AppState, by: Caller<'_>, scope: &Scope, dry_run: bool, now: i64) -> Result<Report> {
    let (customer, client) = scope.parts();
    let counts = state.store.breach_token_counts(customer, client, now).await?;
    let mut report = Report {
        action: "revoke",
        dry_run,
        customers: counts.customers,
        sessions: counts.sessions,
        token_families: counts.token_families,
        ..Report::default()
    };
    if dry_run {
        audit(state, &by, scope, &report, now).await?;
        return Ok(report);
    }
    let mut sessions = 0;
    if client.is_empty() {
        let mut after = String::new();
        loop {
            let page = state.store.breach_sessions(customer, &after, BATCH, now).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            let mut tx = state.store.begin().await?;
            for s in &page {
                crate::oidc::logout::end_in(state, &mut tx, s, false, now).await?;
                let why = SessionEnd { by: by.actor.clone(), reason: "breach", from: None };
                crate::events::audit::session_ended_in(&mut tx, s, why, now).await?;
                sessions += 1;
            }
            tx.commit().await?;
        }
    }
    let mut tx = state.store.begin().await?;
    let families = Store::breach_revoke_grants_in(&mut tx, customer, client, now).await?;
    if customer.is_empty() {
        // Tokens of no family (client_credentials): everything issued up to now.
        Store::set_access_token_cutoff_in(&mut tx, if client.is_empty() { "*" } else { client }, now).await?;
    }
    tx.commit().await?;
    report.sessions = sessions;
    report.token_families = counts.token_families.max(i64::try_from(families).unwrap_or(i64::MAX));
    tracing::warn!(sessions, families, "breach: sessions and tokens revoked");
    audit(state, &by, scope, &report, now).await?;
    Ok(report)
}

/// Withdraw every published signing key at once; a new key of each algorithm signs from now.
/// Tokens they signed stop verifying at once (ID token hints, access tokens).
pub async fn rotate_keys(state: &AppState, by: Caller<'_>, dry_run: bool, now: i64) -> Result<Report> {
    let published: Vec<_> = crate::keys::rotation::list(state, now)
        .await?
        .into_iter()
        .filter(|k| !matches!(k.state, KeyState::Revoked | KeyState::Expired))
        .collect();
    let mut report = Report { action: "rotate_keys", dry_run, keys: published.len() as i64, ..Report::default() };
    if !dry_run {
        // Waiting keys go first, so a revoked current key is replaced by a fresh one, not by a
        // key published before the breach.
        let mut order = published;
        order.sort_by_key(|k| k.state != KeyState::Next);
        for k in &order {
            crate::keys::rotation::revoke(state, Caller { actor: by.actor.clone(), from: by.from }, &k.kid, now)
                .await?;
        }
        report.keys = order.len() as i64;
    }
    audit(state, &by, &Scope::All, &report, now).await?;
    Ok(report)
}

/// The customers in the scope must prove their mailbox afresh at their next sign-in (and
/// pass their authenticator app, when they have one); see `login::finish`.
pub async fn require_reverification(
    state: &AppState,
    by: Caller<'_>,
    scope: &Scope,
    dry_run: bool,
    now: i64,
) -> Result<Report> {
    let (customer, client) = scope.parts();
    let mut report = Report {
        action: "reverify",
        dry_run,
        customers: state.store.breach_customer_count(customer, client).await?,
        ..Report::default()
    };
    if !dry_run {
        let mut tx = state.store.begin().await?;
        let n = Store::require_reverification_in(&mut tx, customer, client).await?;
        tx.commit().await?;
        report.customers = i64::try_from(n).unwrap_or(i64::MAX);
    }
    audit(state, &by, scope, &report, now).await?;
    Ok(report)
}
