//! Token revocation (RFC 7009). Revoking a refresh token revokes its whole family, including
//! the access tokens issued from it (§2.1); revoking an access token revokes that token.
//! Unknown or foreign tokens get the same 200 answer (§2.2), so nothing leaks.

use super::client_auth;
use super::params::Params;
use super::tokens;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::AppState;

pub async fn revoke(
    state: &AppState,
    authorization: Option<&str>,
    pairs: Vec<(String, String)>,
    now: i64,
) -> Result<()> {
    let params = Params::from_pairs(pairs)?;
    let client = client_auth::authenticate(state, &client_auth::presented(authorization, &params)?, now).await?;
    let token = params.require("token")?;
    if let Some(r) = state.store.refresh_token(&secrets::hash(token)).await? {
        if r.grant.client_id == client.id {
            state.store.revoke_grant(&r.grant.id, now).await?;
        }
        return Ok(());
    }
    match tokens::verify_access_token_any_audience(state, token, now).await {
        Ok(c) if c.client_id == client.id => {
            state.store.revoke_access_token(&c.jti, c.exp * 1000).await?;
            Ok(())
        }
        Ok(_) | Err(Error::InvalidToken(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
