//! The client_credentials grant (RFC 6749 §4.4): confidential clients only, for the scopes
//! registered for them; an access token only, no refresh token (§4.4.3). No database write.
//! The dispatcher has checked that the client is registered for this grant (§5.2).

use crate::error::{Error, Result};
use crate::oidc::clients::Client;
use crate::oidc::grants::resource;
use crate::oidc::params::Params;
use crate::oidc::scopes::Scopes;
use crate::oidc::tokens::{self, TokenHolder, TokenResponse};
use crate::state::AppState;

pub fn exchange(state: &AppState, client: &Client, params: &Params, now: i64) -> Result<TokenResponse> {
    if client.is_public() {
        return Err(Error::UnauthorizedClient("public clients cannot use client_credentials"));
    }
    let allowed = Scopes::parse(&client.allowed_scopes.join(" "))?;
    let scope = match params.get("scope") {
        Some(s) => Scopes::parse(s)?,
        None => allowed.clone(),
    };
    if !scope.is_subset_of(&allowed) {
        return Err(Error::InvalidScope("the client is not allowed this scope"));
    }
    let scope = scope.to_string();
    // RFC 8707 §2.2: any resource registered for the client.
    let audience = resource::audience(client, params, None, true)?;
    // RFC 9068 §2.2: with no resource owner, `sub` is the client.
    let holder = TokenHolder { client_id: &client.id, sub: &client.id, grant_id: "", resource: audience.as_deref() };
    let access = tokens::access_token(state, &holder, &scope, None, now);
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: None,
        id_token: None,
        scope,
    })
}
