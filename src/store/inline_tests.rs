//! The inline SQLite statements (`inline.rs`) against the pool's: the same records, the pool
//! taking over when another writer holds the database, and nothing written twice.

use super::{ClientRecord, GrantRecord, SessionRecord, Store};
use std::time::Duration;

async fn store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}/inline.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let inline = store.inline.as_ref().expect("a SQLite file gets inline statements");
    assert!(inline.busy_timeouts().iter().all(|t| *t == 0), "{:?}", inline.busy_timeouts());
    store
}

/// The same store with every statement on the pool.
fn pool_only(store: &Store) -> Store {
    Store { inline: None, ..store.clone() }
}

async fn customer_with_grant(store: &Store, now: i64) -> (String, GrantRecord) {
    let mut tx = store.begin().await.unwrap();
    let (customer, _, _) = Store::prove_mailbox_in(&mut tx, "ada@example.com", "c-1", now).await.unwrap();
    let session = SessionRecord {
        id: "s-1".into(),
        token_hash: "session-hash".into(),
        customer_id: customer.clone(),
        auth_time: now,
        acr: "1".into(),
        amr: "email".into(),
        user_agent: "test".into(),
        ip: "127.0.0.1".into(),
        created_at: now,
        expires_at: now + 3_600_000,
        last_seen_at: now,
        persistent: 0,
    };
    Store::insert_session_in(&mut tx, &session).await.unwrap();
    let client = ClientRecord {
        id: "app".into(),
        name: "App".into(),
        secret_hash: None,
        redirect_uris: "https://app.example/cb".into(),
        post_logout_redirect_uris: String::new(),
        allowed_scopes: "openid email".into(),
        consent_required: 0,
        id_token_alg: "ES256".into(),
        created_at: now,
        backchannel_logout_uri: String::new(),
        pkce_required: 1,
        grant_types: "authorization_code refresh_token".into(),
        introspect: 0,
        resources: String::new(),
        allowed_origins: String::new(),
        sector_identifier: String::new(),
    };
    Store::insert_client_in(&mut tx, &client).await.unwrap();
    tx.commit().await.unwrap();
    let grant = GrantRecord {
        id: "g-1".into(),
        client_id: "app".into(),
        customer_id: customer.clone(),
        session_id: Some("s-1".into()),
        scope: "openid email".into(),
        auth_time: now,
        acr: "1".into(),
        amr: "email".into(),
        created_at: now,
        revoked_at: None,
        resource: String::new(),
    };
    store.open_grant(&grant, "refresh-1", now + 60_000).await.unwrap();
    (customer, grant)
}

#[tokio::test]
async fn inline_reads_give_the_records_the_pool_gives() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let now = 1_800_000_000_000;
    let (customer, grant) = customer_with_grant(&store, now).await;
    let pool = pool_only(&store);
    let same = |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| assert_eq!(format!("{a:?}"), format!("{b:?}"));

    let inline_customer = store.customer(&customer).await.unwrap();
    assert!(inline_customer.is_some());
    same(&inline_customer, &pool.customer(&customer).await.unwrap());
    let inline_session = store.session_by_token("session-hash", now).await.unwrap();
    assert_eq!(inline_session.as_ref().map(|s| s.id.as_str()), Some("s-1"));
    same(&inline_session, &pool.session_by_token("session-hash", now).await.unwrap());
    let refresh = store.refresh_token("refresh-1").await.unwrap();
    assert_eq!(refresh.as_ref().map(|r| r.grant.id.as_str()), Some("g-1"));
    same(&refresh, &pool.refresh_token("refresh-1").await.unwrap());
    same(
        &store.customer_for_token(&customer, "jti", &grant.id, "app").await.unwrap(),
        &pool.customer_for_token(&customer, "jti", &grant.id, "app").await.unwrap(),
    );
    let standing = store.access_token_standing("jti", &grant.id, "app", now).await.unwrap();
    assert!(!standing.revoked);
    same(&standing, &pool.access_token_standing("jti", &grant.id, "app", now).await.unwrap());
    // Nothing found is nothing found on both.
    assert!(store.customer("nobody").await.unwrap().is_none());
    assert!(store.session_by_token("session-hash", now + 7_200_000).await.unwrap().is_none());

    // With the pool closed, the token path still reads and writes: it runs inline.
    store.close().await;
    assert!(store.customer(&customer).await.unwrap().is_some());
    assert!(store.rotate_refresh_token("refresh-1", "refresh-2", &grant.id, now + 1, now + 60_000).await.unwrap());
    assert!(store.refresh_token("refresh-1").await.unwrap().unwrap().rotated_at.is_some());
    // A second successor of the same token is refused (the unique parent), inline too.
    assert!(!store.rotate_refresh_token("refresh-1", "refresh-3", &grant.id, now + 2, now + 60_000).await.unwrap());
    assert!(pool.customer(&customer).await.is_err(), "the pool is closed");
}

#[tokio::test]
async fn a_write_that_meets_another_writer_waits_on_the_pool_and_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let now = 1_800_000_000_000;
    let (_, grant) = customer_with_grant(&store, now).await;

    // The pool's writer holds the database in a transaction that has written.
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE grants SET scope = scope WHERE id = $1").bind(&grant.id).execute(&mut *tx.0).await.unwrap();
    let rotating = tokio::spawn({
        let store = store.clone();
        let id = grant.id.clone();
        async move { store.rotate_refresh_token("refresh-1", "refresh-2", &id, now + 1, now + 60_000).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!rotating.is_finished(), "the rotation waits for the other writer instead of failing");
    tx.commit().await.unwrap();
    assert!(rotating.await.unwrap().unwrap(), "then it is written");
    assert!(!store.rotate_refresh_token("refresh-1", "refresh-3", &grant.id, now + 2, now + 60_000).await.unwrap());
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refresh_tokens WHERE parent_hash = 'refresh-1'")
        .fetch_one(&store.read)
        .await
        .unwrap();
    assert_eq!(rows, 1, "one successor, written once");

    // A new family opened while the pool's writer is busy is also written whole, once.
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE grants SET scope = scope WHERE id = $1").bind(&grant.id).execute(&mut *tx.0).await.unwrap();
    let opening = tokio::spawn({
        let store = store.clone();
        let grant = GrantRecord { id: "g-2".into(), ..grant.clone() };
        async move { store.open_grant(&grant, "refresh-g2", now + 60_000).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!opening.is_finished());
    tx.0.rollback().await.unwrap();
    opening.await.unwrap().unwrap();
    let found = store.refresh_token("refresh-g2").await.unwrap().unwrap();
    assert_eq!(found.grant.id, "g-2");
    store.close().await;
}

#[tokio::test]
async fn the_log_starts_again_under_a_steady_stream_of_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let now = 1_800_000_000_000;
    let (_, grant) = customer_with_grant(&store, now).await;
    let wal = dir.path().join("inline.db-wal");
    let mut biggest = 0;
    // Each rotation writes several pages to the log: 2,000 of them are tens of MB of log
    // unless checkpoints let SQLite start it again from the beginning.
    let mut parent = "refresh-1".to_string();
    for i in 0..2_000 {
        let next = format!("refresh-{}", i + 2);
        assert!(store.rotate_refresh_token(&parent, &next, &grant.id, now + i, now + 60_000).await.unwrap());
        parent = next;
        if i % 100 == 0 {
            // Let the checkpoint that the last commits started run.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        biggest = biggest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    // Measured: about 4 MB with the restarting checkpoints, 21 MB with passive ones.
    assert!(biggest < 10 * 1024 * 1024, "the WAL grew to {biggest} bytes");
    assert!(store.refresh_token(&parent).await.unwrap().is_some());
}
