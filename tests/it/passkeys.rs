//! Passkeys through the HTTP endpoints with a software authenticator: registration, sign-in
//! without a username into an OIDC authorization, the account page, and every refusal.

use crate::support::browser::{Browser, hidden};
use crate::support::passkey::{Passkey, finish, post_json, registration_options};
use crate::support::{TestClient, TestServer, authorize_url, query_param, signed_in_code};
use reqwest::StatusCode;
use serde_json::json;

/// The CSRF token that the account page's scripts send.
async fn account_csrf(browser: &Browser) -> String {
    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    data_attr(&page.body, "data-csrf").unwrap()
}

fn data_attr(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("{name}=\"",))? + name.len() + 2;
    Some(html[at..].split('"').next()?.to_string())
}

/// A customer signed in by email in `browser`, with one passkey.
async fn customer_with_passkey(server: &TestServer, client: &TestClient, browser: &Browser, email: &str) -> Passkey {
    signed_in_code(server, browser, client, email).await;
    let csrf = account_csrf(browser).await;
    Passkey::register(browser, &csrf, &server.base).await.unwrap()
}

/// The login page of a new authorization request: (authz id, csrf).
async fn login_page(server: &TestServer, browser: &Browser, client: &TestClient) -> (String, String, String) {
    let (url, verifier) = authorize_url(server, client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    assert!(login.body.contains("id=\"passkey-login\""), "{}", login.body);
    (hidden(&login.body, "authz").unwrap(), data_attr(&login.body, "data-csrf").unwrap(), verifier)
}

#[tokio::test]
async fn a_passkey_signs_in_without_a_username_and_completes_the_authorization() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let first = server.browser();
    signed_in_code(&server, &first, &client, "pk@example.com").await;
    let csrf = account_csrf(&first).await;
    // The options ask for a discoverable credential (WebAuthn residentKey "required").
    let (options, _) = registration_options(&first, &csrf).await;
    let selection = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{options}");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    let mut passkey = Passkey::register(&first, &csrf, &server.base).await.unwrap();
    let account = first.get("/account").await.body;
    assert!(account.contains("Passkey on this device") && account.contains("on one device"), "{account}");
    assert!(account.contains("Last used never"), "{account}");

    // Another browser, nothing typed: the passkey signs in and the authorization completes.
    let other = server.browser();
    let (authz, csrf, verifier) = login_page(&server, &other, &client).await;
    let (status, body) = passkey.sign_in(&other, &csrf, &server.base, &authz).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let next = body["redirect"].as_str().unwrap().to_string();
    assert_eq!(next, format!("/authorize/resume?authz={authz}"));
    let done = other.follow(other.get(&next).await).await;
    let location = done.location.unwrap();
    let code = query_param(&location, "code").unwrap();
    let (status, tokens) = server
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &client.redirect_uri),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = crate::support::jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:tessera:acr:passkey");
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    assert_eq!(claims["email"], "pk@example.com");
    // The passkey's last use is shown on the account page.
    assert!(!other.get("/account").await.body.contains("Last used never"));
    // Discovery publishes the levels, weakest first.
    let meta: serde_json::Value =
        reqwest::get(server.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(
        meta["acr_values_supported"],
        json!(["urn:tessera:acr:email", "urn:tessera:acr:mfa", "urn:tessera:acr:passkey"])
    );
}

#[tokio::test]
async fn the_offer_comes_after_an_email_sign_in_at_most_once_a_week() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let sign_in = |browser: Browser| {
        let (server, client) = (&server, &client);
        async move {
            let (url, _) = authorize_url(server, client, &[]);
            let login = browser.follow_raw(browser.get(&url).await).await;
            let waiting = browser.request_mail(&login, "offer@example.com").await;
            let token = server.smtp.last_mail_to("offer@example.com").await.link_token();
            let confirm = browser.get(&format!("/login/link?token={token}")).await;
            let done = browser.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await;
            drop(waiting);
            (browser.follow_raw(done).await, browser)
        }
    };
    let (page, browser) = sign_in(server.browser()).await;
    assert!(page.body.contains("Create a passkey for faster sign-in"), "{}", page.body);
    // "Not now" continues the authorization.
    let skip = crate::support::browser::offer_skip_link(&page.body).unwrap();
    let done = browser.follow_raw(browser.get(&skip).await).await;
    assert!(done.location.unwrap().starts_with(&client.redirect_uri));
    // Not again within the week...
    let (page, _) = sign_in(server.browser()).await;
    assert!(page.location.is_some_and(|l| l.starts_with(&client.redirect_uri)));
    // ...but after it.
    server.clock.advance_secs(7 * 86400 + 1);
    let (page, browser) = sign_in(server.browser()).await;
    assert!(page.body.contains("Create a passkey for faster sign-in"));
    // Never once the customer has a passkey.
    let csrf = data_attr(&page.body, "data-csrf").unwrap();
    Passkey::register(&browser, &csrf, &server.base).await.unwrap();
    server.clock.advance_secs(8 * 86400);
    let (page, _) = sign_in(server.browser()).await;
    assert!(page.location.is_some_and(|l| l.starts_with(&client.redirect_uri)), "{}", page.body);
}

#[tokio::test]
async fn registration_refuses_wrong_origins_rp_ids_strangers_and_forged_requests() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "reg@example.com").await;
    let csrf = account_csrf(&browser).await;
    // Another port is another origin.
    let err = Passkey::register(&browser, &csrf, "http://localhost:1").await.err().unwrap();
    assert!(err.contains("could not be verified"), "{err}");
    // A credential scoped to another RP ID: authenticator data whose rpIdHash is not
    // SHA-256("localhost") (unsigned with "none" attestation, so only the RP ID check stops it).
    let (_, ccr) = registration_options(&browser, &csrf).await;
    let mut soft = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let mut credential = webauthn_authenticator_rs::WebauthnAuthenticator::do_registration(
        &mut soft,
        url::Url::parse(&server.base).unwrap(),
        ccr,
    )
    .unwrap();
    let ours = tessera::crypto::secrets::sha256(b"localhost");
    let theirs = tessera::crypto::secrets::sha256(b"evil.example");
    let object = &mut credential.response.attestation_object;
    let at = object.windows(32).position(|w| w == ours.as_slice()).expect("the rpIdHash is in the authenticator data");
    object[at..at + 32].copy_from_slice(&theirs);
    let (status, body) =
        post_json(&browser, &csrf, "/passkey/register/finish", json!({ "credential": credential })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("could not be verified"), "{body}");
    // Without the CSRF header, or without a session, nothing starts.
    let (status, body) = post_json(&browser, "wrong", "/passkey/register/start", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let stranger = server.browser();
    let login = stranger.get("/login").await;
    let (status, body) = post_json(&stranger, &login.csrf(), "/passkey/register/start", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("Sign in again"), "{body}");
    // A finished ceremony cannot be finished twice.
    let (_, ccr) = registration_options(&browser, &csrf).await;
    let mut soft = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let credential = webauthn_authenticator_rs::WebauthnAuthenticator::do_registration(
        &mut soft,
        url::Url::parse(&server.base).unwrap(),
        ccr,
    )
    .unwrap();
    let body = json!({ "credential": credential });
    assert_eq!(post_json(&browser, &csrf, "/passkey/register/finish", body.clone()).await.0, StatusCode::OK);
    let (status, again) = post_json(&browser, &csrf, "/passkey/register/finish", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(again["error"].as_str().unwrap().contains("timed out"), "{again}");
}

#[tokio::test]
async fn sign_in_refuses_replays_strangers_other_accounts_clones_and_stale_ceremonies() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let mut ada = customer_with_passkey(&server, &client, &server.browser(), "ada@example.com").await;
    let bo = customer_with_passkey(&server, &client, &server.browser(), "bo@example.com").await;
    let browser = server.browser();
    let (authz, csrf, _) = login_page(&server, &browser, &client).await;

    // Replay: the same assertion twice, and an old assertion against a new ceremony.
    let assertion = ada.assert(&browser, &csrf, &server.base).await;
    assert_eq!(finish(&browser, &csrf, &assertion, &authz).await.0, StatusCode::OK);
    let (status, body) = finish(&browser, &csrf, &assertion, &authz).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("timed out"), "{body}");
    post_json(&browser, &csrf, "/passkey/sign-in/start", json!({})).await;
    let (status, _) = finish(&browser, &csrf, &assertion, &authz).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A credential that names another account's user handle signs in no one.
    let mut assertion = ada.assert(&browser, &csrf, &server.base).await;
    assertion.response.user_handle = Some(bo.user_handle.clone());
    let (status, body) = finish(&browser, &csrf, &assertion, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "This passkey is not registered here.");

    // A passkey registered elsewhere is unknown here.
    let elsewhere = TestServer::start().await;
    let other_client = elsewhere.confidential_client().await;
    let mut stranger = customer_with_passkey(&elsewhere, &other_client, &elsewhere.browser(), "cy@example.com").await;
    let (status, body) = stranger.sign_in(&browser, &csrf, &server.base, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "This passkey is not registered here.");

    // A ceremony older than its TTL is gone.
    let assertion = ada.assert(&browser, &csrf, &server.base).await;
    server.clock.advance_secs(tessera::login::passkey::CEREMONY_TTL_SECS + 1);
    let (status, body) = finish(&browser, &csrf, &assertion, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("timed out"), "{body}");

    // A counter that goes backwards looks like a cloned authenticator: refused.
    let cred_id = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &ada.credential_id);
    crate::support::raise_passkey_counter(&server, &cred_id, 1000).await;
    let (status, body) = ada.sign_in(&browser, &csrf, &server.base, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("cannot be used"), "{body}");
}

#[tokio::test]
async fn the_account_page_renames_and_removes_passkeys_after_a_recent_sign_in() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let mut first = customer_with_passkey(&server, &client, &browser, "acc@example.com").await;
    // A second passkey needs a fresh proof with the first one (the account's strongest level).
    let csrf = account_csrf(&browser).await;
    let (status, _) = post_json(&browser, &csrf, "/passkey/register/start", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an email session cannot add one");
    let (status, body) = first.sign_in(&browser, &csrf, &server.base, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let csrf = account_csrf(&browser).await;
    Passkey::register(&browser, &csrf, &server.base).await.unwrap();
    let page = browser.get("/account").await;
    let form_csrf = page.csrf();
    let id = hidden(&page.body, "id").unwrap();
    assert_eq!(page.body.matches("name=\"id\"").count(), 4, "two passkeys, two forms each");

    let renamed =
        browser.post("/account/passkeys/rename", &[("csrf", &form_csrf), ("id", &id), ("name", "Work laptop")]).await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    assert!(browser.get("/account").await.body.contains("Work laptop"));
    let empty = browser.post("/account/passkeys/rename", &[("csrf", &form_csrf), ("id", &id), ("name", "  ")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let forged = browser.post("/account/passkeys/rename", &[("csrf", "nope"), ("id", &id), ("name", "x")]).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);

    // Removing needs a passkey sign-in within the last 10 minutes: a mail sign-in is not enough.
    server.clock.advance_secs(11 * 60);
    let late = browser.post("/account/passkeys/remove", &[("csrf", &form_csrf), ("id", &id)]).await;
    assert_eq!(late.status, StatusCode::SEE_OTHER);
    assert_eq!(late.location.as_deref(), Some("/login/step-up?next=%2Faccount"));
    assert!(browser.get("/account").await.body.contains("Work laptop"));
    let (url, _) = authorize_url(&server, &client, &[("prompt", "login")]);
    browser.sign_in_with_link(&server, &url, "acc@example.com").await;
    let by_mail = browser.post("/account/passkeys/remove", &[("csrf", &form_csrf), ("id", &id)]).await;
    assert_eq!(by_mail.status, StatusCode::SEE_OTHER);
    assert!(by_mail.location.unwrap().starts_with("/login/step-up"));
    let csrf = account_csrf(&browser).await;
    let (status, body) = first.sign_in(&browser, &csrf, &server.base, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let removed = browser.post("/account/passkeys/remove", &[("csrf", &form_csrf), ("id", &id)]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let page = browser.get("/account").await.body;
    assert!(!page.contains("Work laptop"));
    assert_eq!(page.matches("name=\"id\"").count(), 2);
    // Another customer's passkey id is not found.
    let other = server.browser();
    signed_in_code(&server, &other, &client, "else@example.com").await;
    let other_csrf = data_attr(&other.get("/account").await.body, "data-csrf").unwrap();
    let theirs = hidden(&browser.get("/account").await.body, "id").unwrap();
    let res = other.post("/account/passkeys/remove", &[("csrf", &other_csrf), ("id", &theirs)]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
