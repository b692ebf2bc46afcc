//! Channel preferences per purpose: all the purpose's channels when granted on the consent
//! screen (which says so), narrowed from the privacy centre with a ledger entry and an event
//! per channel, and carried in the `consents` claim of every token type, introspection,
//! UserInfo and the consent API.

use super::{EMAIL, consent_of, customer_id, with_channels};
use crate::consent_purposes::{ALL, api_token, app_with_consent_api, tokens_with};
use crate::support::{TestServer, jwt_claims};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::consent::ledger;
use tessera::consent::notices;
use tessera::consent::policies::{self, NewVersion};
use tessera::events::audit::Caller;

#[tokio::test]
async fn channels_ride_in_every_token_and_a_change_from_the_privacy_centre_shows_at_once() {
    let server = TestServer::start().await;
    let app = app_with_consent_api(&server).await;
    let app = with_channels(&server, app).await;
    let browser = server.browser();
    let tokens = tokens_with(&server, &browser, &app, ALL, &["marketing.email"]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let channels = |claims: &Value| consent_of(claims, "marketing.email").map(|c| c["channels"].clone());

    // Explicit opt-in on a screen that named the channels: all of them (GDPR Art. 7(2)).
    let id_token = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(channels(&id_token), Some(json!(["email", "sms"])));
    assert_eq!(channels(&jwt_claims(access)), Some(json!(["email", "sms"])));
    assert_eq!(consent_of(&id_token, "personalisation").unwrap()["channels"], json!([]), "a purpose without channels");

    // Keep marketing by email, not by SMS.
    let page = browser.get("/account/privacy").await;
    assert!(page.body.contains("name=\"sms\" value=\"1\" checked"), "{}", page.body);
    let form = [
        ("csrf", page.csrf()),
        ("client_id", app.id.clone()),
        ("purpose", "marketing.email".into()),
        ("email", "1".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = browser.post("/account/privacy/channels", &form).await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy?channels=1"));

    // Introspection and UserInfo read where the customer stands now.
    assert_eq!(channels(&server.introspect(&app, access).await), Some(json!(["email"])));
    assert_eq!(channels(&server.userinfo(access).await), Some(json!(["email"])));
    // A refreshed ID token and access token carry the new choice; the purpose stays granted.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = server.token(&app, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(channels(&jwt_claims(refreshed["id_token"].as_str().unwrap())), Some(json!(["email"])));
    assert_eq!(channels(&jwt_claims(refreshed["access_token"].as_str().unwrap())), Some(json!(["email"])));

    // The brand's back-end sees it through the consent API.
    let customer = customer_id(&server).await;
    let api = api_token(&server, &app).await;
    let seen: Value = reqwest::Client::new()
        .get(server.url(&format!("/api/v1/customers/{customer}/consents")))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let marketing = seen["consents"].as_array().unwrap().iter().find(|c| c["purpose"] == "marketing.email").unwrap();
    assert_eq!((marketing["state"].clone(), marketing["channels"].clone()), (json!("granted"), json!(["email"])));

    // The proof: one ledger entry for the channel dropped, from the privacy centre, and its event.
    let last = ledger::export(&server.state, &customer).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.item.as_str(), last.action.as_str(), last.channel.as_str()),
        ("channel:marketing.email/sms", "withdrawn", "privacy_centre")
    );
    let (_, broken) = ledger::verify(&server.state).await.unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    let events = crate::outbox::stored(&server.state.config.database_url()).await;
    let event = events.iter().rev().find(|e| e.kind == "consent.withdrawn").unwrap();
    assert_eq!(event.payload["item"], "channel:marketing.email/sms");

    // Saving the same choice again records nothing; a channel the purpose does not name is refused.
    let page = browser.get("/account/privacy").await;
    let again = [
        ("csrf", page.csrf()),
        ("client_id", app.id.clone()),
        ("purpose", "marketing.email".into()),
        ("email", "1".into()),
    ];
    let again: Vec<(&str, &str)> = again.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/account/privacy/channels", &again).await;
    assert_eq!(ledger::export(&server.state, &customer).await.unwrap().len(), last.seq as usize);
    let push = [
        ("csrf", page.csrf()),
        ("client_id", app.id.clone()),
        ("purpose", "marketing.email".into()),
        ("push", "1".into()),
    ];
    let push: Vec<(&str, &str)> = push.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post("/account/privacy/channels", &push).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(channels(&server.introspect(&app, access).await), Some(json!(["email"])));
}

#[tokio::test]
async fn the_consent_screen_names_the_channels_a_grant_allows() {
    let server = TestServer::start().await;
    let app = server.confidential_client().await;
    let app = with_channels(&server, app).await;
    let browser = server.browser();
    let (url, _) = crate::support::authorize_url(&server, &app, &[]);
    let url = url.replace("scope=openid", "scope=openid+purpose%3Amarketing.email");
    let login = browser.follow(browser.get(&url).await).await;
    let page = browser.sign_in_from(&server, login, EMAIL).await;
    assert!(page.body.contains("It may reach you by: email, sms"), "{}", page.body);
}

#[tokio::test]
async fn a_policy_change_notice_names_only_the_channels_the_customer_kept() {
    let server = TestServer::start().await;
    let app = server.confidential_client().await;
    let app = with_channels(&server, app).await;
    let browser = server.browser();
    tokens_with(&server, &browser, &app, ALL, &["marketing.email"]).await;
    let page = browser.get("/account/privacy").await;
    let form = [
        ("csrf", page.csrf()),
        ("client_id", app.id.clone()),
        ("purpose", "marketing.email".into()),
        ("email", "1".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/account/privacy/channels", &form).await;

    let new = NewVersion {
        id: "privacy".into(),
        title: "Privacy policy".into(),
        body: "The policy, changed.\n".into(),
        summary: "We keep less.".into(),
        material: true,
        effective_at: None,
    };
    policies::publish(&server.state, new, Caller::operator(), server.state.now()).await.unwrap();
    assert_eq!(notices::send_due(&server.state, server.state.now()).await.unwrap(), 1);
    let mail = server.smtp.last_mail_to(EMAIL).await.decoded();
    assert!(mail.contains("News by email, for") && mail.contains(": by email"), "{mail}");
    assert!(!mail.contains("SMS"), "a channel turned off is not suggested: {mail}");
}
