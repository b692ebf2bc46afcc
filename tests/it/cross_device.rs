//! Approving a sign-in from another device: an informed decision (app, device, network, age),
//! number matching against the waiting page, and the customer's switch to turn it off.

use crate::support::browser::Page;
use crate::support::{Browser, TestServer, authorize_url, query_param};
use reqwest::StatusCode;
use std::net::{IpAddr, Ipv4Addr};

const LAPTOP_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";

fn laptop(server: &TestServer) -> Browser {
    Browser::on_device(&server.base, Some(LAPTOP_UA), Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7))))
}

fn phone(server: &TestServer) -> Browser {
    Browser::on_device(&server.base, Some(PHONE_UA), Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9))))
}

/// The number the waiting page asks the person to pick on the other device.
fn shown_number(waiting: &Page) -> String {
    let marker = "id=\"match-number\">";
    let at = waiting.body.find(marker).unwrap_or_else(|| panic!("the waiting page shows a number: {}", waiting.body));
    waiting.body[at + marker.len()..].split('<').next().unwrap().trim().to_string()
}

/// The numbers the approval page offers.
fn offered(page: &Page) -> Vec<String> {
    page.body.split("name=\"number\" value=\"").skip(1).map(|s| s.split('"').next().unwrap().to_string()).collect()
}

/// The laptop asks for a mail from an authorization request; returns the waiting page and the link token.
async fn laptop_asks(server: &TestServer, laptop: &Browser, email: &str) -> (Page, String) {
    let client = server.confidential_client().await;
    let (url, _) = authorize_url(server, &client, &[]);
    let login = laptop.follow(laptop.get(&url).await).await;
    let waiting = laptop.request_mail(&login, email).await;
    assert!(waiting.body.contains("Check your mail"), "{}", waiting.body);
    let token = server.smtp.last_mail_to(email).await.link_token();
    (waiting, token)
}

#[tokio::test]
async fn the_approval_page_names_the_app_the_device_the_network_and_the_age() {
    let server = TestServer::start().await;
    let laptop = laptop(&server);
    let (_, token) = laptop_asks(&server, &laptop, "ann@example.com").await;
    server.clock.advance_secs(3 * 60);
    let phone = phone(&server);
    let ask = phone.get(&format!("/login/link?token={token}")).await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    assert!(ask.body.contains("Shop"), "the app being signed in to: {}", ask.body);
    assert!(ask.body.contains("Firefox on Linux"), "the asking browser: {}", ask.body);
    // The network, masked: enough to recognise, not the full address.
    assert!(ask.body.contains("127.0.0.x"), "{}", ask.body);
    assert!(!ask.body.contains("127.0.0.7"), "{}", ask.body);
    assert!(ask.body.contains("3 minutes ago"), "{}", ask.body);
}

#[tokio::test]
async fn number_matching_a_wrong_pick_voids_the_sign_in_and_the_right_one_approves() {
    let server = TestServer::start().await;
    let laptop = laptop(&server);
    let (waiting, token) = laptop_asks(&server, &laptop, "bea@example.com").await;
    let number = shown_number(&waiting);
    assert_eq!(number.len(), 2, "a two-digit number: {number}");
    let phone = phone(&server);
    let ask = phone.get(&format!("/login/link?token={token}")).await;
    let choices = offered(&ask);
    assert_eq!(choices.len(), 3, "{}", ask.body);
    assert!(choices.contains(&number), "{choices:?} lacks {number}");
    // Posting the link without a pick approves nothing (the one-click phish).
    let bare = phone.post("/login/link", &[("csrf", &ask.csrf()), ("token", &token)]).await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST, "{}", bare.body);
    assert!(laptop.get("/login/email/status").await.body.contains("waiting"));
    // A wrong pick voids it: the laptop's sign-in, its link and its code are gone.
    let wrong = choices.iter().find(|c| **c != number).unwrap();
    let voided = phone.post("/login/link", &[("csrf", &ask.csrf()), ("token", &token), ("number", wrong)]).await;
    assert!(voided.body.contains("did not match"), "{}", voided.body);
    assert!(laptop.get("/login/email/status").await.body.contains("gone"));
    let code = server.smtp.last_mail_to("bea@example.com").await.code();
    let typed = laptop.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", &code)]).await;
    assert_eq!(typed.status, StatusCode::BAD_REQUEST, "{}", typed.body);
    let again = phone.post("/login/link", &[("csrf", &ask.csrf()), ("token", &token), ("number", &number)]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);

    // A new sign-in: the right pick approves it, and the laptop continues.
    let (waiting, token) = laptop_asks(&server, &laptop, "bea@example.com").await;
    let number = shown_number(&waiting);
    let ask = phone.get(&format!("/login/link?token={token}")).await;
    let approved = phone.post("/login/link", &[("csrf", &ask.csrf()), ("token", &token), ("number", &number)]).await;
    assert!(approved.body.contains("Go back to your other device"), "{}", approved.body);
    assert!(laptop.get("/login/email/status").await.body.contains("approved"));
    let done = laptop.follow(laptop.post("/login/email/finish", &[("csrf", &waiting.csrf())]).await).await;
    assert!(done.location.unwrap().starts_with("https://app.example/cb?code="));
}

#[tokio::test]
async fn a_customer_can_turn_cross_device_approval_off() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let laptop = laptop(&server);
    crate::support::signed_in_code(&server, &laptop, &client, "cy@example.com").await;
    let account = laptop.get("/account").await;
    assert!(account.body.contains("Approve sign-ins from another device"), "{}", account.body);
    let off = laptop.post("/account/cross-device", &[("csrf", &account.csrf()), ("allow", "0")]).await;
    assert_eq!(off.location.as_deref(), Some("/account"), "{}", off.body);
    assert!(laptop.get("/account").await.body.contains("Turn on"));

    // A sign-in asked for elsewhere (a fresh browser, as a phisher's would be).
    let asker = laptop_on_another_browser(&server);
    let (waiting, token) = laptop_asks(&server, &asker, "cy@example.com").await;
    let number = shown_number(&waiting);
    let phone = phone(&server);
    let ask = phone.get(&format!("/login/link?token={token}")).await;
    assert!(ask.body.contains("on the device that asked"), "{}", ask.body);
    assert!(offered(&ask).is_empty(), "nothing to approve: {}", ask.body);
    // Even a forged approval (the page offers none) approves nothing.
    let csrf = phone.get("/login").await.csrf();
    let forced = phone.post("/login/link", &[("csrf", &csrf), ("token", &token), ("number", &number)]).await;
    assert_eq!(forced.status, StatusCode::BAD_REQUEST, "{}", forced.body);
    assert!(asker.get("/login/email/status").await.body.contains("waiting"));
    // On the device that asked, the same link still signs in.
    let confirm = asker.get(&format!("/login/link?token={token}")).await;
    assert!(confirm.body.contains("Continue signing in"), "{}", confirm.body);
    let done = asker.follow(asker.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await).await;
    assert!(done.location.unwrap().starts_with("https://app.example/cb?code="));

    // Turned on again, approving from another device works again.
    let account = laptop.get("/account").await;
    laptop.post("/account/cross-device", &[("csrf", &account.csrf()), ("allow", "1")]).await;
    let asker = laptop_on_another_browser(&server);
    let (waiting, token) = laptop_asks(&server, &asker, "cy@example.com").await;
    let ask = phone.get(&format!("/login/link?token={token}")).await;
    let number = shown_number(&waiting);
    let approved = phone.post("/login/link", &[("csrf", &ask.csrf()), ("token", &token), ("number", &number)]).await;
    assert!(approved.body.contains("Go back to your other device"), "{}", approved.body);
}

fn laptop_on_another_browser(server: &TestServer) -> Browser {
    Browser::on_device(&server.base, Some(LAPTOP_UA), Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11))))
}

#[tokio::test]
async fn the_mail_says_what_another_device_does_and_keeps_the_code_out_of_the_subject() {
    let server = TestServer::start().await;
    let laptop = laptop(&server);
    laptop_asks(&server, &laptop, "dot@example.com").await;
    let mail = server.smtp.last_mail_to("dot@example.com").await;
    let code = mail.code();
    // Lock screens preview the subject: the code must not be in it.
    let subject = mail.subject();
    assert!(!subject.contains(&code), "{subject}");
    assert!(!subject.chars().any(|c| c.is_ascii_digit()), "{subject}");
    let text = mail.decoded();
    assert!(text.contains("on another device"), "{text}");
    assert!(text.contains("approves the sign-in on the device that asked"), "{text}");
    // The redirect back still works for an ordinary same-browser sign-in.
    let token = mail.link_token();
    let confirm = laptop.get(&format!("/login/link?token={token}")).await;
    let done = laptop.follow(laptop.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await).await;
    assert!(query_param(&done.location.unwrap(), "code").is_some());
}
