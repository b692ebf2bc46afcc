//! Refresh tokens and `offline_access` (OpenID Connect Core §11, issue #11): without it a
//! refresh token lives no longer than the browser session it came from; with it the customer
//! consented on the consent page, and the family has an absolute lifetime.

use crate::support::browser::hidden;
use crate::support::{TestServer, authorize_url, query_param, signed_in_code};
use reqwest::StatusCode;

async fn refresh(
    server: &TestServer,
    client: &crate::support::TestClient,
    token: &str,
) -> (StatusCode, serde_json::Value) {
    server.token(client, &[("grant_type", "refresh_token"), ("refresh_token", token)]).await
}

#[tokio::test]
async fn without_offline_access_the_refresh_token_ends_with_its_session_core_11() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "online@example.com").await;
    let tokens = server.exchange(&client, &code, &verifier).await;
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_string();
    // While the session lives (12 hours later, used meanwhile), refreshing works.
    server.clock.advance_secs(12 * 3600);
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    let (status, body) = refresh(&server, &client, &rt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    rt = body["refresh_token"].as_str().unwrap().to_string();
    // The session expires after a day; the refresh token (30 days) dies with it.
    server.clock.advance_secs(13 * 3600);
    let (status, body) = refresh(&server, &client, &rt).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
}

#[tokio::test]
async fn offline_access_is_consented_outlives_the_session_and_ends_at_its_absolute_lifetime() {
    let server = TestServer::start_with(|c| c.offline_access_max_lifetime_secs = 50 * 86400).await;
    // A client that needs no consent otherwise: offline access is still asked for.
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (url, verifier) = authorize_url(&server, &client, &[]);
    let url = url.replace("scope=openid+email+profile", "scope=openid+email+offline_access");
    let page = browser.sign_in_with_link(&server, &url, "offline@example.com").await;
    let consent = browser.follow(page).await;
    assert!(consent.body.contains("Stay connected when you are not using it"), "{}", consent.body);
    let authz = hidden(&consent.body, "authz").unwrap();
    let answer = browser.post("/consent", &[("csrf", &consent.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    let code = query_param(&answer.location.unwrap(), "code").unwrap();
    let tokens = server.exchange(&client, &code, &verifier).await;
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_string();
    // Remembered: the next request with offline_access gets its code at once.
    let (url, _) = authorize_url(&server, &client, &[]);
    let url = url.replace("scope=openid+email+profile", "scope=openid+offline_access");
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());

    // The session is long gone after 20 days; the offline family refreshes (sliding 30 days).
    for _ in 0..2 {
        server.clock.advance_secs(20 * 86400);
        let (status, body) = refresh(&server, &client, &rt).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        rt = body["refresh_token"].as_str().unwrap().to_string();
    }
    // 60 days after the grant: past the absolute lifetime (50 days here), however recent.
    server.clock.advance_secs(20 * 86400);
    let (status, body) = refresh(&server, &client, &rt).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
}
