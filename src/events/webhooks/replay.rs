//! What happened to an endpoint's deliveries (every attempt: time, status or error, latency,
//! response excerpt), replays (a new attempt series with the same `webhook-id`), and a test
//! event sent at once, for checking a receiver's signature verification.

use super::delivery::{attempt, queue};
use super::{Caller, Event, signature};
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::events::audit::{self, Entry};
use crate::state::AppState;
use crate::store::{WebhookDeliveryRecord, WebhookReplay};
use serde::Serialize;

/// Deliveries listed at most per call.
pub const MAX_LISTED: i64 = 200;

#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    pub attempted_at: i64,
    /// The HTTP status; absent when no answer came (then `error` says why).
    pub status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response_excerpt: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub subject: Option<String>,
    /// pending | delivered | abandoned
    pub state: String,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    /// Every attempt, replays included, oldest first.
    pub attempts: Vec<AttemptView>,
}

/// What a replay re-queues.
#[derive(Debug, Clone)]
pub enum Replay {
    Delivery(String),
    Event(String),
    /// Every delivery made at or after this time (unix ms).
    Since(i64),
}

/// A replay request as the admin API and CLI take it: exactly one of the three.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayInput {
    pub delivery_id: Option<String>,
    pub event_id: Option<String>,
    /// RFC 3339, e.g. 2026-12-01T00:00:00Z.
    pub since: Option<String>,
}

impl ReplayInput {
    pub fn parse(self) -> Result<Replay> {
        match (self.delivery_id, self.event_id, self.since) {
            (Some(d), None, None) => Ok(Replay::Delivery(d)),
            (None, Some(e), None) => Ok(Replay::Event(e)),
            (None, None, Some(t)) => chrono::DateTime::parse_from_rfc3339(t.trim())
                .map(|t| Replay::Since(t.timestamp_millis()))
                .map_err(|_| Error::bad_input("since must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z")),
            _ => Err(Error::bad_input("give exactly one of delivery_id, event_id or since")),
        }
    }
}

async fn view(state: &AppState, d: WebhookDeliveryRecord) -> Result<DeliveryView> {
    let attempts = state
        .store
        .webhook_attempts_of(&d.id)
        .await?
        .into_iter()
        .map(|a| AttemptView {
            attempted_at: a.attempted_at,
            status: a.status,
            error: a.error,
            latency_ms: a.latency_ms,
            response_excerpt: a.response_excerpt,
        })
        .collect();
    Ok(DeliveryView {
        next_attempt_at: (d.state == "pending").then_some(d.next_attempt_at),
        id: d.id,
        event_id: d.event_id,
        event_type: d.event_type,
        subject: d.subject,
        state: d.state,
        created_at: d.created_at,
        attempts,
    })
}

/// An endpoint's newest deliveries (at most `limit`, newest first) with their attempts.
pub async fn deliveries(state: &AppState, endpoint_id: &str, limit: i64) -> Result<Vec<DeliveryView>> {
    state.store.webhook_endpoint(endpoint_id).await?.ok_or(Error::NotFound)?;
    let mut out = Vec::new();
    for d in state.store.webhook_deliveries_of(endpoint_id, limit.clamp(1, MAX_LISTED)).await? {
        out.push(view(state, d).await?);
    }
    Ok(out)
}

/// Re-queue deliveries of an endpoint: each starts a new attempt series, due now, with its
/// event's id as `webhook-id` again (receivers deduplicate by it). Returns how many.
pub async fn replay(state: &AppState, endpoint_id: &str, which: Replay, caller: Caller<'_>, now: i64) -> Result<u64> {
    let endpoint = state.store.webhook_endpoint(endpoint_id).await?.ok_or(Error::NotFound)?;
    if endpoint.enabled == 0 {
        return Err(Error::bad_input("the endpoint is disabled: enable it first"));
    }
    let selector = match &which {
        Replay::Delivery(id) => WebhookReplay::Delivery(id),
        Replay::Event(id) => WebhookReplay::Event(id),
        Replay::Since(t) => WebhookReplay::Since(*t),
    };
    let count = state.store.requeue_webhook_deliveries(endpoint_id, selector, now).await?;
    if count == 0 && !matches!(which, Replay::Since(_)) {
        return Err(Error::NotFound);
    }
    let entry = caller.entry("admin.webhook.replayed", Some(endpoint_id));
    let entry = Entry { detail: serde_json::json!({ "which": format!("{which:?}"), "count": count }), ..entry };
    audit::record(state, entry, now).await?;
    tracing::info!(webhook = %endpoint_id, actor = ?caller.actor, ?which, count, "webhook deliveries replayed");
    Ok(count)
}

/// Send a `webhook.test` event to one endpoint now, and say what happened (a failure is
/// retried like any delivery).
pub async fn send_test(state: &AppState, endpoint_id: &str, now: i64) -> Result<DeliveryView> {
    let endpoint = state.store.webhook_endpoint(endpoint_id).await?.ok_or(Error::NotFound)?;
    if endpoint.enabled == 0 {
        return Err(Error::bad_input("the endpoint is disabled: enable it first"));
    }
    let event = Event {
        id: format!("evt_{}", secrets::random_id()),
        kind: "webhook.test".into(),
        subject: None,
        payload: serde_json::json!({ "endpoint_id": endpoint.id }),
        occurred_at: now,
    };
    let body = signature::body(&event.kind, event.occurred_at, &event.payload);
    let id = queue(state, &endpoint, &event, &body, now).await?.ok_or_else(|| anyhow::anyhow!("duplicate event id"))?;
    let d = state.store.webhook_delivery(&id).await?.ok_or(Error::NotFound)?;
    attempt(state, &d, now).await?;
    view(state, state.store.webhook_delivery(&id).await?.ok_or(Error::NotFound)?).await
}
