//! Access and portability: the archive holds everything the test created, is mailed as a
//! link when ready, works for its owner only, and downloads once.

use super::{customer_id, eventually, file_confirmed, requests_of, signed_in};
use crate::consent_purposes::{ALL, setup, tokens_with};
use crate::support::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::store::Store;

fn link_token(text: &str) -> String {
    let at = text.find("/account/privacy/export?token=").expect("the mail has the link")
        + "/account/privacy/export?token=".len();
    text[at..at + 43].to_string()
}

/// The link of the "ready" mail (sent just after the request completes).
async fn ready_link(server: &TestServer, email: &str) -> String {
    super::eventually("the ready mail", || async {
        server.smtp.last_mail_to(email).await.subject() == "Your data is ready to download"
    })
    .await;
    link_token(&server.smtp.last_mail_to(email).await.decoded())
}

#[tokio::test]
async fn the_export_holds_everything_and_downloads_once_for_its_owner() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let email = "opt@example.com";
    let browser = server.browser();
    tokens_with(&server, &browser, &client, ALL, &["marketing.email"]).await;
    let customer = customer_id(&server, email).await;
    let address = json!({ "street_address": "1-1 Chiyoda", "locality": "Tokyo", "country": "JP" });
    let mut tx = server.state.store.begin().await.unwrap();
    Store::set_profile_in(
        &mut tx,
        &customer,
        Some("+81312345678"),
        Some("1990-04-01"),
        Some(&address.to_string()),
        server.state.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let done = file_confirmed(&server, &browser, email, "access_export").await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy/requests?done=filed"), "{}", done.body);
    let request = requests_of(&server, &customer).await.pop().unwrap();
    // Japan: APPI, "without delay", 14 days by default.
    assert_eq!(request.jurisdiction, "appi");
    assert_eq!(request.due_at - request.received_at, 14 * 86_400_000);
    // The worker builds it and mails the link.
    eventually("the export is ready", || async {
        server.state.store.privacy_request(&request.id).await.unwrap().unwrap().status == "completed"
    })
    .await;
    let token = ready_link(&server, email).await;

    // Someone else, signed in, cannot use the link, and does not use it up.
    let stranger = signed_in(&server, "stranger@example.com").await;
    let page = stranger.get(&format!("/account/privacy/export?token={token}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    let csrf = stranger.get("/account/privacy/requests").await.csrf();
    let taken = stranger.post("/account/privacy/export", &[("csrf", &csrf), ("token", &token)]).await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);

    // The owner: a page (no download on GET: mail scanners fetch links), then the file.
    let page = browser.get(&format!("/account/privacy/export?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let res = browser
        .http
        .post(browser.abs("/account/privacy/export"))
        .form(&[("csrf", page.csrf()), ("token", token.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let archive: Value = res.json().await.unwrap();

    // Checked against everything this test created.
    let p = &archive["profile"];
    assert_eq!((p["id"].as_str(), p["email"].as_str()), (Some(customer.as_str()), Some(email)));
    assert_eq!(p["phone_number"], "+81312345678");
    assert_eq!(p["birthdate"], "1990-04-01");
    assert_eq!(p["address"], address);
    let sessions = server.state.store.sessions_of(&customer, server.state.now()).await.unwrap();
    let ids: Vec<&str> = archive["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), sessions.len());
    assert!(sessions.iter().all(|s| ids.contains(&s.id.as_str())));
    let purposes: Vec<&str> =
        archive["consents"]["purposes"].as_array().unwrap().iter().map(|p| p["purpose"].as_str().unwrap()).collect();
    assert!(purposes.contains(&"marketing.email") && purposes.contains(&"personalisation"), "{purposes:?}");
    assert!(!purposes.contains(&"analytics"));
    let scopes = &archive["consents"]["scopes"][0];
    assert_eq!(scopes["client_id"], client.id.as_str());
    assert!(scopes["scope"].as_str().unwrap().contains("email"));
    let ledger = tessera::consent::ledger::export(&server.state, &customer).await.unwrap();
    let exported = archive["consents"]["ledger"].as_array().unwrap();
    assert_eq!(exported.len(), ledger.len());
    for (e, l) in exported.iter().zip(&ledger) {
        assert_eq!(e["entry"]["hash"], l.hash.as_str());
        assert!(e["receipt"].as_str().unwrap().contains(&l.item));
    }
    let requests = archive["privacy_requests"].as_array().unwrap();
    assert_eq!(requests[0]["id"], request.id.as_str());
    let actions: Vec<&str> =
        archive["audit"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"privacy_request.filed") && actions.contains(&"signin.email"), "{actions:?}");
    assert!(archive["passkeys"].as_array().unwrap().is_empty());
    // No secret of any kind.
    let text = archive.to_string();
    for s in &sessions {
        assert!(!text.contains(&s.token_hash));
    }

    // Once only.
    let again = browser.post("/account/privacy/export", &[("csrf", &page.csrf()), ("token", &token)]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("has been used"), "{}", again.body);
    let page = browser.get(&format!("/account/privacy/export?token={token}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_export_link_expires() {
    let server = TestServer::start().await;
    let email = "late@example.com";
    let browser = signed_in(&server, email).await;
    let customer = customer_id(&server, email).await;
    file_confirmed(&server, &browser, email, "access_export").await;
    let id = requests_of(&server, &customer).await.pop().unwrap().id;
    eventually("the export is ready", || async {
        server.state.store.privacy_request(&id).await.unwrap().unwrap().status == "completed"
    })
    .await;
    let token = ready_link(&server, email).await;
    server.clock.advance_secs(server.state.config.export_link_ttl_secs + 1);
    let browser = signed_in(&server, email).await;
    let page = browser.get(&format!("/account/privacy/export?token={token}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}
