//! What admins do with privacy requests (the admin API and `tessera privacy-requests`): list
//! and filter them by status and due date, see one, add a note, extend its deadline once with
//! a reason (only where the jurisdiction allows it, and only as far), complete or reject it
//! with a reason. Every change is audited with who made it. Overdue and nearly-due requests
//! carry a `flag`.

use super::deadlines::{self, Flag};
use super::requests;
use super::{Kind, Status};
use crate::error::{Error, Result};
use crate::events::audit::{self, Caller};
use crate::state::AppState;
use crate::store::{PrivacyRequestFilter, PrivacyRequestRecord, Store};
use serde::Serialize;

/// A request as the admin API shows it; times in unix milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub id: String,
    pub customer_id: String,
    pub kind: String,
    pub status: String,
    pub jurisdiction: String,
    pub received_at: i64,
    pub due_at: i64,
    pub extended_until: Option<i64>,
    pub extension_reason: Option<String>,
    /// The deadline in force: extended, or the first one.
    pub deadline: i64,
    /// `overdue` or `due_soon` for an open request; none otherwise.
    pub flag: Option<Flag>,
    pub purpose: Option<String>,
    pub details: Option<String>,
    pub notes: serde_json::Value,
    pub closed_reason: Option<String>,
    pub closed_at: Option<i64>,
    pub erase_after: Option<i64>,
}

pub fn view(state: &AppState, r: PrivacyRequestRecord, now: i64) -> RequestView {
    let deadline = r.extended_until.unwrap_or(r.due_at);
    let open = Status::parse(&r.status).is_some_and(Status::is_open);
    RequestView {
        flag: if open { deadlines::flag(deadline, now, state.config.privacy_due_soon_days) } else { None },
        deadline,
        notes: serde_json::from_str(&r.notes).unwrap_or_default(),
        id: r.id,
        customer_id: r.customer_id,
        kind: r.kind,
        status: r.status,
        jurisdiction: r.jurisdiction,
        received_at: r.received_at,
        due_at: r.due_at,
        extended_until: r.extended_until,
        extension_reason: r.extension_reason,
        purpose: r.purpose,
        details: r.details,
        closed_reason: r.closed_reason,
        closed_at: r.closed_at,
        erase_after: r.erase_after,
    }
}

/// Which requests to list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    /// Open requests due within this span (`3d`, `12h`; overdue ones included).
    pub due_within: Option<String>,
    pub customer: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list(state: &AppState, q: &ListQuery, now: i64) -> Result<Vec<RequestView>> {
    if let Some(s) = &q.status
        && Status::parse(s).is_none()
    {
        return Err(Error::bad_input(
            "status must be one of received, verified, in_progress, completed, rejected, cancelled",
        ));
    }
    let due_before = match &q.due_within {
        Some(span) => Some(
            now + deadlines::parse_span(span)
                .ok_or_else(|| Error::bad_input("due_within must look like 3d, 12h or 2w"))?,
        ),
        None => None,
    };
    let filter = PrivacyRequestFilter {
        status: q.status.clone(),
        customer_id: q.customer.clone(),
        due_before,
        limit: q.limit.unwrap_or(100).clamp(1, 500),
    };
    Ok(state.store.privacy_requests(&filter).await?.into_iter().map(|r| view(state, r, now)).collect())
}

pub async fn show(state: &AppState, id: &str, now: i64) -> Result<RequestView> {
    let r = state.store.privacy_request(id).await?.ok_or(Error::NotFound)?;
    Ok(view(state, r, now))
}

fn reason_text(text: &str) -> Result<&str> {
    let t = text.trim();
    if t.is_empty() || t.len() > 2000 {
        return Err(Error::bad_input("a reason (or note) of 1 to 2000 characters is required"));
    }
    Ok(t)
}

/// Add a note (who wrote it and when is kept with it).
pub async fn note(state: &AppState, by: Caller<'_>, id: &str, text: &str, now: i64) -> Result<RequestView> {
    let text = reason_text(text)?;
    let r = state.store.privacy_request(id).await?.ok_or(Error::NotFound)?;
    let mut notes: Vec<serde_json::Value> = serde_json::from_str(&r.notes).unwrap_or_default();
    let (kind, who) = match &by.actor {
        audit::Actor::Client(c) => ("client", Some(c.as_str())),
        audit::Actor::Operator => ("operator", None),
        _ => ("system", None),
    };
    notes.push(serde_json::json!({ "at": now, "by": kind, "by_id": who, "text": text }));
    let mut tx = state.store.begin().await?;
    let written = serde_json::Value::from(notes).to_string();
    if !Store::set_privacy_request_notes_in(&mut tx, id, &r.notes, &written, now).await? {
        return Err(Error::bad_input("the request changed meanwhile; try again"));
    }
    let entry =
        by.entry("admin.privacy_request.noted", Some(&r.customer_id)).detail(serde_json::json!({ "request": id }));
    audit::record_in(&mut tx, entry, now).await?;
    tx.commit().await?;
    show(state, id, now).await
}

/// Extend the deadline as far as the jurisdiction allows (GDPR Art. 12(3): by two further
/// months, telling the customer why; CCPA: once by 45 days), with the reason recorded.
pub async fn extend(state: &AppState, by: Caller<'_>, id: &str, reason: &str, now: i64) -> Result<RequestView> {
    let reason = reason_text(reason)?;
    let r = state.store.privacy_request(id).await?.ok_or(Error::NotFound)?;
    let rule = state.config.privacy_deadlines.rule(&r.jurisdiction);
    let Some(until) = rule.and_then(|rule| deadlines::extended_until(rule, r.due_at)) else {
        return Err(Error::bad_input(format!("the law of {} allows no extension", r.jurisdiction)));
    };
    let mut tx = state.store.begin().await?;
    if !Store::extend_privacy_request_in(&mut tx, id, until, reason, now).await? {
        return Err(Error::bad_input("only an open request that was not extended yet can be extended"));
    }
    let entry = by
        .entry("admin.privacy_request.extended", Some(&r.customer_id))
        .detail(serde_json::json!({ "request": id, "until": until, "reason": reason }));
    audit::record_in(&mut tx, entry, now).await?;
    tx.commit().await?;
    if let Some(c) = state.store.customer(&r.customer_id).await? {
        let kind = Kind::parse(&r.kind).map_or("your request", Kind::words);
        let paragraphs = [
            format!("We need more time to answer your request for {kind} (reference {id})."),
            format!("We will answer it by {}. Why: {reason}", crate::web::pages::utc_minute(until)),
        ];
        requests::tell(state, &c.email, "We need more time for your privacy request", &paragraphs, None).await;
    }
    show(state, id, now).await
}

/// Complete (`done`) or reject a request with a reason. Exports and deletions are completed
/// by the worker, not by hand; an admin may still reject them.
pub async fn close(
    state: &AppState,
    by: Caller<'_>,
    id: &str,
    done: bool,
    reason: &str,
    now: i64,
) -> Result<RequestView> {
    let reason = reason_text(reason)?;
    let r = state.store.privacy_request(id).await?.ok_or(Error::NotFound)?;
    let automatic = r.kind == Kind::AccessExport.as_str() || r.kind == Kind::Deletion.as_str();
    if done && automatic {
        return Err(Error::bad_input("exports and deletions are completed by the worker"));
    }
    let to = if done { Status::Completed } else { Status::Rejected };
    requests::close(state, id, to, reason, &by.actor, now).await?;
    let action = if done { "admin.privacy_request.completed" } else { "admin.privacy_request.rejected" };
    let entry = by.entry(action, Some(&r.customer_id)).detail(serde_json::json!({ "request": id, "reason": reason }));
    audit::record(state, entry, now).await?;
    show(state, id, now).await
}
