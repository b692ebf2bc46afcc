//! Withdraw everything, restriction and correction, end to end: filed in the privacy
//! centre, events in the outbox, the customer mailed at receipt and completion.

use super::{customer_id, file, requests_of, signed_in};
use crate::admin::{admin_token, call};
use crate::consent_purposes::{ALL, setup, tokens_with};
use crate::outbox::stored;
use crate::support::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use tessera::consent::ledger;

async fn granted(server: &TestServer, customer: &str, client: &str) -> Vec<String> {
    let c = tessera::consent::in_force(&server.state.store, customer, client).await.unwrap();
    c.into_iter().map(|c| c.purpose).collect()
}

#[tokio::test]
async fn withdraw_everything_takes_every_consent_back_at_once_and_completes() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let email = "opt@example.com";
    let browser = server.browser();
    let tokens = tokens_with(&server, &browser, &client, ALL, &["marketing.email"]).await;
    let customer = customer_id(&server, email).await;
    assert_eq!(granted(&server, &customer, &client.id).await.len(), 2);
    let done = file(&browser, "withdraw_all", &[]).await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy/requests?done=filed"), "{}", done.body);
    assert!(granted(&server, &customer, &client.id).await.is_empty());
    let scope = server.state.store.consented_scope(&customer, &client.id).await.unwrap().unwrap_or_default();
    assert!(scope.is_empty(), "{scope}");
    let r = requests_of(&server, &customer).await.pop().unwrap();
    assert_eq!((r.kind.as_str(), r.status.as_str()), ("withdraw_all", "completed"));
    // The ledger proves each withdrawal, made in the privacy centre.
    let withdrawn: Vec<_> = ledger::export(&server.state, &customer)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "withdrawn")
        .map(|e| (e.item, e.channel))
        .collect();
    assert!(withdrawn.contains(&("purpose:marketing.email".into(), "privacy_centre".into())), "{withdrawn:?}");
    assert!(withdrawn.contains(&("scope:email".into(), "privacy_centre".into())), "{withdrawn:?}");
    // The app's tokens no longer work: the required purpose went.
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(server.introspect(&client, access).await["active"], false);
    // Events and mails at receipt and completion.
    let events = stored(&server.state.config.database_url()).await;
    for kind in ["privacy_request.created", "privacy_request.completed"] {
        let e = events.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("{kind}"));
        assert_eq!(e.payload["request_id"], r.id.as_str());
        assert_eq!(e.subject.as_deref(), Some(customer.as_str()));
    }
    let last = server.smtp.last_mail_to(email).await;
    assert_eq!(last.subject(), "Your privacy request is completed");
    // The privacy centre shows it with its due date.
    let page = browser.get("/account/privacy/requests").await;
    assert!(page.body.contains("withdrawing every consent") && page.body.contains("completed"), "{}", page.body);
}

#[tokio::test]
async fn a_restriction_stops_the_purpose_at_once_and_an_admin_closes_it() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let email = "opt@example.com";
    let browser = server.browser();
    tokens_with(&server, &browser, &client, ALL, &["marketing.email", "analytics"]).await;
    let customer = customer_id(&server, email).await;
    let done = file(&browser, "restriction", &[("purpose", "analytics")]).await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy/requests?done=filed"), "{}", done.body);
    let mut left = granted(&server, &customer, &client.id).await;
    left.sort();
    assert_eq!(left, ["marketing.email", "personalisation"], "only the restricted purpose stopped");
    let r = requests_of(&server, &customer).await.pop().unwrap();
    assert_eq!((r.status.as_str(), r.purpose.as_deref()), ("verified", Some("analytics")));
    let token = admin_token(&server).await;
    let path = format!("/admin/api/v1/privacy-requests/{}/complete", r.id);
    let (status, _, body) =
        call(&server, "POST", &path, Some(&token), Some(json!({ "reason": "analytics stopped" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["closed_reason"], "analytics stopped");
    assert_eq!(server.smtp.last_mail_to(email).await.subject(), "Your privacy request is completed");
}

#[tokio::test]
async fn a_correction_is_recorded_for_an_admin_who_can_reject_it_with_a_reason() {
    let server = TestServer::start().await;
    let email = "fix@example.com";
    let browser = signed_in(&server, email).await;
    let customer = customer_id(&server, email).await;
    let done = file(&browser, "correction", &[("details", "My family name is Smyth, not Smith")]).await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy/requests?done=filed"), "{}", done.body);
    assert_eq!(server.smtp.last_mail_to(email).await.subject(), "We received your privacy request");
    let r = requests_of(&server, &customer).await.pop().unwrap();
    assert_eq!((r.kind.as_str(), r.status.as_str()), ("correction", "verified"));
    assert_eq!(r.details.as_deref(), Some("My family name is Smyth, not Smith"));
    let token = admin_token(&server).await;
    let path = format!("/admin/api/v1/privacy-requests/{}/reject", r.id);
    let (status, _, body) = call(&server, "POST", &path, Some(&token), Some(json!({ "reason": "" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reason is required: {body}");
    let (status, _, body) =
        call(&server, "POST", &path, Some(&token), Some(json!({ "reason": "no proof of the name" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected");
    let (status, _, _) = call(&server, "POST", &path, Some(&token), Some(json!({ "reason": "again" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "closed already");
    let mail = server.smtp.last_mail_to(email).await;
    assert_eq!(mail.subject(), "Your privacy request is rejected");
    assert!(mail.decoded().contains("no proof of the name"));
    let page = browser.get("/account/privacy/requests").await;
    assert!(page.body.contains("rejected"), "{}", page.body);
}
