//! Hardening from issue #10: a deleted client's tokens die at once, HSTS and CSP
//! `form-action`, PKCE for every client unless registered as a legacy exception, and a
//! graceful stop on SIGTERM.

use crate::support::{REDIRECT_URI, TestClient, TestServer, query_param, signed_in_code};
use reqwest::StatusCode;
use serde_json::Value;
use tessera::oidc::clients::{self, NewClient};

async fn introspect(server: &TestServer, rs: &TestClient, token: &str) -> Value {
    let res = reqwest::Client::new()
        .post(server.url("/introspect"))
        .basic_auth(&rs.id, rs.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn bearer_status(server: &TestServer, path: &str, token: &str) -> StatusCode {
    reqwest::Client::new().get(server.url(path)).bearer_auth(token).send().await.unwrap().status()
}

async fn client_credentials(server: &TestServer, client: &TestClient, scope: &str) -> String {
    let (status, body) = server.token(client, &[("grant_type", "client_credentials"), ("scope", scope)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn sql(server: &TestServer, statement: &str, id: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).bind(id).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn deleting_a_client_ends_its_access_tokens_at_once() {
    let server = TestServer::start().await;
    let rs = server.resource_server().await;
    let machine = server.confidential_client().await;
    let app = server.confidential_client().await;
    let admin = server.register_with_alg(false, &["tessera:admin"], false, None).await;
    let demoted = server.register_with_alg(false, &["tessera:admin"], false, None).await;

    let machine_token = client_credentials(&server, &machine, "orders:read").await;
    let admin_token = client_credentials(&server, &admin, "tessera:admin").await;
    let demoted_token = client_credentials(&server, &demoted, "tessera:admin").await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &app, "gone@example.com").await;
    let user_token = server.exchange(&app, &code, &verifier).await["access_token"].as_str().unwrap().to_string();

    // Every token works, and each check has been made once (so it is in every cache).
    assert_eq!(introspect(&server, &rs, &machine_token).await["active"], true);
    assert_eq!(introspect(&server, &rs, &user_token).await["active"], true);
    assert_eq!(bearer_status(&server, "/userinfo", &user_token).await, StatusCode::OK);
    assert_eq!(bearer_status(&server, "/admin/api/v1/connectors", &admin_token).await, StatusCode::OK);
    assert_eq!(bearer_status(&server, "/admin/api/v1/connectors", &demoted_token).await, StatusCode::OK);

    // Deleted the way the CLI does it, from another process: nothing in this one is told.
    for client in [&machine, &app, &admin] {
        assert!(
            tessera::oidc::clients::delete_stored(&server.state.store, &client.id, server.state.now()).await.unwrap()
        );
    }
    sql(&server, "UPDATE clients SET allowed_scopes = '' WHERE id = $1", &demoted.id).await;

    assert_eq!(introspect(&server, &rs, &machine_token).await["active"], false);
    assert_eq!(introspect(&server, &rs, &user_token).await["active"], false);
    assert_eq!(bearer_status(&server, "/userinfo", &user_token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(bearer_status(&server, "/admin/api/v1/connectors", &admin_token).await, StatusCode::UNAUTHORIZED);
    // A client that no longer holds the scope loses what its tokens carried.
    assert_eq!(bearer_status(&server, "/admin/api/v1/connectors", &demoted_token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deleting_a_client_in_this_process_forgets_it_at_once() {
    let server = TestServer::start().await;
    let app = server.confidential_client().await;
    let now = server.state.now();
    assert!(server.state.clients.get(&server.state.store, &app.id, now).await.unwrap().is_some());
    assert!(clients::delete(&server.state, &app.id).await.unwrap());
    assert!(server.state.clients.get(&server.state.store, &app.id, now).await.unwrap().is_none());
    assert!(!clients::delete(&server.state, &app.id).await.unwrap());
}

#[tokio::test]
async fn strict_transport_security_only_for_an_https_issuer() {
    let https = TestServer::start_with(|c| c.issuer = "https://id.example".into()).await;
    let res = reqwest::get(format!("http://{}/login", https.state.config.listen)).await.unwrap();
    let hsts = res.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_string());
    assert!(hsts.as_deref().is_some_and(|h| h.starts_with("max-age=") && h.contains("includeSubDomains")), "{hsts:?}");

    let dev = TestServer::start().await;
    let res = reqwest::get(dev.url("/login")).await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_none(), "no HSTS on plain-http development");
}

fn csp(res: &reqwest::Response) -> String {
    res.headers()["content-security-policy"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn forms_may_post_only_to_tessera_or_the_client_of_a_form_post_response() {
    let server = TestServer::start().await;
    let res = reqwest::get(server.url("/login")).await.unwrap();
    assert!(csp(&res).contains("form-action 'self'"), "{}", csp(&res));

    let client = server.confidential_client().await;
    let (url, _) =
        crate::support::authorize_url(&server, &client, &[("response_mode", "form_post"), ("prompt", "none")]);
    let res = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap().get(url);
    let res = res.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let policy = csp(&res);
    assert!(policy.contains("form-action https://app.example;") || policy.ends_with("form-action https://app.example"));
    assert!(!policy.contains("form-action 'self'"), "{policy}");
    assert!(res.text().await.unwrap().contains("login_required"));
}

#[tokio::test]
async fn a_browser_form_submission_moves_on_through_a_page_so_form_action_can_stay_self() {
    // Chrome checks `form-action` against every redirect after a form submission, and the
    // sign-in form's submission ends at the client: the redirect becomes a refresh page.
    let server = TestServer::start().await;
    let http =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = http.get(server.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = crate::support::browser::hidden(&login, "csrf").unwrap();
    let form = [("csrf", csrf.as_str()), ("email", "nav@example.com")];
    let plain = http.post(server.url("/login/email")).form(&form).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::SEE_OTHER, "programs keep plain redirects");
    let target = plain.headers()["location"].to_str().unwrap().to_string();

    let res = http
        .post(server.url("/login/email"))
        .header("sec-fetch-dest", "document")
        .header("sec-fetch-mode", "navigate")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("location").is_none());
    assert!(csp(&res).contains("form-action 'self'"));
    let body = res.text().await.unwrap();
    let escaped = target.replace('&', "&amp;");
    assert!(body.contains(&format!("http-equiv=\"refresh\" content=\"0;url={escaped}\"")), "{body}");
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// An authorization request without PKCE.
fn without_pkce(server: &TestServer, client_id: &str) -> String {
    let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid")
        .append_pair("state", "s1");
    url.to_string()
}

#[tokio::test]
async fn pkce_is_required_of_confidential_clients_too_unless_registered_as_legacy() {
    let server = TestServer::start().await;
    let modern = server.confidential_client().await;
    let res = no_redirects().get(without_pkce(&server, &modern.id)).send().await.unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));

    let legacy = NewClient {
        name: "Legacy".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![],
        pkce_optional: true,
        ..NewClient::default()
    };
    let public = NewClient { public: true, name: "SPA".into(), ..clone_new(&legacy) };
    let refused = clients::create(&server.state.store, public, server.state.now()).await;
    assert!(refused.is_err(), "a public client can never skip PKCE");
    let (legacy, secret) = clients::create(&server.state.store, legacy, server.state.now()).await.unwrap();
    assert!(legacy.pkce_optional);
    let legacy = TestClient { id: legacy.id, secret, redirect_uri: REDIRECT_URI.into() };
    let browser = server.browser();
    let done = browser.sign_in_with_link(&server, &without_pkce(&server, &legacy.id), "legacy@example.com").await;
    let code = query_param(done.location.as_deref().unwrap(), "code").expect("a code without PKCE");
    let (status, body) = server
        .token(&legacy, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The legacy client still gets PKCE checked when it sends a challenge.
    let (url, _) = crate::support::authorize_url(&server, &legacy, &[]);
    let (code, _) = {
        let done = browser.follow(browser.get(&url).await).await;
        (query_param(done.location.as_deref().unwrap(), "code").unwrap(), ())
    };
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];
    let (status, _) = server.token(&legacy, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a code bound to a challenge needs its verifier");
}

fn clone_new(n: &NewClient) -> NewClient {
    NewClient {
        name: n.name.clone(),
        redirect_uris: n.redirect_uris.clone(),
        post_logout_redirect_uris: n.post_logout_redirect_uris.clone(),
        public: n.public,
        allowed_scopes: n.allowed_scopes.clone(),
        consent_required: n.consent_required,
        id_token_alg: n.id_token_alg,
        backchannel_logout_uri: n.backchannel_logout_uri.clone(),
        pkce_optional: n.pkce_optional,
        ..NewClient::default()
    }
}

#[test]
fn the_cli_registers_legacy_clients_with_optional_pkce_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let create = ["client", "create", "--name", "Old", "--redirect-uri", "https://old.example/cb", "--json"];
    let out = crate::support::cli(dir.path(), &create);
    let modern: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(modern["pkce"], "required");
    let out = crate::support::cli(dir.path(), &[&create[..], &["--pkce", "optional"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let legacy: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(legacy["pkce"], "optional");
    let out = crate::support::cli(dir.path(), &[&create[..], &["--public", "--pkce", "optional"]].concat());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PKCE"), "{}", String::from_utf8_lossy(&out.stderr));
    // An existing client can be switched either way (upgrades: clients that never sent PKCE).
    let id = modern["client_id"].as_str().unwrap();
    let out = crate::support::cli(dir.path(), &["client", "update", id, "--pkce", "optional"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = crate::support::cli(dir.path(), &["client", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = list.as_array().unwrap().iter().find(|c| c["client_id"] == id).unwrap().clone();
    assert_eq!(row["pkce"], "optional");
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_gracefully() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env_clear()
        .env("TESSERA_DATA_DIR", dir.path())
        .env("TESSERA_ISSUER", format!("http://localhost:{port}"))
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .env("TESSERA_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Real time: a separate process starts up (migrations, key generation).
    let up = (0..300).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "the server did not start");
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = (0..200)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            child.try_wait().unwrap()
        })
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("the server did not stop on SIGTERM")
        });
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "a graceful stop exits 0, not killed by the signal: {status:?}\n{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}
