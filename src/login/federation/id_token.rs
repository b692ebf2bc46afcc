//! Who the OpenID provider says signed in: the ID token validated with the openidconnect
//! crate (OpenID Connect Core §3.1.3.7: issuer, audience, signature from the provider's key
//! set, nonce, expiry), and, when the token lacks a claim the connector needs, the UserInfo
//! response for the same subject (Core §5.4, §5.3.2).

use super::connectors::Connector;
use super::discovery::{self, Provider};
use super::outbound::USERINFO_LIMIT;
use super::presets;
use crate::state::AppState;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{ClientId, Nonce};

/// Clocks differ: an ID token up to this much past its `exp` (by our clock) still counts.
pub const CLOCK_SKEW_MS: i64 = 60_000;

/// What the provider reported about who signed in. `None` where it said nothing.
#[derive(Debug, Clone, Default)]
pub struct Claims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    /// The provider's `amr` (RFC 8176), before the connector's trust is applied.
    pub amr: Vec<String>,
}

/// Validate `raw`; when it names a key the cached key set does not hold, fetch the key set
/// once more (the provider rotated its keys) and try again.
pub async fn verify(
    state: &AppState,
    c: &Connector,
    provider: &Provider,
    raw: &str,
    nonce: &str,
    now: i64,
) -> Result<Claims, String> {
    let first = check(c, &provider.meta, raw, nonce, now);
    let Err(why) = first else { return first };
    let Some(kid) = header_kid(raw) else { return Err(why) };
    match discovery::with_key(&state.outbound, &c.view.issuer, &kid, now).await? {
        Some(fresh) => check(c, &fresh.meta, raw, nonce, now),
        None => Err(why),
    }
}

/// The `kid` of a compact JWS header (RFC 7515 §4.1.4), unverified: only to pick a key.
fn header_kid(raw: &str) -> Option<String> {
    let header = raw.split('.').next()?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v["kid"].as_str().map(String::from)
}

fn check(c: &Connector, meta: &CoreProviderMetadata, raw: &str, nonce: &str, now: i64) -> Result<Claims, String> {
    let token: CoreIdToken =
        serde_json::from_value(serde_json::Value::String(raw.into())).map_err(|e| e.to_string())?;
    let multi_tenant = c.view.issuer.contains("{tenantid}") || meta.issuer().as_str().contains("{tenantid}");
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(c.view.client_id.clone()),
        meta.issuer().clone(),
        meta.jwks().clone(),
    )
    .set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ])
    .require_issuer_match(!multi_tenant)
    .set_time_fn(move || chrono::DateTime::from_timestamp_millis(now - CLOCK_SKEW_MS).unwrap_or_default());
    let claims = token.claims(&verifier, &Nonce::new(nonce.to_string())).map_err(|e| e.to_string())?;
    if multi_tenant && !presets::microsoft_issuer_matches(meta.issuer().as_str(), claims.issuer().as_str()) {
        return Err(format!("unexpected issuer {}", claims.issuer().as_str()));
    }
    Ok(Claims {
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified(),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
        amr: claims.auth_method_refs().map(|a| a.iter().map(|m| m.to_string()).collect()).unwrap_or_default(),
    })
}

/// Whether the ID token lacks a claim this connector uses: many certified providers put
/// `email`, `email_verified` and `name` only in the UserInfo response (Core §5.4).
pub fn lacks_claims(c: &Connector, claims: &Claims) -> bool {
    let wants_name = c.view.scopes.split(' ').any(|s| s == "profile");
    claims.email.is_none() || claims.email_verified.is_none() || (wants_name && claims.name.is_none())
}

/// Fill what the ID token lacks from UserInfo (Core §5.3). Core §5.3.2: the response's
/// `sub` must equal the ID token's, or it is about someone else (or a token substituted by
/// an attacker) and nothing of it is used.
pub async fn with_userinfo(
    state: &AppState,
    meta: &CoreProviderMetadata,
    access_token: &str,
    mut claims: Claims,
) -> Result<Claims, String> {
    let Some(endpoint) = meta.userinfo_endpoint() else { return Ok(claims) };
    let fetched = state.outbound.get(endpoint.url().as_str(), Some(access_token), USERINFO_LIMIT).await;
    // A signed or encrypted UserInfo response (application/jwt) is not asked for here.
    let info =
        match fetched.and_then(|res| if res.status.is_success() { res.json() } else { Err(res.status.to_string()) }) {
            Ok(info) => info,
            // Without UserInfo the sign-in goes on with what the ID token said: what is missing
            // stays missing (an address without its flag is unverified).
            Err(why) => {
                tracing::info!(why, "userinfo could not be read; going on with the ID token alone");
                return Ok(claims);
            }
        };
    if info["sub"].as_str() != Some(claims.subject.as_str()) {
        return Err("the userinfo response is about another subject".into());
    }
    if claims.email.is_none() {
        claims.email = info["email"].as_str().map(String::from);
    }
    // The flag speaks for the address next to it, not for another one in the ID token.
    if claims.email_verified.is_none() && info["email"].as_str() == claims.email.as_deref() {
        // Some providers send the flag as a string.
        claims.email_verified = match &info["email_verified"] {
            serde_json::Value::Bool(b) => Some(*b),
            serde_json::Value::String(s) => Some(s == "true"),
            _ => None,
        };
    }
    if claims.name.is_none() {
        claims.name = info["name"].as_str().map(String::from);
    }
    Ok(claims)
}
