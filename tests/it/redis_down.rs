//! Redis going down and coming back, and the health endpoints. Requests that need the shared
//! ephemeral store fail with 503 (a page for people, `temporarily_unavailable` for clients,
//! RFC 6749 §4.1.2.1 / §5.2) and change nothing; once Redis is back they work again without
//! a restart. `/healthz` answers while the process is up; `/readyz` says what is missing.

use crate::support::redis_server::PrivateRedis;
use crate::support::{TestServer, authorize_url, query_param, random_prefix};
use reqwest::StatusCode;

async fn get_json(url: &str) -> (StatusCode, serde_json::Value) {
    let res = reqwest::get(url).await.unwrap();
    (res.status(), res.json().await.unwrap())
}

#[tokio::test]
async fn health_and_readiness_on_the_default_store() {
    let server = TestServer::start().await;
    let (status, body) = get_json(&server.url("/healthz")).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, body) = get_json(&server.url("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true);
    for part in ["database", "migrations", "ephemeral_store"] {
        assert_eq!(body[part]["ok"], true, "{part}: {body}");
    }
}

#[tokio::test]
async fn without_redis_requests_fail_with_503_and_work_again_when_it_returns() {
    let mut redis = PrivateRedis::start().await;
    let server = TestServer::start_with(|c| {
        c.redis_url = redis.url();
        c.ephemeral_prefix = random_prefix();
    })
    .await;
    assert!(server.state.ephemeral.is_shared());
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert_eq!(get_json(&server.url("/readyz")).await.0, StatusCode::OK);

    redis.stop();

    // A person asking for a sign-in mail: a clear page, and no mail (nothing half-done).
    let authz = crate::support::browser::hidden(&login.body, "authz").unwrap_or_default();
    let page = browser
        .post("/login/email", &[("csrf", &login.csrf()), ("email", "down@example.com"), ("authz", &authz)])
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.body);
    assert!(page.body.contains("try again in a moment"), "{}", page.body);
    assert_eq!(server.smtp.count_to("down@example.com"), 0, "no mail for a sign-in that was not stored");

    // A new authorization request: once client and redirect URI are trusted, the error goes
    // back to the client (RFC 6749 §4.1.2.1); never a 500.
    let (url, _) = authorize_url(&server, &client, &[]);
    let page = browser.get(&url).await;
    match page.location.as_deref() {
        Some(loc) => assert_eq!(query_param(loc, "error").as_deref(), Some("temporarily_unavailable"), "{loc}"),
        None => assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.body),
    }

    // A client redeeming a code: RFC 6749 §5.2 JSON with 503.
    let (status, body) = server
        .token(&client, &[("grant_type", "authorization_code"), ("code", "whatever"), ("code_verifier", "v")])
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");

    // The probes: alive, but not ready, and why.
    assert_eq!(get_json(&server.url("/healthz")).await.0, StatusCode::OK);
    let (status, body) = get_json(&server.url("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!((body["ready"].clone(), body["database"]["ok"].clone()), (false.into(), true.into()));
    assert_eq!(body["ephemeral_store"]["ok"], false, "{body}");
    assert!(!body.to_string().contains("redis://"), "no connection string in the answer: {body}");

    redis.resume().await;

    // Back without a restart: the connection manager reconnects on the next command.
    let mut ready = false;
    for _ in 0..20 {
        if get_json(&server.url("/readyz")).await.0 == StatusCode::OK {
            ready = true;
            break;
        }
    }
    assert!(ready, "ready again once Redis is back");
    let (url, verifier) = authorize_url(&server, &client, &[]);
    let done = browser.sign_in_with_link(&server, &url, "down@example.com").await;
    let code = query_param(&done.location.expect("back at the client"), "code").expect("a code");
    let tokens = server.exchange(&client, &code, &verifier).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

#[tokio::test]
async fn a_cluster_node_refuses_to_start_without_redis() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env_clear()
        .env("TESSERA_DATA_DIR", dir.path())
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_CLUSTER", "true")
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("redis_url") && err.contains("TESSERA_REDIS_URL") && err.contains("cluster"), "{err}");
    // A redis_url that is not a Redis URL is refused at start, naming the key.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("migrate")
        .env_clear()
        .env("TESSERA_DATA_DIR", dir.path())
        .env("TESSERA_REDIS_URL", "http://127.0.0.1:1")
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("redis_url"));
}
