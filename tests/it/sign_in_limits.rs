//! Abuse limits of the email sign-in that cannot be turned against a customer: mail limits
//! count only mails sent, per (address, client network), a global per-address cap only slows
//! mails down; and five wrong codes per pending sign-in in total, counted with the sign-in.

use crate::support::browser::Page;
use crate::support::{Browser, TestServer};
use reqwest::StatusCode;
use std::net::{IpAddr, Ipv4Addr};

fn from(server: &TestServer, last_octet: u8) -> Browser {
    Browser::on_device(&server.base, None, Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet))))
}

async fn ask(browser: &Browser, email: &str) -> Page {
    let login = browser.get("/login").await;
    browser.post("/login/email", &[("csrf", &login.csrf()), ("email", email)]).await
}

#[tokio::test]
async fn failed_sends_do_not_count_against_the_mail_limit() {
    let server = TestServer::start_with(|c| c.sign_in_mails_per_address = 2).await;
    let browser = server.browser();
    server.smtp.refuse_next(3);
    for _ in 0..3 {
        assert_eq!(ask(&browser, "g@example.com").await.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    assert_eq!(server.smtp.count_to("g@example.com"), 0);
    assert_eq!(ask(&browser, "g@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(ask(&browser, "g@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(ask(&browser, "g@example.com").await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(server.smtp.count_to("g@example.com"), 2);
}

#[tokio::test]
async fn refused_requests_do_not_count_against_the_other_limits() {
    let server = TestServer::start_with(|c| {
        c.sign_in_mails_per_address = 1;
        c.sign_in_mails_per_ip = 3;
    })
    .await;
    let browser = server.browser();
    assert_eq!(ask(&browser, "a@example.com").await.status, StatusCode::SEE_OTHER);
    for _ in 0..4 {
        assert_eq!(ask(&browser, "a@example.com").await.status, StatusCode::TOO_MANY_REQUESTS);
    }
    // Only one mail went out from this network: two more may.
    assert_eq!(ask(&browser, "b@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(ask(&browser, "c@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(ask(&browser, "d@example.com").await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_stranger_cannot_lock_a_customer_out() {
    let server = TestServer::start_with(|c| c.sign_in_mails_per_address = 2).await;
    let stranger = from(&server, 20);
    assert_eq!(ask(&stranger, "vic@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(ask(&stranger, "vic@example.com").await.status, StatusCode::SEE_OTHER);
    let limited = ask(&stranger, "vic@example.com").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Too many sign-in mails"), "{}", limited.body);
    // The customer, on their own network, still gets their mail.
    let customer = from(&server, 30);
    assert_eq!(ask(&customer, "vic@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(server.smtp.count_to("vic@example.com"), 3);
}

#[tokio::test]
async fn many_networks_only_slow_the_mails_to_one_address_down() {
    let server = TestServer::start_with(|c| {
        c.sign_in_mails_per_address = 2;
        c.sign_in_mails_per_address_all_networks = 3;
        c.sign_in_mails_slowed_interval_secs = 60;
    })
    .await;
    // Start at the beginning of a 15-minute window, so the two minutes below stay in one.
    let into_window = server.state.now() % (15 * 60 * 1000) / 1000;
    server.clock.advance_secs(15 * 60 - into_window);
    for octet in 21..24 {
        assert_eq!(ask(&from(&server, octet), "wil@example.com").await.status, StatusCode::SEE_OTHER);
    }
    // Past the cap, mails to the address go out at most once a minute, whoever asks.
    let slowed = ask(&from(&server, 24), "wil@example.com").await;
    assert_eq!(slowed.status, StatusCode::TOO_MANY_REQUESTS);
    let customer = from(&server, 30);
    assert_eq!(ask(&customer, "wil@example.com").await.status, StatusCode::TOO_MANY_REQUESTS);
    // ... but never blocked: a minute later the customer's mail goes out.
    server.clock.advance_secs(60);
    assert_eq!(ask(&customer, "wil@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(ask(&from(&server, 25), "wil@example.com").await.status, StatusCode::TOO_MANY_REQUESTS);
    server.clock.advance_secs(60);
    assert_eq!(ask(&from(&server, 25), "wil@example.com").await.status, StatusCode::SEE_OTHER);
    assert_eq!(server.smtp.count_to("wil@example.com"), 5);
    // Other addresses are not slowed.
    assert_eq!(ask(&from(&server, 26), "zed@example.com").await.status, StatusCode::SEE_OTHER);
}

async fn waiting_for_code(server: &TestServer, browser: &Browser, email: &str) -> (Page, String) {
    let sent = ask(browser, email).await;
    let waiting = browser.follow(sent).await;
    let code = server.smtp.last_mail_to(email).await.code();
    (waiting, code)
}

fn wrong_for(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn five_wrong_codes_per_sign_in_in_total_even_across_rate_windows() {
    let server = TestServer::start_with(|c| c.sign_in_link_ttl_secs = 3600).await;
    let browser = server.browser();
    let (waiting, code) = waiting_for_code(&server, &browser, "guess@example.com").await;
    let guess = |c: &'static str| {
        let csrf = waiting.csrf();
        let b = &browser;
        async move { b.post("/login/email/code", &[("csrf", &csrf), ("code", c)]).await }
    };
    for _ in 0..4 {
        assert!(guess(wrong_for(&code)).await.body.contains("not right"));
    }
    // A fixed 15-minute window would start counting afresh here.
    server.clock.advance_secs(15 * 60);
    let fifth = guess(wrong_for(&code)).await;
    assert!(fifth.body.contains("Too many wrong codes"), "{}", fifth.body);
    let right = browser.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", &code)]).await;
    assert_eq!(right.status, StatusCode::BAD_REQUEST);
    assert!(right.body.contains("expired or was already used"), "{}", right.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_are_counted_once_each() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (waiting, code) = waiting_for_code(&server, &browser, "race@example.com").await;
    let csrf = waiting.csrf();
    let wrong = wrong_for(&code);
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..16 {
        // Clones share the cookie jar: the same browser, many requests at once.
        let (http, url) = (browser.http.clone(), server.url("/login/email/code"));
        let form = [("csrf", csrf.clone()), ("code", wrong.to_string())];
        guesses.spawn(async move { http.post(url).form(&form).send().await.unwrap().text().await.unwrap() });
    }
    let answers = guesses.join_all().await;
    let not_right = answers.iter().filter(|b| b.contains("not right")).count();
    let void = answers.iter().filter(|b| b.contains("Too many wrong codes")).count();
    // Exactly five guesses were weighed; every other one found the sign-in gone.
    assert_eq!((not_right, void), (4, 1));
    let right = browser.post("/login/email/code", &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!(right.status, StatusCode::BAD_REQUEST);
}
