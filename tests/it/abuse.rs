//! Abuse limits: the client address behind trusted proxies, per-network rate limits on the
//! anonymous endpoints, bounded parameters, the bounded ephemeral store, and CSRF tokens
//! that only the server can issue.

use crate::support::browser::{Browser, hidden};
use crate::support::{TestServer, authorize_url};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, RETRY_AFTER};
use tessera::web::client_ip::TrustedProxies;

fn data_attr(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("{name}=\""))? + name.len() + 2;
    Some(html[at..].split('"').next()?.to_string())
}

/// The test server's peer is always 127.0.0.1: trusting it plays a TLS-terminating proxy.
fn behind_loopback_proxy(c: &mut tessera::Config) {
    c.trusted_proxies = TrustedProxies::parse("127.0.0.1/32, ::1").unwrap();
}

// --- CSRF: only server-issued tokens -------------------------------------------------------

/// A request that brings its own CSRF cookie and echoes it: what an attacker who can plant
/// a cookie (a sibling subdomain, plain-http injection) would send.
fn self_chosen_pair(server: &TestServer, path: &str) -> reqwest::RequestBuilder {
    let chosen = "A".repeat(43);
    reqwest::Client::new()
        .post(server.url(path))
        .header(COOKIE, format!("tessera_csrf={chosen}"))
        .header("x-csrf-token", &chosen)
        .form(&[("csrf", chosen.as_str()), ("email", "victim@example.com")])
}

#[tokio::test]
async fn a_self_chosen_csrf_cookie_and_header_pair_is_refused() {
    let server = TestServer::start().await;
    // The passkey ceremony (JSON, header) and a form (hidden field) refuse a chosen pair.
    let res = self_chosen_pair(&server, "/passkey/sign-in/start").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains("expired"), "{body}");
    let res = self_chosen_pair(&server, "/login/email").send().await.unwrap();
    let set_cookie: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("This form has expired"));
    // The planted cookie is replaced by one the server issued.
    assert!(
        set_cookie.iter().any(|c| c.starts_with("tessera_csrf=") && !c.contains(&"A".repeat(43))),
        "{set_cookie:?}"
    );
    assert_eq!(server.smtp.count_to("victim@example.com"), 0);

    // The token a page carries still works, for the ceremony and for forms.
    let browser = server.browser();
    let login = browser.get("/login").await;
    let csrf = data_attr(&login.body, "data-csrf").unwrap();
    assert_eq!(csrf, login.csrf());
    let res =
        browser.http.post(browser.abs("/passkey/sign-in/start")).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let sent = browser.post("/login/email", &[("csrf", &csrf), ("email", "owner@example.com")]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
}

// --- The client address --------------------------------------------------------------------

async fn session_ips(server: &TestServer, email: &str) -> Vec<String> {
    let customer = server.state.store.customer_by_email(email).await.unwrap().expect("the customer");
    let sessions = server.state.store.sessions_of(&customer.id, server.state.now()).await.unwrap();
    sessions.into_iter().map(|s| s.ip).collect()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_client_is_the_rightmost_untrusted_hop() {
    let server = TestServer::start_with(behind_loopback_proxy).await;
    let client = server.confidential_client().await;
    // The client wrote 198.51.100.1 itself; the proxy appended the address it saw.
    let browser = Browser::behind_proxy(&server.base, "198.51.100.1, 203.0.113.9");
    let (url, _) = authorize_url(&server, &client, &[]);
    let done = browser.sign_in_with_link(&server, &url, "proxied@example.com").await;
    assert!(done.location.unwrap().starts_with(&client.redirect_uri));
    assert_eq!(session_ips(&server, "proxied@example.com").await, ["203.0.113.9"]);
    let page = browser.get("/account/sessions").await;
    assert!(page.body.contains("203.0.113.9"), "{}", page.body);
}

#[tokio::test]
async fn without_trusted_proxies_forwarding_headers_are_ignored() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = Browser::behind_proxy(&server.base, "203.0.113.9");
    let (url, _) = authorize_url(&server, &client, &[]);
    browser.sign_in_with_link(&server, &url, "direct@example.com").await;
    assert_eq!(session_ips(&server, "direct@example.com").await, ["127.0.0.1"]);
}

// --- Rate limits per client network --------------------------------------------------------

#[tokio::test]
async fn authorize_is_rate_limited_per_client_network_with_ipv6_per_64() {
    let server = TestServer::start_with(|c| {
        behind_loopback_proxy(c);
        c.authorize_per_minute = 5;
    })
    .await;
    let client = server.confidential_client().await;
    let (url, _) = authorize_url(&server, &client, &[]);
    for i in 1..=5 {
        let res = Browser::behind_proxy(&server.base, &format!("2001:db8:1:2::{i}")).get(&url).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "request {i}: {}", res.body);
    }
    // Another address in the same /64 is the same client network.
    let res = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let limited = res.get(&url).header("x-forwarded-for", "2001:db8:1:2:ffff::9").send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()[RETRY_AFTER], "60");
    assert!(limited.text().await.unwrap().contains("Too many requests came from your network"));
    // Another network is not affected, and the limit lifts after the minute.
    let other = Browser::behind_proxy(&server.base, "2001:db8:1:3::1").get(&url).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    server.clock.advance_secs(61);
    let again = Browser::behind_proxy(&server.base, "2001:db8:1:2::1").get(&url).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn passkey_and_federated_sign_in_starts_are_rate_limited() {
    let server = TestServer::start_with(|c| {
        c.passkey_sign_in_starts_per_minute = 2;
        c.federated_sign_ins_per_minute = 2;
    })
    .await;
    let browser = server.browser();
    let csrf = data_attr(&browser.get("/login").await.body, "data-csrf").unwrap();
    let start = || browser.http.post(browser.abs("/passkey/sign-in/start")).header("x-csrf-token", &csrf).send();
    for _ in 0..2 {
        assert_eq!(start().await.unwrap().status(), StatusCode::OK);
    }
    let limited = start().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()[RETRY_AFTER], "60");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Too many requests"), "{body}");

    for _ in 0..2 {
        let page = browser.get("/login/federated/no-such-connector").await;
        assert_ne!(page.status, StatusCode::TOO_MANY_REQUESTS);
    }
    let limited = browser.get("/login/federated/no-such-connector").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Too many requests came from your network"), "{}", limited.body);
    let callback = browser.get("/login/federated/callback?state=x&code=y").await;
    assert_eq!(callback.status, StatusCode::TOO_MANY_REQUESTS);
}

// --- Bounded parameters --------------------------------------------------------------------

#[tokio::test]
async fn oversized_parameters_are_invalid_requests() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    // One value past 4 KiB, even of a parameter the endpoint ignores.
    let (url, _) = authorize_url(&server, &client, &[("x_padding", &"a".repeat(5000))]);
    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("too long"), "{}", page.body);
    // Each value small, the whole request large.
    let filler: Vec<(String, String)> = (0..8).map(|i| (format!("x{i}"), "b".repeat(3000))).collect();
    let extra: Vec<(&str, &str)> = filler.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (url, _) = authorize_url(&server, &client, &extra);
    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("too large"), "{}", page.body);
    // The token endpoint answers the same rule in JSON (RFC 6749 §5.2).
    let (status, body) = server.token(&client, &[("grant_type", "client_credentials"), ("x", &"c".repeat(5000))]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request", "{body}");
    // A request line past the URI bound never reaches a handler.
    let page = browser.get(&format!("/authorize?{}", "q".repeat(40_000))).await;
    assert_eq!(page.status, StatusCode::URI_TOO_LONG);
    // Form bodies are bounded too.
    let big = "d".repeat(70 * 1024);
    let page = browser.post("/authorize", &[("client_id", &client.id), ("state", &big)]).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
}

// --- The bounded ephemeral store -----------------------------------------------------------

const MAX_ENTRIES: usize = 1000;
const MAX_BYTES: usize = 1024 * 1024;

/// The in-process store with small bounds (its eviction is what these tests measure; Redis
/// evicts by its own maxmemory-policy), even when the suite runs on Redis.
fn small_store(c: &mut tessera::Config) {
    behind_loopback_proxy(c);
    c.redis_url = String::new();
    c.ephemeral_max_entries = MAX_ENTRIES;
    c.ephemeral_max_bytes = MAX_BYTES;
}

/// 100,000 anonymous authorization requests, each from its own network (so no rate limit
/// stops them: the store's bound alone must hold), leave the store within its bound; the
/// newest requests still work, and a rate-limit counter written before the flood survives.
#[tokio::test]
async fn a_hundred_thousand_anonymous_authorize_requests_stay_within_the_store_bound() {
    use tessera::oidc::authorize::{self, Next};
    let server = TestServer::start_with(small_store).await;
    let client = server.confidential_client().await;
    let state = &server.state;
    let now = state.now();
    assert_eq!(
        state.ephemeral.hit(&tessera::ephemeral::Space::RateLimit.key("before-the-flood"), 3600).await.unwrap(),
        1
    );
    let (url, _) = authorize_url(&server, &client, &[]);
    let pairs: Vec<(String, String)> = url::Url::parse(&url).unwrap().query_pairs().into_owned().collect();
    let mut last = String::new();
    let mut peak = (0, 0);
    for i in 0..100_000 {
        let mut p = pairs.clone();
        // The largest stored request an attacker can make: every stored value at its limit.
        p.retain(|(k, _)| k != "state" && k != "nonce");
        p.push(("state".into(), format!("{i:0>2048}")));
        p.push(("nonce".into(), "n".repeat(2048)));
        match authorize::authorize(state, p, None, now).await {
            Ok(Next::SignIn(r)) => last = r.id,
            _ => panic!("request {i} was not parked for sign-in"),
        }
        let usage = state.ephemeral.usage().await.unwrap();
        peak = (peak.0.max(usage.entries), peak.1.max(usage.bytes));
    }
    assert!(peak.0 <= MAX_ENTRIES && peak.1 <= MAX_BYTES, "peak {peak:?}");
    assert!(state.ephemeral.usage().await.unwrap().evicted > 90_000);
    assert!(authorize::load(state, &last, now).await.is_ok(), "the newest request is kept");
    assert_eq!(
        state.ephemeral.hit(&tessera::ephemeral::Space::RateLimit.key("before-the-flood"), 3600).await.unwrap(),
        2,
        "counters go last"
    );

    // Over HTTP too, through the route and its rate limit: two thousand client networks.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for i in 0..2000 {
        let ip = format!("10.{}.{}.1", i / 250, i % 250);
        let sent = http.get(&url).header("x-forwarded-for", ip).send().await.unwrap();
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    }
    let usage = state.ephemeral.usage().await.unwrap();
    assert!(usage.entries <= MAX_ENTRIES && usage.bytes <= MAX_BYTES, "{usage:?}");
    let browser = Browser::new(&server.base);
    let login = browser.follow(browser.get(&url).await).await;
    assert!(hidden(&login.body, "authz").is_some(), "a fresh request still reaches the login page");
}
