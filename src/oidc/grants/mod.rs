//! The token endpoint (RFC 6749 §3.2): authenticate the client, check that it is registered
//! for the grant it uses, then one file per grant.

pub mod authorization_code;
mod client_credentials;
mod refresh_token;
pub mod resource;

use super::client_auth;
use super::params::Params;
use super::tokens::TokenResponse;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The grant types a client can be registered for (OAuth 2.0 Dynamic Client Registration,
/// RFC 7591 §2 `grant_types`, names the same values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] =
        [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials];

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

pub async fn token(
    state: &AppState,
    authorization: Option<&str>,
    pairs: Vec<(String, String)>,
    now: i64,
) -> Result<TokenResponse> {
    let params = Params::from_pairs(pairs)?;
    let presented = client_auth::presented(authorization, &params)?;
    let client = client_auth::authenticate(state, &presented, now).await?;
    let grant = GrantType::parse(params.require("grant_type")?).ok_or(Error::UnsupportedGrantType)?;
    // RFC 6749 §5.2 unauthorized_client: a known grant type this client is not registered for.
    client.may_use(grant)?;
    let issued = match grant {
        GrantType::AuthorizationCode => authorization_code::exchange(state, &client, &params, now).await,
        GrantType::RefreshToken => refresh_token::exchange(state, &client, &params, now).await,
        GrantType::ClientCredentials => client_credentials::exchange(state, &client, &params, now),
    }?;
    crate::telemetry::token_issued(grant.as_str());
    Ok(issued)
}
