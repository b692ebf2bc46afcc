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
    // Core §8.1: a pairwise `sub` names the customer only for its client's sector.
    let client = state.clients.get(&state.store, &claims.client_id, now).await?;
    let customer_id = client
        .as_ref()
        .and_then(|c| super::subject::customer(state, c, &claims.sub))
        .ok_or(Error::InvalidToken("the client of this token no longer exists"))?;
    // The account, the token's revocation state and its client, in one read: a token whose
    // client was deleted (by this process or the CLI) is refused at once.
    let (customer, standing) = state
        .store
        .customer_for_token(&customer_id, &claims.jti, &claims.gid, &claims.client_id)
        .await?
        .ok_or(Error::InvalidToken("the account no longer exists"))?;
    if standing.revoked {
        return Err(Error::InvalidToken("the access token was revoked"));
    }
    tokens::check_token_client(&claims, &standing)?;
    let mut out = tokens::customer_claims(&customer, &claims.sub, &scope);
    if let Some(consents) =
        super::purposes::consents_claim(state, &claims.scope, &customer.id, &claims.client_id).await?
    {
        out.insert("consents".into(), consents);
    }
    Ok(out)
}
