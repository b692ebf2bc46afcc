//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2), made from the
//! configuration alone.

use crate::config::Config;
use crate::crypto::keys::Alg;
use crate::oidc::scopes::{ADDRESS_CLAIMS, EMAIL_CLAIMS, PHONE_CLAIMS, PROFILE_CLAIMS, SUPPORTED};
use crate::session::ACR_VALUES_SUPPORTED;
use serde_json::{Value, json};

pub fn metadata(config: &Config) -> Value {
    let iss = &config.issuer;
    let mut claims =
        vec!["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp", "consents"];
    claims.extend_from_slice(EMAIL_CLAIMS);
    claims.extend_from_slice(PROFILE_CLAIMS);
    claims.extend_from_slice(PHONE_CLAIMS);
    claims.extend_from_slice(ADDRESS_CLAIMS);
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let mut algs: Vec<&str> = vec![config.signing_alg.as_str()];
    algs.extend(Alg::ALL.iter().map(|a| a.as_str()).filter(|a| *a != config.signing_alg));
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/jwks.json"),
        "end_session_endpoint": format!("{iss}/logout"),
        "introspection_endpoint": format!("{iss}/introspect"),
        "revocation_endpoint": format!("{iss}/revoke"),
        "scopes_supported": SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
        "acr_values_supported": ACR_VALUES_SUPPORTED,
        "prompt_values_supported": crate::oidc::prompt::PROMPT_VALUES_SUPPORTED,
        "ui_locales_supported": ["en"],
        // Core §5.5: individual claims (granted through their scope), acr and sub values.
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}
