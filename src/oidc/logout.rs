//! RP-Initiated Logout 1.0. `id_token_hint` (our signature; expiry not required, §2) names
//! the client and the session; `post_logout_redirect_uri` must be registered exactly for
//! that client (§3). When the hint matches the current session, logout happens at once;
//! otherwise the person confirms first (§2: protect against unwanted logouts).

use super::clients::Client;
use super::params::Params;
use crate::crypto::jwt::{self, TYP_JWT};
use crate::error::{Error, Result};
use crate::login::session;
use crate::state::AppState;
use crate::store::SessionRecord;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    aud: serde_json::Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

/// §2: `id_token_hint` is "the ID Token previously issued by the OP". Other JWTs this OP
/// signs carry the same signature and often the session's `sid`, so the hint must also be
/// typed as an ID token (`typ` JWT, not RFC 9068's at+jwt nor BCL 1.0 §2.4's logout+jwt),
/// issued by this issuer, for a client registered here (Core §2: `aud` holds its client_id,
/// with `azp` naming it when there are several audiences). Returns the client and the sid.
async fn id_token_hint(state: &AppState, hint: &str, now: i64) -> Result<(Arc<Client>, Option<String>)> {
    let (header, c): (_, HintClaims) = jwt::decode(&state.keys, hint)
        .map_err(|_| Error::bad_input("The logout request carries an ID token that was not issued here."))?;
    if header.typ != TYP_JWT {
        return Err(Error::bad_input("The logout request's id_token_hint is not an ID token."));
    }
    if c.iss != state.config.issuer {
        return Err(Error::bad_input("The logout request carries an ID token from another issuer."));
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
    let client = client
        .ok_or_else(|| Error::bad_input("The logout request carries an ID token for an app not registered here."))?;
    Ok((client, c.sid))
}

/// A checked logout request.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    /// Where to send the person afterwards, with `state` already appended.
    pub redirect: Option<String>,
    pub client_name: Option<String>,
    /// The hint proved the request comes from an app of this session.
    pub hint_matches_session: bool,
}

pub async fn check(
    state: &AppState,
    pairs: Vec<(String, String)>,
    session: Option<&SessionRecord>,
    now: i64,
) -> Result<LogoutRequest> {
    let params = Params::from_pairs(pairs)?;
    let mut hint_sid = None;
    let mut client: Option<Arc<Client>> = None;
    if let Some(hint) = params.get("id_token_hint") {
        let (hinted, sid) = id_token_hint(state, hint, now).await?;
        if params.get("client_id").is_some_and(|id| *id != hinted.id) {
            return Err(Error::bad_input("The logout request's client_id does not match its ID token."));
        }
        client = Some(hinted);
        hint_sid = sid;
    } else if let Some(id) = params.get("client_id") {
        client = state.clients.get(&state.store, id, now).await?;
    }
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let c = client
                .as_ref()
                .ok_or_else(|| Error::bad_input("The app asking to sign you out could not be identified."))?;
            if !c.has_post_logout_redirect_uri(uri) {
                return Err(Error::bad_input("The address to return to after logout is not registered for this app."));
            }
            let mut u =
                url::Url::parse(uri).map_err(|_| Error::bad_input("The logout return address is not a URL."))?;
            if let Some(s) = params.get("state") {
                u.query_pairs_mut().append_pair("state", s);
            }
            Some(u.to_string())
        }
    };
    let hint_matches_session = matches!((session, &hint_sid), (Some(s), Some(sid)) if s.id == *sid);
    Ok(LogoutRequest { redirect, client_name: client.map(|c| c.name.clone()), hint_matches_session })
}

/// End the session (if any).
pub async fn log_out(state: &AppState, session: Option<&SessionRecord>) -> Result<()> {
    if let Some(s) = session {
        session::end(state, s, true).await?;
    }
    Ok(())
}
