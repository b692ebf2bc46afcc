//! The authorization endpoint as strict clients and the OpenID certification plans exercise it
//! (issue #11): max_age, prompt values, the essential acr claim, duplicate parameters and
//! loopback redirect URIs for native apps.

use crate::factors::{enrol, totp_code};
use crate::support::{TestClient, TestServer, authorize_url, jwt_claims, query_param, signed_in_code};
use reqwest::StatusCode;
use tessera::oidc::clients::{self, NewClient};

fn app_error(location: &str) -> Option<String> {
    location.starts_with("https://app.example/cb").then(|| query_param(location, "error")).flatten()
}

#[tokio::test]
async fn max_age_is_met_by_the_sign_in_made_for_this_very_request_core_3_1_2_1() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    // max_age=0 on a fresh browser: one sign-in, then the code (no loop back to the login page).
    let (url, verifier) = authorize_url(&server, &client, &[("max_age", "0")]);
    let done = browser.sign_in_with_link(&server, &url, "age@example.com").await;
    let back = browser.continue_from(done, &server.url("/login/link"), &client.redirect_uri).await.1;
    let code = query_param(&back, "code").expect("a code, not another sign-in");
    let tokens = server.exchange(&client, &code, &verifier).await;
    assert!(jwt_claims(tokens["id_token"].as_str().unwrap())["auth_time"].is_i64());

    // max_age=60 with a consent page that takes two minutes: still the same sign-in.
    let consenting = server.consent_client().await;
    let (url, _) = authorize_url(&server, &consenting, &[("max_age", "60"), ("prompt", "login")]);
    let page = browser.sign_in_with_link(&server, &url, "age@example.com").await;
    let consent = browser.follow(page).await;
    assert!(consent.body.contains("would like to"), "{}", consent.body);
    server.clock.advance_secs(120);
    let authz = crate::support::browser::hidden(&consent.body, "authz").unwrap();
    let answer = browser.post("/consent", &[("csrf", &consent.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    let location = answer.location.unwrap();
    assert!(query_param(&location, "code").is_some(), "{location}");

    // An older session does not meet max_age: sign in again; huge values do not overflow.
    let (url, _) = authorize_url(&server, &client, &[("max_age", "30")]);
    let res = browser.get(&url).await;
    assert!(res.location.unwrap().starts_with("/login"), "older than 30 s");
    let (url, _) = authorize_url(&server, &client, &[("max_age", &i64::MAX.to_string())]);
    let res = browser.get(&url).await;
    assert!(res.location.unwrap().starts_with(&client.redirect_uri));
}

#[tokio::test]
async fn prompt_none_stands_alone_select_account_chooses_and_create_signs_up() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "who@example.com").await;
    // Core §3.1.2.1: none with any other value is invalid_request, redirected.
    for combo in ["none select_account", "none create", "none login"] {
        let (url, _) = authorize_url(&server, &client, &[("prompt", combo)]);
        let res = browser.get(&url).await;
        assert_eq!(app_error(res.location.as_deref().unwrap()).as_deref(), Some("invalid_request"), "{combo}");
    }
    // select_account: a chooser, then the answer for the account chosen.
    let (url, verifier) = authorize_url(&server, &client, &[("prompt", "select_account")]);
    let chooser = browser.follow(browser.get(&url).await).await;
    assert!(chooser.body.contains("Continue as who@example.com"), "{}", chooser.body);
    assert!(chooser.body.contains("Use another account"));
    let authz = crate::support::browser::hidden(&chooser.body, "authz").unwrap();
    let other =
        browser.post("/authorize/select", &[("csrf", &chooser.csrf()), ("authz", &authz), ("choice", "other")]).await;
    assert_eq!(other.location.as_deref(), Some(format!("/login?authz={authz}").as_str()));
    let keep =
        browser.post("/authorize/select", &[("csrf", &chooser.csrf()), ("authz", &authz), ("choice", "keep")]).await;
    let code = query_param(&keep.location.unwrap(), "code").expect("a code for the chosen account");
    server.exchange(&client, &code, &verifier).await;

    // prompt=create (OpenID Connect Prompt Create 1.0): the sign-up wording, and advertised.
    let fresh = server.browser();
    let (url, _) = authorize_url(&server, &client, &[("prompt", "create")]);
    let page = fresh.follow(fresh.get(&url).await).await;
    assert!(page.body.contains("<h1>Create your account</h1>"), "{}", page.body);
    let m: serde_json::Value =
        reqwest::get(server.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert!(m["prompt_values_supported"].as_array().unwrap().iter().any(|v| v == "create"));
}

#[tokio::test]
async fn an_essential_acr_with_values_releases_only_a_requested_value_core_5_5_1_1() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "acr@example.com").await;
    let (secret, _) = enrol(&server, &browser).await;
    server.clock.advance_secs(30);
    // A two-factor session.
    let (url, _) = authorize_url(&server, &client, &[("prompt", "login")]);
    let page = browser.sign_in_with_link(&server, &url, "acr@example.com").await;
    let code = totp_code(&secret, server.state.now());
    browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", &code)]).await;

    // The client asks essentially for the email level only: that is what it gets.
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["urn:tessera:acr:email","urn:other"]}}}"#;
    let (url, verifier) = authorize_url(&server, &client, &[("claims", claims)]);
    let res = browser.get(&url).await;
    let code = query_param(&res.location.unwrap(), "code").unwrap();
    let tokens = server.exchange(&client, &code, &verifier).await;
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["acr"], "urn:tessera:acr:email");
    // Asking for email or mfa gives the strongest one reached.
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["urn:tessera:acr:email","urn:tessera:acr:mfa"]}}}"#;
    let (url, verifier) = authorize_url(&server, &client, &[("claims", claims)]);
    let code = query_param(&browser.get(&url).await.location.unwrap(), "code").unwrap();
    let tokens = server.exchange(&client, &code, &verifier).await;
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["acr"], "urn:tessera:acr:mfa");
}

#[tokio::test]
async fn repeated_parameters_are_redirected_as_invalid_request_once_the_client_is_trusted() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let (url, _) = authorize_url(&server, &client, &[("state", "again")]);
    let res = server.browser().get(&url).await;
    assert_eq!(app_error(res.location.as_deref().unwrap_or("")).as_deref(), Some("invalid_request"));
    // A repeated client_id or redirect_uri is never redirected anywhere.
    let (url, _) = authorize_url(&server, &client, &[("client_id", &client.id)]);
    let res = server.browser().get(&url).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.location.is_none());
}

async fn native_client(server: &TestServer, public: bool, uri: &str) -> TestClient {
    let new = NewClient {
        name: "Desktop app".into(),
        redirect_uris: vec![uri.into()],
        post_logout_redirect_uris: vec![],
        public,
        ..NewClient::default()
    };
    let (c, secret) = clients::create(&server.state.store, new, server.state.now()).await.unwrap();
    TestClient { id: c.id, secret, redirect_uri: uri.into() }
}

#[tokio::test]
async fn loopback_redirect_uris_of_native_apps_match_on_any_port_rfc_8252_7_3() {
    let server = TestServer::start().await;
    let public = native_client(&server, true, "http://127.0.0.1/callback").await;
    let with_port = TestClient { redirect_uri: "http://127.0.0.1:53124/callback".into(), ..public };
    let (url, _) = authorize_url(&server, &with_port, &[]);
    let res = server.browser().get(&url).await;
    assert!(res.location.unwrap().starts_with("/login?authz="), "any port on the loopback IP");
    let v6 = native_client(&server, true, "http://[::1]:8000/callback").await;
    let other_port = TestClient { redirect_uri: "http://[::1]:9/callback".into(), ..v6 };
    let (url, _) = authorize_url(&server, &other_port, &[]);
    assert!(server.browser().get(&url).await.location.unwrap().starts_with("/login?authz="));
    // Everything else stays an exact match: another path, a confidential client, localhost.
    let public = native_client(&server, true, "http://127.0.0.1/callback").await;
    for uri in ["http://127.0.0.1:5000/other", "http://localhost:5000/callback"] {
        let c = TestClient { redirect_uri: uri.into(), id: public.id.clone(), secret: None };
        let (url, _) = authorize_url(&server, &c, &[]);
        assert_eq!(server.browser().get(&url).await.status, StatusCode::BAD_REQUEST, "{uri}");
    }
    let confidential = native_client(&server, false, "http://127.0.0.1/callback").await;
    let c = TestClient { redirect_uri: "http://127.0.0.1:5000/callback".into(), ..confidential };
    let (url, _) = authorize_url(&server, &c, &[]);
    assert_eq!(server.browser().get(&url).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn id_token_hint_names_the_account_the_app_expects_core_3_1_2_1() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "first@example.com").await;
    let first = server.exchange(&client, &code, &verifier).await;
    let hint_first = first["id_token"].as_str().unwrap().to_string();
    let access_token = first["access_token"].as_str().unwrap().to_string();
    // The same browser switches to another account.
    let (url, _) = authorize_url(&server, &client, &[("prompt", "login")]);
    browser.sign_in_with_link(&server, &url, "second@example.com").await;

    // prompt=none with a hint for another account than the session's: login_required.
    let (url, _) = authorize_url(&server, &client, &[("prompt", "none"), ("id_token_hint", &hint_first)]);
    let res = browser.get(&url).await;
    assert_eq!(app_error(&res.location.unwrap()).as_deref(), Some("login_required"));
    // Without prompt=none the person is asked to sign in as that account (or switch).
    let (url, verifier) = authorize_url(&server, &client, &[("id_token_hint", &hint_first)]);
    let login = browser.follow(browser.get(&url).await).await;
    assert!(login.body.contains("The app asks for another account"), "{}", login.body);
    let done = browser.sign_in_from(&server, login, "first@example.com").await;
    let back = browser.continue_from(done, &server.url("/login/link"), &client.redirect_uri).await.1;
    let tokens = server.exchange(&client, &query_param(&back, "code").unwrap(), &verifier).await;
    let first_sub = jwt_claims(&hint_first)["sub"].clone();
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["sub"], first_sub);
    // A matching hint answers at once.
    let (url, _) = authorize_url(&server, &client, &[("prompt", "none"), ("id_token_hint", &hint_first)]);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());

    // Anything but this OP's ID token is invalid_request: an access token, garbage.
    for bad in [access_token.as_str(), "not.a.jwt"] {
        let (url, _) = authorize_url(&server, &client, &[("id_token_hint", bad)]);
        let res = browser.get(&url).await;
        assert_eq!(app_error(&res.location.unwrap()).as_deref(), Some("invalid_request"), "{bad}");
    }
}

#[tokio::test]
async fn a_cross_site_post_authorization_request_sees_the_session_on_https_core_3_1_2_1() {
    // The server listens on plain loopback; the https issuer sets the cookie policy.
    let server = TestServer::start_with(|c| c.issuer = "https://id.example".into()).await;
    let client = server.confidential_client().await;
    let state = &server.state;
    let mut tx = state.store.begin().await.unwrap();
    let (customer, _, _) =
        tessera::store::Store::prove_mailbox_in(&mut tx, "post@example.com", "cust-post", state.now()).await.unwrap();
    let browser = tessera::session::Browser { ip: "127.0.0.1", user_agent: "test" };
    let new =
        tessera::session::new_session(state, &customer, "urn:tessera:acr:email", "email", &browser, false, state.now());
    tessera::store::Store::insert_session_in(&mut tx, &new.record).await.unwrap();
    tx.commit().await.unwrap();
    // The session cookie is SameSite=None on https, so a browser sends it on this cross-site POST.
    let set = tessera::web::cookies::set(tessera::web::cookies::SESSION, &new.token, None, true);
    assert!(set.to_str().unwrap().contains("SameSite=None; Secure"), "{set:?}");
    let (url, _) = authorize_url(&server, &client, &[("prompt", "none")]);
    let query: Vec<(String, String)> = url::Url::parse(&url).unwrap().query_pairs().into_owned().collect();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = http
        .post(format!("http://{}/authorize", state.config.listen))
        .header("cookie", format!("__Host-tessera_session={}", new.token))
        .header("origin", "https://app.example")
        .header("sec-fetch-site", "cross-site")
        .form(&query)
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(query_param(&location, "code").is_some(), "prompt=none answered from the session: {location}");
}
