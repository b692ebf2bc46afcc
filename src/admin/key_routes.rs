//! Thin handlers for signing keys in the admin API (JSON) under `/admin/api/v1/keys`: list
//! with states, rotate (a `next` key after a lead time), revoke (withdrawn at once). Each
//! change is audited with the calling client.

use super::routes::{AdminCaller, answer};
use crate::crypto::keys::Alg;
use crate::error::Error;
use crate::events::audit::{Actor, Caller};
use crate::keys::rotation;
use crate::state::SharedState;
use crate::web::request::Browser;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

pub fn api() -> Router<SharedState> {
    Router::new()
        .route("/admin/api/v1/keys", get(list))
        .route("/admin/api/v1/keys/rotate", post(rotate))
        .route("/admin/api/v1/keys/{kid}/revoke", post(revoke))
}

/// The admin client that called, and from where, as the audit log names it.
fn caller<'a>(admin: AdminCaller, browser: &'a Browser) -> Caller<'a> {
    Caller { actor: Actor::Client(admin.0.client_id), from: Some(browser.facts()) }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateInput {
    /// ES256, RS256 or EdDSA; none: every algorithm.
    alg: Option<String>,
    /// Seconds between publishing and signing; none: `key_rotation_lead_secs`.
    lead_time_secs: Option<i64>,
}

async fn list(State(state): State<SharedState>, _: AdminCaller) -> Response {
    let done = rotation::list(&state, state.now()).await;
    answer(StatusCode::OK, done.map(|v| json!({ "keys": v })))
}

async fn rotate(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async {
        let input: RotateInput = if body.is_empty() {
            RotateInput::default()
        } else {
            serde_json::from_slice(&body).map_err(|e| Error::bad_input(format!("the body is not valid here: {e}")))?
        };
        let alg = match input.alg.as_deref() {
            None => None,
            Some(a) => Some(Alg::parse(a).ok_or_else(|| Error::bad_input("alg must be ES256, RS256 or EdDSA"))?),
        };
        let lead = input.lead_time_secs.map(|s| s * 1000);
        rotation::rotate(&state, caller(admin, &browser), alg, lead, state.now()).await
    };
    answer(StatusCode::CREATED, done.await.map(|v| json!({ "keys": v })))
}

async fn revoke(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(kid): Path<String>,
) -> Response {
    let done = rotation::revoke(&state, caller(admin, &browser), &kid, state.now()).await;
    answer(StatusCode::OK, done.map(|v| json!({ "keys": v })))
}
