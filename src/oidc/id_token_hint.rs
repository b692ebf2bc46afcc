//! `id_token_hint`: "the ID Token previously issued by the OP" (OpenID Connect Core
//! §3.1.2.1, RP-Initiated Logout 1.0 §2). Other JWTs this OP signs carry the same signature
//! and often the session's `sid`, so a hint must also be typed as an ID token (`typ` JWT, not
//! RFC 9068's at+jwt nor Back-Channel Logout's logout+jwt), issued by this issuer, for a
//! client registered here (Core §2: `aud` holds its client_id, with `azp` naming it when there
//! are several audiences). Its expiry does not matter: it is a hint, not a credential.

use super::clients::Client;
use crate::crypto::jwt::{self, TYP_JWT};
use crate::error::Result;
use crate::state::AppState;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

/// A hint that checked out: the client it was issued to, its subject and session.
pub struct Hint {
    pub client: Arc<Client>,
    pub sub: String,
    pub sid: Option<String>,
}

/// `Ok(Err(why))` for a hint that is not this OP's ID token; `Err` only for store failures.
pub async fn check(state: &AppState, hint: &str, now: i64) -> Result<std::result::Result<Hint, &'static str>> {
    let Ok((header, c)) = jwt::decode::<HintClaims>(&state.keys.at(now), hint) else {
        return Ok(Err("the id_token_hint is not an ID token issued here"));
    };
    if header.typ != TYP_JWT {
        return Ok(Err("the id_token_hint is not an ID token"));
    }
    if c.iss != state.config.issuer {
        return Ok(Err("the id_token_hint is an ID token from another issuer"));
    }
    let client_id = match (&c.aud, &c.azp) {
        (serde_json::Value::String(aud), azp) if azp.as_ref().is_none_or(|a| a == aud) => Some(aud.as_str()),
        (serde_json::Value::Array(auds), Some(azp)) if auds.iter().any(|a| a.as_str() == Some(azp)) => {
            Some(azp.as_str())
        }
        (serde_json::Value::Array(auds), None) if auds.len() == 1 => auds[0].as_str(),
        _ => None,
    };
    let client = match client_id {
        Some(id) => state.clients.get(&state.store, id, now).await?,
        None => None,
    };
    Ok(match client {
        // Core §8.1: the hint's `sub` is the one its client knows; the customer behind it.
        Some(client) => match super::subject::customer(state, &client, &c.sub) {
            Some(sub) => Ok(Hint { client, sub, sid: c.sid }),
            None => Err("the id_token_hint names nobody here"),
        },
        None => Err("the id_token_hint is an ID token for an app not registered here"),
    })
}
