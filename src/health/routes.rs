//! `/healthz` and `/readyz`: plain JSON, no session, no CSRF, never cached.

use crate::state::SharedState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};

pub fn routes() -> Router<SharedState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// 200 whenever the process answers at all.
async fn healthz() -> Response {
    (NO_STORE, Json(serde_json::json!({ "status": "ok" }))).into_response()
}

/// 200 when ready, 503 naming what is not.
async fn readyz(State(state): State<SharedState>) -> Response {
    let r = super::readiness(&state).await;
    let status = if r.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, NO_STORE, Json(r)).into_response()
}
