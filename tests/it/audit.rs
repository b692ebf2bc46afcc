//! The audit log: an entry for every security-relevant action, with who, what, which target,
//! from which address and browser, and how it ended. Admin changes, the admin API and CLI
//! queries, retention and the absence of secrets are in `audit/admin.rs`.

mod admin;

use crate::factors::{enrol, totp_code};
use crate::support::browser::{Browser, Page, hidden};
use crate::support::passkey::{Passkey, finish, post_json};
use crate::support::{TestServer, authorize_url, signed_in_code};
use reqwest::StatusCode;
use std::net::{IpAddr, Ipv4Addr};
use tessera::store::{AuditFilter, AuditRecord};

pub const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 AuditTest";

/// A browser on its own loopback address `127.0.0.<n>`, with `UA`.
pub fn device(server: &TestServer, n: u8) -> Browser {
    Browser::on_device(&server.base, Some(UA), Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))))
}

/// The entries of `action` (or of every action under `prefix.*`), newest first.
pub async fn entries(server: &TestServer, action: &str) -> Vec<AuditRecord> {
    let f = match action.strip_suffix('*') {
        Some(prefix) => AuditFilter { action_prefix: Some(prefix.into()), limit: 200, ..AuditFilter::default() },
        None => AuditFilter { action: Some(action.into()), limit: 200, ..AuditFilter::default() },
    };
    server.state.store.audit_entries(&f).await.unwrap()
}

pub async fn customer_id(server: &TestServer, email: &str) -> String {
    server.state.store.customer_by_email(email).await.unwrap().expect("the customer exists").id
}

/// What one entry must say.
pub struct Expect<'a> {
    pub actor: (&'a str, Option<&'a str>),
    pub target: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub outcome: (&'a str, Option<&'a str>),
}

pub fn check(e: &AuditRecord, x: Expect<'_>) {
    let what = format!("{e:?}");
    assert_eq!((e.actor_kind.as_str(), e.actor_id.as_deref()), x.actor, "actor of {what}");
    assert_eq!(e.target.as_deref(), x.target, "target of {what}");
    assert_eq!(e.ip.as_deref(), x.ip, "ip of {what}");
    assert_eq!(e.user_agent.as_deref(), x.user_agent, "user agent of {what}");
    assert_eq!((e.outcome.as_str(), e.reason.as_deref()), x.outcome, "outcome of {what}");
}

pub fn detail(e: &AuditRecord) -> serde_json::Value {
    serde_json::from_str(&e.detail).unwrap()
}

/// The one entry of `action` whose detail has `key` = `value`.
fn one<'a>(list: &'a [AuditRecord], key: &str, value: &str) -> &'a AuditRecord {
    let found: Vec<&AuditRecord> = list.iter().filter(|e| detail(e)[key] == value).collect();
    assert_eq!(found.len(), 1, "one entry with {key}={value} in {list:?}");
    found[0]
}

async fn waiting_page(server: &TestServer, browser: &Browser, email: &str) -> Page {
    let client = server.confidential_client().await;
    let (url, _) = authorize_url(server, &client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    let waiting = browser.request_mail(&login, email).await;
    assert!(waiting.body.contains("Check your mail"), "{}", waiting.body);
    waiting
}

#[tokio::test]
async fn email_sign_ins_their_failures_and_ended_sessions_are_audited() {
    // An hour of idleness ends a session (well within its day-long lifetime).
    let server = TestServer::start_with(|c| c.session_idle_timeout_secs = 3600).await;
    let client = server.confidential_client().await;

    // A link sign-in.
    let laptop = device(&server, 7);
    signed_in_code(&server, &laptop, &client, "ann@example.com").await;
    let ann = customer_id(&server, "ann@example.com").await;
    let ann = ann.as_str();
    let success = |ip| Expect {
        actor: ("customer", Some(ann)),
        target: Some(ann),
        ip: Some(ip),
        user_agent: Some(UA),
        outcome: ("success", None),
    };
    let link = entries(&server, "signin.email").await;
    check(one(&link, "method", "email_link"), success("127.0.0.7"));
    assert_eq!(detail(&link[0])["amr"], "email");

    // A code sign-in, after a wrong code.
    let desk = device(&server, 8);
    let waiting = waiting_page(&server, &desk, "ann@example.com").await;
    let code = server.smtp.last_mail_to("ann@example.com").await.code();
    let bad = desk.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", "000000x")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let failed = entries(&server, "signin.failed").await;
    let failure = |ip, target, why| Expect {
        actor: ("anonymous", None),
        target,
        ip: Some(ip),
        user_agent: Some(UA),
        outcome: ("failure", Some(why)),
    };
    check(one(&failed, "method", "email_code"), failure("127.0.0.8", Some(ann), "wrong_code"));
    desk.follow(desk.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", &code)]).await).await;
    check(one(&entries(&server, "signin.email").await, "method", "email_code"), success("127.0.0.8"));

    // Approval from another device: a wrong number first, then the right one.
    let (tablet, phone) = (device(&server, 10), device(&server, 9));
    let waiting = waiting_page(&server, &tablet, "ann@example.com").await;
    let token = server.smtp.last_mail_to("ann@example.com").await.link_token();
    let ask = phone.get(&format!("/login/link?token={token}")).await;
    let shown: u8 =
        waiting.body.split("id=\"match-number\">").nth(1).unwrap().split('<').next().unwrap().trim().parse().unwrap();
    let wrong = (1..=99u8).find(|n| *n != shown).unwrap().to_string();
    let voided = phone.post("/login/link", &[("csrf", &ask.csrf()), ("token", &token), ("number", &wrong)]).await;
    assert!(voided.body.contains("did not match"), "{}", voided.body);
    check(
        one(&entries(&server, "signin.failed").await, "method", "email_approval"),
        failure("127.0.0.9", Some(ann), "wrong_number"),
    );
    let waiting = waiting_page(&server, &tablet, "ann@example.com").await;
    let token = server.smtp.last_mail_to("ann@example.com").await.link_token();
    let ask = phone.get(&format!("/login/link?token={token}")).await;
    let number =
        waiting.body.split("id=\"match-number\">").nth(1).unwrap().split('<').next().unwrap().trim().to_string();
    phone.post("/login/link", &[("csrf", &ask.csrf()), ("token", &token), ("number", &number)]).await;
    tablet.follow(tablet.post("/login/email/finish", &[("csrf", &waiting.csrf())]).await).await;
    check(one(&entries(&server, "signin.email").await, "method", "email_approval"), success("127.0.0.10"));

    // A link that is not (or no longer) valid names nobody.
    let login = phone.get("/login").await;
    phone.post("/login/link", &[("csrf", &login.csrf()), ("token", "not-a-link")]).await;
    check(
        one(&entries(&server, "signin.failed").await, "method", "email_link"),
        failure("127.0.0.9", None, "link_not_valid"),
    );

    // The sessions page ends another session; logout ends this one; idleness ends the rest.
    let now = server.state.now();
    let sessions = server.state.store.sessions_of(ann, now).await.unwrap();
    let on_laptop = sessions.iter().find(|s| s.ip == "127.0.0.7").unwrap().id.clone();
    let page = desk.get("/account/sessions").await;
    let end = desk.post("/account/sessions/end", &[("csrf", &page.csrf()), ("id", &on_laptop)]).await;
    assert_eq!(end.status, StatusCode::SEE_OTHER, "{}", end.body);
    let ended = entries(&server, "session.ended").await;
    let revoked = one(&ended, "reason", "revoked");
    check(revoked, success("127.0.0.8"));
    assert_eq!(detail(revoked)["session"], on_laptop.as_str());
    let confirm = desk.get("/logout").await;
    let out = desk.post("/logout", &[("csrf", &confirm.csrf()), ("confirm", "yes")]).await;
    assert!(out.status.is_success() || out.status.is_redirection(), "{}", out.body);
    check(one(&entries(&server, "session.ended").await, "reason", "logout"), success("127.0.0.8"));
    server.clock.advance_secs(server.state.config.session_idle_timeout_secs + 60);
    tablet.get("/account").await;
    let idle = one(&entries(&server, "session.ended").await, "reason", "idle").clone();
    // Found idle on its return: Tessera ended it; the address is the session's own.
    check(&idle, Expect { actor: ("system", None), ..success("127.0.0.10") });

    // Another account signing in in the same browser replaces the session there.
    signed_in_code(&server, &phone, &client, "ann@example.com").await;
    let (url, _) = authorize_url(&server, &client, &[("prompt", "login")]);
    phone.sign_in_with_link(&server, &url, "cy@example.com").await;
    let cy = customer_id(&server, "cy@example.com").await;
    let replaced = one(&entries(&server, "session.ended").await, "reason", "replaced").clone();
    check(&replaced, Expect { actor: ("customer", Some(&cy)), ..success("127.0.0.9") });
}

#[tokio::test]
async fn every_rate_limit_refusal_is_audited() {
    let server = TestServer::start_with(|c| {
        c.authorize_per_minute = 1;
        c.passkey_sign_in_starts_per_minute = 1;
        c.federated_sign_ins_per_minute = 1;
        c.sign_in_mails_per_address = 1;
    })
    .await;
    let client = server.confidential_client().await;
    let browser = device(&server, 11);
    let (url, _) = authorize_url(&server, &client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    assert_eq!(browser.get(&url).await.status, StatusCode::TOO_MANY_REQUESTS);
    let csrf = login.body.split("data-csrf=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    for _ in 0..2 {
        post_json(&browser, &csrf, "/passkey/sign-in/start", serde_json::json!({})).await;
    }
    for _ in 0..2 {
        browser.get("/login/federated/none").await;
    }
    signed_in_code(&server, &device(&server, 12), &client, "rl@example.com").await;
    server.clock.advance_secs(61);
    for _ in 0..2 {
        browser.post("/login/email", &[("csrf", &login.csrf()), ("email", "rl@example.com")]).await;
    }
    let rl = customer_id(&server, "rl@example.com").await;
    let refused = entries(&server, "rate_limit.refused").await;
    for (limit, target) in
        [("authorize", None), ("passkey-start", None), ("federated", None), ("sign_in_mail", Some(rl.as_str()))]
    {
        let e = one(&refused, "limit", limit);
        let x = Expect {
            actor: ("anonymous", None),
            target,
            ip: Some("127.0.0.11"),
            user_agent: Some(UA),
            outcome: ("refused", Some(limit)),
        };
        check(e, x);
    }
}

#[tokio::test]
async fn second_factors_lockouts_and_factor_changes_are_audited() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let first = device(&server, 20);
    signed_in_code(&server, &first, &client, "bo@example.com").await;
    let bo = customer_id(&server, "bo@example.com").await;
    let bo = bo.as_str();
    let (secret, codes) = enrol(&server, &first).await;
    let by_bo = |ip| Expect {
        actor: ("customer", Some(bo)),
        target: Some(bo),
        ip: Some(ip),
        user_agent: Some(UA),
        outcome: ("success", None),
    };
    check(one(&entries(&server, "factor.added").await, "factor", "authenticator_app"), by_bo("127.0.0.20"));
    // A step-up of the session with the app, asked for before a change.
    crate::factors::prove_app(&server, &first, &secret).await;
    let stepped = entries(&server, "signin.step_up").await;
    assert_eq!(stepped.len(), 1, "{stepped:?}");
    check(&stepped[0], by_bo("127.0.0.20"));
    assert_eq!(detail(&stepped[0])["acr"], "urn:tessera:acr:mfa");

    // Five wrong codes: five failures, then the lock; the right code is refused while locked.
    let browser = device(&server, 21);
    let (url, _) = authorize_url(&server, &client, &[]);
    let page = browser.sign_in_with_link(&server, &url, "bo@example.com").await;
    server.clock.advance_secs(30);
    let right = totp_code(&secret, server.state.now());
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    for _ in 0..5 {
        browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &wrong)]).await;
    }
    browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &right)]).await;
    let anonymous = |why| Expect { actor: ("anonymous", None), outcome: ("failure", Some(why)), ..by_bo("127.0.0.21") };
    let failed = entries(&server, "second_factor.failed").await;
    assert_eq!(failed.len(), 5, "{failed:?}");
    failed.iter().for_each(|e| check(e, anonymous("wrong_code")));
    let locked = entries(&server, "second_factor.locked").await;
    assert_eq!(locked.len(), 2, "{locked:?}");
    check(&locked[0], anonymous("locked"));
    check(&locked[1], anonymous("too_many_failures"));

    // A recovery code as the second step, new codes, and the app removed.
    server.clock.advance_secs(16 * 60);
    let signed = device(&server, 22);
    let (url, _) = authorize_url(&server, &client, &[]);
    let page = signed.sign_in_with_link(&server, &url, "bo@example.com").await;
    signed.follow(signed.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &codes[0])]).await).await;
    let second = one(&entries(&server, "signin.email").await, "method", "second_factor").clone();
    check(&second, by_bo("127.0.0.22"));
    assert_eq!(detail(&second)["amr"], "email rec mfa");
    let totp = signed.get("/account/totp").await;
    signed.post("/account/totp/recovery-codes", &[("csrf", &totp.csrf())]).await;
    check(one(&entries(&server, "factor.added").await, "factor", "recovery_codes"), by_bo("127.0.0.22"));
    let totp = signed.get("/account/totp").await;
    let removed = signed.post("/account/totp/remove", &[("csrf", &totp.csrf())]).await;
    assert!(removed.status.is_redirection() || removed.status.is_success(), "{}", removed.body);
    check(one(&entries(&server, "factor.removed").await, "factor", "authenticator_app"), by_bo("127.0.0.22"));

    // A passkey added, used, refused on replay, and removed.
    let csrf = crate::support::passkey::account_csrf(&signed).await;
    let mut passkey = Passkey::register(&signed, &csrf, &server.base).await.unwrap();
    check(one(&entries(&server, "factor.added").await, "factor", "passkey"), by_bo("127.0.0.22"));
    let other = device(&server, 23);
    let login = other.get("/login").await;
    let csrf = login.body.split("data-csrf=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let assertion = passkey.assert(&other, &csrf, &server.base).await;
    assert_eq!(finish(&other, &csrf, &assertion, "").await.0, StatusCode::OK);
    let used = entries(&server, "signin.passkey").await;
    assert_eq!(used.len(), 1);
    check(&used[0], by_bo("127.0.0.23"));
    assert_eq!(finish(&other, &csrf, &assertion, "").await.0, StatusCode::BAD_REQUEST);
    let replay = one(&entries(&server, "signin.failed").await, "method", "passkey").clone();
    let x = Expect { target: None, ip: Some("127.0.0.23"), ..anonymous("not_verified") };
    check(&replay, x);
    let account = other.get("/account").await;
    let id = hidden(&account.body, "id").unwrap();
    other.post("/account/passkeys/remove", &[("csrf", &account.csrf()), ("id", &id)]).await;
    check(one(&entries(&server, "factor.removed").await, "factor", "passkey"), by_bo("127.0.0.23"));
}

#[tokio::test]
async fn federated_sign_ins_and_their_failures_are_audited() {
    use crate::support::provider::FakeProvider;
    let down = crate::federation::federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    let connector = crate::federation::fake_connector("fake", &provider);
    tessera::login::federation::connectors::create(&down.state, connector, down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let browser = device(&down, 30);
    let (url, _) = authorize_url(&down, &app, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    let authz = hidden(&login.body, "authz").unwrap();
    let start = browser.get(&format!("/login/federated/fake?authz={authz}")).await;
    let callback = browser.get(&start.location.unwrap()).await.location.unwrap();
    // The answer reaching another browser is refused.
    device(&down, 31).get(&callback).await;
    let failed = entries(&down, "signin.failed").await;
    let x = Expect {
        actor: ("anonymous", None),
        target: None,
        ip: Some("127.0.0.31"),
        user_agent: Some(UA),
        outcome: ("failure", Some("refused")),
    };
    check(one(&failed, "method", "federated"), x);
    // In its own browser it signs in (and makes the account).
    browser.get(&callback).await;
    let fake = customer_id(&down, "fake@example.com").await;
    let signed = entries(&down, "signin.federated").await;
    assert_eq!(signed.len(), 1, "{signed:?}");
    let x = Expect {
        actor: ("customer", Some(&fake)),
        target: Some(&fake),
        ip: Some("127.0.0.30"),
        user_agent: Some(UA),
        outcome: ("success", None),
    };
    check(&signed[0], x);
    assert_eq!(detail(&signed[0])["connector"], "fake");
}
