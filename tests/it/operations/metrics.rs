//! Prometheus metrics at `/metrics` on `metrics_listen`, never on the public listener: requests
//! by route and status, tokens by grant, sign-ins by method and result, rate-limit refusals,
//! and the levels the worker reads (ephemeral store, outbox backlog, webhook failures).

use crate::support::TestServer;
use reqwest::StatusCode;
use tessera::oidc::clients::NewClient;
use tessera::oidc::grants::GrantType;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The value of the first sample whose line starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_are_served_apart_and_count_what_happened() {
    let port = free_port();
    let server = TestServer::start_with(|c| {
        c.metrics_listen = format!("127.0.0.1:{port}");
        c.sign_in_mails_per_address = 1;
    })
    .await;
    let scrape = || async move {
        // The server binds the metrics address as it starts serving, beside this test.
        for _ in 0..200 {
            if let Ok(res) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
                assert_eq!(res.status(), StatusCode::OK);
                return res.text().await.unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("nothing listens on the metrics address");
    };
    // Other servers in this test process may count too (the recorder is process-wide):
    // compare before and after.
    let before = scrape().await;
    let machine = server
        .register_new(NewClient {
            name: "Batch".into(),
            grant_types: vec![GrantType::ClientCredentials],
            ..NewClient::default()
        })
        .await;
    for _ in 0..3 {
        let (status, body) = server.token(&machine, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A sign-in mail, then one over the per-network cap.
    let browser = server.browser();
    let ask = async |email: &str| {
        let login = browser.get("/login").await;
        browser.post("/login/email", &[("csrf", &login.csrf()), ("email", email)]).await.status
    };
    assert_eq!(ask("ops@example.com").await, StatusCode::SEE_OTHER);
    assert_eq!(ask("ops@example.com").await, StatusCode::TOO_MANY_REQUESTS);

    let tokens = r#"tessera_tokens_issued_total{grant="client_credentials"}"#;
    let requests = r#"tessera_http_requests_total{route="/token",method="POST",status="200"}"#;
    let refusals = r#"tessera_rate_limit_refusals_total{limit="sign_in_mails"}"#;
    let mut after = scrape().await;
    // The gauges come from the worker's next tick.
    for _ in 0..100 {
        if after.contains("tessera_outbox_backlog") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        after = scrape().await;
    }
    let grew = |series: &str| sample(&after, series).unwrap_or(0.0) - sample(&before, series).unwrap_or(0.0);
    assert!(grew(tokens) >= 3.0, "{after}");
    assert!(grew(requests) >= 3.0, "{after}");
    assert!(grew(refusals) >= 1.0, "{after}");
    assert!(after.contains("tessera_http_request_duration_seconds_bucket{route=\"/token\""), "{after}");
    for gauge in ["tessera_outbox_backlog", "tessera_ephemeral_entries", "tessera_webhook_failed_deliveries"] {
        assert!(after.contains(gauge), "{gauge} missing: {after}");
    }
    // Route templates, never raw paths (no identifiers in label values).
    assert!(!after.contains("ops@example.com"));

    // The public listener does not serve them.
    let public = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_bad_metrics_address_names_its_key() {
    let e =
        tessera::Config::load(None, [("TESSERA_METRICS_LISTEN".to_string(), "everywhere".to_string())]).unwrap_err();
    assert_eq!(e.key, "metrics_listen");
    let e = tessera::Config::load(None, [("TESSERA_LOG_FORMAT".to_string(), "xml".to_string())]).unwrap_err();
    assert_eq!(e.key, "log_format");
}
