//! Sign in with Apple's client secret: not a static string but an ES256 JWT signed with the
//! developer's private key (team id as `iss`, the Services ID as `sub`).

use super::connectors::Connector;
use crate::crypto::jwt;
use crate::crypto::keys::{Alg, SigningKey};
use crate::error::{Error, Result};
use serde_json::json;

fn setting<'a>(c: &'a Connector, key: &str) -> &'a str {
    c.view.settings[key].as_str().unwrap_or("")
}

/// Sign in with Apple's client secret: an ES256 JWT signed with the developer's private key
/// (team id as `iss`, the Services ID as `sub`), valid at most six months.
pub fn apple_client_secret(c: &Connector, now: i64) -> Result<String> {
    let pem = c.secret.as_deref().ok_or_else(|| Error::bad_input("apple needs its private key as client_secret"))?;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body.trim())
        .map_err(|_| Error::bad_input("the Apple private key is not PEM"))?;
    let key = SigningKey::from_pkcs8(setting(c, "key_id").to_string(), Alg::Es256, &der)
        .map_err(|_| Error::bad_input("the Apple private key is not a P-256 PKCS#8 key"))?;
    let claims = json!({
        "iss": setting(c, "team_id"),
        "iat": now / 1000,
        "exp": now / 1000 + 180 * 86400,
        "aud": "https://appleid.apple.com",
        "sub": c.view.client_id,
    });
    Ok(jwt::encode(&key, "JWT", &claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::federation::connectors::{ClaimMapping, ConnectorView};

    #[test]
    fn apples_client_secret_is_an_es256_jwt_from_the_team_and_key() {
        let (key, der) = SigningKey::generate(Alg::Es256).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der)
        );
        let c = Connector {
            view: ConnectorView {
                id: "apple".into(),
                kind: crate::login::federation::kind::ConnectorKind::Apple,
                display_name: "Apple".into(),
                icon: String::new(),
                position: 0,
                enabled: true,
                issuer: "https://appleid.apple.com".into(),
                authorization_endpoint: String::new(),
                token_endpoint: String::new(),
                userinfo_endpoint: String::new(),
                client_id: "com.example.web".into(),
                has_secret: true,
                scopes: "openid name email".into(),
                claim_mapping: ClaimMapping::default(),
                authoritative_email: false,
                acr: String::new(),
                settings: json!({"team_id": "TEAM123456", "key_id": "KEY1234567"}),
                trusted_amr: Vec::new(),
                shared_callback: false,
                callback_path: "/login/federated/apple/callback".into(),
            },
            secret: Some(pem),
            extra: vec![],
        };
        let token = apple_client_secret(&c, 1_700_000_000_000).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let decode = |p: &str| -> serde_json::Value {
            serde_json::from_slice(
                &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).unwrap(),
            )
            .unwrap()
        };
        let (header, claims) = (decode(parts[0]), decode(parts[1]));
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("ES256"), Some("KEY1234567")));
        assert_eq!(claims["iss"], "TEAM123456");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
        assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 180 * 86400);
        // Signed by that key.
        let message = format!("{}.{}", parts[0], parts[1]);
        let sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[2]).unwrap();
        assert!(key.verify(message.as_bytes(), &sig));
    }
}
