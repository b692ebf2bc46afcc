//! The consent step of an authorization: what the page shows, and recording the answer.

use super::authorize::{self, Next, Untrusted};
use super::scopes::Scopes;
use crate::consent::ledger::{self, Action, Channel, Context, Decision};
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::SessionRecord;

/// What the consent page shows: the app's name and what it asks for, in plain words.
pub struct ConsentView {
    pub client_name: String,
    pub asks_for: Vec<&'static str>,
}

pub fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "Know who you are when you sign in",
        "email" => "See your email address",
        "profile" => "See your name",
        "offline_access" => "Stay connected when you are not using it",
        _ => "Other access",
    }
}

pub async fn view(state: &AppState, id: &str, now: i64) -> Result<ConsentView> {
    let request = authorize::load(state, id, now).await?;
    let client = state.clients.get(&state.store, &request.client_id, now).await?.ok_or(Error::NotFound)?;
    Ok(ConsentView {
        client_name: client.name.clone(),
        asks_for: Scopes::parse(&request.scope)?.iter().map(describe).collect(),
    })
}

/// The person agreed: remember it for this client and continue the request.
pub async fn approve(state: &AppState, id: &str, session: Option<&SessionRecord>, now: i64) -> Result<Next, Untrusted> {
    let session =
        session.ok_or(Untrusted(Error::bad_input("Your session ended. Go back to the app and sign in again.")))?;
    let mut request = authorize::load(state, id, now).await.map_err(Untrusted)?;
    let before =
        state.store.consented_scope(&session.customer_id, &request.client_id).await.map_err(|e| Untrusted(e.into()))?;
    state
        .store
        .save_consent(&session.customer_id, &request.client_id, &request.scope, now)
        .await
        .map_err(|e| Untrusted(e.into()))?;
    // The proof: one ledger entry per scope newly granted here.
    let had: Vec<&str> = before.as_deref().unwrap_or("").split_whitespace().collect();
    let decisions: Vec<Decision> = request
        .scope
        .split_whitespace()
        .filter(|s| !had.contains(s))
        .map(|s| Decision {
            client_id: request.client_id.clone(),
            item: format!("scope:{s}"),
            policy_id: String::new(),
            policy_version: 0,
            text_hash: secrets::hash(describe(s)),
            action: Action::Granted,
        })
        .collect();
    let ctx = Context { channel: Channel::ConsentScreen, session_id: Some(&session.id), ip: Some(&session.ip) };
    ledger::record(state, &session.customer_id, &decisions, ctx, now).await.map_err(Untrusted)?;
    request.consented = true;
    authorize::save(state, &request).await.map_err(Untrusted)?;
    authorize::resume(state, id, Some(session), now).await
}
