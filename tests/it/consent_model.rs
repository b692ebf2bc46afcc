//! Consent purposes, versioned policies, the purposes a client is registered for, and the
//! consent ledger (hash chain, verification, export, the migration of remembered consents),
//! through the admin API, the CLI and the consent screen.

use crate::support::{TestServer, authorize_url, cli, query_param};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use tessera::consent::ledger;

async fn admin(server: &TestServer) -> impl Fn(&'static str, String, Option<Value>) -> ReqFuture + '_ {
    let admin = server.register_with_alg(false, &["tessera:admin"], false, None).await;
    let (status, body) =
        server.token(&admin, &[("grant_type", "client_credentials"), ("scope", "tessera:admin")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    move |method, path, body| {
        let mut req = reqwest::Client::new().request(method.parse().unwrap(), server.url(&path)).bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        Box::pin(async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            let text = res.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        })
    }
}

type ReqFuture = std::pin::Pin<Box<dyn std::future::Future<Output = (StatusCode, Value)>>>;

#[tokio::test]
async fn admins_publish_policy_versions_and_define_purposes_that_point_to_them() {
    let server = TestServer::start().await;
    let call = admin(&server).await;
    let purpose = json!({"id": "marketing.email", "name": "News by email", "policy": "privacy",
        "notice": "We send you our offers by email, at most once a week.", "data_categories": ["email"],
        "channels": ["email"]});
    // A purpose needs its policy published first.
    let (status, body) = call("POST", "/admin/api/v1/purposes".into(), Some(purpose.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("publish the policy"), "{body}");

    let v1 =
        json!({"id": "privacy", "title": "Privacy policy", "text": "We keep little.\n", "summary": "First version"});
    let (status, body) = call("POST", "/admin/api/v1/policies".into(), Some(v1)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["version"].as_i64(), body["material"].as_bool()), (Some(1), Some(false)));
    assert_eq!(body["text_hash"], tessera::consent::policies::text_hash("We keep little.\n"));
    let v2 = json!({"id": "privacy", "text": "We keep less.\n", "summary": "We keep less", "material": true});
    let (_, body) = call("POST", "/admin/api/v1/policies".into(), Some(v2)).await;
    assert_eq!((body["version"].as_i64(), body["material"].as_bool()), (Some(2), Some(true)));
    let (status, body) = call("GET", "/admin/api/v1/policies/privacy/versions/1".into(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["text"], "We keep little.\n", "a published version never changes");
    let late = json!({"id": "privacy", "text": "x", "summary": "s", "effective_at": "next week"});
    let (status, body) = call("POST", "/admin/api/v1/policies".into(), Some(late)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("effective_at"), "{body}");
    let (_, body) =
        call("POST", "/admin/api/v1/policies".into(), Some(json!({"id": "privacy", "text": "x", "summary": ""}))).await;
    assert!(body["error_description"].as_str().unwrap().contains("summary"), "{body}");

    let (status, body) = call("POST", "/admin/api/v1/purposes".into(), Some(purpose)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["channels"], json!(["email"]));
    for (bad, why) in [
        (json!({"id": "Marketing", "name": "x", "notice": "x", "policy": "privacy"}), "purpose id"),
        (json!({"id": "long", "name": "x", "notice": "x".repeat(301), "policy": "privacy"}), "notice"),
        (json!({"id": "nameless", "notice": "x", "policy": "privacy"}), "name"),
        (json!({"id": "marketing.email", "name": "x", "notice": "x", "policy": "privacy"}), "exists already"),
    ] {
        let (status, body) = call("POST", "/admin/api/v1/purposes".into(), Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["error_description"].as_str().unwrap().contains(why), "{why}: {body}");
    }
    let (status, body) = call(
        "PATCH",
        "/admin/api/v1/purposes/marketing.email".into(),
        Some(json!({"notice": "Offers by email, at most weekly."})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "News by email", "only what is given changes");
    let (_, body) = call("POST", "/admin/api/v1/purposes/marketing.email/retire".into(), None).await;
    assert_eq!(body["retired"], true);
    let (_, body) = call("GET", "/admin/api/v1/purposes".into(), None).await;
    assert_eq!(body["purposes"][0]["notice"], "Offers by email, at most weekly.");
    let (status, _) = call("GET", "/admin/api/v1/purposes".into(), None).await;
    assert_eq!(status, StatusCode::OK);
    let anonymous = reqwest::get(server.url("/admin/api/v1/purposes")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // Every change is in the audit log, by the calling admin client, from its address.
    for (action, count) in [
        ("admin.policy.published", 2),
        ("admin.purpose.created", 1),
        ("admin.purpose.updated", 1),
        ("admin.purpose.retired", 1),
    ] {
        let found = crate::audit::entries(&server, action).await;
        assert_eq!(found.len(), count, "{action}: {found:?}");
        assert!(found.iter().all(|e| e.actor_kind == "client" && e.ip.as_deref() == Some("127.0.0.1")), "{found:?}");
    }
}

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_cli_publishes_policies_defines_purposes_and_registers_clients_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("privacy-v1.md");
    std::fs::write(&file, "# Privacy\nWe keep little.\n").unwrap();
    let f = file.to_str().unwrap();
    let wrong =
        cli(dir.path(), &["policy", "publish", "--id", "privacy", "--version", "2", "--file", f, "--summary", "First"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("next version is 1"));
    let out = ok(&cli(
        dir.path(),
        &["policy", "publish", "--id", "privacy", "--version", "1", "--file", f, "--summary", "First"],
    ));
    assert!(out.contains("published privacy version 1"), "{out}");
    ok(&cli(
        dir.path(),
        &[
            "purpose",
            "create",
            "--id",
            "marketing.email",
            "--name",
            "News by email",
            "--policy",
            "privacy",
            "--notice",
            "We send you our offers by email, at most once a week.",
            "--channel",
            "email",
        ],
    ));
    ok(&cli(
        dir.path(),
        &[
            "purpose",
            "create",
            "--id",
            "personalisation",
            "--name",
            "A feed for you",
            "--policy",
            "privacy",
            "--notice",
            "We choose what you see from what you read.",
        ],
    ));
    let listed = ok(&cli(dir.path(), &["purpose", "list", "--json"]));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // An unknown purpose creates nothing.
    let bad = cli(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--purpose",
            "marketing.email:optional",
            "--purpose",
            "telepathy:optional",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no purpose \"telepathy\""));
    assert_eq!(ok(&cli(dir.path(), &["client", "list", "--json"])).trim(), "[]");

    let made = ok(&cli(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--json",
            "--purpose",
            "marketing.email:optional",
            "--purpose",
            "personalisation:required:Your feed needs it",
        ],
    ));
    let made: Value = serde_json::from_str(&made).unwrap();
    assert!(made["client_id"].is_string());
    let out = ok(&cli(dir.path(), &["consent", "verify"]));
    assert!(out.contains("0 consent ledger chains verified"), "{out}");
}

#[tokio::test]
async fn the_consent_screen_writes_chained_proof_and_verify_names_a_tampered_entry() {
    let server = TestServer::start().await;
    let client = server.consent_client().await;
    let browser = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let page = browser.sign_in_with_link(&server, &url, "proof@example.com").await;
    let authz = crate::support::browser::hidden(&page.body, "authz").unwrap();
    let allowed = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    assert!(query_param(&allowed.location.unwrap(), "code").is_some());
    let customer = server.state.store.customer_by_email("proof@example.com").await.unwrap().unwrap().id;
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    let items: Vec<&str> = receipts.iter().map(|r| r.item.as_str()).collect();
    assert_eq!(items, ["scope:openid", "scope:email", "scope:profile"], "one entry per scope granted");
    let session = server.state.store.sessions_of(&customer, server.state.now()).await.unwrap().remove(0);
    for (r, seq) in receipts.iter().zip(1..) {
        assert_eq!((r.seq, r.action.as_str(), r.channel.as_str()), (seq, "granted", "consent_screen"));
        assert_eq!((r.client_id.as_str(), r.session_id.as_str()), (client.id.as_str(), session.id.as_str()));
        assert_eq!(r.text_hash.len(), 64, "the hash of the words shown");
        assert!(r.words().contains(&format!("granted {} for {}", r.item, client.id)), "{}", r.words());
    }
    assert_eq!(receipts[1].prev_hash, receipts[0].hash);
    // Asking again for the same scopes adds nothing (nothing new was granted).
    let (url, _) = authorize_url(&server, &client, &[("prompt", "consent")]);
    let page = browser.follow(browser.get(&url).await).await;
    let authz = crate::support::browser::hidden(&page.body, "authz").unwrap();
    browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    assert_eq!(ledger::export(&server.state, &customer).await.unwrap().len(), 3);
    assert_eq!(ledger::verify(&server.state).await.unwrap(), (1, vec![]));

    let mut db = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    let run = |sql: &'static str| sqlx::query(sql).bind(customer.clone());
    run("UPDATE consent_ledger SET action = 'withdrawn' WHERE customer_id = $1 AND seq = 1")
        .execute(&mut db)
        .await
        .unwrap();
    let (_, broken) = ledger::verify(&server.state).await.unwrap();
    assert_eq!((broken[0].seq, broken[0].why.contains("changed")), (1, true), "{broken:?}");
    run("UPDATE consent_ledger SET action = 'granted' WHERE customer_id = $1 AND seq = 1")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(ledger::verify(&server.state).await.unwrap().1, vec![]);
    run("DELETE FROM consent_ledger WHERE customer_id = $1 AND seq = 2").execute(&mut db).await.unwrap();
    let (_, broken) = ledger::verify(&server.state).await.unwrap();
    assert_eq!((broken[0].seq, broken[0].why.contains("missing")), (2, true), "{broken:?}");
}

#[tokio::test]
async fn consents_remembered_before_the_ledger_become_its_first_entries_once() {
    let server = TestServer::start().await;
    let client = server.consent_client().await;
    let mut tx = server.state.store.begin().await.unwrap();
    let (customer, _, _) =
        tessera::store::Store::prove_mailbox_in(&mut tx, "old@example.com", "cus-old", 500).await.unwrap();
    tx.commit().await.unwrap();
    server.state.store.save_consent(&customer, &client.id, "openid email", 1_000).await.unwrap();
    assert_eq!(ledger::backfill(&server.state).await.unwrap(), 2);
    assert_eq!(ledger::backfill(&server.state).await.unwrap(), 0, "only once");
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    assert_eq!(receipts.iter().map(|r| (r.channel.as_str(), r.at)).collect::<Vec<_>>(), [("migration", 1_000); 2]);
    assert_eq!(ledger::verify(&server.state).await.unwrap(), (1, vec![]));
}
