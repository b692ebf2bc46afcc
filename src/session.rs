//! Browser sessions (SSO) and the authentication levels they carry. The acr values and their
//! order are defined here, once, and published in discovery as `acr_values_supported`.

use crate::crypto::secrets;
use crate::error::Result;
use crate::events::audit::{Actor, SessionEnd};
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
/// RFC 8176 §2: `fed`, federated authentication (a provider's sign-in).
pub const AMR_FED: &str = "fed";
/// RFC 8176 §2: proof of a hardware-bound key (a device-bound passkey).
pub const AMR_HWK: &str = "hwk";
/// RFC 8176 §2: proof of a software-secured key (a synced, backup-eligible passkey).
pub const AMR_SWK: &str = "swk";
/// RFC 8176 §2: the authenticator verified the user (PIN or biometrics).
pub const AMR_USER: &str = "user";

/// How a session was signed in, in words (the sessions page).
pub fn methods_in_words(amr: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    for m in amr.split(' ') {
        let word = match m {
            AMR_EMAIL => "email",
            AMR_OTP => "authenticator app",
            AMR_RECOVERY => "recovery code",
            AMR_HWK | AMR_SWK => "passkey",
            AMR_FED => "social sign-in",
            _ => continue,
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    if words.is_empty() { "another method".into() } else { words.join(" + ") }
}

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
#[derive(Clone, Copy)]
pub struct Browser<'a> {
    pub ip: &'a str,
    pub user_agent: &'a str,
}

/// A session just opened: `token` goes into the cookie, never into the store.
pub struct NewSession {
    pub token: String,
    pub record: SessionRecord,
}

/// The live session behind a session cookie, if any (and note that it was seen). A session
/// left unused for longer than `session_idle_timeout_secs` ends here, whatever its lifetime.
pub async fn current(state: &AppState, cookie: Option<&str>, now: i64) -> Result<Option<SessionRecord>> {
    match cookie {
        Some(token) if !token.is_empty() => {
            let Some(s) = state.store.session_by_token(&secrets::hash(token), now).await? else { return Ok(None) };
            if idle(state, &s, now) {
                tracing::info!(session = %s.id, "session ended after the idle timeout");
                let why = SessionEnd { by: Actor::System, reason: "idle", from: None };
                crate::oidc::logout::end(state, &s, true, why).await?;
                return Ok(None);
            }
            if now - s.last_seen_at > 60_000 {
                state.store.touch_session(&s.id, now).await?;
            }
            Ok(Some(s))
        }
        _ => Ok(None),
    }
}

/// The customer a session belongs to (the account pages and passkey ceremonies show it).
pub async fn customer_of(state: &AppState, session: &SessionRecord) -> Result<crate::store::CustomerRecord> {
    state.store.customer(&session.customer_id).await?.ok_or(crate::error::Error::NotFound)
}

/// Whether a session went unused for longer than the idle timeout.
pub fn idle(state: &AppState, session: &SessionRecord, now: i64) -> bool {
    now - session.last_seen_at.max(session.auth_time) > state.config.session_idle_timeout_secs.saturating_mul(1000)
}

/// The session that a sign-in in this browser sets. When the browser's `previous` session is
/// the same customer's, it is renewed: its secret (the cookie) is new, so a planted or stolen
/// cookie value dies (session fixation), while its public id (`sid`) stays, so the apps'
/// back-channel logout still matches. Otherwise a new session is made; `oidc::logout::retire_previous_in`
/// then ends the old one.
#[allow(clippy::too_many_arguments)]
pub fn successor(
    state: &AppState,
    previous: Option<&SessionRecord>,
    customer_id: &str,
    acr: &str,
    amr: &str,
    browser: &Browser<'_>,
    remember: bool,
    now: i64,
) -> NewSession {
    let mut new = new_session(state, customer_id, acr, amr, browser, remember, now);
    if let Some(p) = previous.filter(|p| p.customer_id == customer_id) {
        new.record.id = p.id.clone();
        new.record.created_at = p.created_at;
    }
    new
}

/// Give a session a new secret (after a step-up or a factor change); returns the new cookie
/// value. The old value stops working at once.
pub async fn rotate(state: &AppState, session: &SessionRecord) -> Result<String> {
    let token = secrets::random_token();
    state.store.rotate_session_token(&session.id, &secrets::hash(&token)).await?;
    Ok(token)
}

/// The strongest level the account's own factors reach: a passkey, else an authenticator app
/// (with the mailbox), else the mailbox alone. Changing a factor needs a recent proof at it.
pub async fn strongest_level(state: &AppState, customer_id: &str) -> Result<&'static str> {
    if !state.store.passkeys_of(customer_id).await?.is_empty() {
        return Ok(ACR_PASSKEY);
    }
    if state.store.totp_factor(customer_id).await?.is_some() {
        return Ok(ACR_MFA);
    }
    Ok(ACR_EMAIL)
}

/// "Firefox on Linux" from a User-Agent header: enough for a person to recognise a device.
pub fn device(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        "A browser"
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        "an unknown system"
    };
    format!("{browser} on {os}")
}

/// The session cookie's Max-Age: persistent sessions outlive the browser, others do not.
pub fn cookie_max_age(state: &AppState, session: &SessionRecord) -> Option<i64> {
    (session.persistent != 0).then_some(state.config.persistent_session_ttl_secs)
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
        assert_eq!(methods_in_words("email otp mfa"), "email + authenticator app");
        assert_eq!(methods_in_words("hwk user"), "passkey");
        assert_eq!(methods_in_words("fed pwd"), "social sign-in");
    }
}
