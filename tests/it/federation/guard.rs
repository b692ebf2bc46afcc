//! Federation is not a way into the internal network: connector URLs and the URLs a
//! provider's discovery document names are refused on private networks unless the operator
//! allows them, names are checked when they are resolved (connect time), and discovery
//! documents and key sets are cached so that anonymous visitors cannot make Tessera fetch them.

use super::{APP, fake_connector, federating_server, to_upstream};
use crate::support::provider::{FakeProvider, Hits};
use crate::support::{TestServer, authorize_url};
use reqwest::StatusCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tessera::login::federation::connectors::{self, ConnectorInput};

fn oidc(issuer: &str) -> ConnectorInput {
    ConnectorInput {
        id: Some("corp".into()),
        kind: Some("oidc".into()),
        display_name: Some("Corp".into()),
        issuer: Some(issuer.into()),
        client_id: Some("cid".into()),
        ..ConnectorInput::default()
    }
}

#[tokio::test]
async fn connector_urls_on_private_networks_are_refused_by_default() {
    let down = TestServer::start().await;
    let now = down.state.now();
    for issuer in [
        "http://127.0.0.1:9000",
        "https://127.0.0.1",
        "https://10.1.2.3",
        "https://172.16.0.1",
        "https://192.168.1.1",
        "https://100.64.0.1",
        "https://169.254.169.254",
        "https://[::1]",
        "https://[fd00::1]",
        "https://[fe80::1]",
        "https://[::ffff:10.0.0.1]",
        "https://0.0.0.0",
    ] {
        let e = connectors::create(&down.state, oidc(issuer), now).await.expect_err(issuer);
        assert!(e.description().contains("private"), "{issuer}: {}", e.description());
    }
    let e = connectors::create(&down.state, oidc("http://idp.example"), now).await.unwrap_err();
    assert!(e.description().contains("https"), "{}", e.description());
    let plain = ConnectorInput {
        kind: Some("oauth2".into()),
        issuer: None,
        authorization_endpoint: Some("https://idp.example/authorize".into()),
        token_endpoint: Some("https://192.168.0.10/token".into()),
        userinfo_endpoint: Some("https://idp.example/userinfo".into()),
        ..oidc("")
    };
    assert!(connectors::create(&down.state, plain, now).await.is_err());

    // A name is checked where its address becomes known: when it is resolved to connect.
    // `localhost` resolves to loopback, so nothing reaches the listener behind it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    connectors::create(&down.state, oidc(&format!("https://localhost:{port}")), now).await.unwrap();
    let app = down.confidential_client().await;
    let browser = down.browser();
    let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
    let (page, _) = to_upstream(&down, &browser, &login, "corp").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Corp cannot be reached"), "{}", page.body);
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection to a loopback address");
}

#[tokio::test]
async fn a_discovery_document_pointing_jwks_uri_at_a_forbidden_address_is_refused() {
    // Private networks are allowed here (the provider is on loopback); the key set's address
    // is 0.0.0.0, which reaches this very host and is never a provider, allowed or not.
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    let port = url::Url::parse(&provider.base).unwrap().port().unwrap();
    provider.set(|k| k.jwks_uri = Some(format!("http://0.0.0.0:{port}/jwks")));
    connectors::create(&down.state, fake_connector("fake", &provider), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let browser = down.browser();
    let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
    let (page, at) = to_upstream(&down, &browser, &login, "fake").await;
    assert!(!at.starts_with(APP), "{at}");
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{at}");
    assert!(page.body.contains("Fake cannot be reached"), "{}", page.body);
    assert_eq!(provider.count(|h: &Hits| &h.jwks), 0, "the key set was never fetched");
    assert!(down.state.store.customer_by_email("fake@example.com").await.unwrap().is_none());
}

#[tokio::test]
async fn discovery_and_keys_are_cached_and_refetched_on_an_unknown_kid_or_when_stale() {
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    provider.set(|k| k.cache_control = Some("public, max-age=600".into()));
    connectors::create(&down.state, fake_connector("fake", &provider), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;

    // Anonymous visitors starting sign-ins over and over, several at once: one fetch.
    let (login, _) = down.browser().go(&authorize_url(&down, &app, &[]).0, APP).await;
    let authz = crate::support::browser::hidden(&login.body, "authz").unwrap();
    let start = || async {
        let start = down.browser().get(&format!("/login/federated/fake?authz={authz}")).await;
        assert!(start.location.unwrap().starts_with(&provider.base));
    };
    tokio::join!(start(), start(), start(), start(), start());
    start().await;
    assert_eq!(provider.count(|h: &Hits| &h.discovery), 1);
    assert_eq!(provider.count(|h: &Hits| &h.jwks), 1);

    let sign_in = || async {
        let browser = down.browser();
        let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
        let (page, at) = to_upstream(&down, &browser, &login, "fake").await;
        assert!(at.starts_with(APP), "{at}: {}", page.body);
    };
    sign_in().await;
    sign_in().await;
    assert_eq!(provider.count(|h: &Hits| &h.discovery), 1);
    assert_eq!(provider.count(|h: &Hits| &h.jwks), 1);

    // The provider rotates its key: an ID token with an unknown kid fetches the key set again.
    provider.rotate_key();
    sign_in().await;
    assert_eq!(provider.count(|h: &Hits| &h.jwks), 2);
    assert_eq!(provider.count(|h: &Hits| &h.discovery), 1);

    // Past max-age, both are fetched again.
    down.clock.advance_secs(601);
    sign_in().await;
    assert_eq!(provider.count(|h: &Hits| &h.discovery), 2);
    assert_eq!(provider.count(|h: &Hits| &h.jwks), 3);

    // `no-store` (or no header) still keeps them for a floor of a few minutes.
    provider.set(|k| k.cache_control = Some("no-store".into()));
    down.clock.advance_secs(601);
    sign_in().await;
    sign_in().await;
    assert_eq!(provider.count(|h: &Hits| &h.discovery), 3);
}

#[tokio::test]
async fn oversized_provider_responses_are_refused_and_failures_are_not_retried_at_once() {
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    provider.set(|k| k.discovery_padding = 200 * 1024);
    connectors::create(&down.state, fake_connector("fake", &provider), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let (login, _) = down.browser().go(&authorize_url(&down, &app, &[]).0, APP).await;
    let authz = crate::support::browser::hidden(&login.body, "authz").unwrap();
    for _ in 0..3 {
        let page = down.browser().get(&format!("/login/federated/fake?authz={authz}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("Fake cannot be reached"), "{}", page.body);
    }
    assert_eq!(provider.count(|h: &Hits| &h.discovery), 1, "a failed provider is not asked again at once");
    assert_eq!(provider.count(|h: &Hits| &h.jwks), 0);

    // Once it answers within the limit, and the pause is over, sign-ins work.
    provider.set(|k| k.discovery_padding = 0);
    down.clock.advance_secs(31);
    let start = down.browser().get(&format!("/login/federated/fake?authz={authz}")).await;
    assert!(start.location.unwrap().starts_with(&provider.base));
}
