//! Discovery metadata and the JWKS.

use crate::support::TestServer;
use serde_json::Value;

#[tokio::test]
async fn metadata_names_every_endpoint_and_capability() {
    let server = TestServer::start().await;
    let m: Value = reqwest::get(server.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(m["issuer"], server.base);
    for (key, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks.json"),
        ("end_session_endpoint", "/logout"),
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
    ] {
        assert_eq!(m[key], server.url(path), "{key}");
    }
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(m["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(m["id_token_signing_alg_values_supported"][0], "ES256");
    assert!(m["id_token_signing_alg_values_supported"].as_array().unwrap().iter().any(|a| a == "RS256"));
    assert_eq!(m["acr_values_supported"][0], "urn:tessera:acr:email");
}

#[tokio::test]
async fn jwks_publishes_every_signing_key_with_a_kid() {
    let server = TestServer::start().await;
    let res = reqwest::get(server.url("/jwks.json")).await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = res.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs.len(), 3);
    for alg in ["ES256", "RS256", "EdDSA"] {
        assert!(algs.contains(&alg), "{alg}");
    }
    assert!(keys.iter().all(|k| !k["kid"].as_str().unwrap().is_empty() && k.get("d").is_none()));
}
