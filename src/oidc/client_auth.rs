//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3): client_secret_basic, client_secret_post, or none for public clients.

use super::clients::Client;
use super::params::Params;
use crate::error::{Error, Result};
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::sync::Arc;

pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
}

/// Read the credentials from the Authorization header or the body; using both is an error
/// (RFC 6749 §2.3: "MUST NOT use more than one authentication method").
pub fn presented(authorization: Option<&str>, params: &Params) -> Result<Presented> {
    let basic = authorization.and_then(|h| h.strip_prefix("Basic ").or_else(|| h.strip_prefix("basic ")));
    match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => Err(Error::invalid_request("use one client authentication method, not two")),
        (Some(b64), None) => {
            let decoded =
                STANDARD.decode(b64.trim()).map_err(|_| Error::InvalidClient("malformed Basic credentials"))?;
            let text = String::from_utf8(decoded).map_err(|_| Error::InvalidClient("malformed Basic credentials"))?;
            let (id, secret) = text.split_once(':').ok_or(Error::InvalidClient("malformed Basic credentials"))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let id = decode(id);
            if let Some(body_id) = params.get("client_id")
                && body_id != id
            {
                return Err(Error::invalid_request("client_id differs from the authenticated client"));
            }
            Ok(Presented { client_id: id, secret: Some(decode(secret)) })
        }
        (None, secret) => {
            let id = params.get("client_id").ok_or(Error::InvalidClient("client authentication is required"))?;
            Ok(Presented { client_id: id.to_string(), secret: secret.map(String::from) })
        }
    }
}

/// Authenticate: confidential clients must prove their secret; public clients present none.
pub async fn authenticate(state: &AppState, p: &Presented, now: i64) -> Result<Arc<Client>> {
    let client = state
        .clients
        .get(&state.store, &p.client_id, now)
        .await?
        .ok_or(Error::InvalidClient("unknown client or wrong secret"))?;
    match (&p.secret, client.is_public()) {
        (Some(secret), false) if client.secret_matches(secret) => Ok(client),
        (None, true) => Ok(client),
        (Some(_), true) => Err(Error::InvalidClient("public clients have no secret")),
        _ => Err(Error::InvalidClient("unknown client or wrong secret")),
    }
}
