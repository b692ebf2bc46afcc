//! "What we hold about you and why", generated from the data model and the purposes, and the
//! account home that links every part of the privacy centre.

use super::with_channels;
use crate::consent_purposes::{ALL, tokens_with};
use crate::support::TestServer;

#[tokio::test]
async fn the_page_is_generated_from_the_purposes_and_the_configuration() {
    let server = TestServer::start().await;
    let app = server.confidential_client().await;
    let app = with_channels(&server, app).await;
    let browser = server.browser();
    tokens_with(&server, &browser, &app, ALL, &["marketing.email"]).await;
    let page = browser.get("/account/holdings").await;
    let retention = format!("{} days", server.state.config.audit_retention_days);
    for shown in [
        "Identity and contact",
        "Security log",
        retention.as_str(),
        "News by email",
        "Data it uses:</strong> contact",
        "It may reach you by:</strong> email, SMS",
        "you allowed it",
        "/policies/privacy/1",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    // A purpose created later appears without anyone writing the page.
    let input = tessera::consent::purposes::PurposeInput {
        id: Some("share.partners".into()),
        name: Some("Offers from partners".into()),
        notice: Some("Partners may send you offers.".into()),
        policy: Some("privacy".into()),
        ..Default::default()
    };
    let caller = tessera::events::audit::Caller::operator();
    tessera::consent::purposes::create(&server.state, input, caller, server.state.now()).await.unwrap();
    assert!(browser.get("/account/holdings").await.body.contains("Offers from partners"));

    let home = browser.get("/account").await;
    for link in [
        "/account/profile",
        "/account/privacy",
        "/account/apps",
        "/account/holdings",
        "/account/sessions",
        "/account/totp",
    ] {
        assert!(home.body.contains(&format!("href=\"{link}\"")), "{link}");
    }
}
