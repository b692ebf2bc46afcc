//! The background worker, a composition root like `app.rs` (it runs every feature's jobs):
//! spawned beside the HTTP server (`app::serve`, and so the test
//! server), it ticks every `worker_interval_ms` of real time and runs each job with
//! `now = state.now()` (a ManualClock in tests). A job's error is logged and never stops it.
//! On shutdown it finishes the tick under way, then returns.
//!
//! Several nodes may run it against one PostgreSQL database: every job claims its rows under
//! a lease (owner + expiry, `store/outbox.rs`), so no event or delivery is worked on by two
//! workers at once. With SQLite there is one writer, and one node.

use crate::state::SharedState;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running worker; `stop` it for a graceful shutdown.
pub struct Worker {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Worker {
    /// Ask the worker to stop and wait until the tick under way (if any) is finished.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "the worker task failed");
        }
    }
}

/// Start the worker; `None` when `worker_interval_ms` is 0 (another process runs it, or a
/// test holds events back).
pub fn spawn(state: SharedState) -> Option<Worker> {
    let interval = state.config.worker_interval_ms;
    if interval == 0 {
        tracing::info!("background worker disabled (worker_interval_ms = 0)");
        return None;
    }
    let (stop, mut stopped) = watch::channel(false);
    let owner = format!("worker_{}", crate::crypto::secrets::random_id());
    let handle = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                _ = tokio::time::sleep(Duration::from_millis(interval)) => {}
            }
            // Not raced against `stopped`: a started tick runs to its end.
            tick(&state, &owner).await;
            if *stopped.borrow() {
                break;
            }
        }
        tracing::info!("background worker stopped");
    });
    Some(Worker { stop, handle })
}

/// One round of every job, in order.
pub async fn tick(state: &SharedState, owner: &str) {
    let now = state.now();
    match crate::events::outbox::dispatch(state, owner, now).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(events = n, "events dispatched"),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "event dispatch failed"),
    }
    match crate::events::webhooks::deliver_due(state, now).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(attempts = n, "webhook delivery attempts"),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "webhook delivery failed"),
    }
    match crate::events::audit::prune(state, now).await {
        Ok(_) => {}
        Err(e) => tracing::error!(error = %format!("{e:#}"), "pruning the audit log failed"),
    }
    match crate::consent::notices::send_due(state, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(mails = n, "policy change notices sent"),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "policy change notices failed"),
    }
    crate::keys::ring::reload_if_stale(state, now).await;
    match crate::keys::rotation::rotate_due(state, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(keys = n, "signing keys rotated on schedule"),
        Err(e) => tracing::error!(error = ?e, "scheduled key rotation failed"),
    }
    if crate::telemetry::enabled() {
        levels(state).await;
    }
    crate::privacy::jobs::run(state, now).await;
    match crate::oidc::backchannel::deliver_due(state, owner, now).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(attempts = n, "back-channel logout attempts"),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "back-channel logout delivery failed"),
    }
}

/// The levels the metrics show as gauges, read once per tick (only when metrics are on).
async fn levels(state: &SharedState) {
    use crate::telemetry::{self, EPHEMERAL_BYTES, EPHEMERAL_ENTRIES, OUTBOX_BACKLOG};
    // On Redis: the whole database, so approximate (see ephemeral/redis_store.rs).
    match state.ephemeral.usage().await {
        Ok(usage) => {
            telemetry::gauge(EPHEMERAL_ENTRIES, usage.entries as f64);
            telemetry::gauge(EPHEMERAL_BYTES, usage.bytes as f64);
        }
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "ephemeral store size unknown"),
    }
    match state.store.backlogs().await {
        Ok(b) => {
            telemetry::gauge(OUTBOX_BACKLOG, b.outbox as f64);
            telemetry::webhook_failures(b.webhooks_retrying, b.webhooks_abandoned);
        }
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "reading the backlogs failed"),
    }
}
