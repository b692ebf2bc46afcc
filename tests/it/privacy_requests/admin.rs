//! Deadlines per jurisdiction (from the customer's country, else the default), extension
//! with a reason, the admin API's filters and flags, notes, the privacy contact's reminders
//! and the `tessera privacy-requests` command.

use super::{customer_id, file, requests_of, signed_in};
use crate::admin::{admin_token, call};
use crate::support::TestServer;
use chrono::{DateTime, Months};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::store::Store;

const DAY: i64 = 86_400_000;

fn plus_months(ms: i64, months: u32) -> i64 {
    DateTime::from_timestamp_millis(ms).unwrap().checked_add_months(Months::new(months)).unwrap().timestamp_millis()
}

/// A customer living in `country` (and `region`) files a correction; returns the request id.
async fn correction_from(server: &TestServer, email: &str, country: Option<(&str, &str)>) -> String {
    let browser = signed_in(server, email).await;
    let customer = customer_id(server, email).await;
    if let Some((country, region)) = country {
        let address = json!({ "country": country, "region": region }).to_string();
        let mut tx = server.state.store.begin().await.unwrap();
        Store::set_profile_in(&mut tx, &customer, None, None, Some(&address), server.state.now()).await.unwrap();
        tx.commit().await.unwrap();
    }
    let done = file(&browser, "correction", &[("details", "Wrong birthdate")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    requests_of(server, &customer).await.pop().unwrap().id
}

#[tokio::test]
async fn deadlines_follow_the_jurisdiction_and_extend_only_as_the_law_allows() {
    let server = TestServer::start().await;
    let token = admin_token(&server).await;
    // (email, country, jurisdiction, months, days, extension: months, days)
    let cases = [
        ("de@example.com", Some(("DE", "")), "gdpr", 1, 0, Some((2, 0))),
        ("ca@example.com", Some(("US", "CA")), "ccpa", 0, 45, Some((0, 45))),
        ("kr@example.com", Some(("KR", "")), "pipa", 0, 10, None),
        ("jp@example.com", Some(("JP", "")), "appi", 0, 14, None),
        ("nowhere@example.com", None, "gdpr", 1, 0, Some((2, 0))),
    ];
    for (email, country, jurisdiction, months, days, extension) in cases {
        let id = correction_from(&server, email, country).await;
        let (status, _, r) =
            call(&server, "GET", &format!("/admin/api/v1/privacy-requests/{id}"), Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(r["jurisdiction"], jurisdiction, "{email}");
        let received = r["received_at"].as_i64().unwrap();
        let due = plus_months(received, months) + days * DAY;
        assert_eq!(r["due_at"].as_i64(), Some(due), "{email}");
        let path = format!("/admin/api/v1/privacy-requests/{id}/extend");
        let body = json!({ "reason": "the request is complex (Art. 12(3))" });
        let (status, _, extended) = call(&server, "POST", &path, Some(&token), Some(body.clone())).await;
        match extension {
            Some((m, d)) => {
                assert_eq!(status, StatusCode::OK, "{extended}");
                assert_eq!(extended["extended_until"].as_i64(), Some(plus_months(due, m) + d * DAY), "{email}");
                assert_eq!(extended["deadline"], extended["extended_until"]);
                assert_eq!(extended["extension_reason"], "the request is complex (Art. 12(3))");
                let (again, _, _) = call(&server, "POST", &path, Some(&token), Some(body)).await;
                assert_eq!(again, StatusCode::BAD_REQUEST, "extended once only");
                let mail = server.smtp.last_mail_to(email).await;
                assert_eq!(mail.subject(), "We need more time for your privacy request");
            }
            None => assert_eq!(status, StatusCode::BAD_REQUEST, "{email}: {extended}"),
        }
    }
    let f = tessera::store::AuditFilter {
        action: Some("admin.privacy_request.extended".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(server.state.store.audit_entries(&f).await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_admin_api_filters_flags_and_keeps_notes() {
    let server = TestServer::start().await;
    let korean = correction_from(&server, "kr@example.com", Some(("KR", ""))).await;
    let german = correction_from(&server, "de@example.com", Some(("DE", ""))).await;
    // A new admin token each time: the clock moves past a token's lifetime.
    let list = |q: &'static str| {
        let server = &server;
        async move {
            let token = admin_token(server).await;
            let (status, _, body) =
                call(server, "GET", &format!("/admin/api/v1/privacy-requests{q}"), Some(&token), None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["privacy_requests"].as_array().unwrap().clone()
        }
    };
    let ids = |v: &[Value]| v.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&list("").await), [korean.clone(), german.clone()], "soonest due first");
    assert!(list("?due_within=3d").await.is_empty());
    server.clock.advance_secs(8 * 86_400);
    let soon = list("?due_within=3d").await;
    assert_eq!(ids(&soon), std::slice::from_ref(&korean));
    assert_eq!(soon[0]["flag"], "due_soon");
    server.clock.advance_secs(3 * 86_400);
    assert_eq!(list("?due_within=0d").await[0]["flag"], "overdue");
    assert_eq!(list("?status=verified").await.len(), 2);
    assert!(list("?status=completed").await.is_empty());
    let token = admin_token(&server).await;
    let (status, _, _) = call(&server, "GET", "/admin/api/v1/privacy-requests?status=done", Some(&token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) =
        call(&server, "GET", "/admin/api/v1/privacy-requests?due_within=soon", Some(&token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(&server, "GET", "/admin/api/v1/privacy-requests", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let path = format!("/admin/api/v1/privacy-requests/{german}/notes");
    let (status, _, r) =
        call(&server, "POST", &path, Some(&token), Some(json!({ "text": "asked for a passport scan" }))).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["notes"][0]["text"], "asked for a passport scan");
    assert_eq!(r["notes"][0]["by"], "client");
    let f = tessera::store::AuditFilter {
        action: Some("admin.privacy_request.noted".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(server.state.store.audit_entries(&f).await.unwrap().len(), 1);
    let (status, _, _) = call(&server, "GET", "/admin/api/v1/privacy-requests/pr_nothing", Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_privacy_contact_hears_of_nearly_due_and_overdue_requests_once_a_day() {
    let server = TestServer::start_with(|c| c.privacy_contact = "dpo@example.com".into()).await;
    let id = correction_from(&server, "kr@example.com", Some(("KR", ""))).await;
    assert_eq!(server.smtp.count_to("dpo@example.com"), 0);
    // PIPA: 10 days. Three days before, it is nearly due.
    server.clock.advance_secs(8 * 86_400);
    let mail = server.smtp.last_mail_to("dpo@example.com").await;
    assert_eq!(mail.subject(), "Privacy request due soon");
    assert!(mail.decoded().contains(&id));
    server.clock.advance_secs(3600);
    tessera::privacy::jobs::remind_contact(&server.state, server.state.now()).await.unwrap();
    assert_eq!(server.smtp.count_to("dpo@example.com"), 1, "once a day");
    server.clock.advance_secs(3 * 86_400);
    super::eventually("the overdue mail", || async { server.smtp.count_to("dpo@example.com") == 2 }).await;
    assert_eq!(server.smtp.last_mail_to("dpo@example.com").await.subject(), "Overdue privacy request");
}

fn cli_json(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = crate::support::cli(dir, args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn privacy_requests_are_listed_and_answered_from_the_command_line() {
    if crate::support::postgres_database().await.is_some() {
        return; // The command runs on the data folder's SQLite database.
    }
    let dir = tempfile::tempdir().unwrap();
    let config = tessera::Config { data_dir: dir.path().to_path_buf(), ..tessera::Config::default() };
    let clock = std::sync::Arc::new(tessera::clock::SystemClock);
    let state = tessera::AppState::build(config, clock).await.unwrap();
    let now = state.now();
    let record = |id: &str, due_in_days: i64| tessera::store::PrivacyRequestRecord {
        id: id.into(),
        customer_id: "c1".into(),
        kind: "correction".into(),
        status: "verified".into(),
        jurisdiction: "gdpr".into(),
        received_at: now,
        due_at: now + due_in_days * DAY,
        extended_until: None,
        extension_reason: None,
        purpose: None,
        details: Some("name".into()),
        notes: "[]".into(),
        closed_reason: None,
        closed_at: None,
        erase_after: None,
        export_expires_at: None,
        contact_notified_at: None,
        updated_at: now,
    };
    let mut tx = state.store.begin().await.unwrap();
    Store::insert_privacy_request_in(&mut tx, &record("pr_soon", 2)).await.unwrap();
    Store::insert_privacy_request_in(&mut tx, &record("pr_later", 20)).await.unwrap();
    tx.commit().await.unwrap();
    state.store.close().await;
    let soon = cli_json(dir.path(), &["privacy-requests", "list", "--due-within", "3d", "--json"]);
    assert_eq!(soon.as_array().unwrap().len(), 1);
    assert_eq!(soon[0]["id"], "pr_soon");
    assert_eq!(soon[0]["flag"], "due_soon");
    assert_eq!(
        cli_json(dir.path(), &["privacy-requests", "list", "--status", "verified", "--json"]).as_array().unwrap().len(),
        2
    );
    let noted = cli_json(dir.path(), &["privacy-requests", "note", "pr_later", "called the customer"]);
    assert_eq!(noted["notes"][0]["by"], "operator");
    let extended = cli_json(dir.path(), &["privacy-requests", "extend", "pr_later", "--reason", "many records"]);
    assert_eq!(extended["extension_reason"], "many records");
    let done = cli_json(dir.path(), &["privacy-requests", "complete", "pr_soon", "--reason", "corrected"]);
    assert_eq!(done["status"], "completed");
    let shown = cli_json(dir.path(), &["privacy-requests", "show", "pr_soon"]);
    assert_eq!(shown["closed_reason"], "corrected");
    let out = crate::support::cli(dir.path(), &["privacy-requests", "reject", "pr_soon", "--reason", "again"]);
    assert!(!out.status.success());
    let text = crate::support::cli(dir.path(), &["privacy-requests", "list"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("pr_later"));
}
