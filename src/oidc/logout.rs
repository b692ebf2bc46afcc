//! RP-Initiated Logout 1.0. `id_token_hint` (our signature; expiry not required, §2) names
//! the client and the session; `post_logout_redirect_uri` must be registered exactly for
//! that client (§3). When the hint matches the current session, logout happens at once;
//! otherwise the person confirms first (§2: protect against unwanted logouts).

use super::backchannel;
use super::clients::Client;
use super::params::Params;
use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, SessionEnd};
use crate::events::{NewEvent, outbox};
use crate::state::AppState;
use crate::store::{SessionRecord, Store, Tx};
use std::sync::Arc;

/// The hint as logout needs it: the client and the sid, or a page saying what is wrong.
async fn id_token_hint(state: &AppState, hint: &str, now: i64) -> Result<(Arc<Client>, Option<String>)> {
    match super::id_token_hint::check(state, hint, now).await? {
        Ok(h) => Ok((h.client, h.sid)),
        Err(why) => Err(Error::bad_input(format!("The logout request cannot be used: {why}."))),
    }
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
    // The hint's `sid` is the one its client knows (pairwise clients get their own, §8.1).
    let hint_matches_session = match (session, &hint_sid, &client) {
        (Some(s), Some(sid), Some(c)) => super::subject::sid(state, c, &s.id) == *sid,
        _ => false,
    };
    Ok(LogoutRequest { redirect, client_name: client.map(|c| c.name.clone()), hint_matches_session })
}

/// End the session (if any), as its customer asked from `browser`.
pub async fn log_out(
    state: &AppState,
    session: Option<&SessionRecord>,
    browser: &crate::session::Browser<'_>,
) -> Result<()> {
    if let Some(s) = session {
        let by = Actor::Customer(s.customer_id.clone());
        end(state, s, true, SessionEnd { by, reason: "logout", from: Some(*browser) }).await?;
    }
    Ok(())
}

/// End a session in its own unit of work (see `end_in`), with its audit entry.
pub async fn end(state: &AppState, session: &SessionRecord, keep_offline: bool, why: SessionEnd<'_>) -> Result<()> {
    let now = state.now();
    let mut tx = state.store.begin().await?;
    end_in(state, &mut tx, session, keep_offline, now).await?;
    audit::session_ended_in(&mut tx, session, why, now).await?;
    tx.commit().await?;
    Ok(())
}

/// End a session inside the caller's unit of work: revoke what was issued in it, write the
/// back-channel logout deliveries for the clients that asked for them (sent by the worker
/// once this commits) and the `session.ended` event. `keep_offline` spares `offline_access`
/// grants (RP-initiated logout). A session already gone is left alone.
pub async fn end_in(
    state: &AppState,
    tx: &mut Tx,
    session: &SessionRecord,
    keep_offline: bool,
    now: i64,
) -> Result<()> {
    if !Store::delete_session_in(tx, &session.id).await? {
        return Ok(());
    }
    Store::revoke_session_grants_in(tx, &session.id, now, keep_offline).await?;
    let notified = backchannel::enqueue_in(state, tx, session, now).await?;
    outbox::emit_in(tx, NewEvent::session_ended(&session.customer_id, &session.id, notified), now).await?;
    tracing::info!(session = %session.id, notified, "session ended");
    Ok(())
}

/// A browser holds one session: once `new` is stored, the browser's previous session ends
/// unless `new` renewed it. Offline grants survive, as in RP-initiated logout.
pub async fn retire_previous_in(
    state: &AppState,
    tx: &mut Tx,
    previous: Option<&SessionRecord>,
    new: &SessionRecord,
    now: i64,
) -> Result<()> {
    match previous {
        Some(p) if p.id != new.id => {
            end_in(state, tx, p, true, now).await?;
            let from = crate::session::Browser { ip: &new.ip, user_agent: &new.user_agent };
            let why = SessionEnd { by: Actor::Customer(new.customer_id.clone()), reason: "replaced", from: Some(from) };
            Ok(audit::session_ended_in(tx, p, why, now).await?)
        }
        _ => Ok(()),
    }
}
