//! Progressive profiling: a field an app needs is asked for on the consent screen of the
//! request that needs it (with the app's reason), checked (E.164, a real past date, a town
//! and country), stored only when valid, and released through its scope.

use crate::support::browser::hidden;
use crate::support::{TestServer, authorize_url, cli, jwt_claims, query_param};
use reqwest::StatusCode;
use serde_json::Value;
use tessera::oidc::profile;

/// The authorization URL with `scope` instead of the default one.
fn asking(url: &str, scope: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == "scope" { scope.to_string() } else { v.to_string() }))
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

#[tokio::test]
async fn a_needed_field_is_asked_once_with_the_reason_checked_and_released_by_its_scope() {
    let server = TestServer::start().await;
    let shop = server.confidential_client().await;
    let required = [
        ("phone_number".to_string(), "We text you when your order ships.".to_string()),
        ("birthdate".into(), String::new()),
    ];
    profile::require_claims(&server.state.store, &shop.id, &required).await.unwrap();
    server.state.clients.invalidate(&shop.id);

    let browser = server.browser();
    let (url, verifier) = authorize_url(&server, &shop, &[]);
    let url = asking(&url, "openid email phone profile");
    let login = browser.follow(browser.get(&url).await).await;
    let page = browser.sign_in_from(&server, login, "prog@example.com").await;
    assert!(
        page.body.contains("Phone number") && page.body.contains("We text you when your order ships."),
        "{}",
        page.body
    );
    assert!(page.body.contains("Date of birth") && page.body.contains("cannot work without it"), "{}", page.body);
    assert!(!page.body.contains("claim.address"), "only what the app needs");
    let authz = hidden(&page.body, "authz").unwrap();
    let answer = |phone: &'static str, birthdate: &'static str| {
        let (csrf, authz) = (page.csrf(), authz.clone());
        let browser = &browser;
        async move {
            let form = [
                ("csrf", csrf.as_str()),
                ("authz", authz.as_str()),
                ("decision", "allow"),
                ("claim.phone_number", phone),
                ("claim.birthdate", birthdate),
            ];
            browser.post("/consent", &form).await
        }
    };
    let customer = || async { server.state.store.customer_by_email("prog@example.com").await.unwrap().unwrap() };
    for (phone, birthdate, why) in
        [("044 668 18 00", "1990-04-21", "international form"), ("+41 44 668 18 00", "2990-04-21", "year-month-day")]
    {
        let refused = answer(phone, birthdate).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert!(refused.body.contains(why), "{}", refused.body);
        let c = customer().await;
        assert_eq!((c.phone_number, c.birthdate), (None, None), "nothing half-written");
    }
    let ok = answer("+41 44 668 18 00", "1990-04-21").await;
    let code = query_param(&ok.location.expect("back to the app"), "code").unwrap();
    let tokens = server.exchange(&shop, &code, &verifier).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (id["phone_number"].as_str(), id["phone_number_verified"].as_bool()),
        (Some("+41446681800"), Some(false))
    );
    assert_eq!(id["birthdate"], "1990-04-21");
    let userinfo: Value = server.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(userinfo["phone_number"], "+41446681800");
    // Given once: the next request goes straight back to the app.
    let (again, _) = authorize_url(&server, &shop, &[]);
    let again = browser.get(&asking(&again, "openid phone profile")).await;
    assert!(query_param(&again.location.unwrap(), "code").is_some());
    // The field's scope not granted: not released.
    let (url, verifier) = authorize_url(&server, &shop, &[]);
    let code = query_param(&browser.get(&asking(&url, "openid email")).await.location.unwrap(), "code").unwrap();
    let id = jwt_claims(server.exchange(&shop, &code, &verifier).await["id_token"].as_str().unwrap());
    assert!(id.get("phone_number").is_none() && id.get("birthdate").is_none(), "{id}");
    let events = crate::outbox::stored(&server.state.config.database_url()).await;
    let updated = events.iter().find(|e| e.kind == "customer.updated").expect("customer.updated");
    assert_eq!(updated.payload["fields"], serde_json::json!(["phone_number", "birthdate"]));
    // The privacy centre's profile names the app that asked, and when.
    let sources = server.state.store.profile_sources(&customer().await.id).await.unwrap();
    let phone = sources.iter().find(|s| s.attribute == "phone_number").unwrap();
    assert_eq!((phone.source.as_str(), phone.detail.as_str()), ("app", shop.id.as_str()));
    let page = browser.get("/account/profile").await;
    assert!(page.body.contains("asked by "), "{}", page.body);
}

#[tokio::test]
async fn an_address_is_asked_in_parts_and_released_as_the_address_claim() {
    let server = TestServer::start().await;
    let shop = server.confidential_client().await;
    profile::require_claims(&server.state.store, &shop.id, &[("address".into(), "Where we deliver.".into())])
        .await
        .unwrap();
    server.state.clients.invalidate(&shop.id);
    let browser = server.browser();
    let (url, verifier) = authorize_url(&server, &shop, &[]);
    let login = browser.follow(browser.get(&asking(&url, "openid address")).await).await;
    let page = browser.sign_in_from(&server, login, "addr@example.com").await;
    assert!(page.body.contains("Where we deliver."), "{}", page.body);
    let (csrf, authz) = (page.csrf(), hidden(&page.body, "authz").unwrap());
    let form = [
        ("csrf", csrf.as_str()),
        ("authz", authz.as_str()),
        ("decision", "allow"),
        ("claim.address.street_address", "Bahnhofstrasse 1"),
        ("claim.address.postal_code", "8001"),
        ("claim.address.locality", "Zürich"),
        ("claim.address.country", "Switzerland"),
    ];
    let ok = browser.post("/consent", &form).await;
    let code = query_param(&ok.location.expect("back to the app"), "code").unwrap();
    let id = jwt_claims(server.exchange(&shop, &code, &verifier).await["id_token"].as_str().unwrap());
    assert_eq!(id["address"]["formatted"], "Bahnhofstrasse 1\n8001 Zürich\nSwitzerland");
    assert_eq!(id["address"]["locality"], "Zürich");
}

#[test]
fn the_cli_registers_required_claims_and_refuses_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let bad = cli(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--require-claim",
            "shoe_size",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot be asked for"));
    let ok = cli(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--require-claim",
            "phone_number:We text you when your order ships",
        ],
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let listed = cli(dir.path(), &["client", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "the bad one created nothing");
}
