//! TOTP as a second factor with recovery codes, and step-up to the level an app asks for.

use crate::support::browser::{Browser, Page, hidden};
use crate::support::passkey::Passkey;
use crate::support::{TestServer, authorize_url, jwt_claims, query_param, signed_in_code};
use reqwest::StatusCode;
use serde_json::json;

pub fn totp_code(secret: &str, now_ms: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate((now_ms / 1000) as u64).to_string()
}

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let at = html.find(start)? + start.len();
    Some(html[at..].split(end).next()?.to_string())
}

/// Enrol an authenticator app for the browser's customer; returns (secret, recovery codes).
pub async fn enrol(server: &TestServer, browser: &Browser) -> (String, Vec<String>) {
    let page = browser.get("/account/totp").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("src=\"data:image/png;base64,iVBOR"), "an inline PNG QR code");
    let secret = between(&page.body, "<code id=\"totp-secret\">", "</code>").unwrap();
    let right = totp_code(&secret, server.state.now());
    let bad = browser.post("/account/totp", &[("csrf", &page.csrf()), ("code", &wrong(&right))]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("not right") && bad.body.contains(&secret), "the same secret is shown again");
    let done = browser.post("/account/totp", &[("csrf", &page.csrf()), ("code", &right)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let codes: Vec<String> =
        done.body.split("<li><code>").skip(1).map(|s| s.split('<').next().unwrap().into()).collect();
    assert_eq!(codes.len(), 10, "{}", done.body);
    (secret, codes)
}

/// Prove the authenticator app again before a change (a step-up of the browser's session,
/// asked for in place), as a change of sign-in methods requires.
pub async fn prove_app(server: &TestServer, browser: &Browser, secret: &str) {
    server.clock.advance_secs(30);
    let page = browser.follow(browser.get("/login/step-up?next=/account").await).await;
    assert!(page.body.contains("Enter the code from your authenticator app"), "{}", page.body);
    let code = totp_code(secret, server.state.now());
    let done = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(done.location.as_deref(), Some("/account"), "{}", done.body);
}

/// An email sign-in in a fresh browser that stops at the second-factor page.
async fn email_step(server: &TestServer, url: &str, email: &str) -> (Browser, Page) {
    let browser = server.browser();
    let page = browser.sign_in_with_link(server, url, email).await;
    assert!(page.body.contains("Enter the code from your authenticator app"), "{}", page.body);
    (browser, page)
}

#[tokio::test]
async fn an_authenticator_app_becomes_the_second_step_of_email_sign_in() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let first = server.browser();
    signed_in_code(&server, &first, &client, "totp@example.com").await;
    let (secret, codes) = enrol(&server, &first).await;

    // The secret is sealed at rest: its bytes are nowhere in the stored value.
    let raw = totp_rs::Secret::try_from_base32(&secret).unwrap().as_ref().to_vec();
    let sealed = crate::support::stored_totp_secret(&server).await;
    assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()));

    // Email alone no longer signs in; the code that confirmed enrolment cannot be replayed.
    let (url, verifier) = authorize_url(&server, &client, &[]);
    let (browser, page) = email_step(&server, &url, "totp@example.com").await;
    let same_step = totp_code(&secret, server.state.now());
    let replay = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &same_step)]).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    server.clock.advance_secs(30);
    let next = totp_code(&secret, server.state.now());
    let done =
        browser.follow(browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &next)]).await).await;
    let location = done.location.expect("back to the client");
    let tokens = server.exchange(&client, &query_param(&location, "code").unwrap(), &verifier).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:tessera:acr:mfa");
    assert_eq!(claims["amr"], json!(["email", "otp", "mfa"]));

    // Five wrong codes lock the factor for 15 minutes, even against the right code.
    let (url, _) = authorize_url(&server, &client, &[]);
    let (browser, page) = email_step(&server, &url, "totp@example.com").await;
    server.clock.advance_secs(30);
    let right = totp_code(&secret, server.state.now());
    for _ in 0..5 {
        let r = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &wrong(&right))]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    let locked = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &right)]).await;
    assert!(locked.body.contains("Too many wrong codes"), "{}", locked.body);
    // After the lock (and the parked step's own 10 minutes), a new sign-in works again.
    server.clock.advance_secs(15 * 60 + 30);
    let (url, _) = authorize_url(&server, &client, &[]);
    let (browser, page) = email_step(&server, &url, "totp@example.com").await;
    let right = totp_code(&secret, server.state.now());
    let ok = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &right)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);

    // A recovery code works once, in place of the app.
    let (url, verifier) = authorize_url(&server, &client, &[]);
    let (signed, page) = email_step(&server, &url, "totp@example.com").await;
    let done =
        signed.follow(signed.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &codes[0])]).await).await;
    let tokens = server.exchange(&client, &query_param(&done.location.unwrap(), "code").unwrap(), &verifier).await;
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["amr"], json!(["email", "rec", "mfa"]));
    let (url, _) = authorize_url(&server, &client, &[]);
    let (browser, page) = email_step(&server, &url, "totp@example.com").await;
    let again = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &codes[0])]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);

    // New recovery codes need a recent proof of the app (asked for in place), and replace the old ones.
    let stale = first.get("/account/totp").await;
    let refused = first.post("/account/totp/recovery-codes", &[("csrf", &stale.csrf())]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location.as_deref(), Some("/login/step-up?next=%2Faccount%2Ftotp"));
    let fresh = signed.get("/account/totp").await;
    assert!(fresh.body.contains("9 unused recovery codes"), "{}", fresh.body);
    let renewed = signed.post("/account/totp/recovery-codes", &[("csrf", &fresh.csrf())]).await;
    assert_eq!(renewed.body.matches("<li><code>").count(), 10);
    let old = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &codes[1])]).await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "old recovery codes are void");
}

#[tokio::test]
async fn step_up_asks_only_for_the_missing_factor() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "up@example.com").await;
    let (secret, _) = enrol(&server, &browser).await;
    server.clock.advance_secs(60);

    // The email-level session needs the app's code, not a new email sign-in.
    let (url, verifier) = authorize_url(&server, &client, &[("acr_values", "urn:tessera:acr:mfa")]);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.body.contains("Enter the code from your authenticator app"), "{}", page.body);
    let code = totp_code(&secret, server.state.now());
    let done =
        browser.follow(browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await).await;
    let tokens = server.exchange(&client, &query_param(&done.location.unwrap(), "code").unwrap(), &verifier).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:tessera:acr:mfa");
    assert_eq!(claims["amr"], json!(["email", "otp", "mfa"]));
    assert_eq!(claims["auth_time"], server.state.now() / 1000, "a fresh auth_time");
    // The session now carries the level: the next request is answered at once.
    let (url, _) = authorize_url(&server, &client, &[("acr_values", "urn:tessera:acr:mfa"), ("prompt", "none")]);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());
}

#[tokio::test]
async fn an_unreachable_level_is_offered_enrolment_or_reported_to_the_client() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "plain@example.com").await;
    let essential = r#"{"id_token":{"acr":{"essential":true,"values":["urn:tessera:acr:mfa"]}}}"#;

    // prompt=none: straight back with unmet_authentication_requirements.
    let (url, _) = authorize_url(&server, &client, &[("claims", essential), ("prompt", "none")]);
    let location = browser.get(&url).await.location.unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("unmet_authentication_requirements"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-123"));

    // Otherwise the person is offered to set up a factor, or to cancel.
    let (url, _) = authorize_url(&server, &client, &[("claims", essential)]);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.body.contains("A stronger sign-in is needed") && page.body.contains("/account"), "{}", page.body);
    let authz = hidden(&page.body, "authz").unwrap();
    let cancelled = browser.post("/login/step-up/cancel", &[("csrf", &page.csrf()), ("authz", &authz)]).await;
    let location = cancelled.location.unwrap();
    assert!(location.starts_with(&client.redirect_uri));
    assert_eq!(query_param(&location, "error").as_deref(), Some("unmet_authentication_requirements"));
    assert_eq!(query_param(&location, "iss").as_deref(), Some(server.base.as_str()));

    // A request for a level nobody issues, as an essential claim, is unmet too.
    let nobody = r#"{"id_token":{"acr":{"essential":true,"value":"urn:example:unknown"}}}"#;
    let (url, _) = authorize_url(&server, &client, &[("claims", nobody)]);
    let location = browser.get(&url).await.location.unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("unmet_authentication_requirements"));
}

#[tokio::test]
async fn a_passkey_level_sends_the_person_to_their_passkey() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "pk-up@example.com").await;
    // With an authenticator app too: a passkey (user-verified) is multi-factor on its own,
    // so the passkey sign-in below is not followed by a TOTP step.
    let (secret, _) = enrol(&server, &browser).await;
    // Adding the passkey is a change of sign-in methods: the app is asked for first.
    let csrf = between(&browser.get("/account").await.body, "data-csrf=\"", "\"").unwrap();
    let (status, _) = crate::support::passkey::post_json(&browser, &csrf, "/passkey/register/start", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not with the email-level session");
    prove_app(&server, &browser, &secret).await;
    let csrf = between(&browser.get("/account").await.body, "data-csrf=\"", "\"").unwrap();
    let mut passkey = Passkey::register(&browser, &csrf, &server.base).await.unwrap();
    let (url, verifier) = authorize_url(&server, &client, &[("acr_values", "urn:tessera:acr:passkey")]);
    let login = browser.follow(browser.get(&url).await).await;
    assert!(login.body.contains("Use your passkey to continue"), "{}", login.body);
    let authz = hidden(&login.body, "authz").unwrap();
    let csrf = between(&login.body, "data-csrf=\"", "\"").unwrap();
    let (status, body) = passkey.sign_in(&browser, &csrf, &server.base, &authz).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = browser.follow(browser.get(body["redirect"].as_str().unwrap()).await).await;
    let tokens = server.exchange(&client, &query_param(&done.location.unwrap(), "code").unwrap(), &verifier).await;
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["acr"], "urn:tessera:acr:passkey");
}
