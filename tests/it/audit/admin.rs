//! Admin changes in the audit log (API callers by client id, the CLI as operator), reading
//! the log through `GET /admin/api/v1/audit` and `tessera audit` (filters, pages), retention,
//! and a search of the whole table for every secret a test made.

use super::{Expect, UA, check, customer_id, detail, device, entries};
use crate::support::{TestServer, cli, query_param, signed_in_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::events::audit::{self, Actor, Entry, Outcome};
use tessera::store::AuditFilter;

/// A client with the admin scope and its access token.
async fn admin(server: &TestServer) -> (String, String) {
    let admin = server.register_with_alg(false, &["tessera:admin"], false, None).await;
    let (status, body) =
        server.token(&admin, &[("grant_type", "client_credentials"), ("scope", "tessera:admin")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (admin.id, body["access_token"].as_str().unwrap().to_string())
}

async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let http = reqwest::Client::builder().user_agent(UA).build().unwrap();
    let mut req = http.request(method.parse().unwrap(), server.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn admin_api_changes_to_connectors_name_the_calling_client() {
    let server = TestServer::start().await;
    let (admin_id, token) = admin(&server).await;
    let t = Some(token.as_str());
    let secret = "connector-secret-value-91";
    let github =
        json!({"id": "gh", "kind": "github", "display_name": "GH", "client_id": "gh-client", "client_secret": secret});
    assert_eq!(call(&server, "POST", "/admin/api/v1/connectors", t, Some(github)).await.0, StatusCode::CREATED);
    let rename = json!({"display_name": "GitHub", "client_secret": "rotated-secret-value-92"});
    assert_eq!(call(&server, "PATCH", "/admin/api/v1/connectors/gh", t, Some(rename)).await.0, StatusCode::OK);
    assert_eq!(call(&server, "POST", "/admin/api/v1/connectors/gh/disable", t, None).await.0, StatusCode::OK);
    assert_eq!(call(&server, "POST", "/admin/api/v1/connectors/gh/enable", t, None).await.0, StatusCode::OK);
    assert_eq!(call(&server, "DELETE", "/admin/api/v1/connectors/gh", t, None).await.0, StatusCode::NO_CONTENT);
    let all = entries(&server, "admin.connector.*").await;
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "admin.connector.deleted",
            "admin.connector.enabled",
            "admin.connector.disabled",
            "admin.connector.updated",
            "admin.connector.created"
        ],
        "newest first"
    );
    for e in &all {
        let x = Expect {
            actor: ("client", Some(&admin_id)),
            target: Some("gh"),
            ip: Some("127.0.0.1"),
            user_agent: Some(UA),
            outcome: ("success", None),
        };
        check(e, x);
    }
    assert_eq!(detail(&all[3])["fields"], json!(["display_name", "client_secret"]), "names, not values");
    assert_eq!(detail(&all[4])["kind"], "github");
    assert!(!all.iter().any(|e| format!("{e:?}").contains("secret-value")), "{all:?}");
}

/// Entries with known times, actions and targets, written through the audit API.
async fn seed(server: &TestServer, t0: i64) {
    let rows = [
        ("signin.email", "c1", 0),
        ("signin.failed", "c1", 1),
        ("second_factor.failed", "c1", 2),
        ("secondXfactor.odd", "c1", 3),
        ("signin.email", "c2", 4),
        ("signin.passkey", "c1", 5),
        ("session.ended", "c1", 6),
    ];
    for (action, target, minute) in rows {
        let entry = Entry::new(Actor::Customer(target.into()), action, Some(target))
            .outcome(if action.ends_with("failed") { Outcome::Failure("wrong_code") } else { Outcome::Success });
        audit::record(&server.state, entry, t0 + minute * 60_000).await.unwrap();
    }
}

#[tokio::test]
async fn admins_filter_and_page_through_the_log_newest_first() {
    // The seeded entries are from 2023, past the default retention: no worker prunes them here.
    let server = TestServer::start_with(|c| c.worker_interval_ms = 0).await;
    let (_, token) = admin(&server).await;
    let t = Some(token.as_str());
    let t0 = 1_700_000_000_000;
    seed(&server, t0).await;
    let actions = |page: &Value| -> Vec<String> {
        page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
    };
    let get = |q: String| {
        let server = &server;
        async move { call(server, "GET", &format!("/admin/api/v1/audit?{q}"), t, None).await }
    };

    let (status, page) = get("customer=c2".into()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(actions(&page), ["signin.email"]);
    assert_eq!(page["entries"][0]["actor"], json!({"kind": "customer", "id": "c2"}));
    assert_eq!(page["entries"][0]["time"], "2023-11-14T22:17:20.000Z");
    let (_, page) = get("action=signin.email".into()).await;
    assert_eq!(actions(&page), ["signin.email", "signin.email"]);
    let (_, page) = get("customer=c1&action=signin.*".into()).await;
    assert_eq!(actions(&page), ["signin.passkey", "signin.failed", "signin.email"]);
    // A prefix matches literally: `_` is no wildcard.
    let (_, page) = get("action=second_factor.*".into()).await;
    assert_eq!(actions(&page), ["second_factor.failed"]);
    assert_eq!(page["entries"][0]["outcome"], "failure");
    assert_eq!(page["entries"][0]["reason"], "wrong_code");
    // Time range: unix seconds and RFC 3339, both ends inclusive.
    let (_, page) = get(format!("since={}&until=2023-11-14T22:16:20Z", t0 / 1000 + 120)).await;
    assert_eq!(actions(&page), ["secondXfactor.odd", "second_factor.failed"]);

    // Pages of two, newest first, until the cursor runs out.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, page) = get(format!("limit=2&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        seen.extend(page["entries"].as_array().unwrap().iter().map(|e| e["occurred_at"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, (0..7).rev().map(|m| t0 + m * 60_000).collect::<Vec<_>>());

    for bad in ["limit=201", "limit=0", "since=yesterday", "cursor=x'--"] {
        let (status, body) = get(bad.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = call(&server, "GET", "/admin/api/v1/audit", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let shop = server.confidential_client().await;
    let (_, body) = server.token(&shop, &[("grant_type", "client_credentials")]).await;
    let (status, _) = call(&server, "GET", "/admin/api/v1/audit", body["access_token"].as_str(), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

fn json_out(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cli_changes_are_the_operators_and_tessera_audit_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let created = json_out(&cli(
        dir.path(),
        &["client", "create", "--name", "Shop", "--redirect-uri", "https://a.example/cb", "--json"],
    ));
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert!(cli(dir.path(), &["client", "update", &id, "--pkce", "optional"]).status.success());
    assert!(cli(dir.path(), &["client", "delete", &id]).status.success());
    let connector = [
        "connector",
        "create",
        "--id",
        "gh",
        "--kind",
        "github",
        "--name",
        "GitHub",
        "--client-id",
        "abc",
        "--client-secret",
        "cli-connector-secret-5",
    ];
    assert!(cli(dir.path(), &connector).status.success());

    let all = json_out(&cli(dir.path(), &["audit", "--action", "admin.*", "--json"]));
    let got: Vec<(&str, &str, &str)> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"]["kind"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("admin.connector.created", "operator", "gh"),
            ("admin.client.deleted", "operator", id.as_str()),
            ("admin.client.updated", "operator", id.as_str()),
            ("admin.client.created", "operator", id.as_str()),
        ]
    );
    let text = all.to_string();
    assert!(!text.contains(&secret) && !text.contains("cli-connector-secret-5"), "{text}");

    // Pages, filters and the plain-text form.
    let first = json_out(&cli(dir.path(), &["audit", "--limit", "3", "--json"]));
    assert_eq!(first["entries"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = json_out(&cli(dir.path(), &["audit", "--limit", "3", "--cursor", cursor, "--json"]));
    assert_eq!(rest["entries"][0]["action"], "admin.client.created");
    assert!(rest["next_cursor"].is_null());
    let none =
        json_out(&cli(dir.path(), &["audit", "--customer", "nobody", "--since", "2020-01-01T00:00:00Z", "--json"]));
    assert_eq!(none["entries"], json!([]));
    let plain = cli(dir.path(), &["audit", "--action", "admin.client.deleted"]);
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert!(plain.contains("admin.client.deleted") && plain.contains("operator") && plain.contains(&id), "{plain}");
    let refused = cli(dir.path(), &["audit", "--limit", "500"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("limit"));
}

#[tokio::test]
async fn entries_past_the_retention_are_pruned() {
    // The worker held back, so the prunes below are the test's own.
    let server = TestServer::start_with(|c| {
        c.audit_retention_days = 30;
        c.worker_interval_ms = 0;
    })
    .await;
    let now = server.state.now();
    let day = 86_400_000;
    for (action, age) in [("signin.email", 31 * day), ("signin.failed", 29 * day), ("factor.added", 0)] {
        audit::record(&server.state, Entry::new(Actor::System, action, None), now - age).await.unwrap();
    }
    assert_eq!(audit::prune(&server.state, now).await.unwrap(), 1);
    assert_eq!(audit::prune(&server.state, now).await.unwrap(), 0, "nothing more is due");
    let left: Vec<String> = entries(&server, "*").await.into_iter().map(|e| e.action).collect();
    assert_eq!(left, ["factor.added", "signin.failed"]);
    server.clock.advance_secs(2 * 86_400);
    assert_eq!(audit::prune(&server.state, server.state.now()).await.unwrap(), 1);
    assert_eq!(entries(&server, "*").await.len(), 1);
}

#[tokio::test]
async fn the_worker_prunes_the_log() {
    let server = TestServer::start_with(|c| c.audit_retention_days = 30).await;
    let now = server.state.now();
    for (action, age) in [("signin.email", 29 * 86_400_000), ("factor.added", 0)] {
        audit::record(&server.state, Entry::new(Actor::System, action, None), now - age).await.unwrap();
    }
    // Once the clock moves past the retention, the background worker prunes on its own.
    server.clock.advance_secs(2 * 86_400);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while entries(&server, "*").await.len() > 1 {
        assert!(std::time::Instant::now() < deadline, "the worker never pruned");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(entries(&server, "*").await[0].action, "factor.added");
}

/// The value of cookie `name` among a response's `Set-Cookie` headers.
fn cookie(set: &[String], name: &str) -> Option<String> {
    set.iter().find_map(|c| c.strip_prefix(&format!("{name}="))?.split(';').next().map(str::to_string))
}

#[tokio::test]
async fn no_secret_made_in_a_test_is_anywhere_in_the_audit_log() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let mut secrets: Vec<String> = vec![client.secret.clone().unwrap()];
    let email = "sec@example.com";

    // A code sign-in with a wrong code first, then a link sign-in: codes, links, cookies.
    let browser = device(&server, 40);
    let (url, verifier) = crate::support::authorize_url(&server, &client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    let waiting = browser.request_mail(&login, email).await;
    let mail = server.smtp.last_mail_to(email).await;
    secrets.extend([mail.code(), mail.link_token()]);
    browser.post("/login/email/code", &[("csrf", &waiting.csrf()), ("code", "999999")]).await;
    let confirm = browser.get(&format!("/login/link?token={}", mail.link_token())).await;
    let done = browser.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &mail.link_token())]).await;
    secrets.push(cookie(&done.set_cookies, "tessera_session").expect("a session cookie"));
    let back = browser.follow(done).await;
    let code = query_param(&back.location.unwrap(), "code").unwrap();
    let tokens = server.exchange(&client, &code, &verifier).await;
    for t in ["access_token", "refresh_token", "id_token"] {
        secrets.extend(tokens[t].as_str().map(str::to_string));
    }
    secrets.push(code);

    // An authenticator app, its recovery codes, a wrong and a right second step.
    let (totp_secret, codes) = crate::factors::enrol(&server, &browser).await;
    secrets.push(totp_secret.clone());
    secrets.extend(codes.iter().cloned());
    let second = device(&server, 41);
    let (url, _) = crate::support::authorize_url(&server, &client, &[]);
    let page = second.sign_in_with_link(&server, &url, email).await;
    secrets.push(server.smtp.last_mail_to(email).await.link_token());
    second.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", "123456")]).await;
    let done = second.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &codes[1])]).await;
    secrets.extend(cookie(&done.set_cookies, "tessera_session"));
    signed_in_code(&server, &device(&server, 42), &client, "other@example.com").await;

    // An admin change with a connector secret.
    let (_, token) = admin(&server).await;
    secrets.push(token.clone());
    let body = json!({"id": "gh", "kind": "github", "display_name": "GH", "client_id": "x", "client_secret": "admin-connector-secret-77"});
    assert_eq!(
        call(&server, "POST", "/admin/api/v1/connectors", Some(&token), Some(body)).await.0,
        StatusCode::CREATED
    );
    secrets.push("admin-connector-secret-77".into());

    // Every row, every column, as text.
    let filter = AuditFilter { limit: 200, ..AuditFilter::default() };
    let rows = server.state.store.audit_entries(&filter).await.unwrap();
    let text: Vec<String> = rows.iter().map(|r| serde_json::to_string(r).unwrap()).collect();
    assert!(rows.len() >= 7, "the flows above were audited: {text:#?}");
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        for row in &text {
            assert!(!row.contains(s.as_str()), "a secret ({} chars) in {row}", s.len());
        }
    }
    // Customers are named by id, never by address.
    let id = customer_id(&server, email).await;
    assert!(text.iter().any(|row| row.contains(&id)));
    assert!(!text.iter().any(|row| row.contains("@example.com")), "{text:#?}");
}
