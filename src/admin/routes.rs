//! Thin handlers for the admin REST API (JSON) under `/admin/api/v1`: connectors.
//! Secrets are write-only: responses say `has_secret`, never the secret.

use super::authorize;
use crate::error::Error;
use crate::federation::connectors::{self, ConnectorInput};
use crate::oidc::tokens::AccessTokenClaims;
use crate::state::SharedState;
use crate::web::extract::bearer_token;
use crate::web::responses;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
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

fn input(body: &Bytes) -> Result<ConnectorInput, Error> {
    serde_json::from_slice(body).map_err(|e| Error::bad_input(format!("the body is not a valid connector: {e}")))
}

async fn list(State(state): State<SharedState>, _: AdminCaller) -> Response {
    let done = async { connectors::list(&state).await };
    match done.await {
        Ok(v) => Json(json!({ "connectors": v })).into_response(),
        Err(e) => error(e),
    }
}

async fn create(State(state): State<SharedState>, _: AdminCaller, body: Bytes) -> Response {
    let done = async { connectors::create(&state, input(&body)?, state.now()).await };
    match done.await {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => error(e),
    }
}

async fn read(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>) -> Response {
    let done = async { connectors::get(&state, &id).await };
    match done.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(e),
    }
}

async fn update(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>, body: Bytes) -> Response {
    let done = async { connectors::update(&state, &id, input(&body)?, state.now()).await };
    match done.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(e),
    }
}

async fn remove(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>) -> Response {
    let done = async { connectors::delete(&state, &id, state.now()).await };
    match done.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

async fn switch(state: SharedState, id: String, on: bool) -> Response {
    let done = async {
        let change = ConnectorInput { enabled: Some(on), ..ConnectorInput::default() };
        connectors::update(&state, &id, change, state.now()).await
    };
    match done.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(e),
    }
}

async fn enable(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>) -> Response {
    switch(state, id, true).await
}

async fn disable(State(state): State<SharedState>, _: AdminCaller, Path(id): Path<String>) -> Response {
    switch(state, id, false).await
}
