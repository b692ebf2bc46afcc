//! Social login: a brand app → Tessera → an upstream OpenID provider (a second Tessera on
//! loopback) → back; account creation, linking with proof, refusal of unverified addresses,
//! upstream errors, and tampered ID tokens from a misbehaving provider. The servers here
//! federate over loopback, so they set `federation_allow_private_networks`.

mod claims;
mod guard;

use crate::support::browser::{Browser, Page, hidden};
use crate::support::provider::{FakeProvider, Tamper};
use crate::support::{TestClient, TestServer, authorize_url, jwt_claims, query_param};
use reqwest::StatusCode;
use tessera::login::federation::connectors::{self, ClaimMapping, ConnectorInput};

pub const APP: &str = "https://app.example/cb";

/// A downstream Tessera that may federate with providers on loopback (development setting).
pub async fn federating_server() -> TestServer {
    TestServer::start_with(|c| c.federation_allow_private_networks = true).await
}

/// An upstream Tessera on 127.0.0.1 (so its cookies do not mix with the downstream's on
/// localhost), with a client registered for the downstream's callback of connector `id`.
async fn upstream_for(down: &TestServer, id: &str) -> (TestServer, TestClient) {
    let up = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("localhost", "127.0.0.1");
        c.webauthn_origin = "http://localhost".into();
    })
    .await;
    let client = up.client_for(&down.url(&format!("/login/federated/{id}/callback"))).await;
    (up, client)
}

/// An OpenID Connect connector `id` towards a fake provider.
pub fn fake_connector(id: &str, provider: &FakeProvider) -> ConnectorInput {
    ConnectorInput {
        id: Some(id.into()),
        kind: Some("oidc".into()),
        display_name: Some("Fake".into()),
        issuer: Some(provider.base.clone()),
        client_id: Some("fake-client".into()),
        client_secret: Some("s".into()),
        ..ConnectorInput::default()
    }
}

fn oidc_connector(up: &TestServer, client: &TestClient) -> ConnectorInput {
    ConnectorInput {
        id: Some("up".into()),
        kind: Some("oidc".into()),
        display_name: Some("Upstream".into()),
        issuer: Some(up.base.clone()),
        client_id: Some(client.id.clone()),
        client_secret: client.secret.clone(),
        ..ConnectorInput::default()
    }
}

/// From the downstream login page, through the connector, to the upstream's login page.
pub async fn to_upstream(down: &TestServer, browser: &Browser, login: &Page, connector: &str) -> (Page, String) {
    let authz = hidden(&login.body, "authz").unwrap();
    browser.go(&down.url(&format!("/login/federated/{connector}?authz={authz}")), APP).await
}

/// Sign in at the upstream by email, then follow everything back; returns the last page and
/// where it stopped (the app's redirect URI, or a downstream page).
async fn upstream_email_sign_in(up: &TestServer, browser: &Browser, login: &Page, email: &str) -> (Page, String) {
    let authz = hidden(&login.body, "authz").unwrap();
    browser.post(&up.url("/login/email"), &[("csrf", &login.csrf()), ("email", email), ("authz", &authz)]).await;
    let token = up.smtp.last_mail_to(email).await.link_token();
    let confirm = browser.get(&up.url(&format!("/login/link?token={token}"))).await;
    let done = browser.post(&up.url("/login/link"), &[("csrf", &confirm.csrf()), ("token", &token)]).await;
    browser.continue_from(done, &up.url("/login/link"), APP).await
}

#[tokio::test]
async fn a_customer_signs_in_through_an_upstream_provider_and_gets_an_account() {
    let down = federating_server().await;
    let (up, upstream_client) = upstream_for(&down, "up").await;
    connectors::create(&down.state, oidc_connector(&up, &upstream_client), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let browser = down.browser();
    let (url, verifier) = authorize_url(&down, &app, &[]);
    let (login, _) = browser.go(&url, APP).await;
    assert!(login.body.contains("Continue with Upstream"), "{}", login.body);
    let (up_login, at) = to_upstream(&down, &browser, &login, "up").await;
    assert!(at.starts_with(&up.base), "{at}");
    let (_, back) = upstream_email_sign_in(&up, &browser, &up_login, "fed@example.com").await;
    assert!(back.starts_with(APP), "{back}");
    let tokens = down.exchange(&app, &query_param(&back, "code").unwrap(), &verifier).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "fed@example.com");
    assert!(claims["amr"].as_array().unwrap().iter().any(|m| m == "fed"), "{claims}");
    assert_eq!(claims["acr"], "urn:tessera:acr:email");
    let customer = down.state.store.customer_by_email("fed@example.com").await.unwrap().unwrap();
    assert_eq!(down.state.store.identities_of(&customer.id).await.unwrap().len(), 1);

    // Next time (prompt=login here, still signed in upstream) it is the same account.
    let (url, _) = authorize_url(&down, &app, &[("prompt", "login")]);
    let (login, _) = browser.go(&url, APP).await;
    let (_, back) = to_upstream(&down, &browser, &login, "up").await;
    assert!(back.starts_with(APP), "straight back through the upstream's SSO: {back}");
    let again = down.state.store.customer_by_email("fed@example.com").await.unwrap().unwrap();
    assert_eq!(again.id, customer.id);

    // With an authenticator app on the account, a federated sign-in asks for it too.
    let (secret, _) = crate::factors::enrol(&down, &browser).await;
    down.clock.advance_secs(30);
    let (url, verifier) = authorize_url(&down, &app, &[("prompt", "login")]);
    let (login, _) = browser.go(&url, APP).await;
    let (page, at) = to_upstream(&down, &browser, &login, "up").await;
    assert!(page.body.contains("Enter the code from your authenticator app"), "{at}: {}", page.body);
    let code = crate::factors::totp_code(&secret, down.state.now());
    let done = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await;
    let (_, back) = browser.continue_from(done, &down.url("/login/second-factor"), APP).await;
    let tokens = down.exchange(&app, &query_param(&back, "code").unwrap(), &verifier).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:tessera:acr:mfa");
    assert!(claims["amr"].as_array().unwrap().iter().any(|m| m == "fed"));

    // The account page lists the linked provider, and unlinking keeps email sign-in.
    let account = browser.get("/account").await;
    assert!(account.body.contains("Upstream"), "{}", account.body);
    let res = browser.post("/account/identities/unlink", &[("csrf", &account.csrf()), ("connector", "up")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(down.state.store.identities_of(&customer.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_existing_account_is_linked_only_after_the_customer_proves_it() {
    let down = federating_server().await;
    let (up, upstream_client) = upstream_for(&down, "up").await;
    connectors::create(&down.state, oidc_connector(&up, &upstream_client), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    crate::support::signed_in_code(&down, &down.browser(), &app, "mine@example.com").await;
    let owner = down.state.store.customer_by_email("mine@example.com").await.unwrap().unwrap();

    let browser = down.browser();
    let (url, verifier) = authorize_url(&down, &app, &[]);
    let (login, _) = browser.go(&url, APP).await;
    let (up_login, _) = to_upstream(&down, &browser, &login, "up").await;
    let (page, at) = upstream_email_sign_in(&up, &browser, &up_login, "mine@example.com").await;
    assert!(at.starts_with(&down.base), "{at}");
    assert!(page.body.contains("You already have an account with mine@example.com"), "{}", page.body);
    assert!(down.state.store.identities_of(&owner.id).await.unwrap().is_empty(), "not linked yet");

    // Proof: the usual email sign-in to the existing account, from this page.
    let waiting = browser.request_mail(&page, "mine@example.com").await;
    assert!(waiting.body.contains("Check your mail"));
    let token = down.smtp.last_mail_to("mine@example.com").await.link_token();
    let confirm = browser.get(&format!("/login/link?token={token}")).await;
    let done = browser.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await;
    let (_, back) = browser.continue_from(done, &down.url("/login/link"), APP).await;
    assert!(back.starts_with(APP), "{back}");
    let tokens = down.exchange(&app, &query_param(&back, "code").unwrap(), &verifier).await;
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["sub"], owner.id);
    assert_eq!(down.state.store.identities_of(&owner.id).await.unwrap().len(), 1, "linked after proof");
}

#[tokio::test]
async fn an_unverified_upstream_address_never_links_or_creates_an_account() {
    let down = federating_server().await;
    let (up, upstream_client) = upstream_for(&down, "plain").await;
    // A plain OAuth 2.0 connector whose mapping finds no verification claim.
    let input = ConnectorInput {
        id: Some("plain".into()),
        kind: Some("oauth2".into()),
        display_name: Some("Plain".into()),
        authorization_endpoint: Some(up.url("/authorize")),
        token_endpoint: Some(up.url("/token")),
        userinfo_endpoint: Some(up.url("/userinfo")),
        scopes: Some("openid email".into()),
        client_id: Some(upstream_client.id.clone()),
        client_secret: upstream_client.secret.clone(),
        claim_mapping: Some(ClaimMapping { email_verified: "not_provided".into(), ..ClaimMapping::default() }),
        ..ConnectorInput::default()
    };
    connectors::create(&down.state, input, down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    crate::support::signed_in_code(&down, &down.browser(), &app, "victim@example.com").await;
    let browser = down.browser();
    let (url, _) = authorize_url(&down, &app, &[]);
    let (login, _) = browser.go(&url, APP).await;
    let (up_login, at) = to_upstream(&down, &browser, &login, "plain").await;
    assert!(at.starts_with(&up.base), "{at}");
    let (page, _) = upstream_email_sign_in(&up, &browser, &up_login, "victim@example.com").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("did not confirm your email address"), "{}", page.body);
    let victim = down.state.store.customer_by_email("victim@example.com").await.unwrap().unwrap();
    assert!(down.state.store.identities_of(&victim.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn upstream_errors_and_foreign_answers_bring_the_customer_back_with_a_message() {
    let down = federating_server().await;
    let (up, upstream_client) = upstream_for(&down, "up").await;
    connectors::create(&down.state, oidc_connector(&up, &upstream_client), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let browser = down.browser();
    let (url, _) = authorize_url(&down, &app, &[]);
    let (login, _) = browser.go(&url, APP).await;
    let authz = hidden(&login.body, "authz").unwrap();
    let start = browser.get(&format!("/login/federated/up?authz={authz}")).await;
    let to_upstream = start.location.unwrap();
    assert!(to_upstream.starts_with(&up.url("/authorize?")));
    for p in ["code_challenge_method=S256", "nonce=", "state=", "scope=openid"] {
        assert!(to_upstream.contains(p), "{p} in {to_upstream}");
    }
    let st = query_param(&to_upstream, "state").unwrap();

    // An answer that reaches another browser is refused, and spends nothing.
    let other = down.browser();
    let page = other.get(&format!("/login/federated/up/callback?state={st}&code=x")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("another browser"), "{}", page.body);

    // The person said no upstream.
    let start = browser.get(&format!("/login/federated/up?authz={authz}")).await;
    let st = query_param(&start.location.unwrap(), "state").unwrap();
    let page =
        browser.get(&format!("/login/federated/up/callback?state={st}&error=access_denied&iss={}", up.base)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("You cancelled the sign-in with Upstream"), "{}", page.body);
    assert!(page.body.contains("autocomplete=\"username webauthn\""), "back on the login page");

    // RFC 9207 §2.4: the upstream's metadata promises `iss` in its answers; one without it
    // is refused (it may come from another provider: mix-up).
    let start = browser.get(&format!("/login/federated/up?authz={authz}")).await;
    let st = query_param(&start.location.unwrap(), "state").unwrap();
    let page = browser.get(&format!("/login/federated/up/callback?state={st}&error=access_denied")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Upstream could not sign you in"), "{}", page.body);

    // A code the upstream does not know.
    let start = browser.get(&format!("/login/federated/up?authz={authz}")).await;
    let st = query_param(&start.location.unwrap(), "state").unwrap();
    let page = browser.get(&format!("/login/federated/up/callback?state={st}&code=forged&iss={}", up.base)).await;
    assert!(page.body.contains("Upstream could not sign you in"), "{}", page.body);

    // A disabled connector is not offered and cannot be used.
    let off = ConnectorInput { enabled: Some(false), ..ConnectorInput::default() };
    connectors::update(&down.state, "up", off, down.state.now()).await.unwrap();
    let (login, _) = browser.go(&authorize_url(&down, &app, &[]).0, APP).await;
    assert!(!login.body.contains("Continue with Upstream"));
    let page = browser.get(&format!("/login/federated/up?authz={authz}")).await;
    assert!(page.body.contains("not available"), "{}", page.body);
}

#[tokio::test]
async fn tampered_upstream_id_tokens_are_refused() {
    let down = federating_server().await;
    let provider = FakeProvider::start("fake-client", down.clock.clone()).await;
    connectors::create(&down.state, fake_connector("fake", &provider), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    for tamper in [
        Tamper::BadSignature,
        Tamper::WrongNonce,
        Tamper::WrongAudience,
        Tamper::ExpiredLongAgo,
        Tamper::None,
        Tamper::ExpiredJustNow,
    ] {
        provider.set(|k| k.tamper = tamper);
        let browser = down.browser();
        let (url, _) = authorize_url(&down, &app, &[]);
        let (login, _) = browser.go(&url, APP).await;
        let (page, at) = to_upstream(&down, &browser, &login, "fake").await;
        if tamper == Tamper::None || tamper == Tamper::ExpiredJustNow {
            assert!(at.starts_with(APP), "{tamper:?} signs in: {at} {}", page.body);
        } else {
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{tamper:?}");
            assert!(page.body.contains("Fake could not sign you in"), "{tamper:?}: {}", page.body);
            assert!(down.state.store.customer_by_email("fake@example.com").await.unwrap().is_none(), "{tamper:?}");
        }
    }
}

#[tokio::test]
async fn an_account_linked_by_a_trusted_address_still_asks_for_its_authenticator_app() {
    let down = federating_server().await;
    let (up, upstream_client) = upstream_for(&down, "up").await;
    let trusted = ConnectorInput { authoritative_email: Some(true), ..oidc_connector(&up, &upstream_client) };
    connectors::create(&down.state, trusted, down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let owner = down.browser();
    crate::support::signed_in_code(&down, &owner, &app, "guarded@example.com").await;
    crate::factors::enrol(&down, &owner).await;
    let customer = down.state.store.customer_by_email("guarded@example.com").await.unwrap().unwrap();

    // Through the trusted provider, the address links the account, but the app is still asked for.
    let browser = down.browser();
    let (url, _) = authorize_url(&down, &app, &[]);
    let (login, _) = browser.go(&url, APP).await;
    let (up_login, _) = to_upstream(&down, &browser, &login, "up").await;
    let (page, at) = upstream_email_sign_in(&up, &browser, &up_login, "guarded@example.com").await;
    assert!(page.body.contains("Enter the code from your authenticator app"), "{at}: {}", page.body);
    assert!(!at.starts_with(APP), "no authorization without the second factor: {at}");
    assert!(down.state.store.identities_of(&customer.id).await.unwrap().is_empty(), "linked only after the app");
    let account = browser.get("/account").await;
    assert_eq!(account.location.as_deref(), Some("/login"), "no session was opened");
}

#[tokio::test]
async fn the_first_mail_proof_of_an_account_made_through_a_provider_reviews_what_is_attached() {
    let down = federating_server().await;
    let (up, upstream_client) = upstream_for(&down, "up").await;
    connectors::create(&down.state, oidc_connector(&up, &upstream_client), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;

    // Someone controls "victim@example.com" at the provider (not the mailbox) and sets up the
    // account here with their own authenticator app.
    let squatter = down.browser();
    let (url, _) = authorize_url(&down, &app, &[]);
    let (login, _) = squatter.go(&url, APP).await;
    let (up_login, _) = to_upstream(&down, &squatter, &login, "up").await;
    let (_, back) = upstream_email_sign_in(&up, &squatter, &up_login, "victim@example.com").await;
    assert!(back.starts_with(APP), "{back}");
    crate::factors::enrol(&down, &squatter).await;
    let customer = down.state.store.customer_by_email("victim@example.com").await.unwrap().unwrap();

    // The owner of the mailbox signs in by mail: they see what is attached, and keep nothing.
    let owner = down.browser();
    let (url, _) = authorize_url(&down, &app, &[]);
    let review = owner.sign_in_with_link(&down, &url, "victim@example.com").await;
    assert!(review.body.contains("Check what is attached to your account"), "{}", review.body);
    assert!(review.body.contains("Upstream") && review.body.contains("Authenticator app"), "{}", review.body);
    assert_eq!(squatter.get("/account").await.location.as_deref(), Some("/login"), "other sessions ended");
    let authz = crate::support::browser::hidden(&review.body, "authz").unwrap_or_default();
    let done = owner
        .post(
            "/login/review",
            &[("csrf", &review.csrf()), ("authz", &authz), ("remove_identity", "up"), ("remove_totp", "1")],
        )
        .await;
    let (_, back) = owner.continue_from(done, &down.url("/login/review"), APP).await;
    assert!(back.starts_with(APP), "{back}");
    assert!(down.state.store.identities_of(&customer.id).await.unwrap().is_empty());
    assert!(down.state.store.totp_factor(&customer.id).await.unwrap().is_none());
    // Each step is an event of the customer, written with it (issue #12).
    let events = crate::outbox::all_dispatched(&down.state.config.database_url()).await;
    let theirs: Vec<&str> =
        events.iter().filter(|e| e.subject.as_deref() == Some(customer.id.as_str())).map(|e| e.kind.as_str()).collect();
    let expected = ["customer.created", "identity.linked", "session.started", "factor.added", "session.ended"];
    let review = ["session.started", "identity.unlinked", "factor.removed", "customer.updated"];
    assert_eq!(theirs, [&expected[..], &review[..]].concat());

    // Proven once: the next mail sign-in goes straight through.
    let (url, _) = authorize_url(&down, &app, &[("prompt", "login")]);
    let again = owner.sign_in_with_link(&down, &url, "victim@example.com").await;
    assert!(!again.body.contains("Check what is attached"), "{}", again.body);
}

#[tokio::test]
async fn linking_a_provider_needs_the_accounts_strongest_factor_and_is_mailed() {
    let down = federating_server().await;
    let (up, upstream_client) = upstream_for(&down, "up").await;
    connectors::create(&down.state, oidc_connector(&up, &upstream_client), down.state.now()).await.unwrap();
    let app = down.confidential_client().await;
    let owner = down.browser();
    crate::support::signed_in_code(&down, &owner, &app, "strong@example.com").await;
    let csrf = crate::support::passkey::account_csrf(&owner).await;
    let mut passkey = crate::support::passkey::Passkey::register(&owner, &csrf, &down.base).await.unwrap();
    let customer = down.state.store.customer_by_email("strong@example.com").await.unwrap().unwrap();

    // The provider names the account's address; a mail proof alone does not link it.
    let browser = down.browser();
    let (url, _) = authorize_url(&down, &app, &[]);
    let (login, _) = browser.go(&url, APP).await;
    let (up_login, _) = to_upstream(&down, &browser, &login, "up").await;
    let (page, _) = upstream_email_sign_in(&up, &browser, &up_login, "strong@example.com").await;
    assert!(page.body.contains("You already have an account"), "{}", page.body);
    browser.sign_in_from(&down, page, "strong@example.com").await;
    assert!(down.state.store.identities_of(&customer.id).await.unwrap().is_empty(), "not with the mail alone");

    // The passkey links it, and the customer hears about it.
    let csrf = crate::support::passkey::account_csrf(&browser).await;
    let (status, body) = passkey.sign_in(&browser, &csrf, &down.base, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(down.state.store.identities_of(&customer.id).await.unwrap().len(), 1);
    let mail = down.smtp.last_mail_to("strong@example.com").await.decoded();
    assert!(mail.contains("social sign-in was linked"), "{mail}");
}
