//! Email sign-in: link, code, cross-browser approval, and everything that must fail.

use crate::support::{TestServer, authorize_url, query_param};
use reqwest::StatusCode;

#[tokio::test]
async fn link_in_the_same_browser_completes_the_authorization() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let done = browser.sign_in_with_link(&server, &url, "Ada@Example.com").await;
    let location = done.location.unwrap();
    assert!(location.starts_with("https://app.example/cb?"), "{location}");
    assert!(query_param(&location, "code").is_some());
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&location, "iss").as_deref(), Some(server.base.as_str()));
    // The mail went to the normalised address and holds both link and code, in both parts.
    let mail = server.smtp.last_mail_to("ada@example.com").await;
    assert!(mail.raw.contains("text/plain") && mail.raw.contains("text/html"));
    assert_eq!(mail.code().len(), 6);
}

#[tokio::test]
async fn the_code_can_be_typed_instead_and_wrong_codes_void_it() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    let waiting = browser.request_mail(&login, "bo@example.com").await;
    let code = server.smtp.last_mail_to("bo@example.com").await.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let page = browser.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", wrong)]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("not right"), "{}", page.body);
    let ok = browser.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", &code)]).await;
    let done = browser.follow(ok).await;
    assert!(done.location.unwrap().starts_with("https://app.example/cb?code="));

    // A second sign-in: five wrong codes void it, and then even the right code fails.
    let other = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let login = other.follow(other.get(&url).await).await;
    let waiting = other.request_mail(&login, "cy@example.com").await;
    let code = server.smtp.last_mail_to("cy@example.com").await.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        other.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", wrong)]).await;
    }
    let page = other.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", &code)]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("expired or was already used"), "{}", page.body);
}

#[tokio::test]
async fn link_opened_in_another_browser_approves_the_waiting_one() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let laptop = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let login = laptop.follow(laptop.get(&url).await).await;
    let waiting = laptop.request_mail(&login, "di@example.com").await;
    let status = laptop.get("/login/email/status").await;
    assert!(status.body.contains("waiting"), "{}", status.body);
    // Not approved yet: finishing is refused.
    let early = laptop.post("/login/email/finish", &[("csrf", &waiting.csrf())]).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);

    let phone = server.browser();
    let token = server.smtp.last_mail_to("di@example.com").await.link_token();
    let ask = phone.get(&format!("/login/link?token={token}")).await;
    assert!(ask.body.contains("Approve a sign-in on another device?"), "{}", ask.body);
    // The person picks the number the laptop's waiting page shows.
    let number = match_number(&waiting.body);
    let approved = phone.post("/login/link", &[("csrf", &ask.csrf()), ("token", &token), ("number", &number)]).await;
    assert!(approved.body.contains("Go back to your other device"), "{}", approved.body);
    // The phone did not get a session.
    let (url2, _) = authorize_url(&server, &client, &[("prompt", "none")]);
    let phone_try = phone.get(&url2).await;
    assert_eq!(query_param(&phone_try.location.unwrap(), "error").as_deref(), Some("login_required"));

    let status = laptop.get("/login/email/status").await;
    assert!(status.body.contains("approved"), "{}", status.body);
    let done = laptop.follow(laptop.post("/login/email/finish", &[("csrf", &waiting.csrf())]).await).await;
    assert!(done.location.unwrap().starts_with("https://app.example/cb?code="));
}

#[tokio::test]
async fn links_are_single_use_expire_and_survive_prefetching() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    browser.request_mail(&login, "ed@example.com").await;
    let token = server.smtp.last_mail_to("ed@example.com").await.link_token();
    // A mail scanner fetching the link (twice) neither uses nor burns it.
    let scanner = reqwest::Client::new();
    for _ in 0..2 {
        let r = scanner.get(server.url(&format!("/login/link?token={token}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let confirm = browser.get(&format!("/login/link?token={token}")).await;
    let done = browser.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await;
    assert!(done.location.is_some());
    // Used once: a second use fails with a clear page.
    let again = browser.get(&format!("/login/link?token={token}")).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("expired or was already used"));
    let again = browser.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);

    // Expired after 15 minutes.
    let other = server.browser();
    let login = other.follow(other.get(&url).await).await;
    other.request_mail(&login, "fay@example.com").await;
    let token = server.smtp.last_mail_to("fay@example.com").await.link_token();
    server.clock.advance_secs(15 * 60 + 1);
    let late = other.get(&format!("/login/link?token={token}")).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert!(late.body.contains("expired"));
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_bad_addresses_are_explained() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let login = browser.get("/login").await;
    let forged = browser.post("/login/email", &[("csrf", "forged"), ("email", "a@example.com")]).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert!(forged.body.contains("form has expired"));
    assert_eq!(server.smtp.count_to("a@example.com"), 0);
    let bad = browser.post("/login/email", &[("csrf", &login.csrf()), ("email", "not-an-address")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("valid email address"), "{}", bad.body);
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let first = server.browser();
    crate::support::signed_in_code(&server, &first, &client, "known@example.com").await;
    let browser = server.browser();
    let login = browser.get("/login").await;
    let known = browser.post("/login/email", &[("csrf", &login.csrf()), ("email", "known@example.com")]).await;
    let (known_status, known_location) = (known.status, known.location.clone());
    let a = without_number(&browser.follow(known).await.body.replace("known@example.com", "X"));
    let unknown = browser.post("/login/email", &[("csrf", &login.csrf()), ("email", "nobody@example.com")]).await;
    assert_eq!(known_status, unknown.status);
    assert_eq!(known_location, unknown.location);
    let b = without_number(&browser.follow(unknown).await.body.replace("nobody@example.com", "X"));
    assert_eq!(a, b);
    // Both addresses got a mail: the unknown one is offered the first handshake.
    assert_eq!(server.smtp.count_to("nobody@example.com"), 1);
}

/// The number a waiting page shows for approving on another device.
fn match_number(html: &str) -> String {
    let marker = "id=\"match-number\">";
    let at = html.find(marker).expect("the waiting page shows a number") + marker.len();
    html[at..].split('<').next().unwrap().to_string()
}

/// The page without its random number (it differs between any two sign-ins).
fn without_number(html: &str) -> String {
    // Only the number in its element: the same two digits may occur elsewhere (a CSRF token).
    let number = match_number(html);
    html.replace(&format!("id=\"match-number\">{number}<"), "id=\"match-number\">NN<")
}

#[tokio::test]
async fn sign_in_mails_are_rate_limited_per_address_and_per_ip() {
    let server = TestServer::start_with(|c| {
        c.sign_in_mails_per_address = 2;
        c.sign_in_mails_per_ip = 3;
    })
    .await;
    let browser = server.browser();
    let login = browser.get("/login").await;
    let send = |email: &'static str| {
        let csrf = login.csrf();
        let b = &browser;
        async move { b.post("/login/email", &[("csrf", &csrf), ("email", email)]).await }
    };
    assert_eq!(send("g@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(send("g@example.com").await.status, StatusCode::SEE_OTHER);
    let limited = send("g@example.com").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Too many sign-in mails"), "{}", limited.body);
    assert_eq!(server.smtp.count_to("g@example.com"), 2);
    // Per IP: past three mails sent from this address, a request fails whatever the mailbox
    // (the refused request above did not count).
    assert_eq!(send("h@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(send("i@example.com").await.status, StatusCode::TOO_MANY_REQUESTS);
    // The window passes.
    server.clock.advance_secs(15 * 60);
    assert_eq!(send("h@example.com").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn without_smtp_the_mail_is_written_to_the_outbox() {
    let server = TestServer::start_with(|c| c.smtp_url = String::new()).await;
    let browser = server.browser();
    let login = browser.get("/login").await;
    let sent = browser.post("/login/email", &[("csrf", &login.csrf()), ("email", "box@example.com")]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let outbox = server.state.config.outbox_dir();
    let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "eml"));
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("To: box@example.com"), "{raw}");
    assert!(raw.contains("/login/link?token="), "{raw}");
    assert_eq!(server.smtp.count_to("box@example.com"), 0);
}
