//! The stored authorization request while the person signs in, steps up or consents: load
//! it, save it, mark it authenticated by a sign-in made for it, or end it with an answer for
//! the client. Sign-in pages use these; they never see the checks in `authorize`.

use super::authorize::AuthorizationRequest;
use super::redirect::{AuthorizationResponse, error_response};
use crate::ephemeral::Space;
use crate::error::{Error, Result};
use crate::state::AppState;

/// A stored request, if it has not expired.
pub async fn load(state: &AppState, id: &str, now: i64) -> Result<AuthorizationRequest> {
    let r: Option<AuthorizationRequest> = state.ephemeral.get_json(&Space::Authorization.key(id)).await?;
    r.filter(|r| r.expires_at > now)
        .ok_or_else(|| Error::bad_input("This sign-in request has expired. Go back to the app and start again."))
}

/// Record that the person just signed in for this request, with session `session_id`.
pub async fn mark_authenticated(state: &AppState, id: &str, session_id: &str, now: i64) -> Result<()> {
    let mut request = load(state, id, now).await?;
    request.authenticated_session = Some(session_id.to_string());
    save(state, &request).await
}

pub async fn save(state: &AppState, request: &AuthorizationRequest) -> Result<()> {
    let ttl = state.config.authorization_request_ttl_secs;
    let key = Space::Authorization.key(&request.id);
    Ok(state.ephemeral.put_json_as(crate::ephemeral::Class::PendingAuthorization, &key, request, ttl).await?)
}

/// The person refused on the consent page (or cancelled the sign-in).
pub async fn deny(state: &AppState, id: &str, now: i64) -> Result<AuthorizationResponse> {
    fail(state, id, Error::AccessDenied("the end-user refused the request"), now).await
}

/// End a stored request with an error for the client (e.g. a step-up that cannot be met).
pub async fn fail(state: &AppState, id: &str, e: Error, now: i64) -> Result<AuthorizationResponse> {
    let request = load(state, id, now).await?;
    state.ephemeral.delete(&Space::Authorization.key(id)).await?;
    Ok(error_response(state, &request.redirect_uri, request.response_mode, request.state.as_deref(), &e))
}
