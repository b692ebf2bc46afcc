//! The `claims` request parameter (OpenID Connect Core §5.5, issue #11): individual claims for
//! the ID token and UserInfo, voluntary and essential; absent claims omitted, never null; a
//! `sub` value names the only account that may answer.

use crate::support::{TestServer, authorize_url, jwt_claims, query_param, signed_in_code};
use reqwest::StatusCode;

/// An authorization URL asking for scope `openid` only, plus `claims`.
fn openid_only(server: &TestServer, client: &crate::support::TestClient, extra: &[(&str, &str)]) -> (String, String) {
    let (url, verifier) = authorize_url(server, client, extra);
    (url.replace("scope=openid+email+profile", "scope=openid"), verifier)
}

#[tokio::test]
async fn individually_requested_claims_are_released_in_the_id_token_and_userinfo_core_5_5() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "claims@example.com").await;

    // Scope openid alone releases no address.
    let (url, verifier) = openid_only(&server, &client, &[]);
    let code = query_param(&browser.get(&url).await.location.unwrap(), "code").unwrap();
    let plain = server.exchange(&client, &code, &verifier).await;
    assert!(jwt_claims(plain["id_token"].as_str().unwrap()).get("email").is_none());

    // Essential email for UserInfo, voluntary name and given_name for the ID token.
    let claims = r#"{"userinfo":{"email":{"essential":true}},"id_token":{"name":null,"given_name":null}}"#;
    let (url, verifier) = openid_only(&server, &client, &[("claims", claims)]);
    let code = query_param(&browser.get(&url).await.location.unwrap(), "code").unwrap();
    let tokens = server.exchange(&client, &code, &verifier).await;
    let at = tokens["access_token"].as_str().unwrap();
    let userinfo: serde_json::Value =
        reqwest::Client::new().get(server.url("/userinfo")).bearer_auth(at).send().await.unwrap().json().await.unwrap();
    assert_eq!(userinfo["email"], "claims@example.com", "{userinfo}");
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert!(id.get("updated_at").is_some(), "the profile claims this account has: {id}");
    // The account has no name: omitted, not null (Core §5.3.2).
    assert!(id.get("name").is_none() && id.get("given_name").is_none(), "{id}");
    assert!(!id.as_object().unwrap().values().any(|v| v.is_null()), "{id}");
    // The granted scope says so (RFC 6749 §3.3: a scope other than requested is returned).
    let scope = tokens["scope"].as_str().unwrap();
    assert!(scope.contains("email") && scope.contains("profile"), "{scope}");
    // A refresh keeps what was granted.
    let (status, refreshed) = server
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(jwt_claims(refreshed["id_token"].as_str().unwrap())["email"], "claims@example.com");
}

#[tokio::test]
async fn a_sub_value_names_the_only_account_that_may_answer_core_3_1_2_2() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "subject@example.com").await;
    let me = server.state.store.customer_by_email("subject@example.com").await.unwrap().unwrap();
    let other = r#"{"id_token":{"sub":{"value":"someone-else"}}}"#;
    let (url, _) = authorize_url(&server, &client, &[("prompt", "none"), ("claims", other)]);
    let res = browser.get(&url).await;
    assert_eq!(query_param(&res.location.unwrap(), "error").as_deref(), Some("login_required"));
    let mine = format!(r#"{{"id_token":{{"sub":{{"value":"{}"}}}}}}"#, me.id);
    let (url, _) = authorize_url(&server, &client, &[("prompt", "none"), ("claims", &mine)]);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());
    // Malformed claims are invalid_request.
    let (url, _) = authorize_url(&server, &client, &[("claims", r#"{"userinfo":{"email":true}}"#)]);
    let res = browser.get(&url).await;
    assert_eq!(query_param(&res.location.unwrap(), "error").as_deref(), Some("invalid_request"));
}
