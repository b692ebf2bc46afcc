//! Minors and guardians (issue #13): an age-checked purpose asks for the birthdate with the
//! reason; below the age of digital consent for the customer's country (GDPR Art. 8(1)) it
//! waits for a guardian, mailed exactly what is asked, who answers by a scanner-safe link
//! (GET shows, only POST acts, once) and can withdraw later from the same link.

use crate::support::browser::{Browser, Page, hidden};
use crate::support::{TestClient, TestServer, authorize_url, cli, jwt_claims, query_param};
use chrono::Months;
use reqwest::StatusCode;
use serde_json::Value;
use tessera::consent::ledger;
use tessera::consent::policies::{self, NewVersion};
use tessera::consent::purposes::{self, ClientPurpose, PurposeInput};
use tessera::events::audit::Caller;

/// A client registered for `marketing.email` (age-checked) and `analytics` (not), both
/// optional.
async fn setup(server: &TestServer) -> TestClient {
    let new = NewVersion {
        id: "privacy".into(),
        title: "Privacy policy".into(),
        body: "The policy.\n".into(),
        summary: "First version".into(),
        material: false,
        effective_at: None,
    };
    policies::publish(&server.state, new, Caller::operator(), server.state.now()).await.unwrap();
    for (id, name, age_check) in [("marketing.email", "News by email", true), ("analytics", "Statistics", false)] {
        let input = PurposeInput {
            id: Some(id.into()),
            name: Some(name.into()),
            notice: Some(format!("What {name} means, in one sentence.")),
            policy: Some("privacy".into()),
            age_check: Some(age_check),
            ..PurposeInput::default()
        };
        let made = purposes::create(&server.state, input, Caller::operator(), server.state.now()).await.unwrap();
        assert_eq!(made.age_check, age_check);
    }
    let client = server.confidential_client().await;
    let registered: Vec<ClientPurpose> =
        ["marketing.email:optional", "analytics:optional"].iter().map(|s| ClientPurpose::parse(s).unwrap()).collect();
    purposes::register_for_client(&server.state.store, &client.id, &registered).await.unwrap();
    server.state.clients.invalidate(&client.id);
    client
}

const BOTH: &str = "openid email purpose:marketing.email purpose:analytics";

fn asking(server: &TestServer, client: &TestClient, scope: &str) -> (String, String) {
    let (url, verifier) = authorize_url(server, client, &[]);
    let mut u = url::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == "scope" { scope.to_string() } else { v.to_string() }))
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    (u.to_string(), verifier)
}

/// The birthdate of someone `years` old today (by the server's clock).
fn born(server: &TestServer, years: u32) -> String {
    let today = chrono::DateTime::from_timestamp_millis(server.state.now()).unwrap().date_naive();
    today.checked_sub_months(Months::new(12 * years)).unwrap().format("%Y-%m-%d").to_string()
}

/// Sign in as `email`, and answer the consent page with `birthdate`, ticking both purposes.
async fn consent_as(server: &TestServer, browser: &Browser, url: &str, email: &str, birthdate: &str) -> Page {
    let login = browser.follow(browser.get(url).await).await;
    let page = browser.sign_in_from(server, login, email).await;
    assert!(page.body.contains("Date of birth"), "the birthdate is asked: {}", page.body);
    assert!(page.body.contains("agreement below a certain age"), "with the reason: {}", page.body);
    let (authz, csrf) = (hidden(&page.body, "authz").unwrap(), page.csrf());
    let form = [
        ("csrf", csrf.as_str()),
        ("authz", authz.as_str()),
        ("decision", "allow"),
        ("claim.birthdate", birthdate),
        ("purpose.marketing.email", "1"),
        ("purpose.analytics", "1"),
    ];
    browser.post("/consent", &form).await
}

/// A minor asks for a guardian: returns the waiting page and the guardian's link token.
async fn minor_asks(server: &TestServer, browser: &Browser, url: &str, email: &str) -> (Page, String) {
    let answered = consent_as(server, browser, url, email, &born(server, 14)).await;
    let location = answered.location.clone().expect("on to the guardian page");
    assert!(location.starts_with("/consent/guardian?authz="), "{location}");
    let ask = browser.follow(answered).await;
    assert!(ask.body.contains("News by email") && !ask.body.contains("Statistics"), "{}", ask.body);
    let authz = hidden(&ask.body, "authz").unwrap();
    let own = browser.post("/consent/guardian", &[("csrf", &ask.csrf()), ("authz", &authz), ("email", email)]).await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST, "not the minor's own address");
    let csrf = ask.csrf();
    let form = [("csrf", csrf.as_str()), ("authz", &authz), ("email", "parent@example.com")];
    let waiting = browser.follow(browser.post("/consent/guardian", &form).await).await;
    assert!(waiting.body.contains("We asked your parent or guardian"), "{}", waiting.body);
    let mail = server.smtp.last_mail_to("parent@example.com").await.decoded();
    let at = mail.find("/guardian?token=").expect("the mail has the link") + "/guardian?token=".len();
    (waiting, mail[at..at + 43].to_string())
}

/// The guardian's answer from the link's page.
async fn answer(guardian: &Browser, page: &Page, token: &str, decision: &str) -> Page {
    guardian.post("/guardian", &[("csrf", &page.csrf()), ("token", token), ("decision", decision)]).await
}

async fn decisions(server: &TestServer, client: &TestClient, email: &str) -> Vec<(String, i64)> {
    let customer = server.state.store.customer_by_email(email).await.unwrap().unwrap().id;
    let all = server.state.store.purpose_decisions(&customer, &client.id).await.unwrap();
    let mut out: Vec<(String, i64)> = all.into_iter().map(|d| (d.purpose_id, d.granted)).collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_minor_waits_for_a_guardian_who_approves_by_link_and_can_withdraw_later() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let browser = server.browser();
    let (url, verifier) = asking(&server, &client, BOTH);
    let (waiting, token) = minor_asks(&server, &browser, &url, "minor@example.com").await;
    // What is not age-checked is granted by the minor; the age-checked item waits.
    assert_eq!(decisions(&server, &client, "minor@example.com").await, [("analytics".into(), 1)]);

    // The mail says exactly what is asked: the app, the item, its notice and policy version.
    let mail = server.smtp.last_mail_to("parent@example.com").await.decoded();
    for expected in
        ["Shop", "News by email", "What News by email means", "Privacy policy, version 1", "m***@example.com"]
    {
        assert!(mail.contains(expected), "{expected} in {mail}");
    }
    assert!(!mail.contains("Statistics"), "only what needs a guardian");
    assert!(!mail.contains("minor@example.com"), "the child's address is masked");

    // Another browser: GET shows and does nothing (mail scanners open links).
    let guardian = server.browser();
    for _ in 0..2 {
        let shown = guardian.get(&format!("/guardian?token={token}")).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert!(shown.body.contains("News by email") && shown.body.contains("m***@example.com"), "{}", shown.body);
        assert!(shown.body.contains("value=\"approve\""), "{}", shown.body);
    }
    assert_eq!(decisions(&server, &client, "minor@example.com").await.len(), 1, "GET acts on nothing");
    let wait = format!("/consent/guardian/wait?authz={}", hidden(&waiting.body, "authz").unwrap());
    assert!(browser.get(&wait).await.body.contains("We asked your parent or guardian"), "still waiting");

    let page = guardian.get(&format!("/guardian?token={token}")).await;
    let no_csrf = guardian.post("/guardian", &[("token", &token), ("decision", "approve")]).await;
    assert_ne!(no_csrf.status, StatusCode::OK, "CSRF-protected");
    let approved = answer(&guardian, &page, &token, "approve").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let again = answer(&guardian, &page, &token, "decline").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "the decision is single-use");

    // The waiting page continues: the item is granted.
    let authz = hidden(&waiting.body, "authz").unwrap();
    let done = browser.get(&format!("/consent/guardian/wait?authz={authz}")).await;
    let code = query_param(&done.location.expect("back to the app"), "code").expect("a code");
    let tokens = server.exchange(&client, &code, &verifier).await;
    assert!(tokens["scope"].as_str().unwrap().contains("purpose:marketing.email"), "{tokens}");
    let consents = jwt_claims(tokens["id_token"].as_str().unwrap())["consents"].clone();
    assert_eq!(consents.as_array().unwrap().len(), 2, "{consents}");

    // The proof: the guardian's entry, channel guardian, naming the approval.
    let customer = server.state.store.customer_by_email("minor@example.com").await.unwrap().unwrap().id;
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    let entry = receipts.iter().find(|r| r.item == "purpose:marketing.email").expect("a ledger entry");
    assert_eq!((entry.channel.as_str(), entry.action.as_str()), ("guardian", "granted"));
    assert!(entry.session_id.starts_with("gda_"), "the entry names the approval: {}", entry.session_id);
    let analytics = receipts.iter().find(|r| r.item == "purpose:analytics").unwrap();
    assert_eq!(analytics.channel, "consent_screen");
    assert_eq!(ledger::verify(&server.state).await.unwrap().1, vec![], "the chain is whole");
    let events = crate::outbox::stored(&server.state.config.database_url()).await;
    assert!(events.iter().any(|e| e.kind == "consent.granted"
        && e.payload["item"] == "purpose:marketing.email"
        && e.payload["channel"] == "guardian"));

    // Later, from the same link: withdraw. Introspection shows it at once.
    let page = guardian.get(&format!("/guardian?token={token}")).await;
    assert!(page.body.contains("value=\"withdraw\""), "{}", page.body);
    let withdrawn = answer(&guardian, &page, &token, "withdraw").await;
    assert_eq!(withdrawn.status, StatusCode::OK);
    let seen: Value = server.introspect(&client, tokens["access_token"].as_str().unwrap()).await;
    let purposes: Vec<&str> =
        seen["consents"].as_array().unwrap().iter().map(|c| c["purpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["analytics"], "{seen}");
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    let last = receipts.iter().rev().find(|r| r.item == "purpose:marketing.email").unwrap();
    assert_eq!((last.channel.as_str(), last.action.as_str()), ("guardian", "withdrawn"));
    assert_eq!(ledger::verify(&server.state).await.unwrap().1, vec![]);
}

#[tokio::test]
async fn a_guardian_who_declines_or_a_minor_who_cancels_ends_with_access_denied_and_no_grant() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let browser = server.browser();
    let (url, _) = asking(&server, &client, "openid purpose:marketing.email");
    let (waiting, token) = minor_asks(&server, &browser, &url, "kid@example.com").await;
    let guardian = server.browser();
    let page = guardian.get(&format!("/guardian?token={token}")).await;
    let declined = answer(&guardian, &page, &token, "decline").await;
    assert_eq!(declined.status, StatusCode::OK);
    let authz = hidden(&waiting.body, "authz").unwrap();
    let done = browser.get(&format!("/consent/guardian/wait?authz={authz}")).await;
    assert_eq!(query_param(&done.location.unwrap(), "error").as_deref(), Some("access_denied"));
    assert!(decisions(&server, &client, "kid@example.com").await.is_empty(), "nothing granted");
    let late = answer(&guardian, &page, &token, "approve").await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "a declined request cannot be approved");

    // The next attempt asks again; the minor cancels while waiting.
    let (url, _) = asking(&server, &client, "openid purpose:marketing.email");
    let consent = browser.follow(browser.get(&url).await).await;
    let authz = hidden(&consent.body, "authz").unwrap();
    let csrf = consent.csrf();
    let form = [("csrf", csrf.as_str()), ("authz", &authz), ("decision", "allow"), ("purpose.marketing.email", "1")];
    let ask = browser.follow(browser.post("/consent", &form).await).await;
    let (authz, csrf) = (hidden(&ask.body, "authz").unwrap(), ask.csrf());
    let cancelled = browser.post("/consent/guardian/cancel", &[("csrf", &csrf), ("authz", &authz)]).await;
    assert_eq!(query_param(&cancelled.location.unwrap(), "error").as_deref(), Some("access_denied"));
    assert!(decisions(&server, &client, "kid@example.com").await.is_empty());
}

#[tokio::test]
async fn an_adult_is_not_asked_and_the_default_country_decides_the_age() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let browser = server.browser();
    let (url, _) = asking(&server, &client, BOTH);
    let adult = consent_as(&server, &browser, &url, "adult@example.com", &born(&server, 30)).await;
    assert!(query_param(&adult.location.expect("straight back"), "code").is_some());
    let customer = server.state.store.customer_by_email("adult@example.com").await.unwrap().unwrap().id;
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    let entry = receipts.iter().find(|r| r.item == "purpose:marketing.email").unwrap();
    assert_eq!(entry.channel, "consent_screen");
    assert_eq!(server.smtp.count_to("parent@example.com"), 0);

    // 14 in the US (COPPA: under 13) is old enough; the default country applies when the
    // address names none.
    let us = TestServer::start_with(|c| c.default_country = "US".into()).await;
    let client = setup(&us).await;
    let browser = us.browser();
    let (url, _) = asking(&us, &client, BOTH);
    let teen = consent_as(&us, &browser, &url, "teen@example.com", &born(&us, 14)).await;
    assert!(query_param(&teen.location.expect("straight back"), "code").is_some());
}

#[tokio::test]
async fn a_client_can_require_the_age_check_for_every_purpose_it_asks() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    tessera::oidc::guardian::require_age_check(&server.state.store, &client.id, true).await.unwrap();
    server.state.clients.invalidate(&client.id);
    let browser = server.browser();
    let (url, _) = asking(&server, &client, BOTH);
    let answered = consent_as(&server, &browser, &url, "young@example.com", &born(&server, 12)).await;
    let ask = browser.follow(answered).await;
    assert!(ask.body.contains("News by email") && ask.body.contains("Statistics"), "{}", ask.body);
    assert!(decisions(&server, &client, "young@example.com").await.is_empty());
}

#[test]
fn the_cli_sets_the_age_check_on_purposes_and_clients() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let policy = dir.path().join("privacy.md");
    std::fs::write(&policy, "The policy.\n").unwrap();
    let file = policy.to_str().unwrap();
    ok(cli(dir.path(), &["policy", "publish", "--id", "privacy", "--file", file, "--summary", "First"]));
    let purpose = [
        "purpose",
        "create",
        "--id",
        "marketing.email",
        "--name",
        "News",
        "--policy",
        "privacy",
        "--notice",
        "We mail you news.",
        "--age-check",
        "--json",
    ];
    let made: Value = serde_json::from_str(&ok(cli(dir.path(), &purpose))).unwrap();
    assert_eq!(made["age_check"], true);
    let off = ["purpose", "update", "marketing.email", "--age-check", "false", "--json"];
    let changed: Value = serde_json::from_str(&ok(cli(dir.path(), &off))).unwrap();
    assert_eq!(changed["age_check"], false);
    let client = [
        "client",
        "create",
        "--name",
        "Shop",
        "--redirect-uri",
        "https://shop.example/cb",
        "--purpose",
        "marketing.email:optional",
        "--age-check",
        "--json",
    ];
    let made: Value = serde_json::from_str(&ok(cli(dir.path(), &client))).unwrap();
    assert_eq!(made["age_check"], true);
}
