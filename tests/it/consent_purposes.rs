//! Purposes at authorization time: `purpose:<id>` scope values limited to the client's
//! registration, explicit opt-in item by item, refusal, remembered and incremental consent,
//! material and non-material policy versions, and the `consents` claim in every token type.

use crate::support::browser::{Browser, hidden};
use crate::support::{TestClient, TestServer, authorize_url, jwt_claims, query_param};
use serde_json::Value;
use tessera::consent::ledger;
use tessera::consent::policies::{self, NewVersion};
use tessera::consent::purposes::{self, ClientPurpose, PurposeInput};
use tessera::events::audit::Caller;

async fn publish(server: &TestServer, version_summary: &str, material: bool) -> i64 {
    let new = NewVersion {
        id: "privacy".into(),
        title: "Privacy policy".into(),
        body: format!("The policy: {version_summary}\n"),
        summary: version_summary.into(),
        material,
        effective_at: None,
    };
    policies::publish(&server.state, new, Caller::operator(), server.state.now()).await.unwrap().version
}

/// A client registered for marketing.email and analytics (optional) and personalisation
/// (required, with its reason).
pub(crate) async fn setup(server: &TestServer) -> TestClient {
    let client = server.confidential_client().await;
    setup_for(server, client).await
}

pub(crate) async fn setup_for(server: &TestServer, client: TestClient) -> TestClient {
    publish(server, "First version", false).await;
    for (id, name) in
        [("marketing.email", "News by email"), ("analytics", "Statistics"), ("personalisation", "Your feed")]
    {
        let input = PurposeInput {
            id: Some(id.into()),
            name: Some(name.into()),
            notice: Some(format!("What {name} means, in one sentence.")),
            policy: Some("privacy".into()),
            ..PurposeInput::default()
        };
        purposes::create(&server.state, input, Caller::operator(), server.state.now()).await.unwrap();
    }
    let registered: Vec<ClientPurpose> =
        ["marketing.email:optional", "analytics:optional", "personalisation:required:Your feed is built from it"]
            .iter()
            .map(|s| ClientPurpose::parse(s).unwrap())
            .collect();
    purposes::register_for_client(&server.state.store, &client.id, &registered).await.unwrap();
    server.state.clients.invalidate(&client.id);
    client
}

/// The authorization URL with `scope` instead of the default one.
fn asking(server: &TestServer, client: &TestClient, scope: &str, extra: &[(&str, &str)]) -> (String, String) {
    let (url, verifier) = authorize_url(server, client, extra);
    let mut u = url::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == "scope" { scope.to_string() } else { v.to_string() }))
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    (u.to_string(), verifier)
}

pub(crate) const ALL: &str = "openid email purpose:marketing.email purpose:analytics purpose:personalisation";

async fn consent_page(server: &TestServer, browser: &Browser, url: &str) -> crate::support::browser::Page {
    let first = browser.follow(browser.get(url).await).await;
    if first.body.contains("name=\"email\"") {
        let login = first;
        browser.sign_in_from(server, login, "opt@example.com").await
    } else {
        first
    }
}

#[tokio::test]
async fn optional_purposes_are_off_until_ticked_and_the_tokens_carry_what_was_granted() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    // A purpose the client is not registered for: invalid_scope (RFC 6749 §4.1.2.1).
    let browser = server.browser();
    let (url, _) = asking(&server, &client, "openid purpose:share.partners", &[]);
    let refused = browser.get(&url).await;
    assert_eq!(query_param(&refused.location.unwrap(), "error").as_deref(), Some("invalid_scope"));

    let (url, verifier) = asking(&server, &client, ALL, &[]);
    let page = consent_page(&server, &browser, &url).await;
    assert!(page.body.contains("News by email") && page.body.contains("Statistics"), "{}", page.body);
    assert!(page.body.contains("Why it is required: Your feed is built from it"), "{}", page.body);
    assert!(!page.body.contains("checked"), "no pre-ticked boxes");
    assert!(!page.body.contains("name=\"purpose.personalisation\""), "a required item is not a choice");
    assert!(page.body.contains("href=\"/policies/privacy/1\""));
    let text = browser.get("/policies/privacy/1").await;
    assert!(text.body.contains("The policy: First version"), "{}", text.body);

    let authz = hidden(&page.body, "authz").unwrap();
    let form = [
        ("csrf", page.csrf()),
        ("authz", authz),
        ("decision", "allow".into()),
        ("purpose.marketing.email", "1".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answered = browser.post("/consent", &form).await;
    let code = query_param(&answered.location.unwrap(), "code").expect("a code");
    let tokens = server.exchange(&client, &code, &verifier).await;
    let scope = tokens["scope"].as_str().unwrap();
    assert!(scope.contains("purpose:marketing.email") && scope.contains("purpose:personalisation"), "{scope}");
    assert!(!scope.contains("purpose:analytics"), "not ticked, not granted: {scope}");
    let granted = |v: &Value| -> Vec<String> {
        let mut p: Vec<String> =
            v.as_array().unwrap().iter().map(|c| c["purpose"].as_str().unwrap().to_string()).collect();
        p.sort();
        p
    };
    let id_token = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(granted(&id_token["consents"]), ["marketing.email", "personalisation"]);
    let first = &id_token["consents"][0];
    assert_eq!((first["policy"].as_str(), first["version"].as_i64()), (Some("privacy"), Some(1)));
    assert!(first["granted_at"].as_i64().unwrap() > 1_000_000_000, "seconds since the epoch");
    let access = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(granted(&access["consents"]), ["marketing.email", "personalisation"]);
    let userinfo: Value = server.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(granted(&userinfo["consents"]), ["marketing.email", "personalisation"]);
    let introspected: Value = server.introspect(&client, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(granted(&introspected["consents"]), ["marketing.email", "personalisation"]);
    let (_, refreshed) = server
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(
        granted(&jwt_claims(refreshed["id_token"].as_str().unwrap())["consents"]),
        ["marketing.email", "personalisation"]
    );

    // The proof: the two purposes granted, each on privacy v1 and the hash of its exact text.
    let customer = server.state.store.customer_by_email("opt@example.com").await.unwrap().unwrap().id;
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    let purposes: Vec<(&str, &str)> = receipts
        .iter()
        .filter(|r| r.item.starts_with("purpose:"))
        .map(|r| (r.item.as_str(), r.action.as_str()))
        .collect();
    assert_eq!(purposes.len(), 2, "{purposes:?}");
    assert!(purposes.iter().all(|(_, a)| *a == "granted"));
    let v1 = policies::text(&server.state, "privacy", 1).await.unwrap().0;
    assert!(receipts.iter().filter(|r| r.item.starts_with("purpose:")).all(|r| r.text_hash == v1.text_hash));
    // The news, written with the proof: one consent.granted per ledger entry, naming it.
    let events = crate::outbox::stored(&server.state.config.database_url()).await;
    let granted_events: Vec<&Value> =
        events.iter().filter(|e| e.kind == "consent.granted").map(|e| &e.payload).collect();
    let accepted: Vec<&Value> = events.iter().filter(|e| e.kind == "policy.accepted").map(|e| &e.payload).collect();
    assert_eq!(granted_events.len() + accepted.len(), receipts.len());
    assert_eq!((accepted.len(), &accepted[0]["item"]), (1, &Value::from("policy:privacy")), "privacy v1 accepted");
    let marketing = granted_events.iter().find(|p| p["item"] == "purpose:marketing.email").expect("its event");
    assert_eq!((marketing["policy"].as_str(), marketing["policy_version"].as_i64()), (Some("privacy"), Some(1)));
    assert!(receipts.iter().any(|r| marketing["ledger_entry"] == r.id.as_str()));
    assert_eq!(marketing["channel"], "consent_screen");
}

#[tokio::test]
async fn refusing_denies_decisions_are_remembered_and_only_new_or_materially_changed_items_are_asked() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let browser = server.browser();
    let (url, _) = asking(&server, &client, "openid purpose:personalisation", &[]);
    let page = consent_page(&server, &browser, &url).await;
    let authz = hidden(&page.body, "authz").unwrap();
    let denied = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "deny")]).await;
    assert_eq!(query_param(&denied.location.unwrap(), "error").as_deref(), Some("access_denied"));

    // Accept the required one alone; analytics left off.
    let (url, _) = asking(&server, &client, "openid purpose:personalisation purpose:analytics", &[]);
    let page = consent_page(&server, &browser, &url).await;
    let authz = hidden(&page.body, "authz").unwrap();
    let ok = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    assert!(query_param(&ok.location.unwrap(), "code").is_some());
    // The same (or fewer) items: no page. A new one: a page with only the new one.
    let (url, _) = asking(&server, &client, "openid purpose:personalisation", &[]);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());
    let (url, _) = asking(&server, &client, "openid purpose:personalisation purpose:marketing.email", &[]);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.body.contains("News by email"), "{}", page.body);
    assert!(!page.body.contains("Your feed"), "decided items are not asked again: {}", page.body);
    let authz = hidden(&page.body, "authz").unwrap();
    let form = [
        ("csrf", page.csrf()),
        ("authz", authz),
        ("decision", "allow".into()),
        ("purpose.marketing.email", "1".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/consent", &form).await;
    // Unticking it later (prompt=consent) is a withdrawal: proof and event.
    let (url, _) = asking(&server, &client, "openid purpose:marketing.email", &[("prompt", "consent")]);
    let page = browser.follow(browser.get(&url).await).await;
    let authz = hidden(&page.body, "authz").unwrap();
    browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    let customer = server.state.store.customer_by_email("opt@example.com").await.unwrap().unwrap().id;
    let last = ledger::export(&server.state, &customer).await.unwrap().pop().unwrap();
    assert_eq!((last.item.as_str(), last.action.as_str()), ("purpose:marketing.email", "withdrawn"));
    let events = crate::outbox::stored(&server.state.config.database_url()).await;
    assert_eq!(events.last().unwrap().kind, "consent.withdrawn");
    let consents = tessera::consent::in_force(&server.state.store, &customer, &client.id).await.unwrap();
    assert_eq!(consents.iter().map(|c| c.purpose.as_str()).collect::<Vec<_>>(), ["personalisation"]);

    // A version published as not material is shown once, as a notice, and asks nothing; a
    // silent request (prompt=none) is not held up by it.
    assert_eq!(publish(&server, "Typo fixed", false).await, 2);
    let (silent, _) = asking(&server, &client, "openid purpose:personalisation", &[("prompt", "none")]);
    assert!(query_param(&browser.get(&silent).await.location.unwrap(), "code").is_some());
    let (url, _) = asking(&server, &client, "openid purpose:personalisation", &[]);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.body.contains("Privacy policy was updated: Typo fixed"), "{}", page.body);
    assert!(!page.body.contains("changed:"), "not a material change: {}", page.body);
    assert!(!page.body.contains("name=\"purpose."), "nothing to decide: {}", page.body);
    let authz = hidden(&page.body, "authz").unwrap();
    let ok = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    assert!(query_param(&ok.location.unwrap(), "code").is_some());
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some(), "shown once");
    assert_eq!(publish(&server, "We now share with partners", true).await, 3);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.body.contains("href=\"/policies/privacy/3\""), "{}", page.body);
    assert!(page.body.contains("Privacy policy changed: We now share with partners"), "{}", page.body);
    let authz = hidden(&page.body, "authz").unwrap();
    let ok = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    assert!(query_param(&ok.location.unwrap(), "code").is_some());
    let receipts = ledger::export(&server.state, &customer).await.unwrap();
    let accepted = receipts.iter().rev().find(|r| r.item == "policy:privacy").expect("the new version accepted");
    assert_eq!(accepted.policy_version, 3);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some(), "accepted: not asked again");
    // prompt=consent asks for everything again.
    let (url, _) = asking(&server, &client, "openid purpose:analytics", &[("prompt", "consent")]);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.body.contains("Statistics"), "{}", page.body);
    // A retired purpose can no longer be asked for.
    purposes::retire(&server.state, "analytics", Caller::operator(), server.state.now()).await.unwrap();
    server.state.clients.invalidate(&client.id);
    let refused = browser.get(&url).await;
    assert_eq!(query_param(&refused.location.unwrap(), "error").as_deref(), Some("invalid_scope"));
}

/// An app that signs customers in and calls the consent API with its own client_credentials.
pub(crate) async fn app_with_consent_api(server: &TestServer) -> TestClient {
    use tessera::oidc::clients::NewClient;
    use tessera::oidc::grants::GrantType;
    let new = NewClient {
        name: "Shop".into(),
        redirect_uris: vec!["https://shop.example/cb".into()],
        allowed_scopes: vec!["tessera:consents".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials],
        ..NewClient::default()
    };
    server.register_new(new).await
}

pub(crate) async fn api_token(server: &TestServer, client: &TestClient) -> String {
    let (status, body) =
        server.token(client, &[("grant_type", "client_credentials"), ("scope", "tessera:consents")]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn post_json(server: &TestServer, path: &str, token: &str, body: Value) -> (reqwest::StatusCode, Value) {
    let res = reqwest::Client::new().post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Sign in (or reuse the session), consent to `ticked` optional purposes, and exchange.
pub(crate) async fn tokens_with(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    scope: &str,
    ticked: &[&str],
) -> Value {
    let (url, verifier) = asking(server, client, scope, &[]);
    let mut page = consent_page(server, browser, &url).await;
    if page.location.is_none() {
        let mut form: Vec<(String, String)> = vec![
            ("csrf".into(), page.csrf()),
            ("authz".into(), hidden(&page.body, "authz").unwrap()),
            ("decision".into(), "allow".into()),
        ];
        form.extend(ticked.iter().map(|p| (format!("purpose.{p}"), "1".to_string())));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        page = browser.post("/consent", &form).await;
    }
    let code = query_param(&page.location.unwrap(), "code").expect("a code");
    server.exchange(client, &code, &verifier).await
}

#[tokio::test]
async fn a_withdrawal_takes_effect_at_once_everywhere_and_only_the_apps_own_purposes_are_its_business() {
    let server = TestServer::start().await;
    let app = app_with_consent_api(&server).await;
    let app = setup_for(&server, app).await;
    let browser = server.browser();
    let tokens = tokens_with(&server, &browser, &app, ALL, &["marketing.email"]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let customer = server.state.store.customer_by_email("opt@example.com").await.unwrap().unwrap().id;
    let api = api_token(&server, &app).await;
    let path = format!("/api/v1/customers/{customer}/consents");

    // Another app with the consent API sees none of this app's purposes and cannot touch them.
    let other = app_with_consent_api(&server).await;
    let other_token = api_token(&server, &other).await;
    let theirs: Value = reqwest::Client::new()
        .get(server.url(&path))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["consents"], serde_json::json!([]));
    let (status, _) = post_json(
        &server,
        &format!("{path}/withdraw"),
        &other_token,
        serde_json::json!({"purpose": "marketing.email"}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    // A token without tessera:consents (the customer's own access token) is refused.
    let refused = reqwest::Client::new().get(server.url(&path)).bearer_auth(access).send().await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);

    let mine: Value =
        reqwest::Client::new().get(server.url(&path)).bearer_auth(&api).send().await.unwrap().json().await.unwrap();
    let state_of = |v: &Value, p: &str| {
        v["consents"].as_array().unwrap().iter().find(|c| c["purpose"] == p).unwrap()["state"].clone()
    };
    assert_eq!(
        (state_of(&mine, "marketing.email"), state_of(&mine, "personalisation")),
        ("granted".into(), "granted".into())
    );
    assert_eq!(state_of(&mine, "analytics"), "refused");

    // The unsubscribe link: an optional purpose withdrawn through the API.
    let (status, w) =
        post_json(&server, &format!("{path}/withdraw"), &api, serde_json::json!({"purpose": "marketing.email"})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{w}");
    assert_eq!(w["revoked_grants"], 0);
    let seen = server.introspect(&app, access).await;
    assert_eq!(seen["active"], true, "an optional purpose: the access token stays, with less");
    let purposes: Vec<&str> =
        seen["consents"].as_array().unwrap().iter().map(|c| c["purpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["personalisation"]);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    for narrower in [None, Some("openid email")] {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
        form.extend(narrower.map(|s| ("scope", s)));
        let (status, body) = server.token(&app, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (reqwest::StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{body}"
        );
    }
    let last = ledger::export(&server.state, &customer).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.item.as_str(), last.action.as_str(), last.channel.as_str()),
        ("purpose:marketing.email", "withdrawn", "api")
    );
    assert_eq!(last.id, w["ledger_entry"].as_str().unwrap());
    let events = crate::outbox::stored(&server.state.config.database_url()).await;
    assert_eq!(events.last().unwrap().kind, "consent.withdrawn");
    let (status, _) =
        post_json(&server, &format!("{path}/withdraw"), &api, serde_json::json!({"purpose": "marketing.email"})).await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "nothing granted, nothing to withdraw");

    // A required purpose withdrawn (here by an admin): the app's tokens that relied on it die.
    // (The app asks for no purpose this time; its tokens still rely on the required one.)
    let tokens = tokens_with(&server, &browser, &app, "openid", &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(server.introspect(&app, access).await["active"], true);
    let admin = crate::admin::admin_token(&server).await;
    let (status, w) = post_json(
        &server,
        &format!("/admin/api/v1/customers/{customer}/consents/withdraw"),
        &admin,
        serde_json::json!({"client_id": app.id, "purpose": "personalisation"}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{w}");
    assert!(w["revoked_grants"].as_u64().unwrap() >= 1);
    assert_eq!(server.introspect(&app, access).await, serde_json::json!({"active": false}));
    let (status, _) = server
        .token(&app, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    let last = ledger::export(&server.state, &customer).await.unwrap().pop().unwrap();
    assert_eq!((last.item.as_str(), last.channel.as_str()), ("purpose:personalisation", "admin"));

    // A scope withdrawn through the API: no longer remembered, and the families holding it die.
    let tokens = tokens_with(&server, &browser, &app, "openid email", &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let mine: Value = get_json(&server, &path, &api).await;
    assert!(mine["scopes"].as_array().unwrap().contains(&Value::from("email")), "{mine}");
    for bad in [serde_json::json!({}), serde_json::json!({"purpose": "marketing.email", "scope": "email"})] {
        let (status, _) = post_json(&server, &format!("{path}/withdraw"), &api, bad).await;
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    }
    let (status, w) =
        post_json(&server, &format!("{path}/withdraw"), &api, serde_json::json!({"scope": "email"})).await;
    assert_eq!((status, w["item"].as_str()), (reqwest::StatusCode::OK, Some("scope:email")), "{w}");
    assert_eq!(server.introspect(&app, access).await, serde_json::json!({"active": false}));
    let mine: Value = get_json(&server, &path, &api).await;
    assert!(!mine["scopes"].as_array().unwrap().contains(&Value::from("email")), "{mine}");
    let last = ledger::export(&server.state, &customer).await.unwrap().pop().unwrap();
    assert_eq!((last.item.as_str(), last.action.as_str()), ("scope:email", "withdrawn"));
    assert_eq!(ledger::verify(&server.state).await.unwrap().1, vec![]);
}

async fn get_json(server: &TestServer, path: &str, token: &str) -> Value {
    reqwest::Client::new().get(server.url(path)).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// Wait (the worker runs on real time) until `address` has `n` mails; then a little longer,
/// so a second mail that should not come would have come.
async fn mails_settle(server: &TestServer, address: &str, n: usize) {
    for _ in 0..200 {
        if server.smtp.count_to(address) >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
}

#[tokio::test]
async fn a_material_change_is_mailed_once_to_those_it_concerns_before_it_takes_effect() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let browser = server.browser();
    tokens_with(&server, &browser, &client, ALL, &["marketing.email"]).await;
    let bystander = server.browser();
    let login = bystander.get("/login").await;
    bystander.sign_in_from(&server, login, "bystander@example.com").await;
    let (before_a, before_b) = (server.smtp.count_to("opt@example.com"), server.smtp.count_to("bystander@example.com"));

    let later = 10 * 60 * 1000; // in ten minutes (the session stays alive meanwhile)
    let new = NewVersion {
        id: "privacy".into(),
        title: "Privacy policy".into(),
        body: "The policy: we now share with partners\n".into(),
        summary: "We now share your purchases with our delivery partners.".into(),
        material: true,
        effective_at: Some(server.state.now() + later),
    };
    let v2 = policies::publish(&server.state, new, Caller::operator(), server.state.now()).await.unwrap();
    mails_settle(&server, "opt@example.com", before_a + 1).await;
    assert_eq!(server.smtp.count_to("opt@example.com"), before_a + 1, "one notice, not two");
    let due = || async { tessera::consent::notices::send_due(&server.state, server.state.now()).await.unwrap() };
    assert_eq!(due().await, 0, "nothing left to tell");
    let notice = server.smtp.last_mail_to("opt@example.com").await.decoded();
    assert!(notice.contains("We now share your purchases with our delivery partners."), "{notice}");
    assert!(notice.contains(&format!("/policies/privacy/{}", v2.version)), "{notice}");
    assert_eq!(server.smtp.count_to("bystander@example.com"), before_b, "it does not concern them");

    // Until it takes effect, version 1 stays in force: nothing is asked.
    let (url, _) = asking(&server, &client, "openid purpose:personalisation", &[]);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());
    assert_eq!(policies::in_force(&server.state, "privacy", server.state.now()).await.unwrap().unwrap().version, 1);
    server.clock.advance_secs(later / 1000 + 1);
    // In force now: the next sign-in to the app asks again about everything granted under the
    // old version, even when the request names no purpose.
    let (plain, _) = asking(&server, &client, "openid", &[]);
    let page = browser.follow(browser.get(&plain).await).await;
    assert!(page.body.contains("changed: We now share your purchases"), "{}", page.body);
    assert!(page.body.contains("News by email") && page.body.contains("Your feed"), "{}", page.body);
    // Refusing the new version withdraws what was asked under it.
    let authz = hidden(&page.body, "authz").unwrap();
    let denied = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "deny")]).await;
    assert_eq!(query_param(&denied.location.unwrap(), "error").as_deref(), Some("access_denied"));
    let customer = server.state.store.customer_by_email("opt@example.com").await.unwrap().unwrap().id;
    let left = tessera::consent::in_force(&server.state.store, &customer, &client.id).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    let withdrawn: Vec<String> = ledger::export(&server.state, &customer)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "withdrawn")
        .map(|r| r.item)
        .collect();
    assert_eq!(withdrawn.len(), 2, "{withdrawn:?}");
    // A non-material version mails nobody.
    let before = server.smtp.count_to("opt@example.com");
    publish(&server, "Wording", false).await;
    assert_eq!(due().await, 0);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await; // and the worker's ticks
    assert_eq!(server.smtp.count_to("opt@example.com"), before);
}

/// An answer agrees to what its page showed: a version published while the page was open
/// sends the customer back to read it, and nothing is recorded meanwhile.
#[tokio::test]
async fn a_policy_published_while_the_page_is_open_is_not_agreed_to_unseen() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let browser = server.browser();
    let (url, _) = asking(&server, &client, "openid purpose:personalisation", &[]);
    let page = consent_page(&server, &browser, &url).await;
    assert!(page.body.contains("href=\"/policies/privacy/1\""));
    publish(&server, "A material change", true).await;
    let authz = hidden(&page.body, "authz").unwrap();
    let stale = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    assert_eq!(stale.status, reqwest::StatusCode::BAD_REQUEST, "{}", stale.body);
    assert!(stale.body.contains("changed while the page was open"), "{}", stale.body);
    let customer = server.state.store.customer_by_email("opt@example.com").await.unwrap().unwrap().id;
    assert!(tessera::consent::in_force(&server.state.store, &customer, &client.id).await.unwrap().is_empty());
    let reloaded = browser.get(&format!("/consent?authz={authz}")).await;
    assert!(reloaded.body.contains("href=\"/policies/privacy/2\""), "{}", reloaded.body);
    let ok = browser.post("/consent", &[("csrf", &reloaded.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    assert!(query_param(&ok.location.unwrap(), "code").is_some());
    let consents = tessera::consent::in_force(&server.state.store, &customer, &client.id).await.unwrap();
    assert_eq!((consents[0].purpose.as_str(), consents[0].version), ("personalisation", 2));
}
