//! Around every request: the log span that carries its request id (so every line a request
//! logs can be found by the id the caller got back in `x-request-id`), and its metrics.
//!
//! Nothing secret may reach a log line: the span records the path without its query (codes,
//! states and tokens travel in queries and bodies), and any path segment long enough to be a
//! token is replaced.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Path segments this long or longer are logged as `:redacted` (a 256-bit token in
/// base64url is 43 characters; ids and names stay readable).
const TOKEN_LIKE_LEN: usize = 24;

/// The path as it may be logged.
pub fn loggable_path(path: &str) -> String {
    path.split('/').map(|seg| if seg.len() >= TOKEN_LIKE_LEN { ":redacted" } else { seg }).collect::<Vec<_>>().join("/")
}

/// The span of one request (`TraceLayer::make_span_with`).
pub fn span(req: &Request) -> tracing::Span {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %loggable_path(req.uri().path()))
}

/// Count and time the request by its route template (not its path: one series per route).
pub async fn metrics(req: Request, next: Next) -> Response {
    if !crate::telemetry::enabled() {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let method = req.method().clone();
    let started = Instant::now();
    let res = next.run(req).await;
    let route = route.as_deref().unwrap_or("unmatched");
    crate::telemetry::http_request(route, method.as_str(), res.status().as_u16(), started.elapsed().as_secs_f64());
    res
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn token_like_segments_are_redacted() {
        assert_eq!(loggable_path("/policies/privacy/2"), "/policies/privacy/2");
        assert_eq!(loggable_path("/guardian/Xk3v9_QmZ7tLq2Wn8pRb4sYc1uHd6eJf0aGiKoMl5Nw"), "/guardian/:redacted");
    }
}
