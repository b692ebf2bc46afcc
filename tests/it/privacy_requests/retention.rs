//! Retention, enforced by the worker: ended sessions after `session_retention_days`, accounts
//! that never finished a first sign-in after `unverified_account_retention_days`.

use super::{customer_id, signed_in};
use crate::support::TestServer;
use sqlx::{Connection, Row};

async fn count(server: &TestServer, sql: &'static str, id: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    sqlx::query(sql).bind(id).fetch_one(&mut conn).await.unwrap().get::<i64, _>(0)
}

#[tokio::test]
async fn ended_sessions_and_accounts_that_never_signed_in_go_after_their_retention() {
    let server = TestServer::start().await;
    signed_in(&server, "kept@example.com").await;
    let kept = customer_id(&server, "kept@example.com").await;
    // An account whose first sign-in never finished: the mailbox was never proven.
    let now = server.state.now();
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    sqlx::query(
        "INSERT INTO customers (id, email, email_verified, created_at, updated_at) VALUES ('c_never', 'never@example.com', 0, $1, $1)",
    )
    .bind(now)
    .execute(&mut conn)
    .await
    .unwrap();
    let sessions = "SELECT COUNT(*) FROM sessions WHERE customer_id = $1";
    let customers = "SELECT COUNT(*) FROM customers WHERE id = $1";
    assert_eq!(count(&server, sessions, &kept).await, 1);
    // Within the retention nothing goes (the session ended after a day, 29 days ago).
    server.clock.advance_secs(29 * 86_400);
    tessera::privacy::jobs::retention(&server.state, server.state.now()).await.unwrap();
    assert_eq!(count(&server, sessions, &kept).await, 1);
    assert_eq!(count(&server, customers, "c_never").await, 1);
    server.clock.advance_secs(3 * 86_400);
    tessera::privacy::jobs::retention(&server.state, server.state.now()).await.unwrap();
    assert_eq!(count(&server, sessions, &kept).await, 0, "the ended session went");
    assert_eq!(count(&server, customers, "c_never").await, 0, "the never-used account went");
    assert_eq!(count(&server, customers, &kept).await, 1, "a real account stays");
}
