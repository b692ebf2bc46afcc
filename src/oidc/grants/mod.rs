//! The token endpoint (RFC 6749 §3.2): authenticate the client, then one file per grant.

pub mod authorization_code;
mod client_credentials;
mod refresh_token;

use super::client_auth;
use super::params::Params;
use super::tokens::TokenResponse;
use crate::error::{Error, Result};
use crate::state::AppState;

pub async fn token(
    state: &AppState,
    authorization: Option<&str>,
    pairs: Vec<(String, String)>,
    now: i64,
) -> Result<TokenResponse> {
    let params = Params::from_pairs(pairs)?;
    let presented = client_auth::presented(authorization, &params)?;
    let client = client_auth::authenticate(state, &presented, now).await?;
    match params.require("grant_type")? {
        "authorization_code" => authorization_code::exchange(state, &client, &params, now).await,
        "refresh_token" => refresh_token::exchange(state, &client, &params, now).await,
        "client_credentials" => client_credentials::exchange(state, &client, &params, now),
        _ => Err(Error::UnsupportedGrantType),
    }
}
