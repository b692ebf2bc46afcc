//! Thin handlers for consent purposes and policy versions in the admin API
//! (`/admin/api/v1/purposes`, `/admin/api/v1/policies`), for the same callers as the rest of
//! the admin API.

use super::routes::{AdminCaller, answer, error};
use crate::consent::ledger::{Channel, Context};
use crate::consent::policies::{self, NewVersion};
use crate::consent::purposes::{self, PurposeInput};
use crate::consent::withdrawal;
use crate::error::Error;
use crate::events::audit::{Actor, Caller};
use crate::state::SharedState;
use crate::web::request::Browser;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn api() -> Router<SharedState> {
    Router::new()
        .route("/admin/api/v1/purposes", get(list).post(create))
        .route("/admin/api/v1/purposes/{id}", axum::routing::patch(update))
        .route("/admin/api/v1/purposes/{id}/retire", post(retire))
        .route("/admin/api/v1/policies", get(list_policies).post(publish))
        .route("/admin/api/v1/policies/{id}/versions/{version}", get(policy_text))
        .route("/admin/api/v1/customers/{id}/consents/withdraw", post(withdraw))
}

/// The admin client that called, and from where, as the audit log names it.
fn caller<'a>(admin: AdminCaller, browser: &'a Browser) -> Caller<'a> {
    Caller { actor: Actor::Client(admin.0.client_id), from: Some(browser.facts()) }
}

fn input(body: &Bytes) -> Result<PurposeInput, Error> {
    serde_json::from_slice(body).map_err(|e| Error::bad_input(format!("the body is not a valid purpose: {e}")))
}

async fn list(State(state): State<SharedState>, _: AdminCaller) -> Response {
    answer(StatusCode::OK, purposes::list(&state).await.map(|v| json!({ "purposes": v })))
}

async fn create(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async { purposes::create(&state, input(&body)?, caller(admin, &browser), state.now()).await };
    answer(StatusCode::CREATED, done.await)
}

async fn update(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let done = async { purposes::update(&state, &id, input(&body)?, caller(admin, &browser), state.now()).await };
    answer(StatusCode::OK, done.await)
}

async fn retire(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    answer(StatusCode::OK, purposes::retire(&state, &id, caller(admin, &browser), state.now()).await)
}

async fn list_policies(State(state): State<SharedState>, _: AdminCaller) -> Response {
    answer(StatusCode::OK, policies::list(&state).await.map(|v| json!({ "policies": v })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    id: String,
    #[serde(default)]
    title: String,
    text: String,
    summary: String,
    #[serde(default)]
    material: bool,
    /// When it takes effect: unix seconds or RFC 3339 (default: at once).
    #[serde(default)]
    effective_at: Option<String>,
}

async fn publish(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async {
        let b: PublishBody = serde_json::from_slice(&body)
            .map_err(|e| Error::bad_input(format!("the body is not a valid policy version: {e}")))?;
        let effective_at = match b.effective_at.as_deref() {
            Some(t) => Some(
                crate::events::audit_query::parse_time(t)
                    .ok_or_else(|| Error::bad_input("effective_at: unix seconds or RFC 3339"))?,
            ),
            None => None,
        };
        let new = NewVersion {
            id: b.id,
            title: b.title,
            body: b.text,
            summary: b.summary,
            material: b.material,
            effective_at,
        };
        policies::publish(&state, new, caller(admin, &browser), state.now()).await
    };
    answer(StatusCode::CREATED, done.await)
}

async fn policy_text(
    State(state): State<SharedState>,
    _: AdminCaller,
    Path((id, version)): Path<(String, i64)>,
) -> Response {
    match policies::text(&state, &id, version).await {
        Ok((v, text)) => Json(json!({ "policy": v, "text": text })).into_response(),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    client_id: String,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// An admin records a withdrawal the customer made elsewhere (a letter, a call).
async fn withdraw(
    State(state): State<SharedState>,
    _: AdminCaller,
    browser: Browser,
    Path(customer): Path<String>,
    body: Bytes,
) -> Response {
    let done = async {
        let b: WithdrawBody =
            serde_json::from_slice(&body).map_err(|e| Error::bad_input(format!("the body is not valid: {e}")))?;
        let ctx = Context { channel: Channel::Admin, session_id: None, ip: Some(&browser.ip) };
        let what = withdrawal::WithdrawalInput { purpose: b.purpose, scope: b.scope };
        withdrawal::withdraw_input(&state, &customer, &b.client_id, &what, ctx, state.now()).await
    };
    match done.await {
        Ok(w) => Json(w).into_response(),
        Err(e) => error(e),
    }
}
