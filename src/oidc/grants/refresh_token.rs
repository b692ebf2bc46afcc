//! The refresh_token grant (RFC 6749 §6, OIDC Core §12). Refresh tokens rotate on every use;
//! presenting a retired one revokes the whole family (RFC 9700 §4.14.2).

use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::oidc::clients::Client;
use crate::oidc::grants::resource;
use crate::oidc::params::Params;
use crate::oidc::scopes::Scopes;
use crate::oidc::tokens::{self, Authentication, TokenHolder, TokenResponse};
use crate::state::AppState;

pub async fn exchange(state: &AppState, client: &Client, params: &Params, now: i64) -> Result<TokenResponse> {
    let presented = params.require("refresh_token")?;
    let hash = secrets::hash(presented);
    let record =
        state.store.refresh_token(&hash).await?.ok_or(Error::InvalidGrant("the refresh token is not valid"))?;
    let grant = &record.grant;
    if grant.client_id != client.id {
        return Err(Error::InvalidGrant("the refresh token was issued to another client"));
    }
    if grant.revoked_at.is_some() {
        return Err(Error::InvalidGrant("the refresh token was revoked"));
    }
    if record.rotated_at.is_some() {
        tracing::warn!(client = %client.id, grant = %grant.id, "refresh token reused; revoking its family");
        state.store.revoke_grant(&grant.id, now).await?;
        return Err(Error::InvalidGrant("the refresh token was already used"));
    }
    if record.expires_at <= now {
        return Err(Error::InvalidGrant("the refresh token has expired"));
    }
    let granted = Scopes::parse(&grant.scope)?;
    // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
    let scope = match params.get("scope") {
        Some(s) => {
            let asked = Scopes::parse(s)?;
            if !asked.is_subset_of(&granted) {
                return Err(Error::InvalidScope("the scope exceeds what was granted"));
            }
            asked
        }
        None => granted,
    };
    // RFC 8707 §2.2: a refresh may name the family's resource again, never another one.
    let audience = resource::audience(client, params, Some(grant.resource.as_str()).filter(|r| !r.is_empty()), false)?;
    let customer =
        state.store.customer(&grant.customer_id).await?.ok_or(Error::InvalidGrant("the account no longer exists"))?;
    let next = secrets::random_token();
    let expires = now + state.config.refresh_token_ttl_secs * 1000;
    if !state.store.rotate_refresh_token(&hash, &secrets::hash(&next), &grant.id, now, expires).await? {
        state.store.revoke_grant(&grant.id, now).await?;
        return Err(Error::InvalidGrant("the refresh token was already used"));
    }
    let authn = Authentication {
        auth_time_ms: grant.auth_time,
        acr: &grant.acr,
        amr: &grant.amr,
        session_id: grant.session_id.as_deref(),
    };
    let scope_text = scope.to_string();
    let holder =
        TokenHolder { client_id: &client.id, sub: &customer.id, grant_id: &grant.id, resource: audience.as_deref() };
    let access = tokens::access_token(state, &holder, &scope_text, Some(&authn), now);
    // OIDC Core §12.2: a new ID token, without nonce, with the original auth_time.
    let id_token =
        scope.contains("openid").then(|| tokens::id_token(state, client, &customer, &scope, &authn, None, now));
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: Some(next),
        id_token,
        scope: scope_text,
    })
}
