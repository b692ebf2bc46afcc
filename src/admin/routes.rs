//! Thin handlers for the admin REST API (JSON) under `/admin/api/v1`: connectors (every change
//! recorded in the audit log with the calling client) and the audit log itself.
//! Secrets are write-only: responses say `has_secret`, never the secret.

use super::connectors::Caller;
use super::{authorize, caller};
use crate::error::Error;
use crate::events::audit_query::{self, Query as AuditQuery};
use crate::federation::connectors::{self, ConnectorInput};
use crate::state::SharedState;
use crate::web::request::Browser;
use crate::web::responses;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub fn api() -> Router<SharedState> {
    Router::new()
        .route("/admin/api/v1/connectors", get(list).post(create))
        .route("/admin/api/v1/connectors/{id}", get(read).patch(update).delete(remove))
        .route("/admin/api/v1/connectors/{id}/enable", post(enable))
        .route("/admin/api/v1/connectors/{id}/disable", post(disable))
        .route("/admin/api/v1/audit", get(audit))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Errors as JSON: bearer problems per RFC 6750, the rest with a plain description.
fn error(e: Error) -> Response {
    match e {
        Error::InvalidToken(_) | Error::InsufficientScope(_) => responses::bearer(e),
        Error::NotFound => (StatusCode::NOT_FOUND, Json(json!({ "error": "not_found" }))).into_response(),
        Error::BadInput(m) => {
            (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_request", "error_description": m })))
                .into_response()
        }
        other => responses::oauth_json(other),
    }
}

fn input(body: &Bytes) -> Result<ConnectorInput, Error> {
    serde_json::from_slice(body).map_err(|e| Error::bad_input(format!("the body is not a valid connector: {e}")))
}

async fn list(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let done = async {
        authorize(&state, bearer(&headers), state.now()).await?;
        connectors::list(&state).await
    };
    match done.await {
        Ok(v) => Json(json!({ "connectors": v })).into_response(),
        Err(e) => error(e),
    }
}

async fn create(State(state): State<SharedState>, headers: HeaderMap, browser: Browser, body: Bytes) -> Response {
    let done = async {
        let by = Caller { actor: caller(&state, bearer(&headers), state.now()).await?, from: Some(browser.facts()) };
        super::connectors::create(&state, by, input(&body)?, state.now()).await
    };
    match done.await {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => error(e),
    }
}

async fn read(State(state): State<SharedState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let done = async {
        authorize(&state, bearer(&headers), state.now()).await?;
        connectors::get(&state, &id).await
    };
    match done.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(e),
    }
}

async fn update(
    State(state): State<SharedState>,
    headers: HeaderMap,
    browser: Browser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let done = async {
        let by = Caller { actor: caller(&state, bearer(&headers), state.now()).await?, from: Some(browser.facts()) };
        super::connectors::update(&state, by, &id, input(&body)?, state.now()).await
    };
    match done.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(e),
    }
}

async fn remove(
    State(state): State<SharedState>,
    headers: HeaderMap,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    let done = async {
        let by = Caller { actor: caller(&state, bearer(&headers), state.now()).await?, from: Some(browser.facts()) };
        super::connectors::delete(&state, by, &id, state.now()).await
    };
    match done.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

async fn switch(state: SharedState, headers: HeaderMap, browser: Browser, id: String, on: bool) -> Response {
    let done = async {
        let by = Caller { actor: caller(&state, bearer(&headers), state.now()).await?, from: Some(browser.facts()) };
        super::connectors::switch(&state, by, &id, on, state.now()).await
    };
    match done.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(e),
    }
}

async fn enable(
    State(state): State<SharedState>,
    headers: HeaderMap,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    switch(state, headers, browser, id, true).await
}

async fn disable(
    State(state): State<SharedState>,
    headers: HeaderMap,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    switch(state, headers, browser, id, false).await
}

/// `GET /admin/api/v1/audit?customer=&action=&since=&until=&limit=&cursor=`: newest first.
async fn audit(
    State(state): State<SharedState>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let done = async {
        authorize(&state, bearer(&headers), state.now()).await?;
        let Query(q) = query.map_err(|e| Error::bad_input(format!("the query string is not valid: {e}")))?;
        audit_query::search(&state, &q).await
    };
    match done.await {
        Ok(page) => Json(page).into_response(),
        Err(e) => error(e),
    }
}
