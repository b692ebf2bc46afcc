//! Browser sessions (SSO) and the authentication levels they carry. The acr values are
//! defined here, once, and published in discovery as `acr_values_supported`.

use crate::crypto::secrets;
use crate::error::Result;
use crate::state::AppState;
use crate::store::SessionRecord;

/// Authentication context class references, weakest first (OpenID Connect Core §2, `acr`).
pub const ACR_EMAIL: &str = "urn:tessera:acr:email";
pub const ACR_VALUES_SUPPORTED: &[&str] = &[ACR_EMAIL];

/// `amr` of an email sign-in (link or code). "email" is not in the RFC 8176 registry; it is
/// Tessera's documented value for "proved control of the mailbox".
pub const AMR_EMAIL: &str = "email";

/// Where the browser is and what it is, as recorded on its session.
pub struct Browser<'a> {
    pub ip: &'a str,
    pub user_agent: &'a str,
}

/// A session just opened: `token` goes into the cookie, never into the store.
pub struct NewSession {
    pub token: String,
    pub record: SessionRecord,
}

/// The live session behind a session cookie, if any.
pub async fn current(state: &AppState, cookie: Option<&str>, now: i64) -> Result<Option<SessionRecord>> {
    match cookie {
        Some(token) if !token.is_empty() => Ok(state.store.session_by_token(&secrets::hash(token), now).await?),
        _ => Ok(None),
    }
}

/// Open a session for the owner of a mailbox just proven, creating the customer on the
/// first handshake.
pub async fn sign_in_with_email(state: &AppState, email: &str, browser: &Browser<'_>, now: i64) -> Result<NewSession> {
    let token = secrets::random_token();
    let mut record = SessionRecord {
        id: secrets::random_id(),
        token_hash: secrets::hash(&token),
        customer_id: String::new(),
        auth_time: now,
        acr: ACR_EMAIL.into(),
        amr: AMR_EMAIL.into(),
        user_agent: browser.user_agent.chars().take(300).collect(),
        ip: browser.ip.into(),
        created_at: now,
        expires_at: now + state.config.session_ttl_secs * 1000,
    };
    record.customer_id = state.store.sign_in_with_email(email, &secrets::random_id(), &record).await?;
    tracing::info!(session = %record.id, customer = %record.customer_id, "signed in with email");
    Ok(NewSession { token, record })
}

pub async fn end(state: &AppState, session: &SessionRecord) -> Result<()> {
    state.store.end_session(&session.id, state.now()).await?;
    tracing::info!(session = %session.id, "session ended");
    Ok(())
}
