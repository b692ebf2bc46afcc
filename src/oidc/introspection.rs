//! Token introspection (RFC 7662) for authenticated clients. Access tokens may be inspected by
//! any confidential client (resource servers); refresh tokens only by the client that holds them.

use super::client_auth;
use super::params::Params;
use super::tokens;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::AppState;
use serde_json::{Value, json};

pub async fn introspect(
    state: &AppState,
    authorization: Option<&str>,
    pairs: Vec<(String, String)>,
    now: i64,
) -> Result<Value> {
    let params = Params::from_pairs(pairs)?;
    let client = client_auth::authenticate(state, &client_auth::presented(authorization, &params)?, now).await?;
    if client.is_public() {
        return Err(Error::InvalidClient("introspection requires client authentication"));
    }
    let token = params.require("token")?;
    let inactive = json!({ "active": false });
    // RFC 7662 §2.1: the hint only speeds up the lookup; try both kinds.
    if token.matches('.').count() == 2 {
        return Ok(match tokens::verify_access_token(state, token, now).await {
            Ok(c) => json!({
                "active": true, "token_type": "Bearer", "scope": c.scope, "client_id": c.client_id,
                "sub": c.sub, "aud": c.aud, "iss": c.iss, "exp": c.exp, "iat": c.iat, "jti": c.jti,
                "auth_time": c.auth_time, "acr": c.acr, "amr": c.amr, "sid": c.sid,
            }),
            Err(Error::InvalidToken(_)) => inactive,
            Err(e) => return Err(e),
        });
    }
    let Some(r) = state.store.refresh_token(&secrets::hash(token)).await? else {
        return Ok(inactive);
    };
    let live = r.rotated_at.is_none() && r.grant.revoked_at.is_none() && r.expires_at > now;
    if !live || r.grant.client_id != client.id {
        return Ok(inactive);
    }
    Ok(json!({
        "active": true, "token_type": "refresh_token", "scope": r.grant.scope, "client_id": r.grant.client_id,
        "sub": r.grant.customer_id, "iss": state.config.issuer, "exp": r.expires_at / 1000,
        "iat": r.grant.created_at / 1000, "auth_time": r.grant.auth_time / 1000,
    }))
}
