//! Two nodes of one deployment behind a load balancer (issue #15, "Several nodes, tested"):
//! two in-process servers on their own ports sharing one database (PostgreSQL when
//! TESSERA_TEST_POSTGRES_URL is set, else one SQLite file), one Redis (TESSERA_TEST_REDIS_URL,
//! default the local one; these tests fail without it), one issuer, one master key and one
//! clock. A browser keeps one cookie jar whichever node it reaches.

use crate::admin::admin_token;
use crate::support::receiver::Receiver;
use crate::support::{TestServer, authorize_url, query_param, random_prefix, signed_in_code, test_redis_url};
use reqwest::StatusCode;
use std::time::Duration;
use tessera::oidc::clients::{self, NewClient};

async fn two_nodes(adjust: impl FnOnce(&mut tessera::Config)) -> (TestServer, TestServer) {
    let a = TestServer::start_with(|c| {
        c.redis_url = test_redis_url();
        c.ephemeral_prefix = random_prefix();
        adjust(c);
    })
    .await;
    let b = a.another_node().await;
    assert_ne!(a.base, b.base);
    (a, b)
}

/// Wait (bounded, without sleeping) until `node` has heard `n` messages on the change channel.
async fn heard(node: &TestServer, n: u64) {
    let mut rx = node.state.changes_heard.subscribe();
    let in_time = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|heard| *heard >= n)).await;
    assert!(in_time.is_ok(), "the node heard {} change messages, not {n}", *node.state.changes_heard.borrow());
}

#[tokio::test]
async fn a_sign_in_begun_on_one_node_finishes_on_the_other_and_tokens_cross_over() {
    let (a, b) = two_nodes(|_| {}).await;
    let client = a.confidential_client().await;
    let on_a = a.browser();
    let on_b = on_a.at(&b.base);

    // The email sign-in begins on A (pending authorization, pending sign-in, mail)…
    let (url, verifier) = authorize_url(&a, &client, &[]);
    let login = on_a.follow(on_a.get(&url).await).await;
    let waiting = on_a.request_mail(&login, "two@example.com").await;
    assert!(waiting.body.contains("Check your mail"), "{}", waiting.body);
    // …and the link is opened on B, which finds both and issues the code.
    let token = a.smtp.last_mail_to("two@example.com").await.link_token();
    let confirm = on_b.get(&format!("/login/link?token={token}")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let done = on_b.follow(on_b.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await).await;
    let location = done.location.expect("back at the client");
    assert!(location.starts_with(&client.redirect_uri), "{location}");
    let code_from_b = query_param(&location, "code").unwrap();
    // Redeemed on A.
    let first = a.exchange(&client, &code_from_b, &verifier).await;
    assert!(first["refresh_token"].is_string(), "{first}");

    // A code issued by A (the browser's session answers at once) is redeemed on B…
    let (code_from_a, verifier) = signed_in_code(&a, &on_a, &client, "two@example.com").await;
    let tokens = b.exchange(&client, &code_from_a, &verifier).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(a.userinfo(&access).await["email"], "two@example.com");
    // …and a replay on A fails and revokes what the code gave (RFC 6749 §4.1.2).
    let form = [("grant_type", "authorization_code"), ("code", code_from_a.as_str()), ("code_verifier", &verifier)];
    let (status, body) = a.token(&client, &form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    let (status, body) = b.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the replay revoked the family: {body}");
    let resource_server = a.resource_server().await;
    assert_eq!(a.introspect(&resource_server, &access).await["active"], false, "the replay revoked its access token");

    // A refresh token issued by A is refreshed on B.
    let refresh_a = first["refresh_token"].as_str().unwrap();
    let (status, refreshed) = b.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", refresh_a)]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access = refreshed["access_token"].as_str().unwrap().to_string();
    assert_eq!(b.userinfo(&access).await["email"], "two@example.com");

    // Revoked on A (RFC 7009), refused on B at once.
    let new_refresh = refreshed["refresh_token"].as_str().unwrap();
    let res = reqwest::Client::new()
        .post(a.url("/revoke"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", new_refresh), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = reqwest::Client::new().get(b.url("/userinfo")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the family's access token is revoked on B too");
    let (status, _) = b.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", new_refresh)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rate_limits_count_across_both_nodes() {
    let (a, b) = two_nodes(|c| c.authorize_per_minute = 3).await;
    let client = a.confidential_client().await;
    let (on_a, on_b) = (a.browser(), a.browser().at(&b.base));
    let path = |server: &TestServer| authorize_url(server, &client, &[]).0;
    for (browser, server) in [(&on_a, &a), (&on_b, &b), (&on_a, &a)] {
        let page = browser.get(&path(server)).await;
        assert_ne!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    }
    let page = on_b.get(&path(&b)).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "the fourth request in the minute, on either node");
    assert_eq!(on_a.get(&path(&a)).await.status, StatusCode::TOO_MANY_REQUESTS);
    a.clock.advance_secs(60);
    assert_ne!(on_b.get(&path(&b)).await.status, StatusCode::TOO_MANY_REQUESTS, "a new minute");
}

#[tokio::test]
async fn a_client_changed_on_one_node_or_by_the_cli_is_used_by_the_other_at_once() {
    let (a, b) = two_nodes(|_| {}).await;
    heard(&b, 1).await; // B is subscribed.
    let new = NewClient {
        name: "Legacy".into(),
        redirect_uris: vec![crate::support::REDIRECT_URI.into()],
        ..NewClient::default()
    };
    let (client, _) = clients::create(&a.state.store, new, a.state.now()).await.unwrap();
    let on_b = a.browser().at(&b.base);
    let without_pkce = |server: &TestServer| {
        let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", crate::support::REDIRECT_URI)
            .append_pair("scope", "openid")
            .append_pair("state", "s");
        url.to_string()
    };
    // B caches the client: PKCE required (RFC 9700 §2.1.1), so no challenge is an error.
    let page = on_b.get(&without_pkce(&b)).await;
    let loc = page.location.expect("an error for the client");
    assert_eq!(query_param(&loc, "error").as_deref(), Some("invalid_request"), "{loc}");

    // The operator lets it skip PKCE with the CLI, against the same database and Redis.
    let before = *b.state.changes_heard.borrow();
    let dir = tempfile::tempdir().unwrap();
    let c = &a.state.config;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["client", "update", &client.id, "--pkce", "optional"])
        .env_clear()
        .env("TESSERA_DATA_DIR", dir.path())
        .env("TESSERA_DATABASE_URL", c.database_url())
        .env("TESSERA_REDIS_URL", &c.redis_url)
        .env("TESSERA_EPHEMERAL_PREFIX", &c.ephemeral_prefix)
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    heard(&b, before + 1).await;
    // B uses the change at once (its cache TTL, on the unmoved clock, has not run out).
    let page = on_b.get(&without_pkce(&b)).await;
    assert!(
        page.location.as_deref().is_none_or(|l| query_param(l, "error").is_none()),
        "B took the change: {:?}",
        page.location
    );

    // Deleted through node A: B forgets it at once too.
    let before = *b.state.changes_heard.borrow();
    assert!(clients::delete(&a.state, &client.id).await.unwrap());
    heard(&b, before + 1).await;
    let page = on_b.get(&without_pkce(&b)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "an unknown client, shown to the person: {:?}", page.location);
}

#[tokio::test]
async fn each_outbox_event_is_delivered_once_while_both_workers_run() {
    let (a, b) = two_nodes(|c| c.federation_allow_private_networks = true).await;
    let receiver = Receiver::start().await;
    let token = admin_token(&a).await;
    let body = serde_json::json!({ "url": receiver.url, "event_types": ["client.changed"] });
    let (status, _, v) = crate::admin::call(&a, "POST", "/admin/api/v1/webhooks", Some(&token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let mut ids = Vec::new();
    for (i, node) in [&a, &b].into_iter().cycle().take(12).enumerate() {
        let new = NewClient {
            name: format!("App {i}"),
            redirect_uris: vec!["https://app.example/cb".into()],
            ..NewClient::default()
        };
        ids.push(clients::create(&node.state.store, new, node.state.now()).await.unwrap().0.id);
    }
    let count = |id: &str| receiver.received().iter().filter(|r| r.body.contains(id)).count();
    // Poll (both workers tick every 50 ms) until every event arrived, then a while longer.
    for _ in 0..400 {
        if ids.iter().all(|id| count(id) > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        assert_eq!(count(id), 1, "client {id}'s event delivered exactly once");
    }
}

#[tokio::test]
async fn a_connector_changed_through_one_nodes_admin_api_is_used_by_the_other_at_once() {
    use crate::federation::APP;
    use crate::support::provider::FakeProvider;
    let (a, b) = two_nodes(|c| c.federation_allow_private_networks = true).await;
    heard(&b, 1).await; // B is subscribed.
    let one = FakeProvider::start("fake-client", a.clock.clone()).await;
    let two = FakeProvider::start("fake-client", a.clock.clone()).await;
    two.set(|k| (k.subject, k.email) = ("two-1".into(), "two@example.com".into()));
    let (token, client) = (admin_token(&a).await, a.confidential_client().await);
    let on_b = b.browser();
    let connectors = "/admin/api/v1/connectors";
    let change = |method: &'static str, path: String, body: Option<serde_json::Value>| {
        let (a, b, token) = (&a, &b, &token);
        async move {
            let before = *b.state.changes_heard.borrow();
            let (status, _, v) = crate::admin::call(a, method, &path, Some(token), body).await;
            assert!(status.is_success(), "{method} {path}: {status} {v}");
            heard(b, before + 1).await;
        }
    };

    // Made on A, offered on B; B sends the customer to provider one.
    let body = serde_json::json!({
        "id": "social", "kind": "oidc", "display_name": "Provider One", "issuer": one.base,
        "client_id": "fake-client", "client_secret": "s",
    });
    change("POST", connectors.into(), Some(body)).await;
    let (login, _) = on_b.go(&authorize_url(&b, &client, &[]).0, APP).await;
    assert!(login.body.contains("Continue with Provider One"), "{}", login.body);
    let authz = crate::support::browser::hidden(&login.body, "authz").unwrap();
    let start = on_b.get(&format!("/login/federated/social?authz={authz}")).await;
    assert!(start.location.as_deref().is_some_and(|l| l.starts_with(&one.url("/authorize"))), "{:?}", start.location);

    // Pointed at provider two and renamed on A: B shows and uses the change without a restart
    // (it forgot provider one's metadata when it heard of the change).
    let body = serde_json::json!({ "display_name": "Provider Two", "issuer": two.base });
    change("PATCH", format!("{connectors}/social"), Some(body)).await;
    let (url, verifier) = authorize_url(&b, &client, &[]);
    let (login, _) = on_b.go(&url, APP).await;
    assert!(login.body.contains("Continue with Provider Two") && !login.body.contains("Provider One"));
    let authz = crate::support::browser::hidden(&login.body, "authz").unwrap();
    let start = on_b.get(&format!("/login/federated/social?authz={authz}")).await;
    let to_two = start.location.expect("to the provider");
    assert!(to_two.starts_with(&two.url("/authorize")), "{to_two}");
    // The provider answers at the issuer's callback (behind a load balancer: either node).
    let (_, back) = on_b.go(&to_two, APP).await;
    assert!(back.starts_with(APP), "{back}");
    let tokens = b.exchange(&client, &query_param(&back, "code").unwrap(), &verifier).await;
    assert_eq!(crate::support::jwt_claims(tokens["id_token"].as_str().unwrap())["email"], "two@example.com");
    assert_eq!((one.count(|h| &h.token), two.count(|h| &h.token)), (0, 1), "only provider two was asked");

    // Disabled on A: B neither offers nor starts it (to someone not signed in yet).
    change("POST", format!("{connectors}/social/disable"), None).await;
    let stranger = b.browser();
    let (login, _) = stranger.go(&authorize_url(&b, &client, &[]).0, APP).await;
    assert!(!login.body.contains("Continue with Provider Two"), "{}", login.body);
    let authz = crate::support::browser::hidden(&login.body, "authz").unwrap();
    let page = stranger.get(&format!("/login/federated/social?authz={authz}")).await;
    assert!(page.body.contains("not available"), "{}", page.body);
}
