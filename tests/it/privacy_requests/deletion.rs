//! Deletion (GDPR Art. 17): a grace period the customer can cancel in; after it, nothing
//! personal about the customer remains in any table, the consent ledger keeps a
//! pseudonymised proof that still verifies, `customer.deleted` goes out, and the apps'
//! tokens stop working.

use super::{customer_id, eventually, every_value, file, file_confirmed, requests_of, signed_in};
use crate::consent_purposes::{ALL, setup, tokens_with};
use crate::outbox::stored;
use crate::support::{TestServer, jwt_claims, signed_in_code};
use reqwest::StatusCode;
use serde_json::json;
use tessera::store::Store;

#[tokio::test]
async fn a_deletion_can_be_cancelled_during_the_grace_period() {
    let server = TestServer::start().await;
    let email = "stay@example.com";
    let browser = signed_in(&server, email).await;
    let customer = customer_id(&server, email).await;
    let done = file_confirmed(&server, &browser, email, "deletion").await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy/requests?done=filed"), "{}", done.body);
    let r = requests_of(&server, &customer).await.pop().unwrap();
    assert_eq!(r.status, "in_progress");
    assert_eq!(r.erase_after, Some(r.received_at + 7 * 86_400_000));
    server.clock.advance_secs(3 * 86_400);
    // Days later, signed in again (the first session has ended by now).
    let browser = signed_in(&server, email).await;
    let page = browser.get("/account/privacy/requests").await;
    assert!(page.body.contains("Cancel the deletion"), "{}", page.body);
    // Someone else's request cannot be cancelled from another account.
    let other = signed_in(&server, "other@example.com").await;
    let csrf = other.get("/account/privacy/requests").await.csrf();
    let refused = other.post("/account/privacy/requests/cancel", &[("csrf", &csrf), ("id", &r.id)]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let cancelled = browser.post("/account/privacy/requests/cancel", &[("csrf", &page.csrf()), ("id", &r.id)]).await;
    assert_eq!(cancelled.location.as_deref(), Some("/account/privacy/requests?done=cancelled"));
    assert_eq!(requests_of(&server, &customer).await[0].status, "cancelled");
    assert_eq!(server.smtp.last_mail_to(email).await.subject(), "Your privacy request is cancelled");
    server.clock.advance_secs(8 * 86_400);
    tessera::privacy::erasure::erase_due(&server.state, server.state.now()).await.unwrap();
    assert!(server.state.store.customer(&customer).await.unwrap().is_some(), "the account stays");
}

#[tokio::test]
async fn after_deletion_and_the_grace_period_nothing_personal_remains_in_any_table() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let email = "opt@example.com";
    let browser = server.browser();
    let tokens = tokens_with(&server, &browser, &client, ALL, &["marketing.email"]).await;
    let customer = customer_id(&server, email).await;
    let address = json!({ "street_address": "Zyxwvut-Strasse 9", "locality": "Qwertzhausen", "country": "DE" });
    let mut tx = server.state.store.begin().await.unwrap();
    Store::set_profile_in(
        &mut tx,
        &customer,
        Some("+41446681800"),
        Some("1977-07-07"),
        Some(&address.to_string()),
        server.state.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let filed = file(&browser, "correction", &[("details", "My name is Xylophonist")]).await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER);
    let sessions: Vec<String> = server
        .state
        .store
        .sessions_of(&customer, server.state.now())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert!(!sessions.is_empty());
    let done = file_confirmed(&server, &browser, email, "deletion").await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy/requests?done=filed"), "{}", done.body);
    let request = requests_of(&server, &customer).await.into_iter().find(|r| r.kind == "deletion").unwrap();
    let before = every_value(&server).await;
    assert!(before.iter().any(|(_, _, v)| v.contains(&customer)), "the test sees the customer before");

    // Not before the grace period ends…
    server.clock.advance_secs(7 * 86_400 - 60);
    tessera::privacy::erasure::erase_due(&server.state, server.state.now()).await.unwrap();
    assert!(server.state.store.customer(&customer).await.unwrap().is_some());
    // …and by the worker after it.
    server.clock.advance_secs(120);
    eventually("the erasure", || async {
        server.state.store.privacy_request(&request.id).await.unwrap().unwrap().status == "completed"
    })
    .await;
    assert!(server.state.store.customer(&customer).await.unwrap().is_none());
    // Mailed just after the erasure commits.
    eventually("the mail", || async { server.smtp.last_mail_to(email).await.subject() == "Your account was deleted" })
        .await;
    // Downstream systems hear of it; the app's tokens stop working.
    let events = stored(&server.state.config.database_url()).await;
    let deleted = events.iter().find(|e| e.kind == "customer.deleted").expect("customer.deleted");
    assert_eq!(deleted.payload["customer_id"], customer.as_str());
    assert_eq!(server.introspect(&client, tokens["access_token"].as_str().unwrap()).await["active"], false);
    let (status, _) = server
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap_or("none"))],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The ledger keeps a pseudonymised proof that still verifies.
    let r = server.state.store.privacy_request(&request.id).await.unwrap().unwrap();
    assert!(r.customer_id.starts_with("anon_"), "{}", r.customer_id);
    let proof = server.state.store.ledger_of(&r.customer_id).await.unwrap();
    assert!(proof.len() >= 3, "{proof:?}");
    assert!(proof.iter().all(|e| e.ip.is_empty() && e.session_id.is_empty()));
    let (_, broken) = tessera::consent::ledger::verify(&server.state).await.unwrap();
    assert!(broken.is_empty(), "{broken:?}");

    // Once the announcement went out and an hour passed, it is forgotten too.
    crate::outbox::all_dispatched(&server.state.config.database_url()).await;
    server.clock.advance_secs(2 * 3600);
    tessera::privacy::jobs::retention(&server.state, server.state.now()).await.unwrap();
    let mut needles = vec![customer.clone(), email.to_string(), "+41446681800".into(), "1977-07-07".into()];
    needles.extend(["Zyxwvut", "Qwertzhausen", "Xylophonist"].map(String::from));
    needles.extend(sessions);
    let found: Vec<_> = every_value(&server)
        .await
        .into_iter()
        .filter(|(_, _, v)| needles.iter().any(|n| v.contains(n.as_str())))
        .collect();
    assert!(found.is_empty(), "personal data left: {found:?}");
}

#[tokio::test]
async fn the_erasure_ends_live_sessions_with_back_channel_logout_to_the_apps() {
    let server = TestServer::start().await;
    let (uri, mut logouts) = crate::sessions::logout_receiver().await;
    let client = server.backchannel_client(&uri).await;
    let email = "leaving@example.com";
    let browser = server.browser();
    let done = {
        let (code, verifier) = signed_in_code(&server, &browser, &client, email).await;
        server.exchange(&client, &code, &verifier).await;
        file_confirmed(&server, &browser, email, "deletion").await
    };
    assert_eq!(done.location.as_deref(), Some("/account/privacy/requests?done=filed"), "{}", done.body);
    // Near the end of the grace period the customer is signed in to the app again, so a
    // session is live when the erasure comes.
    server.clock.advance_secs(7 * 86_400 - 3600);
    let again = server.browser();
    let (code, verifier) = signed_in_code(&server, &again, &client, email).await;
    let tokens = server.exchange(&client, &code, &verifier).await;
    let id_token = jwt_claims(tokens["id_token"].as_str().unwrap());
    server.clock.advance_secs(2 * 3600);
    // The worker erases the account, and the app hears that the session ended (BCL 1.0 §2.4).
    let token = tokio::time::timeout(std::time::Duration::from_secs(10), logouts.recv())
        .await
        .expect("a logout token after the erasure")
        .unwrap();
    let (_, claims) = crate::sessions::verified(&server, &token).await;
    assert_eq!(claims["aud"], client.id);
    assert_eq!(claims["sid"], id_token["sid"]);
    assert_eq!(claims["sub"], id_token["sub"]);
    let customer = id_token["sub"].as_str().unwrap();
    assert!(server.state.store.customer(customer).await.unwrap().is_none(), "the account is gone");
}
