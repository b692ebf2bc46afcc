//! Who may read a token and who it is for: introspection by resource servers only (RFC 7662
//! §2.2) and access-token audiences from resource indicators (RFC 8707).

use crate::support::{REDIRECT_URI, TestClient, TestServer, authorize_url, jwt_claims, query_param};
use reqwest::StatusCode;
use serde_json::Value;
use tessera::oidc::clients::NewClient;
use tessera::oidc::grants::GrantType;

const ORDERS: &str = "https://api.example/orders";
const BILLING: &str = "https://api.example/billing";

fn machine(name: &str, introspect: bool) -> NewClient {
    NewClient {
        name: name.into(),
        allowed_scopes: vec!["orders:read".into()],
        grant_types: vec![GrantType::ClientCredentials],
        introspect,
        resources: vec![ORDERS.into(), BILLING.into()],
        ..NewClient::default()
    }
}

async fn introspect(server: &TestServer, by: &TestClient, token: &str) -> Value {
    let req = reqwest::Client::new().post(server.url("/introspect")).form(&[("token", token)]);
    req.basic_auth(&by.id, by.secret.as_deref()).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn only_resource_servers_introspect_tokens_of_other_clients_rfc_7662_2_2() {
    let server = TestServer::start().await;
    let holder = server.register_new(machine("Holder", false)).await;
    let other = server.register_new(machine("Other", false)).await;
    let resource_server = server.register_new(machine("Orders API", true)).await;
    let (_, body) = server.token(&holder, &[("grant_type", "client_credentials")]).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(introspect(&server, &holder, token).await["active"], true, "its own token");
    assert_eq!(introspect(&server, &other, token).await, serde_json::json!({ "active": false }));
    let seen = introspect(&server, &resource_server, token).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["client_id"], holder.id.as_str());
    // §2.2: members that do not apply are left out, not null.
    for absent in ["sid", "acr", "amr", "auth_time"] {
        assert!(seen.get(absent).is_none(), "{absent} in {seen}");
    }
}

#[tokio::test]
async fn client_credentials_tokens_are_for_the_registered_resource_named_rfc_8707_2() {
    let server = TestServer::start().await;
    let client = server.register_new(machine("Batch", false)).await;
    let (status, body) = server.token(&client, &[("grant_type", "client_credentials"), ("resource", ORDERS)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(token)["aud"], ORDERS);
    assert_eq!(introspect(&server, &client, token).await["aud"], ORDERS);
    let (_, body) = server.token(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(jwt_claims(body["access_token"].as_str().unwrap())["aud"], server.base.as_str(), "default: the issuer");
    for unregistered in ["https://api.example/other", "not a uri"] {
        let form = [("grant_type", "client_credentials"), ("resource", unregistered)];
        let (status, body) = server.token(&client, &form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_target")));
    }
    // Registration: absolute URIs without fragment only (§2).
    let bad = NewClient { resources: vec!["https://api.example/#x".into()], ..machine("Bad", false) };
    assert!(tessera::oidc::clients::create(&server.state.store, bad, server.state.now()).await.is_err());
}

#[tokio::test]
async fn the_code_flow_carries_the_resource_to_the_token_and_its_refreshes_rfc_8707_2_1_and_2_2() {
    let server = TestServer::start().await;
    let web = NewClient {
        name: "Shop".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        resources: vec![ORDERS.into(), BILLING.into()],
        ..NewClient::default()
    };
    let client = server.register_new(web).await;
    let browser = server.browser();

    // §2: an unregistered resource is invalid_target, redirected (the redirect URI is trusted).
    let (url, _) = authorize_url(&server, &client, &[("resource", "https://elsewhere.example/")]);
    let location = browser.get(&url).await.location.expect("redirected");
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_target"));

    let (url, verifier) = authorize_url(&server, &client, &[("resource", ORDERS)]);
    let first = browser.follow(browser.get(&url).await).await;
    let done = browser.sign_in_from(&server, first, "resource@example.com").await;
    let code = query_param(done.location.as_deref().unwrap(), "code").unwrap();
    let tokens = server.exchange(&client, &code, &verifier).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(access)["aud"], ORDERS);
    // A token for another resource is not accepted by Tessera's own UserInfo (RFC 9068 §4).
    let res = reqwest::Client::new().get(server.url("/userinfo")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The ID token is still for the client (OIDC Core §2).
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["aud"], client.id.as_str());

    // §2.2: a refresh keeps the granted resource, may name it, but not another registered one.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", BILLING)];
    let (status, body) = server.token(&client, &form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_target")));
    let (status, body) = server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(jwt_claims(body["access_token"].as_str().unwrap())["aud"], ORDERS);
    let next = body["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", next), ("resource", ORDERS)];
    let (status, body) = server.token(&client, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(jwt_claims(body["access_token"].as_str().unwrap())["aud"], ORDERS);
}
