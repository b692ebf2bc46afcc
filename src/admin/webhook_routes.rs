//! Thin handlers for the webhook endpoints of the admin API (JSON) under
//! `/admin/api/v1/webhooks`: register (the secret is in this answer only), list, read,
//! delete, enable, deliveries with their attempts, replay, and a test event.

use super::routes::{AdminCaller, answer, error};
use crate::error::Error;
use crate::events::webhooks::{self, Actor, Caller, EndpointInput, ReplayInput};
use crate::state::SharedState;
use crate::web::request::Browser;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub fn api() -> Router<SharedState> {
    Router::new()
        .route("/admin/api/v1/webhooks", get(list).post(create))
        .route("/admin/api/v1/webhooks/{id}", get(read).delete(remove))
        .route("/admin/api/v1/webhooks/{id}/enable", post(enable))
        .route("/admin/api/v1/webhooks/{id}/deliveries", get(deliveries))
        .route("/admin/api/v1/webhooks/{id}/replay", post(replay))
        .route("/admin/api/v1/webhooks/{id}/test", post(test))
}

fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::bad_input(format!("the body is not valid here: {e}")))
}

/// The admin client that called, and from where, as the audit log names it.
fn caller<'a>(admin: AdminCaller, browser: &'a Browser) -> Caller<'a> {
    Caller { actor: Actor::Client(admin.0.client_id), from: Some(browser.facts()) }
}

async fn list(State(state): State<SharedState>, _: AdminCaller) -> Response {
    let done = async { webhooks::list(&state).await };
    answer(StatusCode::OK, done.await.map(|v| json!({ "webhooks": v })))
}

async fn create(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async {
        let caller = caller(admin, &browser);
        let input: EndpointInput = json_body(&body)?;
        webhooks::create(&state, input, caller, state.now()).await
    };
    answer(StatusCode::CREATED, done.await)
}

async fn read(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>) -> Response {
    answer(StatusCode::OK, webhooks::get(&state, &id).await)
}

async fn remove(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    let done = async {
        let caller = caller(admin, &browser);
        webhooks::delete(&state, &id, caller, state.now()).await
    };
    match done.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

async fn enable(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    let done = async {
        let caller = caller(admin, &browser);
        webhooks::enable(&state, &id, caller, state.now()).await
    };
    answer(StatusCode::OK, done.await)
}

#[derive(serde::Deserialize)]
struct Listing {
    limit: Option<i64>,
}

async fn deliveries(
    State(state): State<SharedState>,
    _: AdminCaller,
    Path(id): Path<String>,
    Query(q): Query<Listing>,
) -> Response {
    let done = async { webhooks::deliveries(&state, &id, q.limit.unwrap_or(50)).await };
    answer(StatusCode::OK, done.await.map(|v| json!({ "deliveries": v })))
}

async fn replay(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let done = async {
        let caller = caller(admin, &browser);
        let which = json_body::<ReplayInput>(&body)?.parse()?;
        webhooks::replay(&state, &id, which, caller, state.now()).await
    };
    match done.await {
        Ok(n) => Json(json!({ "replayed": n })).into_response(),
        Err(e) => error(e),
    }
}

async fn test(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>) -> Response {
    answer(StatusCode::OK, webhooks::send_test(&state, &id, state.now()).await)
}
