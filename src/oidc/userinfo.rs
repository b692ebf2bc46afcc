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
    // The account, the token's revocation state and its client, in one read: a token whose
    // client was deleted (by this process or the CLI) is refused at once.
    let (customer, standing) = state
        .store
        .customer_for_token(&claims.sub, &claims.jti, &claims.gid, &claims.client_id)
        .await?
        .ok_or(Error::InvalidToken("the account no longer exists"))?;
    if standing.revoked {
        return Err(Error::InvalidToken("the access token was revoked"));
    }
    tokens::check_token_client(&claims, &standing)?;
    let mut out = tokens::customer_claims(&customer, &scope);
    if let Some(consents) =
        super::purposes::consents_claim(state, &claims.scope, &claims.sub, &claims.client_id).await?
    {
        out.insert("consents".into(), consents);
    }
    Ok(out)
}
