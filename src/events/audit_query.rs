//! Reading the audit log, for the admin API (`GET /admin/api/v1/audit`) and `tessera audit`:
//! the filters as both take them (strings), checked once, and a page of entries newest first
//! with the cursor of the next page.

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{AuditFilter, AuditRecord, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Entries per page unless asked otherwise, and the most a page may hold.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The filters, as given (query string or command line).
#[derive(Debug, Default, Deserialize)]
pub struct Query {
    /// A customer id: entries about that customer.
    pub customer: Option<String>,
    /// An exact action (`signin.email`) or a prefix ending in `.*` (`signin.*`).
    pub action: Option<String>,
    /// Unix seconds or RFC 3339, inclusive.
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page, newest first; `next_cursor` is set when there may be more.
#[derive(Debug, Serialize)]
pub struct Page {
    pub entries: Vec<serde_json::Value>,
    pub next_cursor: Option<String>,
}

/// A time as unix seconds or RFC 3339 (e.g. `2026-12-01T00:00:00Z`), in unix milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return secs.checked_mul(1000);
    }
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The checked filter for the store.
pub fn filter(q: &Query) -> Result<AuditFilter> {
    let time = |key: &'static str, v: &Option<String>| match v.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => parse_time(t)
            .map(Some)
            .ok_or_else(|| Error::bad_input(format!("{key} must be unix seconds or an RFC 3339 time"))),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::bad_input(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let cursor = q.cursor.as_deref().filter(|c| !c.is_empty());
    if cursor.is_some_and(|c| c.len() > 40 || !c.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Error::bad_input("cursor is not one this API gave out"));
    }
    let action = q.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let (exact, prefix) = match action {
        Some(a) => match a.strip_suffix('*') {
            Some(p) => (None, Some(p.to_string())),
            None => (Some(a.to_string()), None),
        },
        None => (None, None),
    };
    Ok(AuditFilter {
        target: q.customer.clone().filter(|c| !c.is_empty()),
        action: exact,
        action_prefix: prefix,
        since: time("since", &q.since)?,
        until: time("until", &q.until)?,
        before_id: cursor.map(str::to_string),
        limit,
    })
}

/// An entry as the API and the CLI show it.
pub fn view(r: &AuditRecord) -> serde_json::Value {
    json!({
        "id": r.id,
        "time": rfc3339(r.occurred_at),
        "occurred_at": r.occurred_at,
        "actor": { "kind": r.actor_kind, "id": r.actor_id },
        "action": r.action,
        "target": r.target,
        "ip": r.ip,
        "user_agent": r.user_agent,
        "outcome": r.outcome,
        "reason": r.reason,
        "detail": serde_json::from_str::<serde_json::Value>(&r.detail).unwrap_or(serde_json::Value::Null),
    })
}

/// One page of entries matching `q`, from a store (the CLI).
pub async fn search_in(store: &Store, q: &Query) -> Result<Page> {
    let f = filter(q)?;
    let records = store.audit_entries(&f).await?;
    let next_cursor = (records.len() as i64 == f.limit).then(|| records.last().map(|r| r.id.clone())).flatten();
    Ok(Page { entries: records.iter().map(view).collect(), next_cursor })
}

/// One page of entries matching `q` (the admin API).
pub async fn search(state: &AppState, q: &Query) -> Result<Page> {
    search_in(&state.store, q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_seconds_or_rfc_3339() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(parse_time("2023-11-14T23:13:20+01:00"), Some(1_700_000_000_000));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn filters_are_checked() {
        let q = |action: &str, limit: Option<i64>| Query { action: Some(action.into()), limit, ..Query::default() };
        let f = filter(&q("signin.*", None)).unwrap();
        assert_eq!((f.action, f.action_prefix.as_deref(), f.limit), (None, Some("signin."), DEFAULT_LIMIT));
        let f = filter(&q("signin.email", Some(200))).unwrap();
        assert_eq!((f.action.as_deref(), f.action_prefix), (Some("signin.email"), None));
        assert!(filter(&q("x", Some(201))).is_err());
        assert!(filter(&q("x", Some(0))).is_err());
        assert!(filter(&Query { since: Some("soon".into()), ..Query::default() }).is_err());
        assert!(filter(&Query { cursor: Some("1' OR 1=1".into()), ..Query::default() }).is_err());
    }
}
