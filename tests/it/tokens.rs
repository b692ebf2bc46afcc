//! The token endpoint and the token-consuming endpoints, including every refusal.

use crate::support::{TestServer, signed_in_code};
use reqwest::StatusCode;
use serde_json::Value;

async fn exchange(
    server: &TestServer,
    client: &crate::support::TestClient,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    server
        .token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &client.redirect_uri),
                ("code_verifier", verifier),
            ],
        )
        .await
}

async fn userinfo(server: &TestServer, token: &str) -> reqwest::Response {
    reqwest::Client::new().get(server.url("/userinfo")).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn pkce_is_checked_and_a_failed_check_burns_the_code() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "pk@example.com").await;
    let (status, body) = exchange(&server, &client, &code, "wrong-verifier-wrong-verifier-wrong-verifier-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = exchange(&server, &client, &code, &verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (code, _) = signed_in_code(&server, &browser, &client, "pk@example.com").await;
    let (status, body) = server
        .token(
            &client,
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &client.redirect_uri)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].as_str().unwrap().contains("code_verifier"));
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_it_issued() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "re@example.com").await;
    let (status, tokens) = exchange(&server, &client, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&server, access).await.status(), StatusCode::OK);
    let (status, body) = exchange(&server, &client, &code, &verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    // RFC 6749 §4.1.2: the tokens issued from the code are revoked.
    let res = userinfo(&server, access).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn codes_expire_and_are_bound_to_client_and_redirect_uri() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let other = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "ex@example.com").await;
    let (status, body) = exchange(&server, &other, &code, &verifier).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    let (code, verifier) = signed_in_code(&server, &browser, &client, "ex@example.com").await;
    let (status, body) = server
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example/other"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    let (code, verifier) = signed_in_code(&server, &browser, &client, "ex@example.com").await;
    server.clock.advance_secs(61);
    let (status, body) = exchange(&server, &client, &code, &verifier).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn client_authentication_failures_are_401_with_a_challenge() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let http = reqwest::Client::new();
    let res = http
        .post(server.url("/token"))
        .basic_auth(&client.id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");
    // No credentials at all.
    let res = http.post(server.url("/token")).form(&[("grant_type", "client_credentials")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Two methods at once.
    let res = http
        .post(server.url("/token"))
        .basic_auth(&client.id, client.secret.as_ref())
        .form(&[("grant_type", "client_credentials"), ("client_secret", client.secret.as_deref().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_request");
    // client_secret_post works.
    let res = http
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", client.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_token_requests_get_the_right_codes() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let (status, body) = server.token(&client, &[("grant_type", "password"), ("username", "x")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
    let (status, body) = server.token(&client, &[("code", "x")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, body) = server.token(&client, &[("grant_type", "authorization_code")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, body) = server
        .token(
            &client,
            &[("grant_type", "authorization_code"), ("code", "nope"), ("redirect_uri", "https://app.example/cb")],
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, body) =
        server.token(&client, &[("grant_type", "client_credentials"), ("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, body) = server.token(&client, &[("grant_type", "client_credentials"), ("scope", "admin")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    let public = server.public_client().await;
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", &public.id)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "unauthorized_client");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "rt@example.com").await;
    let (_, first) = exchange(&server, &client, &code, &verifier).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", r1)]).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    // Narrowing works; widening does not.
    let (status, narrowed) = server
        .token(&client, &[("grant_type", "refresh_token"), ("refresh_token", r2), ("scope", "openid email")])
        .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "openid email");
    let r3 = narrowed["refresh_token"].as_str().unwrap();
    let (status, body) = server
        .token(&client, &[("grant_type", "refresh_token"), ("refresh_token", r3), ("scope", "openid offline_access")])
        .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    // Reusing r1 revokes the family: r3 and the latest access token stop working.
    let (status, body) = server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", r1)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, _) = server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", r3)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(userinfo(&server, narrowed["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn client_credentials_tokens_are_rfc9068_jwts() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let (status, body) = server.token(&client, &[("grant_type", "client_credentials"), ("scope", "orders:read")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let (header, claims): (tessera::crypto::jwt::Header, Value) =
        tessera::crypto::jwt::decode(&server.state.keys.at(server.state.now()), token).unwrap();
    assert_eq!(header.typ, "at+jwt");
    assert!(!header.kid.is_empty());
    assert_eq!(claims["sub"], client.id);
    assert_eq!(claims["client_id"], client.id);
    assert_eq!(claims["scope"], "orders:read");
    // Not a person's token: userinfo refuses it.
    assert_eq!(userinfo(&server, token).await.status(), StatusCode::FORBIDDEN);
    // Introspection by an authenticated client; revocation makes it inactive.
    let http = reqwest::Client::new();
    let intro = |t: String| {
        let c = &client;
        let http = &http;
        let url = server.url("/introspect");
        async move { http.post(url).basic_auth(&c.id, c.secret.as_ref()).form(&[("token", t)]).send().await.unwrap() }
    };
    let v: Value = intro(token.to_string()).await.json().await.unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["scope"], "orders:read");
    let res = http
        .post(server.url("/revoke"))
        .basic_auth(&client.id, client.secret.as_ref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = intro(token.to_string()).await.json().await.unwrap();
    assert_eq!(v, serde_json::json!({"active": false}));
    // Unauthenticated introspection is refused.
    let res = http.post(server.url("/introspect")).form(&[("token", token)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn userinfo_refuses_missing_forged_and_expired_tokens() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let res = reqwest::get(server.url("/userinfo")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert_eq!(userinfo(&server, "not.a.jwt").await.status(), StatusCode::UNAUTHORIZED);
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "ui@example.com").await;
    let (_, tokens) = exchange(&server, &client, &code, &verifier).await;
    let access = tokens["access_token"].as_str().unwrap();
    // POST with the token in the body (RFC 6750 §2.2).
    let res =
        reqwest::Client::new().post(server.url("/userinfo")).form(&[("access_token", access)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let claims: Value = res.json().await.unwrap();
    assert_eq!(claims["email"], "ui@example.com");
    assert_eq!(claims["email_verified"], true);
    server.clock.advance_secs(server.state.config.access_token_ttl_secs + 1);
    assert_eq!(userinfo(&server, access).await.status(), StatusCode::UNAUTHORIZED);
}
