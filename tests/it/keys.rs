//! Signing-key rotation (issue #15, "Keys"): a new key is published before it signs (OIDC
//! Core §10.1.1), the old one stays published until every token it signed has expired, a
//! revoked key is withdrawn at once with its tokens, a second node picks changes up within
//! the cache TTL, the schedule, the CLI and the admin API.

use crate::admin::{admin_token, call};
use crate::support::{TestServer, cli, signed_in_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::crypto::keys::Alg;
use tessera::crypto::ring::KeyState;
use tessera::events::audit::Caller;
use tessera::keys::rotation;

async fn jwks_kids(server: &TestServer) -> Vec<String> {
    let jwks: Value = reqwest::get(server.url("/jwks.json")).await.unwrap().json().await.unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
}

fn kid_of(jwt: &str) -> String {
    use base64::Engine;
    let header = jwt.split('.').next().unwrap();
    let header: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

fn state_of(keys: &[rotation::KeyView], kid: &str) -> KeyState {
    keys.iter().find(|k| k.kid == kid).unwrap().state
}

#[tokio::test]
async fn a_new_key_is_published_first_then_signs_and_the_old_one_leaves_after_its_tokens_expire() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "rot@example.com").await;
    let first = server.exchange(&client, &code, &verifier).await;
    let old = kid_of(first["access_token"].as_str().unwrap());
    assert_eq!(old, kid_of(first["id_token"].as_str().unwrap()));

    let added =
        rotation::rotate(&server.state, Caller::operator(), Some(Alg::Es256), Some(3_600_000), server.state.now())
            .await
            .unwrap();
    let new = added[0].kid.clone();
    assert_eq!(added[0].state, KeyState::Next);
    // Published at once, before any token names it…
    let kids = jwks_kids(&server).await;
    assert!(kids.contains(&new) && kids.contains(&old), "{kids:?}");
    // …and not signing during the lead time.
    server.clock.advance_secs(3_599);
    let (code, verifier) = signed_in_code(&server, &browser, &client, "rot@example.com").await;
    let before = server.exchange(&client, &code, &verifier).await;
    assert_eq!(kid_of(before["access_token"].as_str().unwrap()), old);

    // Once the lead time has passed the new key signs; the old one is retired, still published,
    // and what it signed still verifies.
    server.clock.advance_secs(2);
    let (code, verifier) = signed_in_code(&server, &browser, &client, "rot@example.com").await;
    let after = server.exchange(&client, &code, &verifier).await;
    assert_eq!(kid_of(after["access_token"].as_str().unwrap()), new);
    assert_eq!(kid_of(after["id_token"].as_str().unwrap()), new);
    assert!(jwks_kids(&server).await.contains(&old));
    let info = server.userinfo(before["access_token"].as_str().unwrap()).await;
    assert_eq!(info["email"], "rot@example.com", "{info}");
    let keys = rotation::list(&server.state, server.state.now()).await.unwrap();
    assert_eq!((state_of(&keys, &old), state_of(&keys, &new)), (KeyState::Retired, KeyState::Current));
    let retired = keys.iter().find(|k| k.kid == old).unwrap();
    assert_eq!(retired.retires_at, Some(added[0].activates_at));
    // Kept for the longest token lifetime (here the ID token's hour), then dropped.
    assert_eq!(retired.unpublished_at, Some(added[0].activates_at + server.state.config.id_token_ttl_secs * 1000));
    server.clock.advance_secs(server.state.config.id_token_ttl_secs - 10);
    assert!(jwks_kids(&server).await.contains(&old));
    server.clock.advance_secs(11);
    let kids = jwks_kids(&server).await;
    assert!(!kids.contains(&old) && kids.contains(&new), "{kids:?}");
    let keys = rotation::list(&server.state, server.state.now()).await.unwrap();
    assert_eq!(state_of(&keys, &old), KeyState::Expired);
    // The other algorithms were not touched: three keys are published.
    assert_eq!(kids.len(), 3);
}

#[tokio::test]
async fn a_revoked_key_is_withdrawn_at_once_and_its_tokens_stop_verifying() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "rev@example.com").await;
    let tokens = server.exchange(&client, &code, &verifier).await;
    let access = tokens["access_token"].as_str().unwrap();
    let old = kid_of(access);
    // Seen once, so the verified-token memory holds it.
    assert_eq!(server.userinfo(access).await["email"], "rev@example.com");
    assert_eq!(server.introspect(&client, access).await["active"], true);

    let admin = admin_token(&server).await;
    let (status, _, body) =
        call(&server, "POST", &format!("/admin/api/v1/keys/{old}/revoke"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let changed = body["keys"].as_array().unwrap();
    assert_eq!(changed.len(), 2, "{body}");
    assert_eq!(changed.iter().find(|k| k["kid"] == old.as_str()).unwrap()["state"], "revoked");
    let successor = changed.iter().find(|k| k["kid"] != old.as_str()).unwrap();
    assert_eq!(successor["state"], "current", "a new key signs at once: {body}");

    let kids = jwks_kids(&server).await;
    assert!(!kids.contains(&old), "withdrawn from the JWKS at once");
    assert!(kids.contains(&successor["kid"].as_str().unwrap().to_string()));
    // Its tokens: refused by userinfo (despite the memory), inactive at introspection, and
    // not accepted as an id_token_hint.
    let res = reqwest::Client::new().get(server.url("/userinfo")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.introspect(&client, access).await["active"], false);
    let hint = tokens["id_token"].as_str().unwrap();
    let page = browser.get(&format!("/logout?id_token_hint={hint}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    // The admin token was signed by the same key: it is dead too.
    let (status, _, _) = call(&server, "GET", "/admin/api/v1/keys", Some(&admin), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The refresh token (opaque) still works and brings tokens under the new key.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, fresh) = server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(kid_of(fresh["access_token"].as_str().unwrap()), successor["kid"].as_str().unwrap());
    assert_eq!(server.userinfo(fresh["access_token"].as_str().unwrap()).await["email"], "rev@example.com");

    // Audited, with the calling client.
    let admin = admin_token(&server).await;
    let (_, _, audit) = call(&server, "GET", "/admin/api/v1/audit?action=keys.revoked", Some(&admin), None).await;
    let entry = &audit["entries"][0];
    assert_eq!(entry["target"], old.as_str(), "{audit}");
    assert_eq!(entry["actor"]["kind"], "client", "{audit}");
}

#[tokio::test]
async fn revoking_a_current_key_hands_over_to_its_waiting_successor_and_the_admin_api_rotates() {
    let server = TestServer::start().await;
    let admin = admin_token(&server).await;
    let (status, _, body) = call(
        &server,
        "POST",
        "/admin/api/v1/keys/rotate",
        Some(&admin),
        Some(json!({"alg": "EdDSA", "lead_time_secs": 600})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let next = body["keys"][0]["kid"].as_str().unwrap().to_string();
    assert_eq!(body["keys"][0]["state"], "next");
    assert_eq!(body["keys"][0]["alg"], "EdDSA");
    let (status, _, body) =
        call(&server, "POST", "/admin/api/v1/keys/rotate", Some(&admin), Some(json!({"alg": "HS256"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let now = server.state.now();
    let keys = rotation::list(&server.state, now).await.unwrap();
    let current = keys.iter().find(|k| k.alg == "EdDSA" && k.state == KeyState::Current).unwrap().kid.clone();
    let changed = rotation::revoke(&server.state, Caller::operator(), &current, now).await.unwrap();
    assert!(changed.iter().any(|k| k.kid == next && k.state == KeyState::Current), "{changed:?}");
    assert_eq!(server.state.keys.at(now).current(Alg::EdDsa).kid, next);
    // No new key was needed; a key revoked twice is refused, an unknown one is not found.
    let keys = rotation::list(&server.state, now).await.unwrap();
    assert_eq!(keys.iter().filter(|k| k.alg == "EdDSA").count(), 2);
    assert!(rotation::revoke(&server.state, Caller::operator(), &current, now).await.is_err());
    let (status, _, _) = call(&server, "POST", "/admin/api/v1/keys/nope/revoke", Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = call(&server, "GET", "/admin/api/v1/keys", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["keys"].as_array().unwrap().len(), 4, "{body}");
}

#[tokio::test]
async fn a_second_node_picks_up_a_change_within_the_cache_ttl() {
    let server = TestServer::start().await;
    let other = tessera::AppState::build(server.state.config.clone(), server.clock.clone()).await.unwrap();
    let now = server.state.now();
    let kid = server.state.keys.at(now).current(Alg::Es256).kid.clone();
    assert_eq!(other.keys.at(now).current(Alg::Es256).kid, kid);
    rotation::revoke(&server.state, Caller::operator(), &kid, now).await.unwrap();
    // This node reloaded at once; the other still serves what it loaded…
    assert!(server.state.keys.at(now).find(&kid).is_none());
    tessera::keys::ring::reload_if_stale(&other, now).await;
    assert!(other.keys.at(now).find(&kid).is_some());
    // …until its copy is older than the cache TTL (or the "keys changed" hook runs).
    server.clock.advance_secs(server.state.config.client_cache_secs);
    let later = server.state.now();
    tessera::keys::ring::reload_if_stale(&other, later).await;
    assert!(other.keys.at(later).find(&kid).is_none());
    assert_eq!(other.keys.at(later).current(Alg::Es256).kid, server.state.keys.at(later).current(Alg::Es256).kid);
}

#[tokio::test]
async fn the_schedule_rotates_every_algorithm_with_its_lead_time() {
    let server = TestServer::start_with(|c| {
        c.key_rotation_days = 30;
        c.key_rotation_lead_secs = 7200;
    })
    .await;
    let next = |keys: &[rotation::KeyView]| keys.iter().filter(|k| k.state == KeyState::Next).count();
    assert_eq!(next(&rotation::list(&server.state, server.state.now()).await.unwrap()), 0);
    server.clock.advance_secs(30 * 86_400);
    // The worker (ticking on real time) notices.
    let mut keys = Vec::new();
    for _ in 0..200 {
        keys = rotation::list(&server.state, server.state.now()).await.unwrap();
        if next(&keys) == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(next(&keys), 3, "{keys:?}");
    assert!(keys.iter().filter(|k| k.state == KeyState::Next).all(|k| k.activates_at == k.created_at + 7_200_000));
    // Done once: the next tick finds fresh keys.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(next(&rotation::list(&server.state, server.state.now()).await.unwrap()), 3);
}

#[test]
fn the_cli_lists_rotates_and_revokes_keys() {
    let dir = tempfile::tempdir().unwrap();
    let list = |dir: &std::path::Path| -> Vec<Value> {
        let out = cli(dir, &["keys", "list", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let keys = list(dir.path());
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k["state"] == "current"));
    let out = cli(dir.path(), &["keys", "rotate", "--alg", "ES256", "--lead-time", "1h"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("ES256") && text.contains("next"), "{text}");
    let keys = list(dir.path());
    let next = keys.iter().find(|k| k["state"] == "next").unwrap();
    assert_eq!(next["activates_at"].as_i64().unwrap() - next["created_at"].as_i64().unwrap(), 3_600_000);
    let current = keys.iter().find(|k| k["state"] == "current" && k["alg"] == "ES256").unwrap();
    assert_eq!(current["retires_at"], next["activates_at"]);
    let kid = current["kid"].as_str().unwrap();
    let out = cli(dir.path(), &["keys", "revoke", kid]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let keys = list(dir.path());
    assert_eq!(keys.iter().find(|k| k["kid"] == kid).unwrap()["state"], "revoked");
    assert_eq!(keys.iter().find(|k| k["kid"] == next["kid"]).unwrap()["state"], "current");
    let out = cli(dir.path(), &["keys", "revoke", "no-such-key"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signing key"));
    let out = cli(dir.path(), &["keys", "rotate", "--lead-time", "soon"]);
    assert!(!out.status.success());
    // The audit log names the operator.
    let out = cli(dir.path(), &["audit", "--action", "keys.revoked"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(kid), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_running_the_schedule_at_the_same_moment_add_one_next_key() {
    // No worker of its own: the two nodes below run the schedule, side by side, on one database.
    let server = TestServer::start_with(|c| {
        c.key_rotation_days = 30;
        c.worker_interval_ms = 0;
    })
    .await;
    let node = || tessera::AppState::build(server.state.config.clone(), server.clock.clone());
    let (a, b) = (node().await.unwrap(), node().await.unwrap());
    for round in 1..=3 {
        server.clock.advance_secs(30 * 86_400);
        let now = server.state.now();
        let (on_a, on_b) = (a.clone(), b.clone());
        let (from_a, from_b) = tokio::join!(
            tokio::spawn(async move { rotation::rotate_due(&on_a, now).await }),
            tokio::spawn(async move { rotation::rotate_due(&on_b, now).await })
        );
        let (from_a, from_b) = (from_a.unwrap().unwrap(), from_b.unwrap().unwrap());
        assert_eq!(from_a + from_b, 3, "round {round}: one key per algorithm between them ({from_a} + {from_b})");
        let keys = rotation::list(&server.state, now).await.unwrap();
        for alg in Alg::ALL {
            let next: Vec<_> = keys.iter().filter(|k| k.alg == alg.as_str() && k.state == KeyState::Next).collect();
            assert_eq!(next.len(), 1, "round {round}, {}: {keys:?}", alg.as_str());
            assert_eq!(next[0].created_at, now);
        }
        // Each node then finds the schedule done.
        assert_eq!(rotation::rotate_due(&a, now).await.unwrap() + rotation::rotate_due(&b, now).await.unwrap(), 0);
    }
    let query = serde_json::from_value(json!({ "action": "keys.rotated" })).unwrap();
    let audited = tessera::events::audit_query::search(&server.state, &query).await.unwrap();
    assert_eq!(audited.entries.len(), 9, "one audit entry per key added");

    // The store's side of it: a second successor of one key is not written.
    let store = &server.state.store;
    let kid = &rotation::list(&server.state, server.state.now()).await.unwrap()[0].kid;
    let now = server.state.now();
    for expected in [true, false] {
        let record = tessera::keys::ring::new_key(&server.state.master_key, Alg::Es256, now, now).unwrap();
        let mut tx = store.begin().await.unwrap();
        let inserted = tessera::store::Store::insert_scheduled_signing_key_in(&mut tx, &record, kid).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(inserted, expected);
    }
}
