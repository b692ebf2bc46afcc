//! The requests Tessera sends to an upstream provider: the authorization request (RFC 6749
//! §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1) and the token request (RFC 6749
//! §4.1.3, RFC 7636 §4.5).

use super::connectors::Connector;
use crate::error::{Error, Result};

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
        if c.view.kind.is_oidc() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::federation::connectors::{ClaimMapping, ConnectorView};
    use crate::login::federation::kind::ConnectorKind;
    use crate::login::federation::presets;
    use std::collections::HashMap;

    fn connector(name: &str) -> Connector {
        let kind = ConnectorKind::parse(name).unwrap();
        let p = presets::preset(kind, "").unwrap();
        Connector {
            view: ConnectorView {
                id: name.into(),
                kind,
                display_name: name.into(),
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
                trusted_amr: Vec::new(),
                shared_callback: false,
                callback_path: format!("/login/federated/{name}/callback"),
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
            assert_eq!(q.contains_key("nonce"), c.view.kind.is_oidc(), "{kind}");
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
