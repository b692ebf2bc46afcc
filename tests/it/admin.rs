//! The admin API for connectors: bearer tokens from client_credentials with the
//! `tessera:admin` scope, validation, write-only secrets, and changes without a restart.

use crate::support::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) async fn admin_token(server: &TestServer) -> String {
    let admin = server.register_with_alg(false, &["tessera:admin"], false, None).await;
    let (status, body) =
        server.token(&admin, &[("grant_type", "client_credentials"), ("scope", "tessera:admin")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

pub(crate) async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    let http = reqwest::Client::new();
    let mut req = http.request(method.parse().unwrap(), server.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let challenge = res.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = res.text().await.unwrap();
    (status, challenge, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn only_admin_tokens_get_in() {
    let server = TestServer::start().await;
    let (status, challenge, _) = call(&server, "GET", "/admin/api/v1/connectors", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let (status, challenge, _) = call(&server, "GET", "/admin/api/v1/connectors", Some("garbage"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("invalid_token"), "{challenge}");
    // A token for another scope is not enough.
    let shop = server.confidential_client().await;
    let (_, body) = server.token(&shop, &[("grant_type", "client_credentials")]).await;
    let (status, challenge, _) =
        call(&server, "GET", "/admin/api/v1/connectors", body["access_token"].as_str(), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let token = admin_token(&server).await;
    let (status, _, body) = call(&server, "GET", "/admin/api/v1/connectors", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["connectors"], json!([]));
}

#[tokio::test]
async fn connectors_are_managed_validated_and_their_secrets_never_echoed() {
    let server = TestServer::start().await;
    let token = admin_token(&server).await;
    let t = Some(token.as_str());
    let secret = "very-secret-value-42";
    let github = json!({"id": "github", "kind": "github", "display_name": "GitHub", "client_id": "gh-client",
                        "client_secret": secret, "position": 2});
    let (status, _, body) = call(&server, "POST", "/admin/api/v1/connectors", t, Some(github.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["token_endpoint"], "https://github.com/login/oauth/access_token", "the preset fills it in");
    assert_eq!(body["has_secret"], true);
    assert!(!body.to_string().contains(secret));
    let (_, _, list) = call(&server, "GET", "/admin/api/v1/connectors", t, None).await;
    assert!(!list.to_string().contains(secret));
    // Sealed at rest too.
    let stored = server.state.store.connector("github").await.unwrap().unwrap();
    let sealed = stored.sealed_secret.unwrap();
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));

    // Bad input gets a clear error and changes nothing.
    for (bad, why) in [
        (json!({"id": "Not A Slug", "kind": "github", "display_name": "X", "client_id": "c"}), "id must be"),
        (json!({"id": "x", "kind": "myspace", "display_name": "X", "client_id": "c"}), "kind must be"),
        (
            json!({"id": "x", "kind": "oidc", "display_name": "X", "client_id": "c", "issuer": "http://evil.example"}),
            "https",
        ),
        (
            json!({"id": "x", "kind": "oidc", "display_name": "X", "client_id": "c", "issuer": "https://10.0.0.1"}),
            "private network",
        ),
        (
            json!({"id": "x", "kind": "github", "display_name": "X", "client_id": "c", "trusted_amr": ["pwd", "?"]}),
            "RFC 8176",
        ),
        (
            json!({"id": "x", "kind": "google", "display_name": "X", "client_id": "c", "acr": "urn:tessera:acr:passkey"}),
            "federation_acr_ceiling",
        ),
        (json!({"id": "x", "kind": "github", "display_name": "X"}), "client_id is required"),
        (json!({"id": "x", "kind": "github", "display_name": "X", "client_id": "c", "colour": "red"}), "unknown field"),
        (github.clone(), "exists already"),
        (
            json!({"id": "x", "kind": "github", "display_name": "X", "client_id": "c", "icon": "https://cdn.example/x.png"}),
            "icon must be",
        ),
    ] {
        let (status, _, body) = call(&server, "POST", "/admin/api/v1/connectors", t, Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(body["error_description"].as_str().unwrap().contains(why), "{why}: {body}");
    }
    assert_eq!(server.state.store.connectors().await.unwrap().len(), 1);

    // Changes show on the login page at once.
    let login = server.browser().get("/login").await.body;
    assert!(login.contains("Continue with GitHub"), "{login}");
    let (status, _, body) =
        call(&server, "PATCH", "/admin/api/v1/connectors/github", t, Some(json!({"display_name": "GitHub.com"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["has_secret"], true, "an update without a secret keeps it");
    let (_, _, body) = call(&server, "POST", "/admin/api/v1/connectors/github/disable", t, None).await;
    assert_eq!(body["enabled"], false);
    assert!(!server.browser().get("/login").await.body.contains("GitHub"));
    call(&server, "POST", "/admin/api/v1/connectors/github/enable", t, None).await;
    assert!(server.browser().get("/login").await.body.contains("Continue with GitHub.com"));
    let (status, _, _) = call(&server, "DELETE", "/admin/api/v1/connectors/github", t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = call(&server, "GET", "/admin/api/v1/connectors/github", t, None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}
