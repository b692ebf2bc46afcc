//! What an operator graphs and alerts on: Prometheus metrics, named once here. Features call
//! the small functions below; the recorder is installed only when `metrics_listen` is set
//! (otherwise every call is a no-op), and `/metrics` is served on that separate address by
//! `app::serve`, never on the public listener.
//!
//! Labels are closed sets (route templates, grant types, methods, results), never a value a
//! caller chooses: a label per customer or per token would both leak and explode the series.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const HTTP_REQUESTS: &str = "tessera_http_requests_total";
pub const HTTP_DURATION: &str = "tessera_http_request_duration_seconds";
pub const SIGN_INS: &str = "tessera_sign_ins_total";
pub const TOKENS_ISSUED: &str = "tessera_tokens_issued_total";
pub const RATE_LIMITED: &str = "tessera_rate_limit_refusals_total";
pub const EPHEMERAL_ENTRIES: &str = "tessera_ephemeral_entries";
pub const EPHEMERAL_BYTES: &str = "tessera_ephemeral_bytes";
pub const OUTBOX_BACKLOG: &str = "tessera_outbox_backlog";
pub const WEBHOOK_FAILURES: &str = "tessera_webhook_failed_deliveries";

/// Latency buckets in seconds: from a cached token check to a slow mail hand-off.
const LATENCY_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the process-wide recorder (once; later calls return the same handle).
pub fn install() -> anyhow::Result<&'static PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h);
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &LATENCY_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    // Two servers in one process (the tests) may race here: the loser keeps the winner's.
    if metrics::set_global_recorder(recorder).is_ok() {
        let _ = HANDLE.set(handle);
    }
    HANDLE.get().ok_or_else(|| anyhow::anyhow!("another metrics recorder is installed in this process"))
}

/// Whether metrics are recorded in this process (`metrics_listen` set somewhere).
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// The text exposition format (what Prometheus scrapes).
pub fn render() -> String {
    HANDLE.get().map(|h| h.render()).unwrap_or_default()
}

/// One HTTP request, by route template (`/authorize`, not its query), method and status.
pub fn http_request(route: &str, method: &str, status: u16, seconds: f64) {
    let labels = [("route", route.to_string()), ("method", method.to_string()), ("status", status.to_string())];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_string()).record(seconds);
}

/// A sign-in attempt that ended: `method` is the amr it proves (`email`, `hwk`, `otp`,
/// `fed`…), `result` `ok` or why it failed.
pub fn sign_in(method: &'static str, result: &'static str) {
    metrics::counter!(SIGN_INS, "method" => method, "result" => result).increment(1);
}

/// Tokens issued at the token endpoint, by grant type.
pub fn token_issued(grant: &'static str) {
    metrics::counter!(TOKENS_ISSUED, "grant" => grant).increment(1);
}

/// A request refused by a rate limit, named by what it limits.
pub fn rate_limited(limit: &'static str) {
    metrics::counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// A level read by the worker (store sizes, backlogs).
pub fn gauge(name: &'static str, value: f64) {
    metrics::gauge!(name).set(value);
}

/// Webhook deliveries that failed and are retried, and those given up.
pub fn webhook_failures(retrying: i64, abandoned: i64) {
    metrics::gauge!(WEBHOOK_FAILURES, "state" => "retrying").set(retrying as f64);
    metrics::gauge!(WEBHOOK_FAILURES, "state" => "abandoned").set(abandoned as f64);
}
