//! The privacy work the background worker does each tick: build export archives, erase
//! customers whose grace period is over, remind the privacy contact about overdue and
//! nearly-due requests (at most once a day per request), and enforce retention.
//!
//! Retention (configurable, documented in the README): ended sessions are deleted
//! `session_retention_days` after they ended; accounts that never finished a first sign-in
//! after `unverified_account_retention_days`; audit entries after `audit_retention_days`
//! (`events::audit::prune`); finished back-channel deliveries and the announcements of
//! erasures once delivered.

use super::admin;
use super::deadlines::Flag;
use super::requests::tell;
use super::{erasure, export};
use crate::error::Result;
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;

/// One round of every privacy job; an error in one does not stop the others.
pub async fn run(state: &AppState, now: i64) {
    match export::build_due(state, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(exports = n, "export archives built"),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "building export archives failed"),
    }
    match erasure::erase_due(state, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(customers = n, "customers erased"),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "erasure failed"),
    }
    if let Err(e) = remind_contact(state, now).await {
        tracing::error!(error = %format!("{e:#}"), "reminding the privacy contact failed");
    }
    if retention_due()
        && let Err(e) = retention(state, now).await
    {
        tracing::error!(error = %format!("{e:#}"), "retention failed");
    }
}

/// Retention deletes take the (SQLite) writer: once a minute of real time is enough.
fn retention_due() -> bool {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let Ok(mut last) = LAST.lock() else { return false };
    let due = last.is_none_or(|at| at.elapsed() >= Duration::from_secs(60));
    if due {
        *last = Some(Instant::now());
    }
    due
}

/// Mail `privacy_contact` about each open request that is overdue or due within
/// `privacy_due_soon_days`, at most once a day per request. Returns the mails sent.
pub async fn remind_contact(state: &AppState, now: i64) -> Result<usize> {
    let contact = state.config.privacy_contact.trim();
    if contact.is_empty() {
        return Ok(0);
    }
    let soon = now + state.config.privacy_due_soon_days * DAY_MS;
    let mut sent = 0;
    for r in state.store.privacy_requests_to_flag(soon, now - DAY_MS).await? {
        if !state.store.claim_contact_notice(&r.id, now - DAY_MS, now).await? {
            continue;
        }
        let v = admin::view(state, r, now);
        let when = crate::web::pages::utc_minute(v.deadline);
        let (subject, state_words) = match v.flag {
            Some(Flag::Overdue) => ("Overdue privacy request", format!("was due {when} and is overdue")),
            _ => ("Privacy request due soon", format!("is due {when}")),
        };
        let paragraphs = [
            format!("Privacy request {} ({}, {}) {state_words}.", v.id, v.kind, v.jurisdiction),
            format!("Status: {}. See it with: tessera privacy-requests show {}", v.status, v.id),
        ];
        tell(state, contact, subject, &paragraphs, None).await;
        sent += 1;
    }
    Ok(sent)
}

/// Delete what is past its retention. Returns how many rows went.
pub async fn retention(state: &AppState, now: i64) -> Result<u64> {
    let config = &state.config;
    let sessions = state.store.prune_sessions(now - config.session_retention_days * DAY_MS).await?;
    let unverified =
        state.store.prune_unverified_customers(now - config.unverified_account_retention_days * DAY_MS).await?;
    // An hour for consumers (and whoever looks) to see the announcement went out.
    let announced = state.store.forget_announced_erasures(now - 3_600_000).await?;
    if sessions + unverified > 0 {
        tracing::info!(sessions, unverified, "data past its retention deleted");
    }
    Ok(sessions + unverified + announced)
}
