//! Tessera as a client of the upstream provider: authorization code with PKCE, state and
//! nonce (RFC 6749, RFC 7636, OpenID Connect Core §3.1), ID token validation with the
//! openidconnect crate (issuer, audience, signature from the upstream JWKS, nonce, expiry),
//! or, for plain OAuth 2.0 providers, the userinfo response mapped by the connector.

use super::apple::apple_client_secret;
use super::connectors::{Connector, is_oidc};
use super::presets;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::AppState;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const PENDING_TTL_SECS: i64 = 10 * 60;
/// Clocks differ: an ID token up to this much past its `exp` (by our clock) still counts.
pub const CLOCK_SKEW_MS: i64 = 60_000;

#[derive(Serialize, Deserialize)]
struct Pending {
    connector_id: String,
    authz: Option<String>,
    remember: bool,
    verifier: String,
    nonce: String,
    binding_hash: String,
}

/// Who the upstream says signed in.
#[derive(Debug, Clone)]
pub struct UpstreamUser {
    pub connector: Connector,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// What the upstream reported as `amr`, if anything.
    pub amr: Vec<String>,
    pub authz: Option<String>,
    pub remember: bool,
}

pub fn redirect_uri(state: &AppState) -> String {
    state.url("/login/federated/callback")
}

/// The authorization request to the upstream (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC §3.1.2.1).
pub fn authorization_url(
    c: &Connector,
    endpoint: &str,
    redirect_uri: &str,
    state_param: &str,
    nonce: &str,
    challenge: &str,
) -> Result<String> {
    let mut url =
        url::Url::parse(endpoint).map_err(|_| Error::bad_input("The provider's sign-in address is not valid."))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &c.view.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &c.view.scopes)
            .append_pair("state", state_param)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        if is_oidc(&c.view.kind) {
            q.append_pair("nonce", nonce);
        }
        for (k, v) in &c.extra {
            q.append_pair(k, v);
        }
    }
    Ok(url.to_string())
}

/// The token request (RFC 6749 §4.1.3, RFC 7636 §4.5), authenticating with
/// client_secret_post, which every preset's provider documents.
pub fn token_form(
    c: &Connector,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    secret: Option<&str>,
) -> Vec<(String, String)> {
    let mut form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".into(), code.into()),
        ("redirect_uri".into(), redirect_uri.into()),
        ("client_id".into(), c.view.client_id.clone()),
        ("code_verifier".into(), verifier.into()),
    ];
    if let Some(s) = secret {
        form.push(("client_secret".into(), s.into()));
    }
    form
}

async fn metadata(state: &AppState, c: &Connector) -> Result<CoreProviderMetadata> {
    let issuer =
        IssuerUrl::new(c.view.issuer.clone()).map_err(|_| Error::bad_input("The provider is misconfigured."))?;
    CoreProviderMetadata::discover_async(issuer, &state.http).await.map_err(|e| {
        tracing::warn!(connector = %c.view.id, error = %e, "upstream discovery failed");
        Error::bad_input(format!(
            "{} cannot be reached right now. Try again later, or sign in with your email.",
            c.view.display_name
        ))
    })
}

/// Start: where to send the browser, and the secret that binds the answer to this browser.
pub async fn begin(state: &AppState, c: &Connector, authz: Option<String>, remember: bool) -> Result<(String, String)> {
    let endpoint = if is_oidc(&c.view.kind) {
        metadata(state, c).await?.authorization_endpoint().url().to_string()
    } else {
        c.view.authorization_endpoint.clone()
    };
    let state_param = secrets::random_token();
    let binding = secrets::random_token();
    let verifier = secrets::random_token();
    let nonce = secrets::random_token();
    let challenge =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secrets::sha256(verifier.as_bytes()));
    let url = authorization_url(c, &endpoint, &redirect_uri(state), &state_param, &nonce, &challenge)?;
    let pending = Pending {
        connector_id: c.view.id.clone(),
        authz,
        remember,
        verifier,
        nonce,
        binding_hash: secrets::hash(&binding),
    };
    state.ephemeral.put_json(&format!("fed:{}", secrets::hash(&state_param)), &pending, PENDING_TTL_SECS).await?;
    Ok((url, binding))
}

/// The upstream's answer: check it belongs to this browser, exchange the code, and read
/// (and for OpenID Connect, verify) who signed in.
pub async fn complete(
    state: &AppState,
    answer: &HashMap<String, String>,
    binding: Option<&str>,
    now: i64,
) -> Result<UpstreamUser> {
    let expired = || Error::bad_input("This sign-in has expired. Start again.");
    let state_param = answer.get("state").ok_or_else(expired)?;
    let key = format!("fed:{}", secrets::hash(state_param));
    let pending: Pending = state.ephemeral.get_json(&key).await?.ok_or_else(expired)?;
    // An answer delivered to another browser is refused without spending the sign-in.
    if !binding.is_some_and(|b| secrets::constant_time_eq(&secrets::hash(b), &pending.binding_hash)) {
        return Err(Error::bad_input("This sign-in was started in another browser. Start again here."));
    }
    // Single use: whoever takes it first wins; a replayed answer finds nothing.
    let pending: Pending = state.ephemeral.take_json(&key).await?.ok_or_else(expired)?;
    let c = super::connectors::usable(state, &pending.connector_id).await?;
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
    let failed = |why: &str| {
        tracing::warn!(connector = %c.view.id, why, "upstream sign-in failed");
        Error::bad_input(format!(
            "{} could not sign you in. Try again, or sign in with your email.",
            c.view.display_name
        ))
    };
    let secret = if c.view.kind == "apple" { Some(apple_client_secret(&c, now)?) } else { c.secret.clone() };
    let (user, amr) = if is_oidc(&c.view.kind) {
        let meta = metadata(state, &c).await?;
        let token_endpoint = meta.token_endpoint().ok_or_else(|| failed("no token endpoint"))?.url().to_string();
        let tokens = token_request(state, &c, &token_endpoint, code, &pending.verifier, secret.as_deref()).await?;
        let raw = tokens["id_token"].as_str().ok_or_else(|| failed("no id_token in the token response"))?;
        verify_id_token(&c, &meta, raw, &pending.nonce, now).map_err(|e| failed(&e))?
    } else {
        let tokens =
            token_request(state, &c, &c.view.token_endpoint, code, &pending.verifier, secret.as_deref()).await?;
        let access = tokens["access_token"].as_str().ok_or_else(|| failed("no access_token"))?;
        (super::oauth2::user(state, &c, access).await.map_err(|e| failed(&format!("{e:#}")))?, Vec::new())
    };
    let (subject, email, email_verified, mut name) = user;
    // Sign in with Apple sends the person's name once, on the first sign-in, in a `user`
    // form field next to the code (never in the ID token).
    if c.view.kind == "apple"
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
        connector: c,
        subject,
        email: email.map(|e| e.trim().to_lowercase()),
        email_verified,
        name,
        amr,
        authz: pending.authz,
        remember: pending.remember,
    })
}

/// (subject, email, email verified, name) as the upstream reported them.
pub type Claims = (String, Option<String>, bool, Option<String>);

async fn token_request(
    state: &AppState,
    c: &Connector,
    endpoint: &str,
    code: &str,
    verifier: &str,
    secret: Option<&str>,
) -> Result<serde_json::Value> {
    let form = token_form(c, code, &redirect_uri(state), verifier, secret);
    let res = state.http.post(endpoint).header("accept", "application/json").form(&form).send().await;
    let fail = |why: String| {
        tracing::warn!(connector = %c.view.id, why, "upstream token request failed");
        Error::bad_input(format!(
            "{} could not sign you in. Try again, or sign in with your email.",
            c.view.display_name
        ))
    };
    let res = res.map_err(|e| fail(e.to_string()))?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.map_err(|e| fail(e.to_string()))?;
    if !status.is_success() || body.get("error").is_some() {
        return Err(fail(format!("{status} {body}")));
    }
    Ok(body)
}

fn verify_id_token(
    c: &Connector,
    meta: &CoreProviderMetadata,
    raw: &str,
    nonce: &str,
    now: i64,
) -> std::result::Result<(Claims, Vec<String>), String> {
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
    let amr = claims.auth_method_refs().map(|a| a.iter().map(|m| m.to_string()).collect()).unwrap_or_default();
    let name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
    Ok((
        (
            claims.subject().to_string(),
            claims.email().map(|e| e.to_string()),
            claims.email_verified().unwrap_or(false),
            name,
        ),
        amr,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::connectors::{ClaimMapping, ConnectorView};

    fn connector(kind: &str) -> Connector {
        let p = presets::preset(kind, "").unwrap();
        Connector {
            view: ConnectorView {
                id: kind.into(),
                kind: kind.into(),
                display_name: kind.into(),
                icon: String::new(),
                position: 0,
                enabled: true,
                issuer: p.issuer.clone(),
                authorization_endpoint: p.authorization_endpoint.clone(),
                token_endpoint: p.token_endpoint.clone(),
                userinfo_endpoint: p.userinfo_endpoint.clone(),
                client_id: "cid".into(),
                has_secret: true,
                scopes: p.scopes.clone(),
                claim_mapping: ClaimMapping::default(),
                authoritative_email: false,
                acr: String::new(),
                settings: serde_json::json!({}),
            },
            secret: Some("secret".into()),
            extra: p.extra,
        }
    }

    fn query(url: &str) -> HashMap<String, String> {
        url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
    }

    #[test]
    fn every_preset_asks_for_a_code_with_pkce_and_its_documented_parameters() {
        let cases = [
            ("google", "https://accounts.google.com/o/oauth2/v2/auth", "openid email profile"),
            ("microsoft", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize", "openid email profile"),
            ("apple", "https://appleid.apple.com/auth/authorize", "openid name email"),
            ("github", "https://github.com/login/oauth/authorize", "read:user user:email"),
            ("facebook", "https://www.facebook.com/v19.0/dialog/oauth", "email public_profile"),
        ];
        for (kind, endpoint, scope) in cases {
            let c = connector(kind);
            let url = authorization_url(&c, endpoint, "https://id.example/login/federated/callback", "st", "nn", "ch")
                .unwrap();
            assert!(url.starts_with(endpoint), "{url}");
            let q = query(&url);
            assert_eq!(q["response_type"], "code", "{kind}");
            assert_eq!(q["client_id"], "cid");
            assert_eq!(q["redirect_uri"], "https://id.example/login/federated/callback");
            assert_eq!(q["scope"], scope, "{kind}");
            assert_eq!(q["state"], "st");
            assert_eq!((q["code_challenge"].as_str(), q["code_challenge_method"].as_str()), ("ch", "S256"));
            // A nonce only where an ID token comes back (OpenID Connect Core §3.1.2.1).
            assert_eq!(q.contains_key("nonce"), is_oidc(kind), "{kind}");
            // Apple wants the answer as a form post when name or email are asked for.
            assert_eq!(q.get("response_mode").map(String::as_str), (kind == "apple").then_some("form_post"));
        }
    }

    #[test]
    fn the_token_request_carries_code_verifier_and_client_credentials() {
        for kind in ["google", "microsoft", "apple", "github", "facebook"] {
            let c = connector(kind);
            let form: HashMap<String, String> =
                token_form(&c, "the-code", "https://id.example/cb", "the-verifier", Some("s3")).into_iter().collect();
            assert_eq!(form["grant_type"], "authorization_code");
            assert_eq!(form["code"], "the-code");
            assert_eq!(form["redirect_uri"], "https://id.example/cb");
            assert_eq!(form["code_verifier"], "the-verifier");
            assert_eq!(form["client_id"], "cid");
            assert_eq!(form["client_secret"], "s3", "{kind}: client_secret_post");
        }
        let public: HashMap<String, String> =
            token_form(&connector("google"), "c", "r", "v", None).into_iter().collect();
        assert!(!public.contains_key("client_secret"));
    }
}
