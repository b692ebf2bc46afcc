//! Fan-out and delivery. `fan_out` makes one delivery per enabled endpoint that subscribes to
//! the event (idempotent: one per endpoint and event); `deliver_due` attempts the deliveries
//! whose time has come, in order per endpoint and subject (a later event about a customer
//! waits until the earlier one is delivered or abandoned), and records every attempt.
//!
//! Retries follow the schedule the Standard Webhooks spec gives as its example ("Retry
//! schedule"): after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, so a delivery is tried for
//! about 27.5 hours (at least 24) before it is abandoned. Success is any 2xx (spec: "a 2xx
//! status code"); redirects are not followed and count as failures. An endpoint that has
//! failed every attempt for 5 days is disabled.

use super::endpoints::{SEAL_PURPOSE, subscribes};
use super::{Event, signature};
use crate::crypto::secrets;
use crate::events::audit;
use crate::state::AppState;
use crate::store::{WebhookAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord};

const SECOND: i64 = 1000;
const HOUR: i64 = 3600 * SECOND;
/// The wait after the n-th failed attempt; after the last one the delivery is abandoned.
pub const RETRY_DELAYS_MS: [i64; 7] =
    [5 * SECOND, 300 * SECOND, 1800 * SECOND, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];
/// An endpoint failing continuously this long is disabled.
pub const DISABLE_AFTER_MS: i64 = 5 * 24 * HOUR;
/// How long an attempt holds its delivery: should the process die mid-attempt, the delivery
/// is tried again after this (longer than the HTTP client's 5 s timeout).
const LEASE_MS: i64 = 60 * SECOND;
/// The response body kept per attempt.
pub const EXCERPT_BYTES: usize = 1024;
/// Deliveries attempted per run of the worker, and at once: a receiver that never answers
/// holds a run for at most BATCH / PARALLEL timeouts (5 s each), not BATCH.
const BATCH: i64 = 100;
const PARALLEL: usize = 16;

/// One delivery per enabled endpoint subscribing to the event's type; an endpoint that has
/// one for this event already (the event handed over again) gets no second one.
pub async fn fan_out(state: &AppState, event: &Event, now: i64) -> anyhow::Result<()> {
    let body = signature::body(&event.kind, event.occurred_at, &event.payload);
    for endpoint in state.store.webhook_endpoints().await? {
        if endpoint.enabled == 0 || !subscribes(&endpoint.event_types, &event.kind) {
            continue;
        }
        queue(state, &endpoint, event, &body, now).await?;
    }
    Ok(())
}

pub(super) async fn queue(
    state: &AppState,
    endpoint: &WebhookEndpointRecord,
    event: &Event,
    body: &str,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let d = WebhookDeliveryRecord {
        id: format!("whd_{}", secrets::random_id()),
        endpoint_id: endpoint.id.clone(),
        event_id: event.id.clone(),
        event_type: event.kind.clone(),
        subject: event.subject.clone(),
        body: body.to_string(),
        seq: 0,
        state: "pending".into(),
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        updated_at: now,
    };
    Ok(state.store.insert_webhook_delivery(&d).await?.then_some(d.id))
}

/// Attempt every delivery whose time has come; returns how many were attempted.
pub async fn deliver_due(state: &AppState, now: i64) -> anyhow::Result<usize> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    // At most one delivery per endpoint and subject is due at a time, so attempts made side
    // by side never reorder a customer's events.
    let due = state.store.due_webhook_deliveries(now, BATCH).await?;
    let done: Vec<bool> = stream::iter(due)
        .map(|d| async move { attempt(state, &d, now).await })
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
    Ok(done.into_iter().filter(|made| *made).count())
}

/// What one attempt got.
enum Outcome {
    Answered { status: u16, excerpt: String },
    Failed(String),
}

/// Claim one delivery and attempt it; false when another worker had claimed it, or its
/// endpoint is gone or disabled.
pub(super) async fn attempt(state: &AppState, d: &WebhookDeliveryRecord, now: i64) -> anyhow::Result<bool> {
    let Some(endpoint) = state.store.webhook_endpoint(&d.endpoint_id).await?.filter(|e| e.enabled != 0) else {
        return Ok(false);
    };
    if !state.store.claim_webhook_delivery(d, now + LEASE_MS, now).await? {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let outcome = send(state, &endpoint, d, now).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status, error, excerpt) = match &outcome {
        Outcome::Answered { status, excerpt } => (Some(i64::from(*status)), None, excerpt.clone()),
        Outcome::Failed(why) => (None, Some(why.clone()), String::new()),
    };
    let succeeded = matches!(outcome, Outcome::Answered { status, .. } if (200..300).contains(&status));
    let attempts = d.attempts + 1;
    let retry_in = usize::try_from(d.attempts).ok().and_then(|n| RETRY_DELAYS_MS.get(n));
    let (next_state, next_at) = match (succeeded, retry_in) {
        (true, _) => ("delivered", now),
        (false, Some(wait)) => ("pending", now + wait),
        (false, None) => ("abandoned", now),
    };
    let record = WebhookAttemptRecord {
        id: format!("wha_{}", secrets::random_id()),
        delivery_id: d.id.clone(),
        attempted_at: now,
        status,
        error,
        latency_ms,
        response_excerpt: excerpt,
    };
    let failing_since =
        state.store.record_webhook_attempt(&record, &endpoint.id, next_state, attempts, next_at, succeeded).await?;
    if next_state == "abandoned" {
        tracing::warn!(webhook = %endpoint.id, delivery = %d.id, "webhook delivery abandoned after its last retry");
    }
    if let Some(since) = failing_since
        && now - since >= DISABLE_AFTER_MS
        && state.store.disable_failing_webhook_endpoint(&endpoint.id, now).await?
    {
        let entry = audit::Entry::new(audit::Actor::System, "webhook.disabled", Some(&endpoint.id));
        let entry = audit::Entry { detail: serde_json::json!({ "failing_since": since }), ..entry };
        audit::record(state, entry, now).await?;
        tracing::warn!(
            webhook = %endpoint.id, action = "webhook.disabled", failing_since = since,
            "webhook endpoint disabled: every attempt failed for 5 days"
        );
    }
    Ok(true)
}

async fn send(state: &AppState, endpoint: &WebhookEndpointRecord, d: &WebhookDeliveryRecord, now: i64) -> Outcome {
    let secret = match state.master_key.open(SEAL_PURPOSE, &endpoint.sealed_secret).map(String::from_utf8) {
        Ok(Ok(s)) => s,
        _ => return Outcome::Failed("the endpoint's secret does not open with the master key".into()),
    };
    let Some(headers) = signature::headers(&secret, &d.event_id, now, &d.body) else {
        return Outcome::Failed("the endpoint's secret is not a whsec_ secret".into());
    };
    match state.outbound.post_json(&endpoint.url, &headers, d.body.clone(), EXCERPT_BYTES).await {
        Ok(answer) => {
            let mut excerpt = String::from_utf8_lossy(&answer.excerpt).into_owned();
            // A character cut at the limit became U+FFFD (3 bytes): stay within the limit.
            while excerpt.len() > EXCERPT_BYTES {
                excerpt.pop();
            }
            Outcome::Answered { status: answer.status.as_u16(), excerpt }
        }
        Err(why) => Outcome::Failed(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_span_at_least_a_day() {
        let total: i64 = RETRY_DELAYS_MS.iter().sum();
        assert!(total >= 24 * HOUR, "{total}");
        assert!(RETRY_DELAYS_MS.windows(2).all(|w| w[0] <= w[1]), "waits never shrink");
    }
}
