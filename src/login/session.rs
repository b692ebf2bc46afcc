//! Browser sessions (SSO) and the authentication levels they carry. The acr values are
//! defined here, once, and published in discovery as `acr_values_supported`.

use crate::crypto::secrets;
use crate::error::Result;
use crate::state::AppState;
use crate::store::SessionRecord;

/// Authentication context class references (OpenID Connect Core §2, `acr`), weakest first.
/// Proof of a mailbox: a link or code from a mail.
pub const ACR_EMAIL: &str = "urn:tessera:acr:email";
/// A passkey: phishing-resistant, origin-bound public-key proof.
pub const ACR_PASSKEY: &str = "urn:tessera:acr:passkey";
/// Published in discovery; the order is the order of strength.
pub const ACR_VALUES_SUPPORTED: &[&str] = &[ACR_EMAIL, ACR_PASSKEY];

/// The strength of an acr value (higher is stronger); `None` for values Tessera never issues.
pub fn acr_level(acr: &str) -> Option<usize> {
    ACR_VALUES_SUPPORTED.iter().position(|a| *a == acr)
}

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
    let NewSession { token, mut record } = new_session(state, "", ACR_EMAIL, AMR_EMAIL, browser, now);
    record.customer_id = state.store.sign_in_with_email(email, &secrets::random_id(), &record).await?;
    tracing::info!(session = %record.id, customer = %record.customer_id, "signed in with email");
    Ok(NewSession { token, record })
}

/// A session for `customer_id` just authenticated with `acr`/`amr`, not yet stored.
pub fn new_session(
    state: &AppState,
    customer_id: &str,
    acr: &str,
    amr: &str,
    browser: &Browser<'_>,
    now: i64,
) -> NewSession {
    let token = secrets::random_token();
    let record = SessionRecord {
        id: secrets::random_id(),
        token_hash: secrets::hash(&token),
        customer_id: customer_id.into(),
        auth_time: now,
        acr: acr.into(),
        amr: amr.into(),
        user_agent: browser.user_agent.chars().take(300).collect(),
        ip: browser.ip.into(),
        created_at: now,
        expires_at: now + state.config.session_ttl_secs * 1000,
    };
    NewSession { token, record }
}

pub async fn end(state: &AppState, session: &SessionRecord) -> Result<()> {
    state.store.end_session(&session.id, state.now()).await?;
    tracing::info!(session = %session.id, "session ended");
    Ok(())
}
