//! Pairwise subject identifiers (OpenID Connect Core §8.1): apps of two sectors get different
//! `sub` values for one customer, each stable for its app, in every token, UserInfo,
//! introspection, the back-channel logout token, `id_token_hint` and the consent API.

use crate::support::{TestClient, TestServer, jwt_claims, signed_in_code};
use reqwest::StatusCode;
use serde_json::Value;
use tessera::oidc::clients::NewClient;
use tessera::oidc::grants::GrantType;

pub(crate) async fn app(server: &TestServer, host: &str, pairwise: bool, backchannel: Option<&str>) -> TestClient {
    server
        .register_new(NewClient {
            name: host.into(),
            redirect_uris: vec![format!("https://{host}/cb")],
            pairwise,
            backchannel_logout_uri: backchannel.map(String::from),
            allowed_scopes: vec!["tessera:consents".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials],
            ..NewClient::default()
        })
        .await
}

async fn get(server: &TestServer, path: &str, token: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new().get(server.url(path)).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_sectors_see_two_subjects_each_stable_and_the_same_in_every_answer() {
    let server = TestServer::start().await;
    let (uri, mut logouts) = crate::sessions::logout_receiver().await;
    let shop = app(&server, "shop.example", true, Some(&uri)).await;
    let news = app(&server, "news.example", true, None).await;
    let public = app(&server, "public.example", false, None).await;
    let browser = server.browser();
    let mut subs = Vec::new();
    let mut sids = Vec::new();
    let mut shop_tokens = Value::Null;
    for client in [&shop, &news, &public, &shop] {
        let (code, verifier) = signed_in_code(&server, &browser, client, "pair@example.com").await;
        let tokens = server.exchange(client, &code, &verifier).await;
        let id = jwt_claims(tokens["id_token"].as_str().unwrap());
        let access = jwt_claims(tokens["access_token"].as_str().unwrap());
        assert_eq!(id["sub"], access["sub"], "one sub per app in every token");
        subs.push(id["sub"].as_str().unwrap().to_string());
        sids.push(id["sid"].as_str().unwrap().to_string());
        assert_eq!(id["sid"], access["sid"]);
        if client.id == shop.id {
            shop_tokens = tokens;
        }
    }
    let customer = server.state.store.customer_by_email("pair@example.com").await.unwrap().unwrap().id;
    assert_ne!(subs[0], subs[1], "two sectors cannot join on sub");
    assert_ne!(subs[0], customer);
    assert_eq!(subs[2], customer, "a public app gets the public sub");
    assert_eq!(subs[0], subs[3], "stable for one app");
    // Nor can they join on the session id: each sector gets its own `sid`.
    let session = server.state.store.sessions_of(&customer, server.state.now()).await.unwrap().remove(0);
    assert_ne!(sids[0], sids[1]);
    assert_eq!((sids[0] == session.id, sids[2] == session.id, &sids[0]), (false, true, &sids[3]));

    let access = shop_tokens["access_token"].as_str().unwrap();
    let (status, info) = get(&server, "/userinfo", access).await;
    assert_eq!((status, info["sub"].as_str()), (StatusCode::OK, Some(subs[0].as_str())));
    assert_eq!(info["email"], "pair@example.com");
    let introspected: Value = server.introspect(&shop, shop_tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(introspected["sub"].as_str(), Some(subs[0].as_str()));
    let (_, refreshed) = server
        .token(
            &shop,
            &[("grant_type", "refresh_token"), ("refresh_token", shop_tokens["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(jwt_claims(refreshed["id_token"].as_str().unwrap())["sub"].as_str(), Some(subs[0].as_str()));

    // id_token_hint with the pairwise sub names this customer: prompt=none answers at once.
    let (url, _) = crate::support::authorize_url(
        &server,
        &shop,
        &[("prompt", "none"), ("id_token_hint", shop_tokens["id_token"].as_str().unwrap())],
    );
    let answered = browser.get(&url).await;
    assert!(crate::support::query_param(&answered.location.unwrap(), "code").is_some());

    // The consent API knows the customer by the app's own sub only.
    let (_, cc) = server.token(&shop, &[("grant_type", "client_credentials"), ("scope", "tessera:consents")]).await;
    let api = cc["access_token"].as_str().unwrap();
    assert_eq!(get(&server, &format!("/api/v1/customers/{}/consents", subs[0]), api).await.0, StatusCode::OK);
    for other in [&subs[1], &customer] {
        assert_eq!(get(&server, &format!("/api/v1/customers/{other}/consents"), api).await.0, StatusCode::NOT_FOUND);
    }

    // Back-channel logout carries the sub this app knows.
    let sessions = browser.get("/account/sessions").await;
    let id = crate::support::browser::hidden(&sessions.body, "id").unwrap();
    browser.post("/account/sessions/end", &[("csrf", &sessions.csrf()), ("id", &id)]).await;
    let token = tokio::time::timeout(std::time::Duration::from_secs(10), logouts.recv()).await.unwrap().unwrap();
    assert_eq!(jwt_claims(&token)["sub"].as_str(), Some(subs[0].as_str()));
    assert_eq!(jwt_claims(&token)["sid"].as_str(), Some(sids[0].as_str()), "the sid the app knows");
}

#[tokio::test]
async fn a_pairwise_app_with_several_hosts_needs_its_sector_identifier_uri() {
    let server = TestServer::start().await;
    let two_hosts = NewClient {
        name: "Two".into(),
        redirect_uris: vec!["https://a.example/cb".into(), "https://b.example/cb".into()],
        pairwise: true,
        ..NewClient::default()
    };
    let Err(e) = tessera::oidc::clients::create(&server.state.store, two_hosts, 0).await else {
        panic!("a pairwise client with two hosts and no sector was registered")
    };
    assert!(e.description().contains("sector-identifier-uri"), "{}", e.description());
    let with_sector = NewClient {
        name: "Two".into(),
        redirect_uris: vec!["https://a.example/cb".into(), "https://b.example/cb".into()],
        pairwise: true,
        sector_identifier_uri: Some("https://sector.example/uris.json".into()),
        ..NewClient::default()
    };
    let (client, _) = tessera::oidc::clients::create(&server.state.store, with_sector, 0).await.unwrap();
    assert_eq!(client.sector.as_deref(), Some("sector.example"));
    let discovery: Value =
        reqwest::get(server.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(discovery["subject_types_supported"], serde_json::json!(["public", "pairwise"]));
}

#[test]
fn the_cli_registers_pairwise_apps_and_refuses_one_without_a_sector() {
    let dir = tempfile::tempdir().unwrap();
    let two_hosts = ["--redirect-uri", "https://a.example/cb", "--redirect-uri", "https://b.example/cb"];
    let mut args = vec!["client", "create", "--name", "Two", "--subject-type", "pairwise"];
    args.extend(two_hosts);
    let refused = crate::support::cli(dir.path(), &args);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("sector-identifier-uri"));
    args.extend(["--sector-identifier-uri", "https://sector.example/uris.json", "--json"]);
    let made = crate::support::cli(dir.path(), &args);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let bad = crate::support::cli(dir.path(), &["client", "create", "--name", "X", "--subject-type", "secret"]);
    assert!(!bad.status.success(), "an unknown subject type is refused");
}
