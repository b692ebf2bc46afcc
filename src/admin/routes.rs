//! Thin handlers for the admin REST API (JSON) under `/admin/api/v1`: connectors (every change
//! recorded in the audit log with the calling client, its address and user agent) and the
//! audit log itself. Secrets are write-only: responses say `has_secret`, never the secret.

use super::authorize;
use super::connectors::Caller;
use crate::error::Error;
use crate::events::audit::Actor;
use crate::events::audit_query::{self, Query as AuditQuery};
use crate::login::federation::connectors::{self, ConnectorInput};
use crate::oidc::tokens::AccessTokenClaims;
use crate::state::SharedState;
use crate::web::extract::bearer_token;
use crate::web::request::Browser;
use crate::web::responses;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
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

/// A caller of the admin API: a bearer access token Tessera issued with `tessera:admin`
/// (see `admin::authorize`). Handlers that take one run only for such callers; the others get
/// the RFC 6750 §3.1 answer.
pub struct AdminCaller(pub AccessTokenClaims);

impl FromRequestParts<SharedState> for AdminCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        authorize(state, bearer_token(&parts.headers), state.now()).await.map(AdminCaller).map_err(error)
    }
}

impl AdminCaller {
    /// Who makes a change, as the audit log names it: the client the token was issued to,
    /// calling from `browser`'s address with its user agent.
    fn changing<'a>(&self, browser: &'a Browser) -> Caller<'a> {
        Caller { actor: Actor::Client(self.0.client_id.clone()), from: Some(browser.facts()) }
    }
}

/// Errors as JSON: bearer problems per RFC 6750, the rest with a plain description.
pub fn error(e: Error) -> Response {
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

/// The answer of an admin call: the value as JSON with `status`, or the error.
pub fn answer<T: serde::Serialize>(status: StatusCode, done: Result<T, Error>) -> Response {
    match done {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => error(e),
    }
}

fn input(body: &Bytes) -> Result<ConnectorInput, Error> {
    serde_json::from_slice(body).map_err(|e| Error::bad_input(format!("the body is not a valid connector: {e}")))
}

async fn list(State(state): State<SharedState>, _: AdminCaller) -> Response {
    let done = async { connectors::list(&state).await };
    answer(StatusCode::OK, done.await.map(|v| json!({ "connectors": v })))
}

async fn create(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async { super::connectors::create(&state, admin.changing(&browser), input(&body)?, state.now()).await };
    answer(StatusCode::CREATED, done.await)
}

async fn read(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>) -> Response {
    answer(StatusCode::OK, connectors::get(&state, &id).await)
}

async fn update(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let by = admin.changing(&browser);
    let done = async { super::connectors::update(&state, by, &id, input(&body)?, state.now()).await };
    answer(StatusCode::OK, done.await)
}

async fn remove(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    let done = async { super::connectors::delete(&state, admin.changing(&browser), &id, state.now()).await };
    match done.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

async fn switch(state: SharedState, by: Caller<'_>, id: String, on: bool) -> Response {
    answer(StatusCode::OK, super::connectors::switch(&state, by, &id, on, state.now()).await)
}

async fn enable(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    switch(state, admin.changing(&browser), id, true).await
}

async fn disable(
    State(state): State<SharedState>,
    admin: AdminCaller,
    browser: Browser,
    Path(id): Path<String>,
) -> Response {
    switch(state, admin.changing(&browser), id, false).await
}

/// `GET /admin/api/v1/audit?customer=&action=&since=&until=&limit=&cursor=`: newest first.
async fn audit(
    State(state): State<SharedState>,
    _: AdminCaller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let done = async {
        let Query(q) = query.map_err(|e| Error::bad_input(format!("the query string is not valid: {e}")))?;
        audit_query::search(&state, &q).await
    };
    match done.await {
        Ok(page) => Json(page).into_response(),
        Err(e) => error(e),
    }
}
