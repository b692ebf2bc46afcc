//! Incident response (issue #15, "Breach readiness"): revoke every session and token in a
//! scope, rotate the signing keys with the old ones withdrawn at once, force re-verification
//! at the next sign-in, and mail the customers affected. Each action is audited and has a dry
//! run that counts what it would touch and changes nothing.
//!
//! Revocation takes effect at once: token families are revoked in the store, and every
//! introspection, userinfo call and refresh reads that (the memory of verified access tokens
//! holds signatures, never standing); access tokens of no family (client_credentials) fall
//! under a per-client cutoff. Sessions end through `oidc::logout::end_in`, which queues
//! back-channel logout for their clients.

pub mod notify;
pub mod revoke;

use crate::error::{Error, Result};
use serde::Serialize;

/// Whom an action is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// One client's tokens (and, for re-verification and mail, the customers it was granted
    /// anything by). Sessions belong to no client, so none end.
    Client(String),
    Customer(String),
}

impl Scope {
    /// From the `--client` / `--customer` options (neither: everyone).
    pub fn from_options(client: Option<String>, customer: Option<String>) -> Result<Scope> {
        match (client, customer) {
            (None, None) => Ok(Scope::All),
            (Some(c), None) if !c.is_empty() => Ok(Scope::Client(c)),
            (None, Some(c)) if !c.is_empty() => Ok(Scope::Customer(c)),
            (Some(_), Some(_)) => Err(Error::bad_input("give a client or a customer, not both")),
            _ => Err(Error::bad_input("an empty id")),
        }
    }

    /// (customer, client) as the store's scoped statements take them ('' = any).
    pub(crate) fn parts(&self) -> (&str, &str) {
        match self {
            Scope::All => ("", ""),
            Scope::Client(c) => ("", c),
            Scope::Customer(c) => (c, ""),
        }
    }

    pub fn describe(&self) -> serde_json::Value {
        match self {
            Scope::All => serde_json::json!({ "all": true }),
            Scope::Client(c) => serde_json::json!({ "client": c }),
            Scope::Customer(c) => serde_json::json!({ "customer": c }),
        }
    }

    fn target(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Client(c) | Scope::Customer(c) => Some(c),
        }
    }
}

/// What an action touched (or, in a dry run, would touch).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    pub action: &'static str,
    pub dry_run: bool,
    pub customers: i64,
    pub sessions: i64,
    pub token_families: i64,
    /// Signing keys withdrawn (key rotation).
    pub keys: i64,
    /// Mails sent (notification).
    pub mails: i64,
}

/// The audit entry of an action, with its report.
async fn audit(
    state: &crate::state::AppState,
    by: &crate::events::audit::Caller<'_>,
    scope: &Scope,
    report: &Report,
    now: i64,
) -> Result<()> {
    let action = match report.action {
        "revoke" => "breach.revoked",
        "rotate_keys" => "breach.keys_rotated",
        "reverify" => "breach.reverification_required",
        _ => "breach.notified",
    };
    let mut detail = serde_json::to_value(report).unwrap_or_default();
    detail["scope"] = scope.describe();
    let entry = by.entry(action, scope.target()).detail(detail);
    Ok(crate::events::audit::record(state, entry, now).await?)
}
