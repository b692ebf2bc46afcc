//! Webhooks (Standard Webhooks): registration through the admin API, signed deliveries to a
//! loopback receiver, retries with backoff (the manual clock moves past each wait), every
//! attempt recorded, order per customer, replay, disabling after 5 days of failures, and the
//! private-network rule. The worker's two jobs (`fan_out`, `deliver_due`) are called here
//! directly, with the server's state and clock.

use crate::admin::{admin_token, call};
use crate::support::receiver::{Received, Receiver};
use crate::support::{TestServer, signed_in_code};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::events::webhooks::{self, Event};

/// A server whose loopback receivers are allowed, without its background worker: these
/// tests run the worker's two webhook jobs themselves, at the clock's times.
async fn dev_server() -> TestServer {
    TestServer::start_with(|c| {
        c.federation_allow_private_networks = true;
        c.worker_interval_ms = 0;
    })
    .await
}

/// Register an endpoint through the admin API; returns (id, secret).
async fn register(server: &TestServer, token: &str, url: &str, types: &[&str]) -> (String, String) {
    let body = json!({ "url": url, "event_types": types, "description": "CRM sync" });
    let (status, _, v) = call(server, "POST", "/admin/api/v1/webhooks", Some(token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    (v["id"].as_str().unwrap().to_string(), v["secret"].as_str().unwrap().to_string())
}

fn event(kind: &str, subject: Option<&str>, at: i64) -> Event {
    Event {
        id: format!("evt_{}", tessera::crypto::secrets::random_id()),
        kind: kind.into(),
        subject: subject.map(String::from),
        payload: json!({ "customer_id": subject }),
        occurred_at: at,
    }
}

async fn deliver(server: &TestServer) -> usize {
    webhooks::deliver_due(&server.state, server.state.now()).await.unwrap()
}

/// The receiver's check, written from the spec without Tessera's code: HMAC-SHA256 keyed
/// with the secret's bytes over "{id}.{timestamp}.{body}", base64, after "v1,".
fn verify(secret: &str, r: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let signed = format!("{}.{}.{}", r.id, r.timestamp, r.body);
    let tag = STANDARD.encode(aws_lc_rs::hmac::sign(&key, signed.as_bytes()).as_ref());
    r.signature.split(' ').any(|s| s == format!("v1,{tag}"))
}

async fn deliveries(server: &TestServer, token: &str, id: &str) -> Vec<Value> {
    let path = format!("/admin/api/v1/webhooks/{id}/deliveries");
    let (status, _, v) = call(server, "GET", &path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_after_each_backoff_and_every_attempt_is_recorded() {
    let server = dev_server().await;
    let token = admin_token(&server).await;
    let receiver = Receiver::start().await;
    let (id, secret) = register(&server, &token, &receiver.url, &["customer.created"]).await;
    receiver.answer(&[500, 503]);
    receiver.pad_answers(5000);
    let e = event("customer.created", Some("cus_1"), server.state.now());
    webhooks::fan_out(&server.state, &e, server.state.now()).await.unwrap();
    // Handed over twice (the outbox delivers at least once): still one delivery.
    webhooks::fan_out(&server.state, &e, server.state.now()).await.unwrap();
    // Not subscribed: no delivery.
    let other = event("session.started", Some("cus_1"), server.state.now());
    webhooks::fan_out(&server.state, &other, server.state.now()).await.unwrap();

    assert_eq!(deliver(&server).await, 1);
    assert_eq!(deliver(&server).await, 0, "the retry waits for its backoff");
    server.clock.advance_secs(4);
    assert_eq!(deliver(&server).await, 0);
    server.clock.advance_secs(1);
    assert_eq!(deliver(&server).await, 1, "second attempt after 5 s");
    server.clock.advance_secs(299);
    assert_eq!(deliver(&server).await, 0);
    server.clock.advance_secs(1);
    assert_eq!(deliver(&server).await, 1, "third attempt after 5 min");
    server.clock.advance_secs(3600);
    assert_eq!(deliver(&server).await, 0, "delivered: nothing more");

    let got = receiver.received();
    assert_eq!(got.len(), 3);
    for r in &got {
        assert_eq!(r.id, e.id, "webhook-id is the event id on every attempt");
        assert_eq!(r.content_type, "application/json");
        assert!(verify(&secret, r), "signature of {r:?}");
        assert_eq!(r.json()["type"], "customer.created");
        assert_eq!(r.json()["data"], json!({ "customer_id": "cus_1" }));
        assert!(r.json()["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    let stamps: Vec<i64> = got.iter().map(|r| r.timestamp.parse().unwrap()).collect();
    assert_eq!(stamps[1] - stamps[0], 5, "webhook-timestamp is the attempt's time");
    let tampered = Received { body: got[0].body.replace("cus_1", "cus_2"), ..got[0].clone() };
    assert!(!verify(&secret, &tampered));

    let token = admin_token(&server).await; // the first one expired while the clock moved
    let list = deliveries(&server, &token, &id).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["state"], "delivered");
    assert_eq!(list[0]["event_id"], e.id.as_str());
    let attempts = list[0]["attempts"].as_array().unwrap();
    let statuses: Vec<i64> = attempts.iter().map(|a| a["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [500, 503, 200]);
    for a in attempts {
        let excerpt = a["response_excerpt"].as_str().unwrap();
        assert!(excerpt.len() <= 1024 && excerpt.len() > 1000, "the first KiB: {}", excerpt.len());
        assert!(excerpt.trim_end_matches('é').len() <= 16, "whole characters only: {excerpt}");
    }
    assert!(attempts[2]["response_excerpt"].as_str().unwrap().starts_with("answer 3: 200é"));
    assert!(attempts.iter().all(|a| a["latency_ms"].as_i64().unwrap() >= 0));
    assert!(!list[0].to_string().contains(&secret));
    let (_, _, v) = call(&server, "GET", &format!("/admin/api/v1/webhooks/{id}"), Some(&token), None).await;
    assert_eq!(v["failing_since"], Value::Null, "a success ends the run of failures");
}

#[tokio::test]
async fn events_about_one_customer_go_out_in_order() {
    let server = dev_server().await;
    let token = admin_token(&server).await;
    let receiver = Receiver::start().await;
    register(&server, &token, &receiver.url, &[]).await;
    let now = server.state.now();
    let (a1, a2, b1) = (
        event("customer.created", Some("a"), now),
        event("customer.updated", Some("a"), now),
        event("customer.created", Some("b"), now),
    );
    for e in [&a1, &a2, &b1] {
        webhooks::fan_out(&server.state, e, now).await.unwrap();
    }
    receiver.fail_once(&a1.id);
    assert_eq!(deliver(&server).await, 2, "a's second event waits behind its first; b's goes");
    let ids = |r: Vec<Received>| {
        let mut ids: Vec<String> = r.into_iter().map(|r| r.id).collect();
        ids.sort();
        ids
    };
    let mut first_round = vec![a1.id.clone(), b1.id.clone()];
    first_round.sort();
    assert_eq!(ids(receiver.received()), first_round);
    assert_eq!(deliver(&server).await, 0, "still waiting behind the failed one");
    server.clock.advance_secs(5);
    assert_eq!(deliver(&server).await, 1);
    assert_eq!(deliver(&server).await, 1, "now the later one");
    let about_a: Vec<String> =
        receiver.received().into_iter().filter(|r| r.json()["data"]["customer_id"] == "a").map(|r| r.id).collect();
    assert_eq!(about_a, [a1.id.clone(), a1.id.clone(), a2.id.clone()]);
}

#[tokio::test]
async fn a_delivery_left_mid_attempt_is_tried_again_after_its_lease() {
    let server = dev_server().await;
    let token = admin_token(&server).await;
    let receiver = Receiver::start().await;
    let (id, _) = register(&server, &token, &receiver.url, &[]).await;
    let e = event("customer.created", Some("a"), server.state.now());
    webhooks::fan_out(&server.state, &e, server.state.now()).await.unwrap();
    // Another worker claims it, then dies before recording an attempt.
    let now = server.state.now();
    let due = server.state.store.due_webhook_deliveries(now, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(server.state.store.claim_webhook_delivery(&due[0], now + 60_000, now).await.unwrap());
    assert!(!server.state.store.claim_webhook_delivery(&due[0], now + 60_000, now).await.unwrap(), "claimed once");
    assert_eq!(deliver(&server).await, 0, "held by the other worker's lease");
    server.clock.advance_secs(60);
    assert_eq!(deliver(&server).await, 1, "taken again when the lease ran out");
    assert_eq!(receiver.received().len(), 1);
    let list = deliveries(&server, &token, &id).await;
    assert_eq!((list[0]["state"].as_str(), list[0]["attempts"].as_array().unwrap().len()), (Some("delivered"), 1));
}

#[tokio::test]
async fn deliveries_are_replayed_with_the_same_webhook_id() {
    let server = dev_server().await;
    let token = admin_token(&server).await;
    let receiver = Receiver::start().await;
    let (id, secret) = register(&server, &token, &receiver.url, &["customer.*"]).await;
    let e1 = event("customer.created", Some("a"), server.state.now());
    let e2 = event("customer.updated", Some("b"), server.state.now());
    webhooks::fan_out(&server.state, &e1, server.state.now()).await.unwrap();
    webhooks::fan_out(&server.state, &e2, server.state.now()).await.unwrap();
    assert_eq!(deliver(&server).await, 2);
    let path = format!("/admin/api/v1/webhooks/{id}/replay");
    let delivery =
        deliveries(&server, &token, &id).await.into_iter().find(|d| d["event_id"] == e1.id.as_str()).unwrap();
    server.clock.advance_secs(60);
    let (status, _, v) =
        call(&server, "POST", &path, Some(&token), Some(json!({ "delivery_id": delivery["id"] }))).await;
    assert_eq!((status, v["replayed"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
    assert_eq!(deliver(&server).await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].id, e1.id);
    assert_eq!(got[2].body, got.iter().find(|r| r.id == e1.id).unwrap().body, "the same body");
    assert!(verify(&secret, &got[2]));
    // By event, and everything since a time.
    let (_, _, v) = call(&server, "POST", &path, Some(&token), Some(json!({ "event_id": e2.id }))).await;
    assert_eq!(v["replayed"], 1);
    assert_eq!(deliver(&server).await, 1);
    let (_, _, v) = call(&server, "POST", &path, Some(&token), Some(json!({ "since": "2000-01-01T00:00:00Z" }))).await;
    assert_eq!(v["replayed"], 2);
    assert_eq!(deliver(&server).await, 2);
    assert_eq!(receiver.received().len(), 6);
    let list = deliveries(&server, &token, &id).await;
    assert!(list.iter().all(|d| d["state"] == "delivered" && d["attempts"].as_array().unwrap().len() >= 2));
    // Bad selections are refused.
    for bad in [json!({}), json!({ "event_id": "x", "since": "2000-01-01T00:00:00Z" }), json!({ "since": "yesterday" })]
    {
        let (status, _, _) = call(&server, "POST", &path, Some(&token), Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, _, _) = call(&server, "POST", &path, Some(&token), Some(json!({ "event_id": "evt_none" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let replays = crate::audit::entries(&server, "admin.webhook.replayed").await;
    assert_eq!(replays.len(), 3, "{replays:?}");
    assert!(replays.iter().all(|e| e.target.as_deref() == Some(id.as_str()) && e.actor_kind == "client"));
}

async fn endpoint(server: &TestServer, token: &str, id: &str) -> Value {
    call(server, "GET", &format!("/admin/api/v1/webhooks/{id}"), Some(token), None).await.2
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_abandoned_then_disabled() {
    let server = dev_server().await;
    let token = admin_token(&server).await;
    let receiver = Receiver::start().await;
    receiver.always(500);
    let (id, _) = register(&server, &token, &receiver.url, &[]).await;
    let first = event("customer.created", Some("a"), server.state.now());
    webhooks::fan_out(&server.state, &first, server.state.now()).await.unwrap();
    let second = event("customer.updated", Some("a"), server.state.now());
    webhooks::fan_out(&server.state, &second, server.state.now()).await.unwrap();
    // Hour by hour, with a new event twice a day, for 5 days: every attempt fails.
    let start = server.state.now();
    let mut hours = 0;
    while webhooks::get(&server.state, &id).await.unwrap().enabled {
        assert!(hours <= 5 * 24 + 1, "still enabled after {hours} h");
        if hours % 12 == 0 {
            let e = event("session.started", None, server.state.now());
            webhooks::fan_out(&server.state, &e, server.state.now()).await.unwrap();
        }
        // Within the hour, the short retries (5 s, 5 min, 30 min) come due too.
        for step in [5, 300, 1800, 1495] {
            while deliver(&server).await > 0 {}
            server.clock.advance_secs(step);
        }
        hours += 1;
    }
    let failed_for = server.state.now() - start;
    assert!((5 * 24 * 3600 * 1000..=(5 * 24 + 1) * 3600 * 1000).contains(&failed_for), "disabled after {hours} h");
    let token = admin_token(&server).await; // the first one expired while the clock moved
    let v = endpoint(&server, &token, &id).await;
    assert!(v["disabled_at"].is_i64() && v["failing_since"].is_i64(), "{v}");
    let list = deliveries(&server, &token, &id).await;
    let d = |e: &Event| list.iter().find(|d| d["event_id"] == e.id.as_str()).unwrap().clone();
    assert_eq!(d(&first)["state"], "abandoned");
    assert_eq!(d(&first)["attempts"].as_array().unwrap().len(), 8, "the first try and seven retries");
    let attempts = d(&first)["attempts"].as_array().unwrap().clone();
    let span = attempts[7]["attempted_at"].as_i64().unwrap() - attempts[0]["attempted_at"].as_i64().unwrap();
    assert!(span >= 24 * 3600 * 1000, "retried for at least a day: {span} ms");
    assert!(d(&second)["attempts"].as_array().unwrap().len() >= 8, "the next one went after the first was abandoned");
    // Disabled: nothing new is queued or sent; enabled again, pending ones go out.
    let sent = receiver.received().len();
    webhooks::fan_out(&server.state, &event("customer.updated", None, server.state.now()), server.state.now())
        .await
        .unwrap();
    server.clock.advance_secs(24 * 3600);
    assert_eq!(deliver(&server).await, 0);
    assert_eq!(receiver.received().len(), sent);
    receiver.always(200);
    let token = admin_token(&server).await;
    let (status, _, v) =
        call(&server, "POST", &format!("/admin/api/v1/webhooks/{id}/enable"), Some(&token), None).await;
    assert_eq!((status, &v["enabled"], &v["failing_since"]), (StatusCode::OK, &json!(true), &Value::Null));
    assert!(deliver(&server).await > 0, "the deliveries still pending go out");
    assert!(receiver.received().len() > sent);
    // Tessera disabled it, and an admin enabled it again: both in the audit log.
    let disabled = crate::audit::entries(&server, "webhook.disabled").await;
    assert_eq!((disabled.len(), disabled[0].actor_kind.as_str()), (1, "system"));
    assert_eq!(disabled[0].target.as_deref(), Some(id.as_str()));
    assert_eq!(crate::audit::entries(&server, "admin.webhook.enabled").await.len(), 1);
}

#[tokio::test]
async fn webhook_urls_obey_the_private_network_rule() {
    let server = TestServer::start_with(|c| c.worker_interval_ms = 0).await;
    let token = admin_token(&server).await;
    let receiver = Receiver::start().await;
    for url in [
        receiver.url.as_str(),
        "https://10.0.0.1/hook",
        "http://169.254.169.254/latest",
        "http://hooks.example/x",
        "ftp://hooks.example/",
        "not a url",
    ] {
        let (status, _, v) =
            call(&server, "POST", "/admin/api/v1/webhooks", Some(&token), Some(json!({ "url": url }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {v}");
    }
    // A name is checked when it is resolved: localhost resolves to loopback, refused before
    // any byte is sent, and the attempt says why.
    let url = format!("https://localhost:{}/hook", receiver.port);
    let (id, _) = register(&server, &token, &url, &[]).await;
    let (status, _, v) = call(&server, "POST", &format!("/admin/api/v1/webhooks/{id}/test"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "pending", "{v}");
    let error = v["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("private network"), "{error}");
    assert!(!error.contains("localhost:"), "no URL in the record: {error}");
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn admins_register_list_and_delete_endpoints_and_the_secret_is_shown_once() {
    let server = dev_server().await;
    let (status, _, _) = call(&server, "GET", "/admin/api/v1/webhooks", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let shop = server.confidential_client().await;
    let (_, body) = server.token(&shop, &[("grant_type", "client_credentials")]).await;
    let (status, _, _) = call(&server, "GET", "/admin/api/v1/webhooks", body["access_token"].as_str(), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let token = admin_token(&server).await;
    let t = Some(token.as_str());
    let receiver = Receiver::start().await;
    let (id, secret) = register(&server, &token, &receiver.url, &["customer.created", "session.*"]).await;
    assert!(id.starts_with("wh_"));
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    assert!((24..=64).contains(&key.len()));
    let (_, _, list) = call(&server, "GET", "/admin/api/v1/webhooks", t, None).await;
    assert_eq!(list["webhooks"][0]["event_types"], json!(["customer.created", "session.*"]));
    assert_eq!(list["webhooks"][0]["description"], "CRM sync");
    assert!(!list.to_string().contains(&secret));
    let (_, _, one) = call(&server, "GET", &format!("/admin/api/v1/webhooks/{id}"), t, None).await;
    assert!(one["secret"].is_null() && one["enabled"] == true);
    // Sealed at rest.
    let endpoints = webhooks::list(&server.state).await.unwrap();
    assert_eq!(endpoints.len(), 1);
    let stored = crate::support::stored_column(&server, "SELECT sealed_secret FROM webhook_endpoints").await;
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert!(!stored.windows(key.len()).any(|w| w == key.as_slice()));
    // A test event reaches the receiver, signed.
    let (_, _, v) = call(&server, "POST", &format!("/admin/api/v1/webhooks/{id}/test"), t, None).await;
    assert_eq!(v["state"], "delivered", "{v}");
    assert!(verify(&secret, &receiver.received()[0]));
    assert_eq!(receiver.received()[0].json()["type"], "webhook.test");

    for bad in [
        json!({ "url": receiver.url, "event_types": ["Customer Created"] }),
        json!({ "url": receiver.url, "event_types": ["customer"] }),
        json!({ "url": receiver.url, "secret": "whsec_mine" }),
        json!({ "event_types": [] }),
        json!({ "url": receiver.url.replace("http://", "http://user:pw@") }),
        json!({ "url": format!("{}#x", receiver.url) }),
    ] {
        let (status, _, v) = call(&server, "POST", "/admin/api/v1/webhooks", t, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (status, _, _) = call(&server, "DELETE", &format!("/admin/api/v1/webhooks/{id}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The audit log names the calling admin client, its address and what it did.
    let admin_client = crate::support::jwt_claims(&token)["client_id"].as_str().unwrap().to_string();
    for action in ["admin.webhook.created", "admin.webhook.deleted"] {
        let found = crate::audit::entries(&server, action).await;
        assert_eq!(found.len(), 1, "{action}: {found:?}");
        let e = &found[0];
        assert_eq!((e.actor_kind.as_str(), e.actor_id.as_deref()), ("client", Some(admin_client.as_str())));
        assert_eq!((e.target.as_deref(), e.ip.as_deref()), (Some(id.as_str()), Some("127.0.0.1")));
    }
    for (method, path) in
        [("DELETE", format!("/admin/api/v1/webhooks/{id}")), ("GET", format!("/admin/api/v1/webhooks/{id}/deliveries"))]
    {
        let (status, _, _) = call(&server, method, &path, t, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_new_customers_email_sign_in_reaches_the_receiver_through_the_outbox_and_the_worker() {
    let server = TestServer::start_with(|c| c.federation_allow_private_networks = true).await;
    let token = admin_token(&server).await;
    let receiver = Receiver::start().await;
    let (_, secret) = register(&server, &token, &receiver.url, &["customer.created", "session.*"]).await;
    let client = server.public_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "new.customer@example.com").await;
    // The worker runs on its own (real) interval: poll with a generous deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while receiver.received().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "only {:?} arrived", receiver.received());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let got = receiver.received();
    let types: Vec<Value> = got.iter().map(|r| r.json()["type"].clone()).collect();
    assert_eq!(types, [json!("customer.created"), json!("session.started")], "in order, nothing else");
    assert!(got.iter().all(|r| verify(&secret, r) && r.id.starts_with("evt_")));
    let customer = got[0].json()["data"]["customer_id"].as_str().unwrap().to_string();
    assert_eq!(got[1].json()["data"]["customer_id"], customer.as_str());
    assert!(!got.iter().any(|r| r.body.contains("new.customer@example.com")), "no address in the payloads");
}

/// `tessera webhook …` against a data directory, with a receiver on loopback (the flag that
/// lets development use private networks is set for it).
fn webhook_cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("webhook")
        .args(args)
        .env_clear()
        .env("TESSERA_DATA_DIR", dir)
        .env("TESSERA_FEDERATION_ALLOW_PRIVATE_NETWORKS", "true")
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_registers_tests_lists_replays_and_deletes() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let run = move |args: Vec<String>| {
        let path = path.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = webhook_cli(&path, &args);
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (ok, out, err) =
        run(args(&["create", "--url", &receiver.url, "--event-type", "customer.created", "--json"])).await;
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let (id, secret) = (created["id"].as_str().unwrap().to_string(), created["secret"].as_str().unwrap().to_string());
    let (ok, out, _) = run(args(&["create", "--url", "https://hooks.example/x"])).await;
    assert!(ok && out.contains("secret: whsec_") && out.contains("shown only now"), "{out}");

    let (_, out, _) = run(args(&["list"])).await;
    assert!(out.contains(&id) && out.contains("customer.created") && out.contains("all events"), "{out}");
    assert!(!out.contains(&secret) && !out.contains("whsec_"));

    let (ok, out, err) = run(args(&["test", &id, "--json"])).await;
    assert!(ok, "{err}");
    let delivery: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(delivery["state"], "delivered");
    assert!(verify(&secret, &receiver.received()[0]));

    let (ok, out, err) = run(args(&["replay", &id, "--event", delivery["event_id"].as_str().unwrap()])).await;
    assert!(ok && out.contains("queued again: 1 delivery"), "{out}{err}");
    let (_, out, _) = run(args(&["deliveries", &id])).await;
    assert!(out.contains("webhook.test") && out.contains("pending") && out.contains("HTTP 200"), "{out}");
    let (ok, _, err) = run(args(&["replay", &id, "--since", "soon"])).await;
    assert!(!ok && err.contains("RFC 3339"), "{err}");
    let (ok, _, err) = run(args(&["create", "--url", "http://hooks.example/x"])).await;
    assert!(!ok && err.contains("https"), "{err}");

    assert!(run(args(&["delete", &id])).await.0);
    let (ok, _, err) = run(args(&["delete", &id])).await;
    assert!(!ok && err.contains("no webhook"), "{err}");
}
