//! CORS for browser apps (issue #11): the origins of registered redirect URIs and
//! `cors_allowed_origins` may call the API; preflights are answered; credentials never allowed.

use crate::support::TestServer;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

async fn preflight(server: &TestServer, path: &str, origin: &str) -> (StatusCode, HeaderMap) {
    let res = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    (res.status(), res.headers().clone())
}

#[tokio::test]
async fn browser_apps_on_registered_origins_may_call_the_api_and_no_one_else() {
    let server = TestServer::start_with(|c| c.cors_allowed_origins = "https://extra.example".into()).await;
    // The test clients redirect to https://app.example/cb.
    let client = server.public_client().await;
    for path in ["/token", "/userinfo", "/revoke", "/introspect"] {
        let (status, h) = preflight(&server, path, "https://app.example").await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(h["access-control-allow-origin"], "https://app.example", "{path}");
        assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
        assert!(h["access-control-allow-headers"].to_str().unwrap().contains("content-type"));
        assert!(h.get("access-control-allow-credentials").is_none(), "never credentials");
        let (_, h) = preflight(&server, path, "https://evil.example").await;
        assert!(h.get("access-control-allow-origin").is_none(), "{path}: an unknown origin gets nothing");
    }
    let (_, h) = preflight(&server, "/token", "https://extra.example").await;
    assert_eq!(h["access-control-allow-origin"], "https://extra.example", "cors_allowed_origins");

    // The actual request's answer names the origin (an error included, so the app can read it).
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .header("origin", "https://app.example")
        .form(&[("grant_type", "authorization_code"), ("code", "nope"), ("client_id", client.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example");
    assert_eq!(res.headers()["vary"], "Origin");

    // Discovery and the JWKS are public documents: any origin, still without credentials.
    for path in ["/.well-known/openid-configuration", "/jwks.json"] {
        let res =
            reqwest::Client::new().get(server.url(path)).header("origin", "https://any.example").send().await.unwrap();
        assert_eq!(res.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(res.headers().get("access-control-allow-credentials").is_none());
    }
}
