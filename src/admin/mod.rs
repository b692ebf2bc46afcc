//! The admin API: who may call it. A caller presents a bearer access token that Tessera
//! itself issued (client_credentials) to a client holding the `tessera:admin` scope.

pub mod breach_routes;
pub mod connectors;
pub mod consent_routes;
pub mod key_routes;
pub mod routes;
pub mod webhook_routes;

use crate::error::{Error, Result};
use crate::oidc::scopes::Scopes;
use crate::oidc::tokens::{self, AccessTokenClaims};
use crate::state::AppState;

pub const ADMIN_SCOPE: &str = "tessera:admin";

/// RFC 6750 §3.1: no token → invalid_request-less 401; a bad one → invalid_token (401); a
/// good one without the scope → insufficient_scope (403).
pub async fn authorize(state: &AppState, bearer: Option<&str>, now: i64) -> Result<AccessTokenClaims> {
    let token = bearer.ok_or(Error::InvalidToken("an admin access token is required"))?;
    let claims = tokens::verify_access_token(state, token, now).await?;
    if !Scopes::parse(&claims.scope)?.contains(ADMIN_SCOPE) {
        return Err(Error::InsufficientScope("the tessera:admin scope is required"));
    }
    Ok(claims)
}
