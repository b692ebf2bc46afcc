//! Browser sessions (SSO) and the authentication levels they carry. The acr values and their
//! order are defined here, once, and published in discovery as `acr_values_supported`.

use crate::crypto::secrets;
use crate::error::Result;
use crate::oidc::backchannel;
use crate::state::AppState;
use crate::store::SessionRecord;

/// Authentication context class references (OpenID Connect Core §2, `acr`), weakest first.
/// Proof of a mailbox: a link or code from a mail.
pub const ACR_EMAIL: &str = "urn:tessera:acr:email";
/// Two factors: the mailbox and an authenticator app (TOTP) or a recovery code.
pub const ACR_MFA: &str = "urn:tessera:acr:mfa";
/// A passkey: phishing-resistant, origin-bound public-key proof with user verification.
pub const ACR_PASSKEY: &str = "urn:tessera:acr:passkey";
/// Published in discovery; the order is the order of strength.
pub const ACR_VALUES_SUPPORTED: &[&str] = &[ACR_EMAIL, ACR_MFA, ACR_PASSKEY];

/// The strength of an acr value (higher is stronger); `None` for values Tessera never issues.
pub fn acr_level(acr: &str) -> Option<usize> {
    ACR_VALUES_SUPPORTED.iter().position(|a| *a == acr)
}

/// `amr` of an email sign-in (link or code). "email" is not in the RFC 8176 registry; it is
/// Tessera's documented value for "proved control of the mailbox".
pub const AMR_EMAIL: &str = "email";
/// RFC 8176 §2: one-time password (TOTP).
pub const AMR_OTP: &str = "otp";
/// A single-use recovery code (Tessera's value; not in the RFC 8176 registry).
pub const AMR_RECOVERY: &str = "rec";
/// RFC 8176 §2: multiple-factor authentication.
pub const AMR_MFA: &str = "mfa";

/// The union of two space-separated `amr` lists, in order, without repeats.
pub fn amr_union(a: &str, b: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for m in a.split(' ').chain(b.split(' ')) {
        if !m.is_empty() && !out.contains(&m) {
            out.push(m);
        }
    }
    out.join(" ")
}

/// Whether `session` reached `acr` (or stronger) within the last `within_ms`: the internal
/// step-up check ("require a fresh step-up at level L within N minutes").
pub fn fresh_enough(session: &SessionRecord, acr: &str, within_ms: i64, now: i64) -> bool {
    let reached = acr_level(&session.acr) >= acr_level(acr);
    reached && now - session.auth_time <= within_ms
}

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

/// The live session behind a session cookie, if any (and note that it was seen).
pub async fn current(state: &AppState, cookie: Option<&str>, now: i64) -> Result<Option<SessionRecord>> {
    match cookie {
        Some(token) if !token.is_empty() => {
            let session = state.store.session_by_token(&secrets::hash(token), now).await?;
            if let Some(s) = &session
                && now - s.last_seen_at > 60_000
            {
                state.store.touch_session(&s.id, now).await?;
            }
            Ok(session)
        }
        _ => Ok(None),
    }
}

/// The session cookie's Max-Age: persistent sessions outlive the browser, others do not.
pub fn cookie_max_age(state: &AppState, session: &SessionRecord) -> Option<i64> {
    (session.persistent != 0).then_some(state.config.persistent_session_ttl_secs)
}

/// Open a session for the owner of a mailbox just proven, creating the customer on the
/// first handshake.
pub async fn sign_in_with_email(
    state: &AppState,
    email: &str,
    browser: &Browser<'_>,
    remember: bool,
    now: i64,
) -> Result<NewSession> {
    let NewSession { token, mut record } = new_session(state, "", ACR_EMAIL, AMR_EMAIL, browser, remember, now);
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
    remember: bool,
    now: i64,
) -> NewSession {
    let token = secrets::random_token();
    let ttl = if remember { state.config.persistent_session_ttl_secs } else { state.config.session_ttl_secs };
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
        expires_at: now + ttl * 1000,
        last_seen_at: now,
        persistent: i64::from(remember),
    };
    NewSession { token, record }
}

/// End a session: revoke what was issued in it and tell the clients that asked for
/// back-channel logout. `keep_offline` spares `offline_access` grants (RP-initiated logout).
pub async fn end(state: &AppState, session: &SessionRecord, keep_offline: bool) -> Result<()> {
    let now = state.now();
    let mut deliveries = Vec::new();
    for (client_id, uri) in state.store.backchannel_clients(&session.id).await? {
        let alg = match state.clients.get(&state.store, &client_id, now).await? {
            Some(c) => c.id_token_alg.unwrap_or(state.keys.default_alg),
            None => continue,
        };
        let token = backchannel::logout_token(state, &client_id, alg, &session.customer_id, &session.id, now);
        deliveries.push((uri, token));
    }
    state.store.end_session(&session.id, now, keep_offline).await?;
    tracing::info!(session = %session.id, notified = deliveries.len(), "session ended");
    backchannel::deliver(state, deliveries);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_amr_unions_keep_order() {
        assert!(acr_level(ACR_EMAIL) < acr_level(ACR_MFA));
        assert!(acr_level(ACR_MFA) < acr_level(ACR_PASSKEY));
        assert_eq!(acr_level("urn:other"), None);
        assert_eq!(amr_union("email", "otp mfa"), "email otp mfa");
        assert_eq!(amr_union("email otp", "otp"), "email otp");
    }
}
