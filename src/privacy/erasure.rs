//! Erasure (GDPR Art. 17): once a deletion's grace period is over, the worker erases the
//! account and the personal data about it in one unit of work.
//!
//! - Every live session ends, with back-channel logout to the apps that got tokens in it
//!   (OpenID Connect Back-Channel Logout 1.0 §2.5), then the customer row goes, and with it
//!   (ON DELETE CASCADE) sessions, grants and refresh tokens, consents, passkeys, the
//!   authenticator app, recovery codes, linked identities, purpose decisions and notices.
//! - The consent ledger keeps a pseudonymised proof (Art. 7(1) asks us to be able to show
//!   consent; Art. 17(3)(e) lets us keep what that needs): the customer id becomes a keyed
//!   hash (`pseudonym`), the session id and address are blanked, and the chain is hashed
//!   again under the pseudonym, so `tessera consent verify` still checks it. Nobody without
//!   the master key can link the pseudonym to the person.
//! - Audit entries about the customer keep the action and time under the pseudonym, without
//!   address, browser or detail; the privacy requests keep their kind, dates and outcome.
//! - Queued events about the customer are dropped and one `customer.deleted` goes out; once
//!   it (and the back-channel logouts) are delivered, the worker forgets those too.

use super::requests::tell;
use super::{Kind, Status};
use crate::consent::ledger::entry_hash;
use crate::error::Result;
use crate::events::audit::{self, Actor, Entry};
use crate::events::{NewEvent, outbox};
use crate::state::AppState;
use crate::store::{LedgerRecord, PrivacyRequestRecord, Store};

/// The keyed hash that stands for an erased customer.
pub fn pseudonym(state: &AppState, customer_id: &str) -> String {
    format!("anon_{}", state.master_key.keyed_hash("privacy erasure pseudonym", customer_id.as_bytes()))
}

/// The chain again, under `pseudonym`, without session ids or addresses, re-hashed.
pub fn pseudonymised(entries: Vec<LedgerRecord>, pseudonym: &str) -> Vec<LedgerRecord> {
    let mut prev = String::new();
    entries
        .into_iter()
        .map(|e| {
            let mut e = LedgerRecord {
                customer_id: pseudonym.to_string(),
                session_id: String::new(),
                ip: String::new(),
                prev_hash: prev.clone(),
                ..e
            };
            e.hash = entry_hash(&e);
            prev = e.hash.clone();
            e
        })
        .collect()
}

/// Erase every customer whose deletion's grace period is over.
pub async fn erase_due(state: &AppState, now: i64) -> Result<usize> {
    let due = state.store.privacy_requests_to_work(Kind::Deletion.as_str(), Status::InProgress.as_str(), now).await?;
    let mut erased = 0;
    for r in due {
        if erase(state, &r, now).await? {
            erased += 1;
        }
    }
    Ok(erased)
}

async fn erase(state: &AppState, r: &PrivacyRequestRecord, now: i64) -> Result<bool> {
    let id = r.customer_id.as_str();
    let anon = pseudonym(state, id);
    let email = state.store.customer(id).await?.map(|c| c.email);
    let sessions = state.store.sessions_of(id, now).await?;
    let ledger = pseudonymised(state.store.ledger_of(id).await?, &anon);
    let mut tx = state.store.begin().await?;
    // Claimed first: a second worker finds the request no longer in progress.
    if !Store::set_privacy_request_status_in(
        &mut tx,
        &r.id,
        Status::InProgress.as_str(),
        Status::Completed.as_str(),
        Some("erased"),
        now,
    )
    .await?
    {
        return Ok(false);
    }
    for s in &sessions {
        crate::oidc::logout::end_in(state, &mut tx, s, false, now).await?;
    }
    Store::replace_ledger_in(&mut tx, id, &ledger).await?;
    Store::erase_customer_in(&mut tx, id, &anon).await?;
    outbox::emit_in(&mut tx, NewEvent::customer_deleted(id, &r.id), now).await?;
    outbox::emit_in(&mut tx, NewEvent::privacy_request_completed(&anon, &r.id, &r.kind), now).await?;
    let entry = Entry::new(Actor::System, "privacy_request.completed", Some(&anon))
        .detail(serde_json::json!({ "request": r.id, "reason": "erased", "sessions_ended": sessions.len() }));
    audit::record_in(&mut tx, entry, now).await?;
    tx.commit().await?;
    tracing::info!(request = %r.id, "customer erased");
    if let Some(email) = email {
        let paragraphs = [format!(
            "As you asked (reference {}), your account and the personal data we held about you have been deleted.",
            r.id
        )];
        tell(state, &email, "Your account was deleted", &paragraphs, None).await;
    }
    Ok(true)
}
