//! The sessions page, ending sessions with OIDC Back-Channel Logout, and "keep me signed in".

use crate::support::{TestServer, authorize_url, jwt_claims, query_param, signed_in_code};
use axum::extract::Form;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use std::collections::HashMap;
use tokio::sync::mpsc;

/// A relying party's back-channel logout endpoint on loopback: every `logout_token` posted
/// to it arrives on the channel.
pub async fn logout_receiver() -> (String, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |Form(form): Form<HashMap<String, String>>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(form.get("logout_token").cloned().unwrap_or_default());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://127.0.0.1:{}/backchannel", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (uri, rx)
}

/// Check a logout token's ES256 signature against the published JWKS with the crypto
/// library directly, and return its header and claims.
pub async fn verified(server: &TestServer, token: &str) -> (serde_json::Value, serde_json::Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let jwks: serde_json::Value = reqwest::get(server.url("/jwks.json")).await.unwrap().json().await.unwrap();
    let key =
        jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]).expect("the kid is published");
    assert_eq!(header["alg"], "ES256");
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(key["y"].as_str().unwrap()).unwrap());
    let public = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED, point);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("a valid signature");
    (header, jwt_claims(token))
}

async fn next_token(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await.expect("a logout token").unwrap()
}

#[tokio::test]
async fn ending_sessions_revokes_their_tokens_and_tells_the_clients() {
    let server = TestServer::start().await;
    let (uri, mut logouts) = logout_receiver().await;
    let client = server.backchannel_client(&uri).await;
    let laptop = server.browser();
    let phone = server.browser();
    let (code, verifier) = signed_in_code(&server, &laptop, &client, "many@example.com").await;
    let laptop_tokens = server.exchange(&client, &code, &verifier).await;
    let (code, verifier) = signed_in_code(&server, &phone, &client, "many@example.com").await;
    let phone_tokens = server.exchange(&client, &code, &verifier).await;
    let phone_sid = jwt_claims(phone_tokens["id_token"].as_str().unwrap())["sid"].clone();
    let sub = jwt_claims(phone_tokens["id_token"].as_str().unwrap())["sub"].clone();

    let page = laptop.get("/account/sessions").await;
    assert_eq!(page.body.matches("Sign out there").count(), 2, "{}", page.body);
    assert_eq!(page.body.matches("(this browser)").count(), 1);
    assert!(page.body.contains("with email"), "{}", page.body);
    let csrf = page.csrf();
    let ended = laptop.post("/account/sessions/end-others", &[("csrf", &csrf)]).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);

    // The phone's client hears about it, in a logout token it can verify (BCL 1.0 §2.4).
    let (header, claims) = verified(&server, &next_token(&mut logouts).await).await;
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(claims["iss"], server.base);
    assert_eq!(claims["aud"], client.id);
    assert_eq!(claims["sid"], phone_sid);
    assert_eq!(claims["sub"], sub);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims["jti"].is_string() && claims["iat"].is_i64() && claims["exp"].is_i64());
    assert!(claims.get("nonce").is_none(), "§2.4: a logout token has no nonce");

    // The phone's refresh token and browser session are gone; the laptop's are not.
    let refresh = |tokens: &serde_json::Value| tokens["refresh_token"].as_str().unwrap().to_string();
    let (status, body) =
        server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh(&phone_tokens))]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (url, _) = authorize_url(&server, &client, &[("prompt", "none")]);
    let location = phone.get(&url).await.location.unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("login_required"));
    let (status, _) =
        server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh(&laptop_tokens))]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(laptop.get("/account/sessions").await.body.matches("Sign out there").count(), 1);

    // Ending this browser's own session signs it out here too.
    let page = laptop.get("/account/sessions").await;
    let own = crate::support::browser::hidden(&page.body, "id").unwrap();
    let out = laptop.post("/account/sessions/end", &[("csrf", &page.csrf()), ("id", &own)]).await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    assert!(out.set_cookies.iter().any(|c| c.starts_with("tessera_session=;") && c.contains("Max-Age=0")));
    let (_, claims) = verified(&server, &next_token(&mut logouts).await).await;
    assert_ne!(claims["sid"], phone_sid);
    // Another customer's session id is not found.
    let stranger = server.browser();
    signed_in_code(&server, &stranger, &client, "else@example.com").await;
    let page = stranger.get("/account/sessions").await;
    let res = stranger.post("/account/sessions/end", &[("csrf", &page.csrf()), ("id", "not-mine")]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn keep_me_signed_in_makes_the_session_outlive_the_browser() {
    let server = TestServer::start().await;
    let sign_in = |remember: bool| {
        let server = &server;
        async move {
            let browser = server.browser();
            let login = browser.get("/login").await;
            let mut form = vec![("csrf", login.csrf()), ("email", "stay@example.com".to_string())];
            if remember {
                form.push(("remember", "1".into()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post("/login/email", &form).await;
            let token = server.smtp.last_mail_to("stay@example.com").await.link_token();
            let confirm = browser.get(&format!("/login/link?token={token}")).await;
            browser.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await
        }
    };
    let kept = sign_in(true).await;
    let cookie = kept.set_cookies.iter().find(|c| c.starts_with("tessera_session=")).unwrap();
    let max_age = server.state.config.persistent_session_ttl_secs;
    assert!(cookie.contains(&format!("Max-Age={max_age}")), "{cookie}");
    let plain = sign_in(false).await;
    let cookie = plain.set_cookies.iter().find(|c| c.starts_with("tessera_session=")).unwrap();
    assert!(!cookie.contains("Max-Age"), "a browser-session cookie: {cookie}");
    // The server side agrees: the plain session ends after session_ttl_secs, the kept one not.
    server.clock.advance_secs(server.state.config.session_ttl_secs + 1);
    let sessions = server.state.store.sessions_of(&customer_id(&server).await, server.state.now()).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].persistent, 1);
}

async fn customer_id(server: &TestServer) -> String {
    server.state.store.customer_by_email("stay@example.com").await.unwrap().unwrap().id
}

/// The account forms take the session and the CSRF token from their extractors: a post with
/// a wrong token or none changes nothing, and a post without a session goes to sign in.
#[tokio::test]
async fn account_forms_need_the_session_and_this_browsers_csrf_token() {
    let server = TestServer::start().await;
    let (laptop, phone) = (server.browser(), server.browser());
    for b in [&laptop, &phone] {
        let login = b.get("/login").await;
        b.sign_in_from(&server, login, "stay@example.com").await;
    }
    let page = laptop.get("/account/sessions").await;
    let live =
        || async { server.state.store.sessions_of(&customer_id(&server).await, server.state.now()).await.unwrap() };
    assert_eq!(live().await.len(), 2);

    let forged = laptop.post("/account/sessions/end-others", &[("csrf", "not-the-token")]).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.body);
    assert!(forged.body.contains("This form has expired"), "{}", forged.body);
    let missing = laptop.post("/account/sessions/end-others", &[]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    // Another browser's token is not this browser's.
    let phones = phone.get("/account/sessions").await;
    let crossed = laptop.post("/account/sessions/end-others", &[("csrf", &phones.csrf())]).await;
    assert_eq!(crossed.status, StatusCode::BAD_REQUEST);
    assert_eq!(live().await.len(), 2, "nothing ended");

    let stranger = server.browser();
    let theirs = stranger.get("/login").await;
    let signed_out = stranger.post("/account/sessions/end-others", &[("csrf", &theirs.csrf())]).await;
    assert_eq!(signed_out.location.as_deref(), Some("/login"));
    assert_eq!(stranger.get("/account/sessions").await.location.as_deref(), Some("/login"));
    assert_eq!(live().await.len(), 2, "nothing ended");

    let done = laptop.post("/account/sessions/end-others", &[("csrf", &page.csrf())]).await;
    assert_eq!(done.location.as_deref(), Some("/account/sessions"));
    assert_eq!(live().await.len(), 1);
}
