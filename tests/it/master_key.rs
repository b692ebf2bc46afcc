//! Master-key rotation (issue #15): every sealed secret re-sealed under the new key without
//! downtime (both keys open during the change), then served with the new key alone; keys
//! derived from the master key (pairwise subjects, CSRF, recovery-code hashes) do not change.

use crate::support::{TestServer, signed_in_code, stored_totp_secret};
use tessera::crypto::sealed::MasterKey;
use tessera::events::webhooks::{self, Caller, EndpointInput};
use tessera::keys::master;
use tessera::store::SealedColumn;
use tessera::{AppState, Config};

async fn node(server: &TestServer, master_key: &str, previous: &str) -> anyhow::Result<tessera::SharedState> {
    let config = Config {
        master_key: master_key.into(),
        master_key_previous: previous.into(),
        worker_interval_ms: 0,
        ..server.state.config.clone()
    };
    AppState::build(config, server.clock.clone()).await
}

#[tokio::test]
async fn every_sealed_secret_moves_to_the_new_key_and_opens_with_it_alone() {
    let server = TestServer::start().await;
    let old = server.state.config.master_key.clone();
    // Secrets under the old key: signing keys, a webhook secret, an authenticator app.
    let now = server.state.now();
    let hook = EndpointInput { url: "https://hooks.example/in".into(), ..Default::default() };
    let created = webhooks::create(&server.state, hook, Caller::operator(), now).await.unwrap();
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "mk@example.com").await;
    crate::factors::enrol(&server, &browser).await;
    let totp_before = server.state.master_key.open("totp-secret", &stored_totp_secret(&server).await).unwrap();
    let derived = server.state.master_key.keyed_hash("recovery-code", b"abcd");
    let sub = tessera::oidc::subject::of(
        &server.state,
        &server.state.clients.get(&server.state.store, &client.id, now).await.unwrap().unwrap(),
        "cust",
    );

    // During the change: the new key seals, both open.
    let new = MasterKey::generate_base64();
    let both = node(&server, &new, &old).await.unwrap();
    assert_eq!(both.master_key.keyed_hash("recovery-code", b"abcd"), derived, "derived keys stay");
    let report = master::rotate(&both, None, 2, now).await.unwrap();
    let total = |t: &str| report.iter().find(|r| r.table == t).unwrap().clone();
    assert_eq!(total("signing_keys").resealed, 3, "{report:?}");
    assert_eq!(total("webhook_endpoints").resealed, 1);
    assert_eq!(total("totp_factors").resealed, 1);
    assert_eq!(total("sealed_settings").resealed, 1, "the root of derived keys");
    assert!(report.iter().all(|r| r.unreadable == 0 && r.current == 0));
    // A second run finds nothing left to do.
    let again = master::rotate(&both, None, 2, now).await.unwrap();
    assert!(again.iter().all(|r| r.resealed == 0), "{again:?}");

    // With only the new key: everything opens, derived values are the same, and the ring signs.
    let alone = node(&server, &new, "").await.unwrap();
    assert_eq!(alone.master_key.open("totp-secret", &stored_totp_secret(&server).await).unwrap(), totp_before);
    for (id, sealed) in alone.store.sealed_values(SealedColumn::WebhookSecrets, "", 10).await.unwrap() {
        assert_eq!(id, created.endpoint.id);
        assert_eq!(
            String::from_utf8(alone.master_key.open("webhook-secret", &sealed).unwrap()).unwrap(),
            created.secret
        );
    }
    assert_eq!(alone.master_key.keyed_hash("recovery-code", b"abcd"), derived);
    let alone_client = alone.clients.get(&alone.store, &client.id, now).await.unwrap().unwrap();
    assert_eq!(tessera::oidc::subject::of(&alone, &alone_client, "cust"), sub);
    assert_eq!(
        alone.keys.at(now).current(tessera::crypto::keys::Alg::Es256).kid,
        server.state.keys.at(now).current(tessera::crypto::keys::Alg::Es256).kid
    );
    // The old key alone no longer opens anything.
    let err = node(&server, &old, "").await.err().expect("the old key alone is refused");
    assert!(format!("{err:#}").contains("does not open"), "{err:#}");

    // The operator's rotation is audited.
    let page = tessera::events::audit_query::search(
        &alone,
        &serde_json::from_value(serde_json::json!({"action": "master_key.rotated"})).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(page.entries.len(), 2);
}

#[tokio::test]
async fn a_rotation_to_a_key_file_reseals_under_that_key() {
    let server = TestServer::start().await;
    let target = MasterKey::generate_base64();
    let key = MasterKey::from_base64(&target).unwrap();
    let report = master::rotate(&server.state, Some(&key), 100, server.state.now()).await.unwrap();
    assert_eq!(report.iter().map(|r| r.resealed).sum::<u64>(), 4, "{report:?}");
    let alone = node(&server, &target, "").await.unwrap();
    assert_eq!(alone.master_key.keyed_hash("x", b"y"), server.state.master_key.keyed_hash("x", b"y"));
}

#[tokio::test]
async fn pairwise_subjects_come_back_the_same_after_a_rotation_and_a_restart_on_the_new_key() {
    let server = TestServer::start().await;
    let shop = crate::pairwise::app(&server, "shop.example", true, None).await;
    let news = crate::pairwise::app(&server, "news.example", true, None).await;
    let email = "pairs@example.com";
    async fn sub(server: &TestServer, client: &crate::support::TestClient, email: &str) -> String {
        let (code, verifier) = signed_in_code(server, &server.browser(), client, email).await;
        let tokens = server.exchange(client, &code, &verifier).await;
        crate::support::jwt_claims(tokens["id_token"].as_str().unwrap())["sub"].as_str().unwrap().to_string()
    }
    let (shop_before, news_before) = (sub(&server, &shop, email).await, sub(&server, &news, email).await);
    let customer = server.state.store.customer_by_email(email).await.unwrap().unwrap().id;
    assert_ne!(shop_before, news_before, "OIDC Core §8.1: two sectors, two subjects");
    assert!(shop_before != customer && news_before != customer);

    // `tessera master-key rotate`, then every node restarts with the new key alone.
    let new = MasterKey::generate_base64();
    let both = node(&server, &new, &server.state.config.master_key).await.unwrap();
    master::rotate(&both, None, 100, server.state.now()).await.unwrap();
    let restarted = server
        .another_node_with(|c| {
            c.master_key = new.clone();
            c.master_key_previous = String::new();
        })
        .await;
    assert_eq!(restarted.state.config.master_key, new);
    let (shop_after, news_after) = (sub(&restarted, &shop, email).await, sub(&restarted, &news, email).await);
    assert_eq!(shop_after, shop_before, "the shop knows the customer by the same sub");
    assert_eq!(news_after, news_before);
    assert_ne!(shop_after, news_after);
}
