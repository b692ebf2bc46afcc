//! The consent ledger: every grant and withdrawal, append-only, as proof. An entry names the
//! customer, the client, the item (`scope:email`, `purpose:marketing.email`,
//! `policy:privacy`), the policy version and the hash of the exact text shown, what was
//! decided, when, through which channel, from which session and address.
//!
//! Threat model: a row edited or deleted in the database afterwards (by a bug, an operator or
//! an intruder with write access but no wish to rewrite everything) must be detectable. Each
//! entry's hash covers its fields and the previous entry's hash (per customer), and a head
//! table holds the last hash of every chain, so an edited, deleted or truncated entry breaks
//! the chain; `verify` names the first broken entry. The hashes are plain SHA-256 so that an
//! exported chain can be checked by anyone, without Tessera's keys.

use crate::crypto::secrets;
use crate::error::Result;
use crate::events::{NewEvent, outbox};
use crate::state::AppState;
use crate::store::{LedgerRecord, PurposeDecisionRecord, Store, Tx};
use serde::Serialize;

pub use super::receipts::{Receipt, export};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Granted,
    Withdrawn,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Granted => "granted",
            Action::Withdrawn => "withdrawn",
        }
    }
}

/// Where a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    ConsentScreen,
    PrivacyCentre,
    Api,
    Admin,
    Guardian,
    /// A consent remembered before the ledger existed.
    Migration,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::ConsentScreen => "consent_screen",
            Channel::PrivacyCentre => "privacy_centre",
            Channel::Api => "api",
            Channel::Admin => "admin",
            Channel::Guardian => "guardian",
            Channel::Migration => "migration",
        }
    }
}

/// One decision about one item, and the policy text it was made on (empty for an item that
/// no policy covers).
#[derive(Debug, Clone)]
pub struct Decision {
    pub client_id: String,
    pub item: String,
    pub policy_id: String,
    pub policy_version: i64,
    pub text_hash: String,
    pub action: Action,
}

/// Where the decisions came from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub channel: Channel,
    pub session_id: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// The hash of an entry: SHA-256 (hex) of the JSON array of the previous hash and every
/// field, in this order. A JSON array leaves no ambiguity about where a field ends.
pub fn entry_hash(e: &LedgerRecord) -> String {
    let fields = serde_json::json!([
        e.prev_hash,
        e.customer_id,
        e.seq,
        e.id,
        e.client_id,
        e.item,
        e.policy_id,
        e.policy_version,
        e.text_hash,
        e.action,
        e.at,
        e.channel,
        e.session_id,
        e.ip
    ]);
    secrets::hash(&fields.to_string())
}

/// Chain `decisions` after the head (`seq`, `hash`).
fn chained(
    customer_id: &str,
    decisions: &[Decision],
    ctx: Context<'_>,
    now: i64,
    seq: i64,
    hash: &str,
) -> Vec<LedgerRecord> {
    let mut prev = hash.to_string();
    let mut out = Vec::with_capacity(decisions.len());
    for (i, d) in decisions.iter().enumerate() {
        let mut e = LedgerRecord {
            customer_id: customer_id.to_string(),
            seq: seq + 1 + i as i64,
            id: format!("cle_{}", secrets::random_id()),
            client_id: d.client_id.clone(),
            item: d.item.clone(),
            policy_id: d.policy_id.clone(),
            policy_version: d.policy_version,
            text_hash: d.text_hash.clone(),
            action: d.action.as_str().to_string(),
            at: now,
            channel: ctx.channel.as_str().to_string(),
            session_id: ctx.session_id.unwrap_or("").to_string(),
            ip: ctx.ip.unwrap_or("").to_string(),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        e.hash = entry_hash(&e);
        prev = e.hash.clone();
        out.push(e);
    }
    out
}

/// Run a unit of work that appends to a ledger chain, up to three times: two appends to one
/// chain at once make the later one fail on the chain's key, and the next try chains after
/// the new head.
pub async fn retrying<T, F, Fut>(mut once: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match once().await {
            Ok(done) => return Ok(done),
            Err(e) if attempt == 2 => return Err(e),
            Err(e) => {
                attempt += 1;
                tracing::info!(error = ?e, attempt, "consent ledger append retried");
            }
        }
    }
}

/// Record decisions for a customer, in one transaction, chained after what is there.
pub async fn record(
    state: &AppState,
    customer_id: &str,
    decisions: &[Decision],
    ctx: Context<'_>,
    now: i64,
) -> Result<Vec<LedgerRecord>> {
    retrying(|| async {
        let mut tx = state.store.begin().await?;
        let entries = record_in(&mut tx, customer_id, &[], decisions, ctx, now).await?;
        tx.commit().await?;
        Ok(entries)
    })
    .await
}

/// Record decisions in the caller's unit of work, with where the customer now stands on
/// purposes (`standing`) and an event per entry (`consent.granted`, `consent.withdrawn`,
/// `policy.accepted`) in the outbox: the change, its proof and its news commit together.
pub async fn record_in(
    tx: &mut Tx,
    customer_id: &str,
    standing: &[PurposeDecisionRecord],
    decisions: &[Decision],
    ctx: Context<'_>,
    now: i64,
) -> Result<Vec<LedgerRecord>> {
    let entries = Store::append_ledger_in(tx, customer_id, standing, |seq, hash| {
        chained(customer_id, decisions, ctx, now, seq, hash)
    })
    .await?;
    for e in &entries {
        let granted = e.action == Action::Granted.as_str();
        let event = NewEvent::consent(
            customer_id,
            granted,
            &e.client_id,
            &e.item,
            (&e.policy_id, e.policy_version),
            &e.channel,
            &e.id,
        );
        outbox::emit_in(tx, event, now).await?;
    }
    Ok(entries)
}

/// The first place a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub customer_id: String,
    /// The entry (seq) where the chain breaks.
    pub seq: i64,
    pub why: String,
}

/// Check one chain against its head; `None` when it is whole.
pub fn check_chain(customer_id: &str, entries: &[LedgerRecord], head: Option<(i64, &str)>) -> Option<Broken> {
    let broken = |seq: i64, why: &str| Some(Broken { customer_id: customer_id.to_string(), seq, why: why.to_string() });
    let mut prev = String::new();
    for (i, e) in entries.iter().enumerate() {
        let expected = i as i64 + 1;
        if e.seq != expected {
            return broken(expected, "this entry is missing (deleted)");
        }
        if e.prev_hash != prev {
            return broken(e.seq, "this entry does not follow the one before it");
        }
        if entry_hash(e) != e.hash {
            return broken(e.seq, "this entry was changed after it was written");
        }
        prev = e.hash.clone();
    }
    let last = entries.len() as i64;
    match head {
        None if last > 0 => broken(last, "the chain has no head (the head row was deleted)"),
        Some((seq, _)) if seq > last => broken(last + 1, "the last entries are missing (deleted)"),
        Some((seq, hash)) if seq != last || hash != prev => broken(last, "the chain does not end where its head says"),
        _ => None,
    }
}

/// Check every customer's chain; returns the broken ones (empty: the ledger is whole) and
/// how many chains were checked.
pub async fn verify(state: &AppState) -> Result<(usize, Vec<Broken>)> {
    let heads = state.store.ledger_heads().await?;
    let mut broken = Vec::new();
    for (customer_id, seq, hash) in &heads {
        let entries = state.store.ledger_of(customer_id).await?;
        let head = (*seq >= 0).then_some((*seq, hash.as_str()));
        if let Some(b) = check_chain(customer_id, &entries, head) {
            broken.push(b);
        }
    }
    Ok((heads.len(), broken))
}

/// Consents remembered before the ledger existed become entries (channel `migration`, one
/// per scope, at the time they were given). Runs at start; does nothing the second time.
pub async fn backfill(state: &AppState) -> Result<usize> {
    let mut count = 0;
    for (customer_id, client_id, scope, granted_at) in state.store.consents_without_ledger().await? {
        let decisions: Vec<Decision> = scope
            .split_whitespace()
            .map(|s| Decision {
                client_id: client_id.clone(),
                item: format!("scope:{s}"),
                policy_id: String::new(),
                policy_version: 0,
                text_hash: String::new(),
                action: Action::Granted,
            })
            .collect();
        let ctx = Context { channel: Channel::Migration, session_id: None, ip: None };
        count += record(state, &customer_id, &decisions, ctx, granted_at).await?.len();
    }
    if count > 0 {
        tracing::info!(entries = count, "remembered consents recorded in the consent ledger");
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<LedgerRecord> {
        let decisions: Vec<Decision> = (0..n)
            .map(|i| Decision {
                client_id: "app".into(),
                item: format!("purpose:p{i}"),
                policy_id: "privacy".into(),
                policy_version: 2,
                text_hash: "ab".into(),
                action: Action::Granted,
            })
            .collect();
        let ctx = Context { channel: Channel::ConsentScreen, session_id: Some("s1"), ip: Some("192.0.2.1") };
        chained("c1", &decisions, ctx, 1_000, 0, "")
    }

    #[test]
    fn a_whole_chain_checks_and_every_kind_of_tampering_is_named() {
        let entries = chain(3);
        let head = |e: &[LedgerRecord]| e.last().map(|l| (l.seq, l.hash.clone()));
        let h = head(&entries).unwrap();
        assert_eq!(check_chain("c1", &entries, Some((h.0, &h.1))), None);

        let mut edited = entries.clone();
        edited[1].action = "withdrawn".into();
        assert_eq!(check_chain("c1", &edited, Some((h.0, &h.1))).unwrap().seq, 2);

        let mut rehashed = edited.clone();
        rehashed[1].hash = entry_hash(&rehashed[1]);
        assert_eq!(check_chain("c1", &rehashed, Some((h.0, &h.1))).unwrap().seq, 3, "the next entry no longer follows");

        let deleted: Vec<LedgerRecord> = vec![entries[0].clone(), entries[2].clone()];
        assert_eq!(check_chain("c1", &deleted, Some((h.0, &h.1))).unwrap().seq, 2);

        let truncated = &entries[..2];
        assert_eq!(check_chain("c1", truncated, Some((h.0, &h.1))).unwrap().seq, 3);
        assert!(check_chain("c1", &entries, None).is_some(), "a deleted head");
    }

    #[test]
    fn entries_chain_after_an_existing_head() {
        let first = chain(1);
        let decisions = [Decision {
            client_id: "app".into(),
            item: "purpose:p0".into(),
            policy_id: "privacy".into(),
            policy_version: 2,
            text_hash: "ab".into(),
            action: Action::Withdrawn,
        }];
        let ctx = Context { channel: Channel::Api, session_id: None, ip: None };
        let next = chained("c1", &decisions, ctx, 2_000, 1, &first[0].hash);
        assert_eq!((next[0].seq, next[0].prev_hash.as_str()), (2, first[0].hash.as_str()));
        let all = [first, next].concat();
        assert_eq!(check_chain("c1", &all, Some((2, &all[1].hash))), None);
    }
}
