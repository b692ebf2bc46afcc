//! The UserInfo endpoint (OpenID Connect Core §5.3): claims released by the token's scope.

use super::scopes::Scopes;
use super::tokens;
use crate::error::{Error, Result};
use crate::state::AppState;
use serde_json::{Map, Value};

pub async fn userinfo(state: &AppState, access_token: Option<&str>, now: i64) -> Result<Map<String, Value>> {
    let token = access_token.ok_or(Error::MissingToken)?;
    let claims = tokens::check_access_token(state, token, now)?;
    let scope = Scopes::parse(&claims.scope)?;
    if !scope.contains("openid") {
        return Err(Error::InsufficientScope("the openid scope is required"));
    }
    // The account and the token's revocation state, in one read.
    let (customer, revoked) = state
        .store
        .customer_for_token(&claims.sub, &claims.jti, &claims.gid)
        .await?
        .ok_or(Error::InvalidToken("the account no longer exists"))?;
    if revoked {
        return Err(Error::InvalidToken("the access token was revoked"));
    }
    Ok(tokens::customer_claims(&customer, &scope))
}
