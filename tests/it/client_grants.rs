//! What a client is registered for (issue #11): its grant types (RFC 6749 §5.2
//! `unauthorized_client`, §4.1.2.1 at the authorization endpoint), shown by the CLI; the
//! migration that gives existing clients what they could do before; and the extra web origins
//! a browser app may call the API from (CORS).

use crate::support::{REDIRECT_URI, TestServer, authorize_url, query_param, signed_in_code};
use reqwest::StatusCode;
use tessera::oidc::clients::{self, NewClient};
use tessera::oidc::grants::GrantType;

fn shop(grant_types: Vec<GrantType>) -> NewClient {
    NewClient { name: "Shop".into(), redirect_uris: vec![REDIRECT_URI.into()], grant_types, ..NewClient::default() }
}

#[tokio::test]
async fn client_credentials_only_for_clients_registered_for_it_rfc_6749_5_2() {
    let server = TestServer::start().await;
    let web_app = server.register_new(shop(NewClient::default().grant_types)).await;
    let (status, body) = server.token(&web_app, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unauthorized_client");

    let machine = server
        .register_new(NewClient {
            name: "Batch".into(),
            allowed_scopes: vec!["orders:read".into()],
            grant_types: vec![GrantType::ClientCredentials],
            ..NewClient::default()
        })
        .await;
    let (status, body) = server.token(&machine, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "orders:read");
    // Nor does the machine client get anything else it did not register for.
    let (status, body) = server.token(&machine, &[("grant_type", "refresh_token"), ("refresh_token", "x")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
    let (status, body) = server.token(&machine, &[("grant_type", "password")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}

#[tokio::test]
async fn a_client_not_registered_for_refresh_token_gets_none_and_cannot_refresh_rfc_6749_5_2() {
    let server = TestServer::start().await;
    let client = server.register_new(shop(vec![GrantType::AuthorizationCode])).await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "norefresh@example.com").await;
    let tokens = server.exchange(&client, &code, &verifier).await;
    assert!(tokens["access_token"].is_string());
    assert!(tokens.get("refresh_token").is_none(), "RFC 6749 §5.1: no refresh token it could not use");
    let (status, body) = server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", "any")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn authorize_needs_the_authorization_code_grant_rfc_6749_4_1_2_1() {
    let server = TestServer::start().await;
    // Registered with a redirect URI but only for client_credentials.
    let client = server
        .register_new(NewClient {
            allowed_scopes: vec!["orders:read".into()],
            ..shop(vec![GrantType::ClientCredentials])
        })
        .await;
    let (url, _) = authorize_url(&server, &client, &[]);
    let res = server.browser().get(&url).await;
    let location = res.location.expect("redirected: the redirect URI is registered");
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_param(&location, "error").as_deref(), Some("unauthorized_client"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&location, "iss").as_deref(), Some(server.base.as_str()));
}

#[tokio::test]
async fn registration_refuses_grant_types_the_client_cannot_use_rfc_6749_4_4() {
    let server = TestServer::start().await;
    let now = server.state.now();
    let refused = [
        NewClient { public: true, ..shop(vec![GrantType::AuthorizationCode, GrantType::ClientCredentials]) },
        NewClient { redirect_uris: vec![], ..shop(vec![GrantType::AuthorizationCode]) },
        shop(vec![GrantType::RefreshToken]),
        shop(vec![]),
        NewClient { allowed_scopes: vec!["orders:read".into()], ..shop(NewClient::default().grant_types) },
    ];
    for new in refused {
        assert!(clients::create(&server.state.store, new, now).await.is_err());
    }
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// RFC 7591 §2 names the `grant_types` metadata the CLI shows.
#[test]
fn the_cli_registers_and_shows_grant_types_rfc_7591_2() {
    let dir = tempfile::tempdir().unwrap();
    let web = ["client", "create", "--name", "Shop", "--redirect-uri", "https://shop.example/cb", "--json"];
    let created = json_of(&crate::support::cli(dir.path(), &web));
    assert_eq!(created["grant_types"], serde_json::json!(["authorization_code", "refresh_token"]));
    let both = [
        "client",
        "create",
        "--name",
        "Both",
        "--redirect-uri",
        "https://both.example/cb",
        "--grant-type",
        "authorization_code client_credentials",
        "--grant-type",
        "refresh_token",
        "--scope",
        "orders:read",
        "--introspect",
        "--resource",
        "https://api.example/orders",
        "--allowed-origin",
        "https://spa.example",
        "--json",
    ];
    let both = json_of(&crate::support::cli(dir.path(), &both));
    assert_eq!(both["grant_types"], serde_json::json!(["authorization_code", "client_credentials", "refresh_token"]));
    assert_eq!(both["introspect"], true);
    assert_eq!(both["resources"], serde_json::json!(["https://api.example/orders"]));
    assert_eq!(both["allowed_origins"], serde_json::json!(["https://spa.example"]));

    let list = json_of(&crate::support::cli(dir.path(), &["client", "list", "--json"]));
    assert_eq!(list[0]["grant_types"], created["grant_types"]);
    assert_eq!(list[1]["grant_types"], both["grant_types"]);
    let text = crate::support::cli(dir.path(), &["client", "list"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("authorization_code client_credentials refresh_token"));

    let machine_without_grant = ["client", "create", "--name", "Batch", "--scope", "orders:read"];
    let out = crate::support::cli(dir.path(), &machine_without_grant);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--grant-type client_credentials"));
    let unknown =
        ["client", "create", "--name", "X", "--redirect-uri", "https://x.example/cb", "--grant-type", "password"];
    let out = crate::support::cli(dir.path(), &unknown);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown grant type"));
}

/// The statements of migration 0012 that fill in existing clients (RFC 6749 §5.2: what each
/// may use), run on rows as they were before it, on this test's database.
#[tokio::test]
async fn existing_clients_keep_the_grants_they_could_use_rfc_6749_5_2() {
    use sqlx::Connection;
    let server = TestServer::start().await;
    let migration = if server.state.config.database_url().starts_with("postgres") {
        include_str!("../../migrations/postgres/0012_client_grants_resources.sql")
    } else {
        include_str!("../../migrations/sqlite/0012_client_grants_resources.sql")
    };
    let code: String = migration.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    let backfill: Vec<&str> = code.split(';').map(str::trim).filter(|s| s.starts_with("UPDATE")).collect();
    assert_eq!(backfill.len(), 2);
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    let old = [
        ("web", Some("h"), r#"["https://a.example/cb"]"#, ""),
        ("spa", None, r#"["https://a.example/cb"]"#, ""),
        ("both", Some("h"), r#"["https://a.example/cb"]"#, "orders:read"),
        ("machine", Some("h"), "[]", "orders:read"),
    ];
    for (id, secret, uris, scopes) in old {
        sqlx::query(
            "INSERT INTO clients (id, name, secret_hash, redirect_uris, post_logout_redirect_uris, allowed_scopes, \
             created_at) VALUES ($1, $1, $2, $3, '[]', $4, 0)",
        )
        .bind(id)
        .bind(secret)
        .bind(uris)
        .bind(scopes)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    for statement in backfill {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut conn).await.unwrap();
    }
    let all = clients::list(&server.state.store).await.unwrap();
    let grants = |id: &str| {
        let c = all.iter().find(|c| c.id == id).unwrap();
        (c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" "), c.introspect)
    };
    assert_eq!(grants("web"), ("authorization_code refresh_token".into(), false));
    assert_eq!(grants("spa"), ("authorization_code refresh_token".into(), false));
    assert_eq!(grants("both"), ("authorization_code refresh_token client_credentials".into(), false));
    assert_eq!(grants("machine"), ("client_credentials".into(), true), "a resource server keeps introspecting");
}

/// Fetch Standard §3.2 (CORS protocol): a client's `--allowed-origin` answers preflights
/// like the origins of its redirect URIs, never with credentials.
#[tokio::test]
async fn a_clients_allowed_origin_may_call_the_token_endpoint_fetch_cors_protocol() {
    let server = TestServer::start().await;
    server
        .register_new(NewClient {
            public: true,
            allowed_origins: vec!["https://spa.example:443/".into()],
            ..shop(NewClient::default().grant_types)
        })
        .await;
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, server.url("/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let res = preflight("https://spa.example").await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://spa.example");
    assert!(res.headers().get("access-control-allow-credentials").is_none());
    let res = preflight("https://other.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let bad = NewClient { allowed_origins: vec!["https://spa.example/app".into()], ..shop(vec![]) };
    let bad = NewClient { grant_types: NewClient::default().grant_types, ..bad };
    assert!(clients::create(&server.state.store, bad, server.state.now()).await.is_err(), "an origin has no path");
}
