//! Connected apps: which apps hold access, with scopes, purposes and when they last used it;
//! "remove access" revokes the app's tokens and consents in one step (ledger entries and
//! events), after a fresh proof, and introspection and refresh are refused at once.

use super::{customer_id, with_channels};
use crate::consent_purposes::{ALL, tokens_with};
use crate::support::TestServer;
use reqwest::StatusCode;
use tessera::consent::ledger;

#[tokio::test]
async fn removing_an_apps_access_revokes_its_tokens_and_consents_at_once() {
    let server = TestServer::start().await;
    let app = server.confidential_client().await;
    let app = with_channels(&server, app).await;
    let browser = server.browser();
    let tokens = tokens_with(&server, &browser, &app, ALL, &["marketing.email"]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let customer = customer_id(&server).await;

    let page = browser.get("/account/apps").await;
    for shown in ["See your email address", "News by email", "Your feed", "Last used 20", "Remove access"] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }

    let remove = |csrf: String| {
        let (browser, id) = (&browser, app.id.clone());
        async move { browser.post("/account/apps/remove", &[("csrf", csrf.as_str()), ("client_id", id.as_str())]).await }
    };
    assert_eq!(server.introspect(&app, access).await["active"], true);
    let done = remove(browser.get("/account/apps").await.csrf()).await;
    assert_eq!(done.location.as_deref(), Some("/account/apps?removed=1"));

    // At once: introspection says inactive, a refresh is refused.
    assert_eq!(server.introspect(&app, access).await["active"], false);
    assert_eq!(server.introspect(&app, refresh).await["active"], false);
    let (status, refused) = server.token(&app, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!((status, refused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // Nothing granted remains; the ledger proves each withdrawal, each with its event.
    assert!(tessera::consent::in_force(&server.state.store, &customer, &app.id).await.unwrap().is_empty());
    assert_eq!(server.state.store.consented_scope(&customer, &app.id).await.unwrap(), None);
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    let withdrawn: Vec<&str> = receipts.iter().filter(|r| r.action == "withdrawn").map(|r| r.item.as_str()).collect();
    for item in ["purpose:marketing.email", "purpose:personalisation", "scope:openid", "scope:email"] {
        assert!(withdrawn.contains(&item), "{item}: {withdrawn:?}");
    }
    assert!(receipts.iter().filter(|r| r.action == "withdrawn").all(|r| r.channel == "privacy_centre"));
    let events = crate::outbox::stored(&server.state.config.database_url()).await;
    assert_eq!(events.iter().filter(|e| e.kind == "consent.withdrawn").count(), withdrawn.len());
    let page = browser.get("/account/apps?removed=1").await;
    assert!(page.body.contains("No app holds access") && page.body.contains("Access removed"), "{}", page.body);
    // Removing again finds nothing.
    assert_eq!(remove(browser.get("/account").await.csrf()).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_old_session_cannot_remove_access() {
    let server = TestServer::start().await;
    let app = server.confidential_client().await;
    let app = with_channels(&server, app).await;
    let browser = server.browser();
    let tokens = tokens_with(&server, &browser, &app, ALL, &[]).await;
    let customer = customer_id(&server).await;
    server.clock.advance_secs(11 * 60);
    let page = browser.get("/account/apps").await;
    let stale =
        browser.post("/account/apps/remove", &[("csrf", page.csrf().as_str()), ("client_id", app.id.as_str())]).await;
    assert_eq!(stale.location.as_deref(), Some("/login/step-up?next=%2Faccount%2Fapps"));
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(server.introspect(&app, refresh).await["active"], true, "nothing removed");
    assert!(server.state.store.consented_scope(&customer, &app.id).await.unwrap().is_some());
}
