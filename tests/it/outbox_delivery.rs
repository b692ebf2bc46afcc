//! Deliveries through the outbox: back-channel logout retried with backoff until the client
//! answers (and given up after a day), and events that survive a crash of the real binary
//! between their commit and their dispatch.

use crate::outbox::{all_dispatched, stored};
use crate::sessions::verified;
use crate::support::{TestServer, jwt_claims, signed_in_code};
use axum::extract::Form;
use reqwest::StatusCode;
use sqlx::{Connection, Row};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A relying party's back-channel logout endpoint on loopback that answers 500 to the first
/// `failures` requests and 200 after; every logout token it receives is kept.
async fn flaky_relying_party(failures: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |Form(form): Form<HashMap<String, String>>| {
            let seen = seen.clone();
            async move {
                let mut all = seen.lock().unwrap();
                all.push(form.get("logout_token").cloned().unwrap_or_default());
                if all.len() <= failures { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://127.0.0.1:{}/backchannel", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (uri, received)
}

/// Poll until the relying party has received `n` tokens; returns them.
async fn received(tokens: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<String> {
    for _ in 0..400 {
        let got = tokens.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the relying party did not receive {n} logout tokens");
}

/// (attempts, next_attempt_at, delivered_at, gave_up_at) of the one pending delivery.
async fn delivery(server: &TestServer) -> (i64, i64, Option<i64>, Option<i64>) {
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    let row = sqlx::query("SELECT attempts, next_attempt_at, delivered_at, gave_up_at FROM backchannel_deliveries")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

/// Poll until the delivery has had `n` attempts (the worker records it after the answer).
async fn attempts(server: &TestServer, n: i64) -> (i64, i64, Option<i64>, Option<i64>) {
    for _ in 0..400 {
        let d = delivery(server).await;
        if d.0 >= n {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery did not reach {n} attempts: {:?}", delivery(server).await);
}

/// A signed-in customer with tokens for a client that wants back-channel logout at `uri`;
/// returns the session that ended.
async fn end_a_session(server: &TestServer, uri: &str, email: &str) -> tessera::store::SessionRecord {
    let client = server.backchannel_client(uri).await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(server, &browser, &client, email).await;
    let tokens = server.exchange(&client, &code, &verifier).await;
    let sid = jwt_claims(tokens["id_token"].as_str().unwrap())["sid"].as_str().unwrap().to_string();
    let session = server.state.store.session_by_id(&sid, server.state.now()).await.unwrap().unwrap();
    let why =
        tessera::events::audit::SessionEnd { by: tessera::events::audit::Actor::System, reason: "test", from: None };
    tessera::oidc::logout::end(&server.state, &session, false, why).await.unwrap();
    session
}

#[tokio::test]
async fn back_channel_logout_is_retried_with_backoff_until_the_client_answers() {
    let server = TestServer::start().await;
    let (uri, tokens) = flaky_relying_party(1).await;
    let ended_at = server.state.now();
    let session = end_a_session(&server, &uri, "bcl@example.com").await;

    // The first attempt is refused (500): the next one waits for the backoff.
    let first = received(&tokens, 1).await.remove(0);
    let (n, next, delivered, _) = attempts(&server, 1).await;
    assert_eq!((n, next, delivered), (1, ended_at + tessera::oidc::backchannel::FIRST_BACKOFF_MS, None));
    server.clock.advance_secs(31);
    let second = received(&tokens, 2).await.remove(1);
    let (n, _, delivered, gave_up) = attempts(&server, 2).await;
    assert_eq!((n, delivered.is_some(), gave_up), (2, true, None));

    // Both are valid logout tokens for the session (BCL 1.0 §2.4), each signed at its attempt
    // with a fresh lifetime, and one jti: it is one logout.
    let (header, a) = verified(&server, &first).await;
    let (_, b) = verified(&server, &second).await;
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!((&b["sid"], &b["sub"]), (&session.id.clone().into(), &session.customer_id.clone().into()));
    assert_eq!(a["jti"], b["jti"]);
    assert_eq!(b["iat"].as_i64().unwrap(), a["iat"].as_i64().unwrap() + 31);
    assert_eq!(b["exp"].as_i64().unwrap(), b["iat"].as_i64().unwrap() + 120);
    assert!(b["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());

    // session.ended was written with the deliveries, and says how many clients are told.
    let events = all_dispatched(&server.state.config.database_url()).await;
    let ended = events.iter().find(|e| e.kind == "session.ended").unwrap();
    assert_eq!(ended.payload["backchannel_logouts"], 1);
    assert_eq!(ended.subject.as_deref(), Some(session.customer_id.as_str()));
}

#[tokio::test]
async fn back_channel_logout_is_given_up_after_a_day_of_failures() {
    let server = TestServer::start().await;
    let (uri, tokens) = flaky_relying_party(usize::MAX).await;
    end_a_session(&server, &uri, "down@example.com").await;
    received(&tokens, 1).await;
    attempts(&server, 1).await;
    server.clock.advance_secs(25 * 3600);
    received(&tokens, 2).await;
    let (n, _, delivered, gave_up) = attempts(&server, 2).await;
    assert_eq!((n, delivered, gave_up.is_some()), (2, None, true));
    server.clock.advance_secs(25 * 3600);
    // Given up means given up: a later event is dispatched, and still no third attempt.
    let mut tx = server.state.store.begin().await.unwrap();
    let marker = tessera::events::NewEvent::customer_updated("someone", &["marker"]);
    tessera::events::outbox::emit_in(&mut tx, marker, server.state.now()).await.unwrap();
    tx.commit().await.unwrap();
    all_dispatched(&server.state.config.database_url()).await;
    assert_eq!(tokens.lock().unwrap().len(), 2);
}

/// The `tessera` binary with a clean environment on `dir` (and `database_url` if given).
fn tessera(dir: &std::path::Path, database_url: &Option<String>) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.env_clear().env("TESSERA_DATA_DIR", dir).env("TESSERA_LOG", "error");
    if let Some(url) = database_url {
        cmd.env("TESSERA_DATABASE_URL", url);
    }
    cmd
}

fn serve(dir: &std::path::Path, database_url: &Option<String>, port: u16, worker: bool) -> std::process::Child {
    let mut cmd = tessera(dir, database_url);
    cmd.arg("serve")
        .env("TESSERA_ISSUER", format!("http://localhost:{port}"))
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"));
    if !worker {
        cmd.env("TESSERA_WORKER_INTERVAL_MS", "0");
    }
    let child = cmd.spawn().unwrap();
    // Real time: a separate process starts up (migrations, keys).
    let up = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "the server did not start");
    child
}

async fn create_connector(base: &str, token: &str, id: &str) {
    let body = serde_json::json!({"id": id, "kind": "github", "display_name": "GitHub", "client_id": "gh",
                                  "client_secret": "gh-secret-value"});
    let res = reqwest::Client::new()
        .post(format!("{base}/admin/api/v1/connectors"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_event_committed_before_a_crash_is_dispatched_after_the_restart_once() {
    let dir = tempfile::tempdir().unwrap();
    let pg = crate::support::postgres_database().await;
    let db = pg.clone().unwrap_or_else(|| format!("sqlite://{}/tessera.db?mode=rwc", dir.path().display()));
    let out = tessera(dir.path(), &pg)
        .args(["client", "create", "--name", "Ops", "--scope", "tessera:admin"])
        .args(["--grant-type", "client_credentials", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let admin: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://localhost:{port}");

    // The worker is off: the change commits with its event, which nobody dispatches yet.
    let mut first = serve(dir.path(), &pg, port, false);
    let form = [("grant_type", "client_credentials"), ("scope", "tessera:admin")];
    let res = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(admin["client_id"].as_str().unwrap(), admin["client_secret"].as_str())
        .form(&form)
        .send()
        .await
        .unwrap();
    let token: serde_json::Value = res.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    create_connector(&base, &token, "before-crash").await;
    let events = stored(&db).await;
    let crashed = events.iter().find(|e| e.kind == "connector.changed").unwrap().id.clone();
    assert!(events.iter().all(|e| e.dispatched_at.is_none()));

    // SIGKILL: no graceful anything.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(stored(&db).await.iter().all(|e| e.dispatched_at.is_none()), "nothing ran in between");

    // Restarted with its worker: the event goes out, once; so does one made after the restart.
    let mut second = serve(dir.path(), &pg, port, true);
    create_connector(&base, &token, "after-restart").await;
    let events = all_dispatched(&db).await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "connector.changed").count(), 2);
    let before = events.iter().find(|e| e.id == crashed).unwrap();
    assert_eq!(before.dispatches, 1, "{events:?}");
    assert!(events.iter().all(|e| e.dispatches == 1), "{events:?}");
}
