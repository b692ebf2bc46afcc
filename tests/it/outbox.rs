//! The event outbox: each action writes its event in its own transaction, with the right
//! subject and a payload without secrets, and the worker dispatches each event once; order
//! per subject; concurrent claims (several nodes on PostgreSQL) never share an event.

use crate::factors::{enrol, prove_app};
use crate::federation::{fake_connector, federating_server, to_upstream};
use crate::support::browser::{Browser, hidden};
use crate::support::passkey::{Passkey, account_csrf};
use crate::support::provider::FakeProvider;
use crate::support::{TestServer, authorize_url, signed_in_code};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{Connection, Row};
use tessera::events::{NewEvent, outbox};
use tessera::login::federation::connectors::{self, ConnectorInput};
use tessera::oidc::clients;

#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub kind: String,
    pub subject: Option<String>,
    pub payload: Value,
    pub dispatched_at: Option<i64>,
    pub dispatches: i64,
}

/// Every event in the outbox, in the order it was written.
pub async fn stored(database_url: &str) -> Vec<Stored> {
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let rows =
        sqlx::query("SELECT id, kind, subject, payload, dispatched_at, dispatches FROM event_outbox ORDER BY seq, id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    rows.iter()
        .map(|r| Stored {
            id: r.get(0),
            kind: r.get(1),
            subject: r.get(2),
            payload: serde_json::from_str(&r.get::<String, _>(3)).unwrap(),
            dispatched_at: r.get(4),
            dispatches: r.get(5),
        })
        .collect()
}

/// Poll (the worker runs on real time) until every event is dispatched; returns them.
pub async fn all_dispatched(database_url: &str) -> Vec<Stored> {
    for _ in 0..400 {
        let events = stored(database_url).await;
        if events.iter().all(|e| e.dispatched_at.is_some()) {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("events still undispatched: {:?}", stored(database_url).await);
}

fn kinds(events: &[Stored]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// The events written since `before` events existed.
fn since(events: &[Stored], before: usize) -> Vec<Stored> {
    events[before..].to_vec()
}

fn assert_no_secret(events: &[Stored], secrets: &[&str]) {
    for e in events {
        let text = e.payload.to_string();
        for s in secrets.iter().filter(|s| s.len() >= 6) {
            assert!(!text.contains(s), "{} carries a secret: {text}", e.kind);
        }
    }
}

async fn account_form_csrf(browser: &Browser) -> String {
    browser.get("/account").await.csrf()
}

#[tokio::test]
async fn each_customer_action_writes_its_event_without_secrets_and_it_is_dispatched_once() {
    let server = TestServer::start().await;
    let db = server.state.config.database_url();
    let client = server.confidential_client().await;
    let e = stored(&db).await;
    assert_eq!(kinds(&e), ["client.changed"]);
    assert_eq!((e[0].subject.as_deref(), &e[0].payload["change"]), (None, &"created".into()));

    // An email sign-in of a new person: the customer, then the session.
    let laptop = server.browser();
    let (code, verifier) = signed_in_code(&server, &laptop, &client, "eve@example.com").await;
    let link = server.smtp.last_mail_to("eve@example.com").await.link_token();
    let tokens = server.exchange(&client, &code, &verifier).await;
    let customer = server.state.store.customer_by_email("eve@example.com").await.unwrap().unwrap().id;
    let e = since(&stored(&db).await, 1);
    assert_eq!(kinds(&e), ["customer.created", "session.started"]);
    assert!(e.iter().all(|e| e.subject.as_deref() == Some(customer.as_str())));
    assert_eq!(e[0].payload["via"], "email");
    assert_eq!(e[1].payload["acr"], "urn:tessera:acr:email");
    let session_id = e[1].payload["session_id"].as_str().unwrap().to_string();

    // A setting of the account, the authenticator app added and removed, a passkey added and
    // removed.
    let csrf = account_form_csrf(&laptop).await;
    let res = laptop.post("/account/cross-device", &[("csrf", &csrf), ("allow", "0")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (secret, recovery) = enrol(&server, &laptop).await;
    prove_app(&server, &laptop, &secret).await;
    let csrf = account_form_csrf(&laptop).await;
    let res = laptop.post("/account/totp/remove", &[("csrf", &csrf)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let csrf = account_csrf(&laptop).await;
    let mut passkey = Passkey::register(&laptop, &csrf, &server.base).await.unwrap();
    let (status, _) = passkey.sign_in(&laptop, &csrf, &server.base, "").await;
    assert_eq!(status, StatusCode::OK);
    let page = laptop.get("/account").await;
    let passkey_id = hidden(&page.body, "id").unwrap();
    let res = laptop.post("/account/passkeys/remove", &[("csrf", &page.csrf()), ("id", &passkey_id)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    // Another browser's session ended from this one.
    let phone = server.browser();
    signed_in_code(&server, &phone, &client, "eve@example.com").await;
    let csrf = laptop.get("/account/sessions").await.csrf();
    let res = laptop.post("/account/sessions/end-others", &[("csrf", &csrf)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let all = all_dispatched(&db).await;
    let e = since(&all, 3);
    let customer_kinds: Vec<&str> = kinds(&e).into_iter().filter(|k| *k != "session.started").collect();
    assert_eq!(
        customer_kinds,
        ["customer.updated", "factor.added", "factor.removed", "factor.added", "factor.removed", "session.ended"],
        "{:?}",
        kinds(&e)
    );
    assert!(e.iter().all(|e| e.subject.as_deref() == Some(customer.as_str())), "{e:?}");
    let by_kind = |k: &str| e.iter().filter(|x| x.kind == k).map(|x| x.payload.clone()).collect::<Vec<_>>();
    assert_eq!(by_kind("customer.updated")[0]["fields"], serde_json::json!(["cross_device_approval"]));
    assert_eq!(by_kind("factor.added")[0]["factor"], "totp");
    assert_eq!(by_kind("factor.removed")[0]["factor"], "totp");
    assert_eq!(by_kind("factor.added")[1]["factor"], "passkey");
    assert_eq!(by_kind("factor.removed")[1]["factor_id"], passkey_id.as_str());
    let ended = &by_kind("session.ended")[0];
    assert_ne!(ended["session_id"], session_id.as_str(), "the phone's session ended, not the laptop's");

    // The pkce change and the deletion of the client.
    clients::set_pkce_optional(&server.state.store, &client.id, true, server.state.now()).await.unwrap();
    assert!(clients::delete(&server.state, &client.id).await.unwrap());
    let all = all_dispatched(&db).await;
    let changes: Vec<&Value> =
        all.iter().filter(|e| e.kind == "client.changed").map(|e| &e.payload["change"]).collect();
    assert_eq!(changes, ["created", "updated", "deleted"]);

    // Dispatched once each, and nothing secret in any payload.
    assert!(all.iter().all(|e| e.dispatches == 1), "{all:?}");
    let mut secrets: Vec<&str> = vec![client.secret.as_deref().unwrap(), &link, &secret, &code, &verifier];
    for t in ["access_token", "refresh_token", "id_token"] {
        secrets.push(tokens[t].as_str().unwrap());
    }
    secrets.extend(recovery.iter().map(String::as_str));
    assert_no_secret(&all, &secrets);
    assert!(all.iter().all(|e| e.id.starts_with("evt_")));
}

#[tokio::test]
async fn federation_and_connector_changes_write_their_events() {
    let down = federating_server().await;
    let db = down.state.config.database_url();
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    let now = down.state.now();
    let secret = "connector-secret-42";
    let input = ConnectorInput { client_secret: Some(secret.into()), ..fake_connector("fake", &provider) };
    connectors::create(&down.state, input, now).await.unwrap();
    let off = ConnectorInput { enabled: Some(false), ..ConnectorInput::default() };
    connectors::update(&down.state, "fake", off, now).await.unwrap();
    let on = ConnectorInput { enabled: Some(true), ..ConnectorInput::default() };
    connectors::update(&down.state, "fake", on, now).await.unwrap();
    let renamed = ConnectorInput { display_name: Some("Fake two".into()), ..ConnectorInput::default() };
    connectors::update(&down.state, "fake", renamed, now).await.unwrap();
    let app = down.confidential_client().await;

    let browser = down.browser();
    let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, crate::federation::APP).await;
    let (_, at) = to_upstream(&down, &browser, &login, "fake").await;
    assert!(at.starts_with(crate::federation::APP), "{at}");
    let customer = down.state.store.customer_by_email("fake@example.com").await.unwrap().unwrap().id;
    let csrf = browser.get(&down.url("/account")).await.csrf();
    let res = browser.post(&down.url("/account/identities/unlink"), &[("csrf", &csrf), ("connector", "fake")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    connectors::delete(&down.state, "fake", down.state.now()).await.unwrap();

    let all = all_dispatched(&db).await;
    let connector: Vec<&Value> =
        all.iter().filter(|e| e.kind == "connector.changed").map(|e| &e.payload["change"]).collect();
    assert_eq!(connector, ["created", "disabled", "enabled", "updated", "deleted"]);
    let theirs: Vec<&Stored> = all.iter().filter(|e| e.subject.as_deref() == Some(customer.as_str())).collect();
    let k: Vec<&str> = theirs.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(k, ["customer.created", "identity.linked", "session.started", "identity.unlinked"]);
    assert_eq!(theirs[0].payload["via"], "federation");
    assert_eq!(theirs[1].payload["connector_id"], "fake");
    assert_eq!(theirs[1].payload["issuer"], provider.base.as_str());
    assert_no_secret(&all, &[secret]);
    assert!(all.iter().all(|e| e.dispatches == 1));
}

/// Write `events` in one transaction, as a feature does.
async fn emit(server: &TestServer, events: Vec<NewEvent>) {
    let mut tx = server.state.store.begin().await.unwrap();
    for e in events {
        outbox::emit_in(&mut tx, e, server.state.now()).await.unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn events_of_one_subject_are_claimed_in_order_one_at_a_time() {
    let server = TestServer::start_with(|c| c.worker_interval_ms = 0).await;
    let store = &server.state.store;
    let now = server.state.now();
    emit(
        &server,
        vec![
            NewEvent::customer_created("ann", "email"),
            NewEvent::client_changed("app", tessera::events::Change::Created),
            NewEvent::customer_created("bob", "email"),
            NewEvent::session_started("ann", "s1", "a", "m"),
            NewEvent::client_changed("app", tessera::events::Change::Deleted),
            NewEvent::session_ended("ann", "s1", 0),
        ],
    )
    .await;
    let ids = |v: &[tessera::store::OutboxRecord]| v.iter().map(|e| e.kind.clone()).collect::<Vec<_>>();
    // Only the earliest undispatched event of each subject is handed out.
    let first = store.claim_events("a", now, now + 30_000, 10).await.unwrap();
    assert_eq!(ids(&first), ["customer.created", "client.changed", "customer.created"]);
    assert_eq!(first[1].payload, r#"{"change":"created","client_id":"app"}"#, "changes without a subject queue too");
    // While ann's first event is out (leased, not dispatched), her next one waits.
    assert!(store.claim_events("b", now, now + 30_000, 10).await.unwrap().is_empty());
    for e in &first {
        assert!(store.mark_event_dispatched(&e.id, "a", now).await.unwrap());
        assert!(!store.mark_event_dispatched(&e.id, "a", now).await.unwrap(), "dispatched once");
    }
    let next = store.claim_events("b", now, now + 30_000, 10).await.unwrap();
    assert_eq!(ids(&next), ["session.started", "client.changed"]);
    assert!(store.mark_event_dispatched(&next[1].id, "b", now).await.unwrap());
    // A worker that died holding it: once its lease has passed, another worker takes it.
    assert!(store.claim_events("c", now + 29_999, now + 60_000, 10).await.unwrap().is_empty());
    let again = store.claim_events("c", now + 30_000, now + 60_000, 10).await.unwrap();
    assert_eq!(ids(&again), ["session.started"]);
    assert!(!store.mark_event_dispatched(&again[0].id, "b", now).await.unwrap(), "the old lease is void");
    assert!(store.mark_event_dispatched(&again[0].id, "c", now).await.unwrap());
    let last = store.claim_events("c", now, now + 30_000, 10).await.unwrap();
    assert_eq!(ids(&last), ["session.ended"]);
}

#[tokio::test]
async fn two_workers_claiming_at_once_never_get_the_same_event() {
    let server = TestServer::start_with(|c| c.worker_interval_ms = 0).await;
    let store = &server.state.store;
    let now = server.state.now();
    let many = (0..200).map(|i| NewEvent::customer_created(&format!("c{i}"), "email")).collect();
    emit(&server, many).await;
    let (a, b) = tokio::join!(
        store.claim_events("node-a", now, now + 30_000, 150),
        store.claim_events("node-b", now, now + 30_000, 150)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let a_ids: std::collections::HashSet<_> = a.iter().map(|e| e.id.clone()).collect();
    assert!(b.iter().all(|e| !a_ids.contains(&e.id)), "a claimed event went to both workers");
    assert_eq!(a.len() + b.len(), 200, "together they took every event");
    // Only the holder of an event's lease marks it dispatched.
    for e in a.iter() {
        assert!(store.mark_event_dispatched(&e.id, "node-a", now).await.unwrap());
    }
    for e in b.iter() {
        assert!(!store.mark_event_dispatched(&e.id, "node-a", now).await.unwrap());
    }
}

#[tokio::test]
async fn two_workers_dispatching_at_once_dispatch_each_event_once() {
    let server = TestServer::start_with(|c| c.worker_interval_ms = 0).await;
    let state = &server.state;
    let now = state.now();
    // Three subjects with a queue each, and changes without a subject.
    let mut many = Vec::new();
    for i in 0..40 {
        many.push(NewEvent::session_started(&format!("c{}", i % 3), &format!("s{i}"), "a", "m"));
        many.push(NewEvent::client_changed(&format!("app{i}"), tessera::events::Change::Updated));
    }
    emit(&server, many).await;
    let (a, b) = tokio::join!(outbox::dispatch(state, "node-a", now), outbox::dispatch(state, "node-b", now));
    assert_eq!(a.unwrap() + b.unwrap(), 80, "each event counted by the one worker that dispatched it");
    let all = stored(&state.config.database_url()).await;
    assert_eq!(all.len(), 80);
    assert!(all.iter().all(|e| e.dispatched_at == Some(now) && e.dispatches == 1), "{all:?}");
}
