//! The transactional outbox. `emit_in` writes an event inside the unit of work of the change
//! that caused it, so both commit or neither does: no change without its event, no event for
//! a change that rolled back. `dispatch` (run by the worker) hands undispatched events to
//! their consumers, at least once, in order per subject, one lease holder at a time.

use super::{Event, NewEvent};
use crate::crypto::secrets;
use crate::state::AppState;
use crate::store::{OutboxRecord, Tx};

/// How long a claimed event is reserved for the worker that claimed it; past this (a node
/// that died mid-dispatch), another worker takes it again: at-least-once delivery.
pub const LEASE_MS: i64 = 30_000;
/// After a consumer failed, the event waits this long (and its subject's later events behind it).
pub const RETRY_MS: i64 = 10_000;
/// Events claimed at once; a tick claims again until nothing is left (bounded).
const BATCH: i64 = 100;
const MAX_BATCHES_PER_TICK: usize = 50;

/// Write `event` inside `tx`; returns it as its consumers will see it.
pub async fn emit_in(tx: &mut Tx, event: NewEvent, now: i64) -> anyhow::Result<Event> {
    let e = Event {
        id: format!("evt_{}", secrets::random_id()),
        kind: event.kind.as_str().to_string(),
        subject: event.subject,
        payload: event.payload,
        occurred_at: now,
    };
    let record = OutboxRecord {
        id: e.id.clone(),
        seq: 0,
        kind: e.kind.clone(),
        subject: e.subject.clone(),
        payload: serde_json::to_string(&e.payload)?,
        occurred_at: now,
    };
    crate::store::Store::insert_event_in(tx, &record).await?;
    Ok(e)
}

fn event_of(r: OutboxRecord) -> anyhow::Result<Event> {
    Ok(Event {
        id: r.id,
        kind: r.kind,
        subject: r.subject,
        payload: serde_json::from_str(&r.payload)?,
        occurred_at: r.occurred_at,
    })
}

/// Hand every undispatched event to its consumers. `owner` names this worker's leases.
/// Returns how many events were dispatched.
pub async fn dispatch(state: &AppState, owner: &str, now: i64) -> anyhow::Result<usize> {
    let mut dispatched = 0;
    for _ in 0..MAX_BATCHES_PER_TICK {
        let claimed = state.store.claim_events(owner, now, now + LEASE_MS, BATCH).await?;
        if claimed.is_empty() {
            break;
        }
        for record in claimed {
            let id = record.id.clone();
            let handed = match event_of(record) {
                Ok(event) => hand_over(state, &event, now).await,
                Err(e) => Err(e),
            };
            match handed {
                Ok(()) => {
                    if state.store.mark_event_dispatched(&id, owner, now).await? {
                        dispatched += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(event = %id, error = %format!("{e:#}"), "event dispatch failed; retried later");
                    state.store.postpone_event(&id, owner, now + RETRY_MS).await?;
                }
            }
        }
    }
    Ok(dispatched)
}

/// The consumers of one event. Each must be idempotent: after a crash between handing over
/// and marking dispatched, the event comes again.
async fn hand_over(state: &AppState, event: &Event, now: i64) -> anyhow::Result<()> {
    // Idempotent through a unique (endpoint_id, event_id).
    super::webhooks::fan_out(state, event, now).await?;
    tracing::debug!(event = %event.id, kind = %event.kind, "event dispatched");
    Ok(())
}
