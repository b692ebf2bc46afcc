//! Tessera as a client of the upstream provider: authorization code with PKCE, state and
//! nonce (RFC 6749, RFC 7636, OpenID Connect Core §3.1), the answer checked against mix-up
//! (RFC 9207: each connector has its own callback, and the `iss` the provider sends must be
//! its issuer), then the ID token (id_token.rs) or, for plain OAuth 2.0 providers, the
//! userinfo response mapped by the connector (oauth2.rs). Every request goes through the
//! guarded client (outbound.rs).

use super::apple::apple_client_secret;
use super::connectors::{Connector, ConnectorKind};
use super::discovery::{self, Provider};
use super::id_token::{self, Claims};
use super::outbound::TOKEN_LIMIT;
use super::presets;
use super::request::{authorization_url, token_form};
use crate::crypto::secrets;
use crate::ephemeral::Space;
use crate::error::{Error, Result};
use crate::session::{ACR_EMAIL, acr_level};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const PENDING_TTL_SECS: i64 = 10 * 60;
/// The path every connector answered at before each had its own; connectors registered
/// with it at their provider keep it (`shared_callback`).
pub const SHARED_CALLBACK: &str = "/login/federated/callback";

#[derive(Serialize, Deserialize)]
struct Pending {
    connector_id: String,
    authz: Option<String>,
    remember: bool,
    verifier: String,
    nonce: String,
    binding_hash: String,
    /// Where the provider was told to answer (RFC 6749 §4.1.3: the token request repeats it).
    #[serde(default)]
    redirect_uri: String,
}

/// Who the upstream says signed in.
#[derive(Debug, Clone)]
pub struct UpstreamUser {
    pub connector: Connector,
    /// The provider's issuer: with `subject`, the identity's key (Core §5.7: `sub` is unique
    /// only within its issuer).
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// The upstream's `amr` values that the connector trusts (RFC 8176 §2).
    pub amr: Vec<String>,
    /// The connector's acr, no stronger than the configured ceiling.
    pub acr: String,
    pub authz: Option<String>,
    pub remember: bool,
}

/// Where this connector's provider sends the browser back.
pub fn redirect_uri(state: &AppState, c: &Connector) -> String {
    if c.view.shared_callback {
        state.url(SHARED_CALLBACK)
    } else {
        state.url(&format!("/login/federated/{}/callback", c.view.id))
    }
}

async fn provider(state: &AppState, c: &Connector, now: i64) -> Result<Provider> {
    discovery::provider(&state.outbound, &c.view.issuer, now).await.map_err(|e| {
        tracing::warn!(connector = %c.view.id, error = %e, "upstream discovery failed");
        Error::bad_input(format!(
            "{} cannot be reached right now. Try again later, or sign in with your email.",
            c.view.display_name
        ))
    })
}

/// Start: where to send the browser, and the secret that binds the answer to this browser.
pub async fn begin(
    state: &AppState,
    c: &Connector,
    authz: Option<String>,
    remember: bool,
    now: i64,
) -> Result<(String, String)> {
    let endpoint = if c.view.kind.is_oidc() {
        provider(state, c, now).await?.meta.authorization_endpoint().url().to_string()
    } else {
        c.view.authorization_endpoint.clone()
    };
    let state_param = secrets::random_token();
    let binding = secrets::random_token();
    let verifier = secrets::random_token();
    let nonce = secrets::random_token();
    let challenge =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secrets::sha256(verifier.as_bytes()));
    let redirect_uri = redirect_uri(state, c);
    let url = authorization_url(c, &endpoint, &redirect_uri, &state_param, &nonce, &challenge)?;
    let pending = Pending {
        connector_id: c.view.id.clone(),
        authz,
        remember,
        verifier,
        nonce,
        binding_hash: secrets::hash(&binding),
        redirect_uri,
    };
    state
        .ephemeral
        .put_json(&Space::FederatedSignIn.key(&secrets::hash(&state_param)), &pending, PENDING_TTL_SECS)
        .await?;
    Ok((url, binding))
}

/// The upstream's answer, arriving at `callback` (the path it came to): check it belongs to
/// this browser and to the flow's connector, exchange the code, and read (and for OpenID
/// Connect, verify) who signed in.
pub async fn complete(
    state: &AppState,
    answer: &HashMap<String, String>,
    callback: &str,
    binding: Option<&str>,
    now: i64,
) -> Result<UpstreamUser> {
    let expired = || Error::bad_input("This sign-in has expired. Start again.");
    let state_param = answer.get("state").ok_or_else(expired)?;
    let key = Space::FederatedSignIn.key(&secrets::hash(state_param));
    let pending: Pending = state.ephemeral.get_json(&key).await?.ok_or_else(expired)?;
    // An answer delivered to another browser is refused without spending the sign-in.
    if !binding.is_some_and(|b| secrets::constant_time_eq(&secrets::hash(b), &pending.binding_hash)) {
        return Err(Error::bad_input("This sign-in was started in another browser. Start again here."));
    }
    // Single use: whoever takes it first wins; a replayed answer finds nothing.
    let pending: Pending = state.ephemeral.take_json(&key).await?.ok_or_else(expired)?;
    let c = super::connectors::usable(state, &pending.connector_id).await?;
    let failed = |why: &str| {
        tracing::warn!(connector = %c.view.id, why, "upstream sign-in failed");
        Error::bad_input(format!(
            "{} could not sign you in. Try again, or sign in with your email.",
            c.view.display_name
        ))
    };
    // Mix-up: an answer is only taken at the callback its flow's connector gave the provider,
    // so one provider's answer cannot be replayed as another connector's.
    // Flows begun before the redirect URI was kept used the shared callback.
    let redirect_uri =
        if pending.redirect_uri.is_empty() { state.url(SHARED_CALLBACK) } else { pending.redirect_uri.clone() };
    if state.url(callback) != redirect_uri {
        return Err(failed("the answer came to another connector's callback (mix-up)"));
    }
    let provider = if c.view.kind.is_oidc() { Some(provider(state, &c, now).await?) } else { None };
    check_iss(&c, provider.as_ref(), answer.get("iss").map(String::as_str)).map_err(|e| failed(&e))?;
    if let Some(error) = answer.get("error") {
        tracing::info!(connector = %c.view.id, error = %error, "upstream refused the sign-in");
        let message = if error == "access_denied" {
            format!("You cancelled the sign-in with {}.", c.view.display_name)
        } else {
            format!("{} could not sign you in. Try again, or sign in with your email.", c.view.display_name)
        };
        return Err(Error::bad_input(message));
    }
    let code = answer.get("code").ok_or_else(expired)?;
    let secret =
        if c.view.kind == ConnectorKind::Apple { Some(apple_client_secret(&c, now)?) } else { c.secret.clone() };
    let token_endpoint = match &provider {
        Some(p) => p.meta.token_endpoint().ok_or_else(|| failed("no token endpoint"))?.url().to_string(),
        None => c.view.token_endpoint.clone(),
    };
    let form = token_form(&c, code, &redirect_uri, &pending.verifier, secret.as_deref());
    let tokens = token_request(state, &c, &token_endpoint, &form).await?;
    let access = tokens["access_token"].as_str();
    let claims = if let Some(p) = &provider {
        let raw = tokens["id_token"].as_str().ok_or_else(|| failed("no id_token in the token response"))?;
        let claims = id_token::verify(state, &c, p, raw, &pending.nonce, now).await.map_err(|e| failed(&e))?;
        match access {
            Some(access) if id_token::lacks_claims(&c, &claims) => {
                id_token::with_userinfo(state, &p.meta, access, claims).await.map_err(|e| failed(&e))?
            }
            _ => claims,
        }
    } else {
        let access = access.ok_or_else(|| failed("no access_token"))?;
        super::oauth2::user(state, &c, access).await.map_err(|e| failed(&e))?
    };
    let Claims { subject, email, email_verified, mut name, amr } = claims;
    // Sign in with Apple sends the person's name once, on the first sign-in, in a `user`
    // form field next to the code (never in the ID token).
    if c.view.kind == ConnectorKind::Apple
        && name.is_none()
        && let Some(user) = answer.get("user").and_then(|u| serde_json::from_str::<serde_json::Value>(u).ok())
    {
        let n = &user["name"];
        let full = format!("{} {}", n["firstName"].as_str().unwrap_or(""), n["lastName"].as_str().unwrap_or(""));
        name = Some(full.trim().to_string()).filter(|f| !f.is_empty());
    }
    if subject.is_empty() {
        return Err(failed("no subject"));
    }
    Ok(UpstreamUser {
        issuer: super::connectors::provider_issuer(&c.view),
        subject,
        email: email.map(|e| e.trim().to_lowercase()),
        email_verified: email_verified.unwrap_or(false),
        name,
        // RFC 8176 values are the provider's word about its own sign-in: passed on only
        // where the admin trusts this provider for them; `fed` itself is added on sign-in.
        amr: amr.into_iter().filter(|m| c.view.trusted_amr.contains(m)).collect(),
        acr: capped_acr(&c.view.acr, &state.config.federation_acr_ceiling),
        connector: c,
        authz: pending.authz,
        remember: pending.remember,
    })
}

/// RFC 9207 §2.4: when the provider sends `iss`, it must be this connector's issuer; when
/// its metadata says it always sends it, it must be there. Plain OAuth 2.0 connectors have
/// no issuer identifier to compare with.
fn check_iss(c: &Connector, provider: Option<&Provider>, iss: Option<&str>) -> std::result::Result<(), String> {
    let expected = match provider {
        Some(p) => p.meta.issuer().as_str().to_string(),
        None if !c.view.issuer.is_empty() => c.view.issuer.clone(),
        None => return Ok(()),
    };
    match iss {
        None if provider.is_some_and(|p| p.iss_parameter_supported) => {
            Err("no iss in the answer, though the provider's metadata promises it".into())
        }
        None => Ok(()),
        Some(iss) if iss == expected || presets::microsoft_issuer_matches(&expected, iss) => Ok(()),
        Some(iss) => Err(format!("the answer's iss {iss} is not the connector's issuer (mix-up)")),
    }
}

/// The acr a connector's sign-ins get: its own, but never above the configured ceiling.
pub fn capped_acr(acr: &str, ceiling: &str) -> String {
    let ceiling_level = acr_level(ceiling).unwrap_or(0);
    match acr_level(acr) {
        Some(level) if level <= ceiling_level => acr.to_string(),
        Some(_) => ceiling.to_string(),
        None => ACR_EMAIL.to_string(),
    }
}

async fn token_request(
    state: &AppState,
    c: &Connector,
    endpoint: &str,
    form: &[(String, String)],
) -> Result<serde_json::Value> {
    let fail = |why: String| {
        tracing::warn!(connector = %c.view.id, why, "upstream token request failed");
        Error::bad_input(format!(
            "{} could not sign you in. Try again, or sign in with your email.",
            c.view.display_name
        ))
    };
    let res = state.outbound.post_form(endpoint, form, TOKEN_LIMIT).await.map_err(fail)?;
    let body = res.json().map_err(fail)?;
    if !res.status.is_success() || body.get("error").is_some() {
        return Err(fail(format!("{} {body}", res.status)));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connectors_acr_never_exceeds_the_ceiling() {
        use crate::session::{ACR_MFA, ACR_PASSKEY};
        assert_eq!(capped_acr(ACR_PASSKEY, ACR_EMAIL), ACR_EMAIL);
        assert_eq!(capped_acr(ACR_MFA, ACR_EMAIL), ACR_EMAIL);
        assert_eq!(capped_acr(ACR_MFA, ACR_PASSKEY), ACR_MFA);
        assert_eq!(capped_acr(ACR_EMAIL, ACR_MFA), ACR_EMAIL);
        assert_eq!(capped_acr("urn:unknown", ACR_MFA), ACR_EMAIL);
    }
}
