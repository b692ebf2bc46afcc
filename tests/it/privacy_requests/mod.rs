//! Privacy requests (issue #14): filed only by the account's owner with fresh proofs, every
//! kind end to end, deadlines per jurisdiction, the admin API and CLI, retention.

mod admin;
mod deletion;
mod export;
mod filing;
mod kinds;
mod retention;

use crate::support::TestServer;
use crate::support::browser::{Browser, Page};
use sqlx::{Connection, Row};

pub const PAGE: &str = "/account/privacy/requests";

/// A browser signed in as `email` just now (a fresh proof for an email-only account).
pub async fn signed_in(server: &TestServer, email: &str) -> Browser {
    let browser = server.browser();
    let login = browser.get("/login").await;
    browser.sign_in_from(server, login, email).await;
    browser
}

/// Post a request of `kind` (with `extra` fields) from the requests page.
pub async fn file(browser: &Browser, kind: &str, extra: &[(&str, &str)]) -> Page {
    let page = browser.get(PAGE).await;
    let csrf = page.csrf();
    let mut form = vec![("csrf", csrf.as_str()), ("kind", kind)];
    form.extend_from_slice(extra);
    browser.post(PAGE, &form).await
}

/// Type the code mailed to `email` into the confirmation page.
pub async fn confirm_with_mailed_code(server: &TestServer, browser: &Browser, email: &str, asked: &Page) -> Page {
    let mail = server.smtp.last_mail_to(email).await;
    assert_eq!(mail.subject(), "Confirm your privacy request");
    browser.post("/account/privacy/requests/confirm", &[("csrf", &asked.csrf()), ("code", &mail.code())]).await
}

/// File `kind` with both proofs (fresh sign-in, mailed code); returns the final page.
pub async fn file_confirmed(server: &TestServer, browser: &Browser, email: &str, kind: &str) -> Page {
    let asked = file(browser, kind, &[]).await;
    assert!(asked.body.contains("We mailed a 6-digit code"), "{}", asked.body);
    confirm_with_mailed_code(server, browser, email, &asked).await
}

pub async fn customer_id(server: &TestServer, email: &str) -> String {
    server.state.store.customer_by_email(email).await.unwrap().unwrap().id
}

pub async fn requests_of(server: &TestServer, customer: &str) -> Vec<tessera::store::PrivacyRequestRecord> {
    server.state.store.privacy_requests_of(customer).await.unwrap()
}

/// Poll (the worker runs on real time) until `done` holds.
pub async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Every text value in every table of the database, as (table, column, value).
pub async fn every_value(server: &TestServer) -> Vec<(String, String, String)> {
    let url = server.state.config.database_url();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let postgres = !url.starts_with("sqlite:");
    let tables_sql = if postgres {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    };
    let tables: Vec<String> =
        sqlx::query(tables_sql).fetch_all(&mut conn).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert!(tables.len() > 20, "{tables:?}");
    let mut out = Vec::new();
    for table in tables {
        let columns_sql = if postgres {
            format!(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}'"
            )
        } else {
            format!("SELECT name FROM pragma_table_info('{table}')")
        };
        let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(columns_sql))
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for column in columns {
            // Blobs (sealed secrets) as hex on SQLite; PostgreSQL writes bytea as text itself.
            let sql = if postgres {
                format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\"")
            } else {
                format!(
                    "SELECT CASE WHEN typeof(\"{column}\") = 'blob' THEN hex(\"{column}\") \
                     ELSE CAST(\"{column}\" AS TEXT) END FROM \"{table}\""
                )
            };
            for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap() {
                if let Ok(Some(v)) = row.try_get::<Option<String>, _>(0) {
                    out.push((table.clone(), column.clone(), v));
                }
            }
        }
    }
    out
}
