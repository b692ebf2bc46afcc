//! Thin handlers for privacy requests in the admin API (`/admin/api/v1/privacy-requests`):
//! list (filter by status, due date, customer), show, add a note, extend, complete, reject.

use super::admin::{self, ListQuery};
use crate::admin::routes::{AdminCaller, answer, error};
use crate::error::Error;
use crate::events::audit::{Actor, Caller};
use crate::state::SharedState;
use crate::web::request::Browser;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

pub fn api() -> Router<SharedState> {
    Router::new()
        .route("/admin/api/v1/privacy-requests", get(list))
        .route("/admin/api/v1/privacy-requests/{id}", get(show))
        .route("/admin/api/v1/privacy-requests/{id}/notes", post(note))
        .route("/admin/api/v1/privacy-requests/{id}/extend", post(extend))
        .route("/admin/api/v1/privacy-requests/{id}/complete", post(complete))
        .route("/admin/api/v1/privacy-requests/{id}/reject", post(reject))
}

fn caller<'a>(admin: AdminCaller, browser: &'a Browser) -> Caller<'a> {
    Caller { actor: Actor::Client(admin.0.client_id), from: Some(browser.facts()) }
}

/// `{"text": …}` for a note, `{"reason": …}` for the rest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Said {
    #[serde(default)]
    text: String,
    #[serde(default)]
    reason: String,
}

fn said(body: &Bytes) -> Result<Said, Error> {
    serde_json::from_slice(body).map_err(|e| Error::bad_input(format!("the body is not valid: {e}")))
}

async fn list(
    State(state): State<SharedState>,
    _: AdminCaller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else { return error(Error::bad_input("unknown or malformed query parameters")) };
    let now = state.now();
    answer(StatusCode::OK, admin::list(&state, &q, now).await.map(|v| json!({ "privacy_requests": v })))
}

async fn show(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>) -> Response {
    answer(StatusCode::OK, admin::show(&state, &id, state.now()).await)
}

async fn note(
    State(state): State<SharedState>,
    a: AdminCaller,
    b: Browser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let done = async { admin::note(&state, caller(a, &b), &id, &said(&body)?.text, state.now()).await };
    answer(StatusCode::OK, done.await)
}

async fn extend(
    State(state): State<SharedState>,
    a: AdminCaller,
    b: Browser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let done = async { admin::extend(&state, caller(a, &b), &id, &said(&body)?.reason, state.now()).await };
    answer(StatusCode::OK, done.await)
}

async fn complete(
    State(state): State<SharedState>,
    a: AdminCaller,
    b: Browser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let done = async { admin::close(&state, caller(a, &b), &id, true, &said(&body)?.reason, state.now()).await };
    answer(StatusCode::OK, done.await)
}

async fn reject(
    State(state): State<SharedState>,
    a: AdminCaller,
    b: Browser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let done = async { admin::close(&state, caller(a, &b), &id, false, &said(&body)?.reason, state.now()).await };
    answer(StatusCode::OK, done.await)
}
