//! The consent API for brand back-ends (`/api/v1/customers/{sub}/consents`): with a
//! client_credentials access token holding `tessera:consents`, a client reads where a
//! customer stands on the purposes it is registered for, and records a withdrawal (e.g. the
//! unsubscribe link of a marketing mail). A client only ever sees and touches its own
//! purposes; the customer is named by the `sub` Tessera gave that client.

use super::scopes::Scopes;
use super::subject;
use super::tokens::{self, AccessTokenClaims};
use crate::consent::ledger::{Channel, Context};
use crate::consent::withdrawal;
use crate::error::Error;
use crate::state::SharedState;
use crate::web::extract::bearer_token;
use crate::web::request::Browser;
use crate::web::responses;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub const CONSENTS_SCOPE: &str = "tessera:consents";

pub fn api() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/customers/{sub}/consents", get(read))
        .route("/api/v1/customers/{sub}/consents/withdraw", post(withdraw))
}

/// A client calling with its own client_credentials token (RFC 6750 §3.1 errors otherwise).
pub struct ConsentsCaller(pub AccessTokenClaims);

impl FromRequestParts<SharedState> for ConsentsCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let checked = async {
            let token = bearer_token(&parts.headers).ok_or(Error::InvalidToken("an access token is required"))?;
            let claims = tokens::verify_access_token(state, token, state.now()).await?;
            if !Scopes::parse(&claims.scope)?.contains(CONSENTS_SCOPE) || claims.sub != claims.client_id {
                return Err(Error::InsufficientScope("a client_credentials token with tessera:consents is required"));
            }
            Ok(claims)
        };
        checked.await.map(ConsentsCaller).map_err(responses::bearer)
    }
}

fn error(e: Error) -> Response {
    match e {
        Error::NotFound => (axum::http::StatusCode::NOT_FOUND, Json(json!({ "error": "not_found" }))).into_response(),
        other => responses::oauth_json(other),
    }
}

/// The customer a client names by the `sub` it was given (Core §8.1: pairwise for its sector).
async fn customer_named(state: &SharedState, client_id: &str, sub: &str) -> Result<String, Error> {
    let client = state.clients.get(&state.store, client_id, state.now()).await?.ok_or(Error::NotFound)?;
    subject::customer(state, &client, sub).ok_or(Error::NotFound)
}

async fn read(
    State(state): State<SharedState>,
    ConsentsCaller(c): ConsentsCaller,
    Path(sub): Path<String>,
) -> Response {
    let standing = async {
        let customer = customer_named(&state, &c.client_id, &sub).await?;
        let scopes = withdrawal::remembered_scopes(&state, &customer, &c.client_id).await?;
        Ok::<_, Error>((withdrawal::standing(&state, &customer, &c.client_id).await?, scopes))
    };
    match standing.await {
        Ok((v, scopes)) => Json(json!({ "sub": sub, "scopes": scopes, "consents": v })).into_response(),
        Err(e) => error(e),
    }
}

async fn withdraw(
    State(state): State<SharedState>,
    ConsentsCaller(c): ConsentsCaller,
    browser: Browser,
    Path(sub): Path<String>,
    Json(body): Json<withdrawal::WithdrawalInput>,
) -> Response {
    let ctx = Context { channel: Channel::Api, session_id: None, ip: Some(&browser.ip) };
    let done = async {
        let customer = customer_named(&state, &c.client_id, &sub).await?;
        withdrawal::withdraw_input(&state, &customer, &c.client_id, &body, ctx, state.now()).await
    };
    match done.await {
        Ok(w) => Json(w).into_response(),
        Err(e) => error(e),
    }
}
