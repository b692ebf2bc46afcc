//! Account takeover through sign-in (issue #10): changing a factor needs a recent proof at the
//! account's strongest level and is mailed to the customer; the session secret is replaced on
//! sign-in, step-up and factor changes; a browser holds one session; idle sessions end.

use crate::factors::{enrol, totp_code};
use crate::support::browser::{Browser, Page};
use crate::support::passkey::{Passkey, post_json};
use crate::support::{TestServer, authorize_url, signed_in_code};
use reqwest::StatusCode;
use serde_json::json;

fn data_attr(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("{name}=\""))? + name.len() + 2;
    Some(html[at..].split('"').next()?.to_string())
}

async fn account_csrf(browser: &Browser) -> String {
    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    data_attr(&page.body, "data-csrf").unwrap()
}

/// The session cookie a response set, if any.
fn session_cookie(page: &Page) -> Option<String> {
    page.set_cookies
        .iter()
        .find(|c| c.starts_with("tessera_session=") && !c.contains("Max-Age=0"))
        .map(|c| c["tessera_session=".len()..].split(';').next().unwrap().to_string())
}

async fn session_lives(server: &TestServer, token: &str) -> bool {
    let hash = tessera::crypto::secrets::hash(token);
    server.state.store.session_by_token(&hash, server.state.now()).await.unwrap().is_some()
}

#[tokio::test]
async fn an_email_only_session_cannot_add_or_remove_factors_of_an_account_with_a_passkey() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let owner = server.browser();
    signed_in_code(&server, &owner, &client, "owner@example.com").await;
    let csrf = account_csrf(&owner).await;
    Passkey::register(&owner, &csrf, &server.base).await.unwrap();
    let passkey_id = server
        .state
        .store
        .passkeys_of(&server.state.store.customer_by_email("owner@example.com").await.unwrap().unwrap().id)
        .await
        .unwrap()[0]
        .id
        .clone();

    // Someone with a phished mail code: an email-level session of the same account.
    let phished = server.browser();
    signed_in_code(&server, &phished, &client, "owner@example.com").await;
    let totp = phished.get("/account/totp").await;
    assert_eq!(totp.status, StatusCode::SEE_OTHER, "no authenticator app setup without the passkey: {}", totp.body);
    let to = totp.location.unwrap();
    assert!(to.starts_with("/login/step-up?next=%2Faccount%2Ftotp"), "{to}");
    let step_up = phished.get(&to).await;
    assert!(
        step_up.location.as_deref().unwrap_or("").contains("passkey=1"),
        "the passkey is asked for: {:?}",
        step_up.location
    );

    let csrf = account_csrf(&phished).await;
    let (status, body) = post_json(&phished, &csrf, "/passkey/register/start", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["step_up"].as_str().unwrap().starts_with("/login/step-up"), "{body}");

    let account = phished.get("/account").await;
    let removed = phished.post("/account/passkeys/remove", &[("csrf", &account.csrf()), ("id", &passkey_id)]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(removed.location.unwrap().starts_with("/login/step-up"));
    let customer = server.state.store.customer_by_email("owner@example.com").await.unwrap().unwrap();
    assert_eq!(server.state.store.passkeys_of(&customer.id).await.unwrap().len(), 1, "the passkey stays");
    assert!(server.state.store.totp_factor(&customer.id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_stale_session_proves_its_factor_again_and_every_change_is_mailed() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "change@example.com").await;
    let (secret, _) = enrol(&server, &browser).await;
    let mail = server.smtp.last_mail_to("change@example.com").await.decoded();
    assert!(mail.contains("authenticator app was added"), "{mail}");
    assert!(mail.contains("/account/sessions"), "a link to the security page: {mail}");
    assert!(mail.contains("on "), "which device: {mail}");

    // Eleven minutes later the session is too old to change factors: prove the app again.
    server.clock.advance_secs(11 * 60);
    let page = browser.get("/account/totp").await;
    let renew = browser.post("/account/totp/recovery-codes", &[("csrf", &page.csrf())]).await;
    assert_eq!(renew.status, StatusCode::SEE_OTHER, "{}", renew.body);
    let to = renew.location.unwrap();
    assert!(to.starts_with("/login/step-up?next="), "{to}");
    let second = browser.follow(browser.get(&to).await).await;
    assert!(second.body.contains("Enter the code from your authenticator app"), "{}", second.body);
    let code = totp_code(&secret, server.state.now());
    let done = browser.post("/login/second-factor", &[("csrf", &second.csrf()), ("code", &code)]).await;
    assert_eq!(done.location.as_deref(), Some("/account/totp"), "back to the change");
    let page = browser.get("/account/totp").await;
    let renew = browser.post("/account/totp/recovery-codes", &[("csrf", &page.csrf())]).await;
    assert_eq!(renew.status, StatusCode::OK, "{}", renew.body);
    let mail = server.smtp.last_mail_to("change@example.com").await.decoded();
    assert!(mail.contains("new recovery codes"), "{mail}");
    let sessions = browser.get("/account/totp").await;
    assert!(sessions.status == StatusCode::OK);
}

#[tokio::test]
async fn the_session_secret_is_replaced_on_step_up_and_factor_change_and_a_browser_holds_one_session() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    let waiting = browser.request_mail(&login, "hygiene@example.com").await;
    assert!(waiting.body.contains("Check your mail"));
    let token = server.smtp.last_mail_to("hygiene@example.com").await.link_token();
    let confirm = browser.get(&format!("/login/link?token={token}")).await;
    let signed = browser.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await;
    let first = session_cookie(&signed).expect("a session cookie");
    assert!(session_lives(&server, &first).await);

    // A factor change replaces the session secret: the old cookie value is dead.
    let page = browser.get("/account/totp").await;
    let secret = page.body.split("<code id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let code = totp_code(&secret, server.state.now());
    let enrolled = browser.post("/account/totp", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    let second = session_cookie(&enrolled).expect("a new session secret after a factor change");
    assert_ne!(first, second);
    assert!(!session_lives(&server, &first).await && session_lives(&server, &second).await);

    // Signing in again in the same browser replaces its session: one session, not two.
    server.clock.advance_secs(30);
    let customer = server.state.store.customer_by_email("hygiene@example.com").await.unwrap().unwrap();
    let (url, _) = authorize_url(&server, &client, &[("prompt", "login")]);
    let page = browser.sign_in_with_link(&server, &url, "hygiene@example.com").await;
    let code = totp_code(&secret, server.state.now());
    let done = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await;
    let third = session_cookie(&done).expect("a session cookie");
    assert!(!session_lives(&server, &second).await && session_lives(&server, &third).await);
    assert_eq!(server.state.store.sessions_of(&customer.id, server.state.now()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn idle_sessions_end_after_the_idle_timeout() {
    let server = TestServer::start_with(|c| c.session_ttl_secs = 60 * 86400).await;
    assert_eq!(server.state.config.session_idle_timeout_secs, 7 * 86400, "the default is a week");
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "idle@example.com").await;
    for _ in 0..3 {
        server.clock.advance_secs(6 * 86400);
        assert_eq!(browser.get("/account").await.status, StatusCode::OK, "used within a week: still signed in");
    }
    server.clock.advance_secs(7 * 86400 + 60);
    let page = browser.get("/account").await;
    assert_eq!(page.location.as_deref(), Some("/login"), "idle for over a week: signed out");
}
