//! The audit log: every security-relevant action, with who did it (a customer, an admin
//! client, the operator at the CLI, an anonymous browser or Tessera itself), what, to what,
//! when, from which address and browser, and how it ended.
//!
//! Never in it: codes, links, tokens, session secrets, client or TOTP secrets, recovery codes.
//! Targets are ids (a customer id, a client id, a connector id), not email addresses; `detail`
//! holds a few plain facts (a session id, a method, the fields that changed — their names,
//! never their values). Entries are kept for `audit_retention_days`; the worker calls
//! `prune`.

use crate::crypto::secrets;
use crate::state::AppState;
use crate::store::{AuditRecord, Store};
use std::sync::atomic::{AtomicU64, Ordering};

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in customer (the id).
    Customer(String),
    /// An admin API caller (the client id of its access token).
    Client(String),
    /// Whoever runs the `tessera` command on the server.
    Operator,
    /// A browser that is nobody yet (a failed sign-in, a refused request).
    Anonymous,
    /// Tessera itself (an idle session ended, an endpoint disabled).
    System,
}

impl Actor {
    fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            Actor::Customer(id) => ("customer", Some(id)),
            Actor::Client(id) => ("client", Some(id)),
            Actor::Operator => ("operator", None),
            Actor::Anonymous => ("anonymous", None),
            Actor::System => ("system", None),
        }
    }
}

/// How it ended. The reason is a short code such as `wrong_code`, never a value typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    Success,
    Failure(&'a str),
    Refused(&'a str),
}

/// Who makes a change, and from where (an API caller's address and user agent; none at the
/// CLI).
pub struct Caller<'a> {
    pub actor: Actor,
    pub from: Option<crate::session::Browser<'a>>,
}

impl Caller<'_> {
    pub fn operator() -> Caller<'static> {
        Caller { actor: Actor::Operator, from: None }
    }
}

impl<'a> Caller<'a> {
    /// The audit entry of `action` on `target` by this caller, from where it called.
    pub fn entry(&self, action: &'a str, target: Option<&'a str>) -> Entry<'a> {
        let e = Entry::new(self.actor.clone(), action, target);
        match &self.from {
            Some(b) => Entry { ip: Some(b.ip), user_agent: Some(b.user_agent), ..e },
            None => e,
        }
    }
}

/// One thing that happened.
pub struct Entry<'a> {
    pub actor: Actor,
    /// Dotted: `signin.email`, `factor.added`, `admin.connector.updated`…
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub outcome: Outcome<'a>,
    /// JSON without secrets.
    pub detail: serde_json::Value,
}

impl<'a> Entry<'a> {
    /// A successful action with no address, no browser and no detail; set the rest with
    /// struct update syntax or the builders below.
    pub fn new(actor: Actor, action: &'a str, target: Option<&'a str>) -> Entry<'a> {
        Entry {
            actor,
            action,
            target,
            ip: None,
            user_agent: None,
            outcome: Outcome::Success,
            detail: serde_json::Value::Null,
        }
    }

    /// From the browser behind the request.
    pub fn from(mut self, browser: &crate::session::Browser<'a>) -> Entry<'a> {
        self.ip = Some(browser.ip);
        self.user_agent = Some(browser.user_agent);
        self
    }

    pub fn outcome(mut self, outcome: Outcome<'a>) -> Entry<'a> {
        self.outcome = outcome;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Entry<'a> {
        self.detail = detail;
        self
    }
}

/// Entry ids sort in the order they were written: 15 digits of milliseconds, 6 of a counter
/// in this process (several entries in one millisecond keep their order), 6 random ones
/// (several processes). Only decimal digits, so every collation sorts them the same way.
fn entry_id(now: i64) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 1_000_000;
    format!("{:015}{seq:06}{}", now.max(0), secrets::random_digits(6))
}

/// Longest user agent kept (the sessions table keeps as much).
const MAX_USER_AGENT: usize = 300;

fn to_record(entry: Entry<'_>, now: i64) -> AuditRecord {
    let (actor_kind, actor_id) = entry.actor.parts();
    let (outcome, reason) = match entry.outcome {
        Outcome::Success => ("success", None),
        Outcome::Failure(r) => ("failure", Some(r.to_string())),
        Outcome::Refused(r) => ("refused", Some(r.to_string())),
    };
    let detail = if entry.detail.is_null() { "{}".to_string() } else { entry.detail.to_string() };
    AuditRecord {
        id: entry_id(now),
        occurred_at: now,
        actor_kind: actor_kind.into(),
        actor_id: actor_id.map(str::to_string),
        action: entry.action.into(),
        target: entry.target.map(str::to_string),
        ip: entry.ip.map(str::to_string),
        user_agent: entry.user_agent.filter(|ua| !ua.is_empty()).map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
        outcome: outcome.into(),
        reason,
        detail,
    }
}

/// Write one entry.
pub async fn record(state: &AppState, entry: Entry<'_>, now: i64) -> anyhow::Result<()> {
    record_to(&state.store, entry, now).await
}

/// Write one entry straight to a store (the CLI, which has no running application).
pub async fn record_to(store: &Store, entry: Entry<'_>, now: i64) -> anyhow::Result<()> {
    store.insert_audit(&to_record(entry, now)).await
}

/// Write one entry inside the caller's unit of work (`Store::begin`), so it is committed
/// with the change it records, or not at all.
pub async fn record_in(tx: &mut crate::store::Tx, entry: Entry<'_>, now: i64) -> anyhow::Result<()> {
    Store::insert_audit_in(tx, &to_record(entry, now)).await
}

/// Delete the entries older than `audit_retention_days`; returns how many went.
pub async fn prune(state: &AppState, now: i64) -> anyhow::Result<u64> {
    let cutoff = now - state.config.audit_retention_days.saturating_mul(86_400_000);
    let gone = state.store.prune_audit(cutoff).await?;
    if gone > 0 {
        tracing::info!(entries = gone, "audit entries past the retention deleted");
    }
    Ok(gone)
}

/// Why a session ended and who ended it, for its audit entry: `reason` is `logout`,
/// `revoked` (the sessions page), `idle`, `replaced` (another sign-in in the same browser) or
/// `mailbox_review`; `from` is the browser that asked, else the session's own browser.
pub struct SessionEnd<'a> {
    pub by: Actor,
    pub reason: &'a str,
    pub from: Option<crate::session::Browser<'a>>,
}

/// Record that `session` ended, in the unit of work that ends it.
pub async fn session_ended_in(
    tx: &mut crate::store::Tx,
    session: &crate::store::SessionRecord,
    end: SessionEnd<'_>,
    now: i64,
) -> anyhow::Result<()> {
    let own = crate::session::Browser { ip: &session.ip, user_agent: &session.user_agent };
    let entry = Entry::new(end.by, "session.ended", Some(&session.customer_id))
        .from(end.from.as_ref().unwrap_or(&own))
        .detail(serde_json::json!({ "session": session.id, "reason": end.reason }));
    record_in(tx, entry, now).await
}

/// A per-network rate limit (`ephemeral::limits::per_network`) whose refusals are recorded as
/// `rate_limit.refused`, named by `what`.
pub async fn per_network(
    state: &AppState,
    what: &str,
    browser: &crate::session::Browser<'_>,
    per_minute: u64,
    now: i64,
) -> crate::error::Result<()> {
    let network = crate::ephemeral::limits::client_network(browser.ip);
    let counted = crate::ephemeral::limits::per_network(&state.ephemeral, what, &network, per_minute).await;
    if let Err(crate::error::Error::RateLimited { .. }) = &counted {
        refused(state, what, None, browser, now).await?;
    }
    counted
}

/// Record a rate-limit refusal of kind `what` (e.g. `authorize`, `sign_in_mail`), about
/// `target` (a customer id) where there is one.
pub async fn refused(
    state: &AppState,
    what: &str,
    target: Option<&str>,
    browser: &crate::session::Browser<'_>,
    now: i64,
) -> anyhow::Result<()> {
    let entry = Entry::new(Actor::Anonymous, "rate_limit.refused", target)
        .from(browser)
        .outcome(Outcome::Refused(what))
        .detail(serde_json::json!({ "limit": what }));
    record(state, entry, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_the_order_entries_were_written() {
        let a = entry_id(1_700_000_000_000);
        let b = entry_id(1_700_000_000_000);
        let c = entry_id(1_700_000_000_001);
        assert_eq!(a.len(), 27);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert!(a < b || a[15..21] == *"999999", "{a} {b}");
        assert!(b < c);
    }

    #[test]
    fn records_keep_outcome_and_reason_apart_and_bound_the_user_agent() {
        let long = "x".repeat(1000);
        let entry = Entry::new(Actor::Customer("c1".into()), "signin.failed", Some("c1"))
            .from(&crate::session::Browser { ip: "203.0.113.9", user_agent: &long })
            .outcome(Outcome::Failure("wrong_code"));
        let r = to_record(entry, 5);
        assert_eq!((r.actor_kind.as_str(), r.actor_id.as_deref()), ("customer", Some("c1")));
        assert_eq!((r.outcome.as_str(), r.reason.as_deref()), ("failure", Some("wrong_code")));
        assert_eq!(r.user_agent.map(|u| u.len()), Some(300));
        assert_eq!(r.detail, "{}");
    }
}
