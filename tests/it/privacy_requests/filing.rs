//! Only the owner files a request: a fresh proof at the account's strongest level for any
//! request, and for export and deletion a second, different proof (a mailed code). A stolen
//! session alone can never export or delete; every refusal is audited.

use super::{PAGE, confirm_with_mailed_code, customer_id, file, requests_of, signed_in};
use crate::support::TestServer;
use reqwest::StatusCode;
use tessera::store::AuditFilter;

async fn refusals(server: &TestServer, customer: &str) -> Vec<Option<String>> {
    let f = AuditFilter {
        target: Some(customer.into()),
        action: Some("privacy_request.refused".into()),
        limit: 50,
        ..Default::default()
    };
    server.state.store.audit_entries(&f).await.unwrap().into_iter().map(|e| e.reason).collect()
}

#[tokio::test]
async fn a_stolen_session_alone_can_never_export_or_delete() {
    let server = TestServer::start().await;
    let browser = signed_in(&server, "owner@example.com").await;
    let customer = customer_id(&server, "owner@example.com").await;
    // The session is older than five minutes: what a thief holding the cookie has.
    server.clock.advance_secs(6 * 60);
    for kind in ["deletion", "access_export", "withdraw_all"] {
        let refused = file(&browser, kind, &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{kind}");
        assert!(refused.body.contains("Confirm it is you first"), "{}", refused.body);
        assert!(refused.body.contains("/login/step-up?next=%2Faccount%2Fprivacy%2Frequests"), "{}", refused.body);
    }
    assert!(requests_of(&server, &customer).await.is_empty(), "nothing filed");
    assert_eq!(refusals(&server, &customer).await.len(), 3);
    assert!(refusals(&server, &customer).await.iter().all(|r| r.as_deref() == Some("no_fresh_proof")));
    // No code was mailed either: the last mail is still the sign-in link.
    assert_eq!(server.smtp.last_mail_to("owner@example.com").await.subject(), "Your sign-in link and code");
}

#[tokio::test]
async fn a_fresh_session_without_the_mailed_code_cannot_export_or_delete() {
    let server = TestServer::start().await;
    let email = "fresh@example.com";
    let browser = signed_in(&server, email).await;
    let customer = customer_id(&server, email).await;
    let asked = file(&browser, "deletion", &[]).await;
    assert!(asked.body.contains("We mailed a 6-digit code"), "{}", asked.body);
    let code = server.smtp.last_mail_to(email).await.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    // Five wrong codes void it; the right one no longer works after that.
    for left in (0..5).rev() {
        let page = browser.post("/account/privacy/requests/confirm", &[("csrf", &asked.csrf()), ("code", wrong)]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        if left > 0 {
            assert!(page.body.contains(&format!("{left} tries left")), "{}", page.body);
        }
    }
    let late = browser.post("/account/privacy/requests/confirm", &[("csrf", &asked.csrf()), ("code", &code)]).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.body);
    assert!(requests_of(&server, &customer).await.is_empty(), "nothing filed");
    let reasons = refusals(&server, &customer).await;
    assert_eq!(reasons.iter().filter(|r| r.as_deref() == Some("wrong_code")).count(), 5);
    assert_eq!(reasons.iter().filter(|r| r.as_deref() == Some("no_code")).count(), 1);

    // A code asked for in one session does not work in another.
    let other = signed_in(&server, email).await;
    let asked = file(&other, "access_export", &[]).await;
    let code = server.smtp.last_mail_to(email).await.code();
    let page = browser.get(PAGE).await;
    let elsewhere = browser.post("/account/privacy/requests/confirm", &[("csrf", &page.csrf()), ("code", &code)]).await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert!(requests_of(&server, &customer).await.is_empty());
    // In its own session it files the request, once.
    let done = confirm_with_mailed_code(&server, &other, email, &asked).await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy/requests?done=filed"), "{}", done.body);
    let again = other.post("/account/privacy/requests/confirm", &[("csrf", &asked.csrf()), ("code", &code)]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "single use");
    let filed = requests_of(&server, &customer).await;
    assert_eq!(filed.len(), 1);
    // Filed as verified; the worker (ticking beside the test) may already have built it.
    assert_eq!(filed[0].kind, "access_export");
    assert!(["verified", "in_progress", "completed"].contains(&filed[0].status.as_str()), "{}", filed[0].status);
}

#[tokio::test]
async fn requests_that_need_input_say_what_is_missing() {
    let server = TestServer::start().await;
    let browser = signed_in(&server, "input@example.com").await;
    let restriction = file(&browser, "restriction", &[]).await;
    assert_eq!(restriction.status, StatusCode::BAD_REQUEST);
    assert!(restriction.body.contains("Name the use of your data"), "{}", restriction.body);
    let correction = file(&browser, "correction", &[("details", "  ")]).await;
    assert_eq!(correction.status, StatusCode::BAD_REQUEST);
    let unknown = file(&browser, "everything", &[]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(requests_of(&server, &customer_id(&server, "input@example.com").await).await.is_empty());
}
