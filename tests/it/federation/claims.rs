//! What Tessera takes from a provider, and from where: answers only at the connector's own
//! callback (mix-up, RFC 9207), identities keyed by issuer and subject, `amr`/`acr` not
//! copied beyond what the connector is trusted for, the address read from UserInfo when the
//! ID token lacks it (OIDC Core §5.4, §5.3.2), and addresses that are merely present are
//! not verified.

use super::{APP, fake_connector, federating_server, to_upstream};
use crate::support::browser::{Browser, hidden};
use crate::support::provider::{FakeProvider, Hits};
use crate::support::{TestClient, TestServer, authorize_url, jwt_claims, query_param};
use reqwest::StatusCode;
use tessera::login::federation::connectors::{self, ClaimMapping, ConnectorInput};

/// Start a sign-in through `connector` and let the provider answer; returns the browser and
/// the callback URL the provider sent it to (not yet followed).
async fn answer_from(down: &TestServer, app: &TestClient, connector: &str) -> (Browser, String) {
    let browser = down.browser();
    let (login, _) = browser.go(&authorize_url(down, app, &[]).0, APP).await;
    let authz = hidden(&login.body, "authz").unwrap();
    let start = browser.get(&format!("/login/federated/{connector}?authz={authz}")).await;
    let at_provider = browser.get(&start.location.unwrap()).await;
    (browser, at_provider.location.unwrap())
}

#[tokio::test]
async fn each_connector_has_its_own_callback_and_mixed_up_answers_are_refused() {
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    let other = FakeProvider::start("fake-client", down.clock.clone()).await;
    other.set(|k| {
        k.subject = "other-1".into();
        k.email = "other@example.com".into();
    });
    let now = down.state.now();
    connectors::create(&down.state, fake_connector("fake", &provider), now).await.unwrap();
    connectors::create(&down.state, fake_connector("other", &other), now).await.unwrap();
    let app = down.confidential_client().await;

    let (_, callback) = answer_from(&down, &app, "fake").await;
    assert!(callback.starts_with(&down.url("/login/federated/fake/callback?")), "{callback}");

    // The answer to a flow started with `fake`, delivered at `other`'s callback.
    let (browser, callback) = answer_from(&down, &app, "fake").await;
    let moved = callback.replace("/login/federated/fake/callback", "/login/federated/other/callback");
    let page = browser.get(&moved).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // ... or at the shared callback, which this connector does not use.
    let (browser, callback) = answer_from(&down, &app, "fake").await;
    let page = browser.get(&callback.replace("/login/federated/fake/callback", "/login/federated/callback")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);

    // RFC 9207: an `iss` that is not this connector's issuer is refused ...
    provider.set(|k| k.iss_in_answer = Some(other.base.clone()));
    let (browser, callback) = answer_from(&down, &app, "fake").await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(down.state.store.customer_by_email("fake@example.com").await.unwrap().is_none());
    // ... and the right one is accepted.
    provider.set(|k| k.iss_in_answer = Some(provider.base.clone()));
    let (browser, callback) = answer_from(&down, &app, "fake").await;
    let (page, at) = browser.continue_from(browser.get(&callback).await, &callback, APP).await;
    assert!(at.starts_with(APP), "{at}: {}", page.body);

    // A connector registered before per-connector callbacks keeps the shared one.
    let shared = ConnectorInput { shared_callback: Some(true), ..ConnectorInput::default() };
    connectors::update(&down.state, "other", shared, down.state.now()).await.unwrap();
    let (browser, callback) = answer_from(&down, &app, "other").await;
    assert!(callback.starts_with(&down.url("/login/federated/callback?")), "{callback}");
    let (page, at) = browser.continue_from(browser.get(&callback).await, &callback, APP).await;
    assert!(at.starts_with(APP), "{at}: {}", page.body);
}

#[tokio::test]
async fn identities_are_keyed_by_the_providers_issuer_and_subject() {
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    connectors::create(&down.state, fake_connector("fake", &provider), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let browser = down.browser();
    let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
    let (_, at) = to_upstream(&down, &browser, &login, "fake").await;
    assert!(at.starts_with(APP), "{at}");
    let customer = down.state.store.customer_by_email("fake@example.com").await.unwrap().unwrap();

    // A second connector to the same provider (another client registration) finds the same
    // identity: the subject is the issuer's, not the connector's.
    connectors::create(&down.state, fake_connector("fake-two", &provider), down.state.now()).await.unwrap();
    let browser = down.browser();
    let (url, verifier) = authorize_url(&down, &app, &[]);
    let (login, _) = browser.go(&url, APP).await;
    let (page, at) = to_upstream(&down, &browser, &login, "fake-two").await;
    assert!(at.starts_with(APP), "{at}: {}", page.body);
    let tokens = down.exchange(&app, &query_param(&at, "code").unwrap(), &verifier).await;
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["sub"], customer.id);

    // Pointing a connector with linked identities at another issuer would hand them to
    // whoever that issuer calls by the same subject: refused.
    let moved = ConnectorInput { issuer: Some("https://elsewhere.example".into()), ..ConnectorInput::default() };
    let e = connectors::update(&down.state, "fake", moved, down.state.now()).await.unwrap_err();
    assert!(e.description().contains("linked"), "{}", e.description());
    assert_eq!(connectors::get(&down.state, "fake").await.unwrap().issuer, provider.base);
}

#[tokio::test]
async fn the_providers_amr_is_filtered_and_the_acr_is_capped() {
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    provider.set(|k| k.amr = vec!["pwd".into(), "mfa".into(), "hwk".into()]);
    connectors::create(&down.state, fake_connector("fake", &provider), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let sign_in = || async {
        let browser = down.browser();
        let (url, verifier) = authorize_url(&down, &app, &[]);
        let (login, _) = browser.go(&url, APP).await;
        let (page, at) = to_upstream(&down, &browser, &login, "fake").await;
        assert!(at.starts_with(APP), "{at}: {}", page.body);
        let tokens = down.exchange(&app, &query_param(&at, "code").unwrap(), &verifier).await;
        jwt_claims(tokens["id_token"].as_str().unwrap())
    };
    // Nothing trusted: only `fed` (RFC 8176 §2).
    let claims = sign_in().await;
    assert_eq!(claims["amr"], serde_json::json!(["fed"]), "{claims}");
    assert_eq!(claims["acr"], "urn:tessera:acr:email");

    let trust = ConnectorInput { trusted_amr: Some(vec!["mfa".into()]), ..ConnectorInput::default() };
    connectors::update(&down.state, "fake", trust, down.state.now()).await.unwrap();
    let claims = sign_in().await;
    assert_eq!(claims["amr"], serde_json::json!(["fed", "mfa"]), "{claims}");

    // A connector cannot claim more than the configured ceiling (default: the email level).
    for acr in ["urn:tessera:acr:mfa", "urn:tessera:acr:passkey"] {
        let up = ConnectorInput { acr: Some(acr.into()), ..ConnectorInput::default() };
        let e = connectors::update(&down.state, "fake", up, down.state.now()).await.unwrap_err();
        assert!(e.description().contains("ceiling"), "{}", e.description());
    }
    let bad = ConnectorInput { trusted_amr: Some(vec!["anything goes".into()]), ..ConnectorInput::default() };
    assert!(connectors::update(&down.state, "fake", bad, down.state.now()).await.is_err());
}

#[tokio::test]
async fn an_address_only_in_userinfo_is_read_there_for_the_same_subject() {
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    provider.set(|k| k.claims_only_in_userinfo = true);
    connectors::create(&down.state, fake_connector("fake", &provider), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let browser = down.browser();
    let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
    let (page, at) = to_upstream(&down, &browser, &login, "fake").await;
    assert!(at.starts_with(APP), "{at}: {}", page.body);
    assert_eq!(provider.count(|h: &Hits| &h.userinfo), 1);
    let customer = down.state.store.customer_by_email("fake@example.com").await.unwrap().unwrap();
    assert_eq!(customer.name.as_deref(), Some("Fake Person"));

    // OIDC Core §5.3.2: a UserInfo answer about someone else is not used.
    provider.set(|k| {
        k.subject = "fake-2".into();
        k.email = "second@example.com".into();
        k.userinfo_subject = Some("fake-1".into());
    });
    let browser = down.browser();
    let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
    let (page, _) = to_upstream(&down, &browser, &login, "fake").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Fake could not sign you in"), "{}", page.body);
    assert!(down.state.store.customer_by_email("second@example.com").await.unwrap().is_none());
}

#[tokio::test]
async fn addresses_that_are_merely_present_are_not_verified() {
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    let oauth2 = |id: &str, kind: &str, mapping: Option<ClaimMapping>| ConnectorInput {
        id: Some(id.into()),
        kind: Some(kind.into()),
        display_name: Some("Plain".into()),
        authorization_endpoint: Some(provider.url("/authorize")),
        token_endpoint: Some(provider.url("/token")),
        userinfo_endpoint: Some(provider.url("/userinfo")),
        client_id: Some("fake-client".into()),
        client_secret: Some("s".into()),
        claim_mapping: mapping,
        ..ConnectorInput::default()
    };
    let now = down.state.now();
    // Facebook's Graph API has no verification flag: an address is only present.
    connectors::create(&down.state, oauth2("fb", "facebook", None), now).await.unwrap();
    // A generic OAuth 2.0 provider whose mapping names no verification claim.
    connectors::create(&down.state, oauth2("plain", "oauth2", None), now).await.unwrap();
    let named = ClaimMapping { email_verified: "email_verified".into(), ..ClaimMapping::default() };
    connectors::create(&down.state, oauth2("named", "oauth2", Some(named)), now).await.unwrap();
    let app = down.confidential_client().await;
    for id in ["fb", "plain"] {
        let browser = down.browser();
        let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
        let (page, _) = to_upstream(&down, &browser, &login, id).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{id}");
        assert!(page.body.contains("did not confirm your email address"), "{id}: {}", page.body);
        assert!(down.state.store.customer_by_email("fake@example.com").await.unwrap().is_none(), "{id}");
    }
    let browser = down.browser();
    let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
    let (page, at) = to_upstream(&down, &browser, &login, "named").await;
    assert!(at.starts_with(APP), "a mapping that names the flag is trusted: {at}: {}", page.body);
}
