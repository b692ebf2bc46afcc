//! The consents page: per app and per purpose what is granted, since when, under which policy
//! version with its receipt; granting an optional purpose from here (ledger channel
//! `privacy_centre`) and withdrawing it, each reaching introspection at once; the policy
//! versions accepted, linked to their texts; a fresh proof for every change.

use super::{consent_of, customer_id, with_channels};
use crate::consent_purposes::{ALL, tokens_with};
use crate::support::TestServer;
use tessera::consent::ledger;
use tessera::consent::purposes::{self, ClientPurpose};

fn form<'a>(pairs: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn each_purpose_shows_its_standing_and_receipt_and_is_one_click_to_grant_or_withdraw() {
    let server = TestServer::start().await;
    let app = server.confidential_client().await;
    let app = with_channels(&server, app).await;
    let browser = server.browser();
    let tokens = tokens_with(&server, &browser, &app, ALL, &["marketing.email"]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let customer = customer_id(&server).await;
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    let marketing = receipts.iter().find(|r| r.item == "purpose:marketing.email").unwrap();

    let page = browser.get("/account/privacy").await;
    for shown in [
        "News by email",
        "Granted since",
        "Statistics",
        "Not granted",
        "/policies/privacy/1",
        marketing.id.as_str(),
        marketing.hash.as_str(),
        "Policies you accepted",
        "See your email address",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }

    // Grant the optional purpose the app is registered for, from here.
    let grant = [("csrf", page.csrf()), ("client_id", app.id.clone()), ("purpose", "analytics".to_string())];
    let done = browser.post("/account/privacy/grant", &form(&grant)).await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy?granted=1"));
    assert!(consent_of(&server.introspect(&app, access).await, "analytics").is_some(), "at once");
    let last = ledger::export(&server.state, &customer).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.item.as_str(), last.action.as_str(), last.channel.as_str(), last.policy_version),
        ("purpose:analytics", "granted", "privacy_centre", 1)
    );
    // Granting what is granted records nothing.
    browser.post("/account/privacy/grant", &form(&grant)).await;
    assert_eq!(ledger::export(&server.state, &customer).await.unwrap().len(), last.seq as usize);

    // Withdrawing from the privacy centre reaches introspection at once.
    let page = browser.get("/account/privacy?granted=1").await;
    assert!(page.body.contains("Granted. You can withdraw"), "{}", page.body);
    let withdraw = [("csrf", page.csrf()), ("client_id", app.id.clone()), ("purpose", "analytics".to_string())];
    let done = browser.post("/account/privacy/withdraw", &form(&withdraw)).await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy?withdrawn=1"));
    let seen = server.introspect(&app, access).await;
    assert_eq!(seen["active"], true, "an optional purpose withdrawn leaves the token active");
    assert!(consent_of(&seen, "analytics").is_none(), "{seen}");
    assert!(consent_of(&seen, "marketing.email").is_some(), "{seen}");

    // A purpose the app is not registered for, or an app the customer never used: nothing.
    let bad = [("csrf", page.csrf()), ("client_id", app.id.clone()), ("purpose", "nonexistent".to_string())];
    assert_eq!(browser.post("/account/privacy/grant", &form(&bad)).await.status, reqwest::StatusCode::NOT_FOUND);
    let other = server.confidential_client().await;
    let optional = [ClientPurpose::parse("analytics:optional").unwrap()];
    purposes::register_for_client(&server.state.store, &other.id, &optional).await.unwrap();
    let never = [("csrf", page.csrf()), ("client_id", other.id.clone()), ("purpose", "analytics".to_string())];
    assert_eq!(browser.post("/account/privacy/grant", &form(&never)).await.status, reqwest::StatusCode::NOT_FOUND);

    // An old session is not enough to give consent either: a fresh proof first.
    server.clock.advance_secs(11 * 60);
    let page = browser.get("/account/privacy").await;
    let grant = [("csrf", page.csrf()), ("client_id", app.id.clone()), ("purpose", "analytics".to_string())];
    let stale = browser.post("/account/privacy/grant", &form(&grant)).await;
    assert_eq!(stale.location.as_deref(), Some("/login/step-up?next=%2Faccount%2Fprivacy"));
    let now = tessera::consent::in_force(&server.state.store, &customer, &app.id).await.unwrap();
    assert!(!now.iter().any(|c| c.purpose == "analytics"), "{now:?}");
}
