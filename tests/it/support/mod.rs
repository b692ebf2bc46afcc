//! The test harness: the real application on an ephemeral loopback port, with a temporary
//! SQLite database (or a fresh PostgreSQL database when TESSERA_TEST_POSTGRES_URL is set), a
//! manual clock, and a real SMTP listener. With TESSERA_TEST_EPHEMERAL=redis, the ephemeral
//! store is the Redis at TESSERA_TEST_REDIS_URL (each server under its own random prefix), so
//! the whole suite runs on the store several nodes share.

pub mod browser;
pub mod passkey;
pub mod provider;
pub mod receiver;
pub mod redis_server;
pub mod smtp;

use reqwest::StatusCode;
use std::sync::Arc;
use tessera::clock::ManualClock;
use tessera::crypto::sealed::MasterKey;
use tessera::oidc::clients::{self, NewClient};
use tessera::oidc::grants::GrantType;
use tessera::{AppState, Config, SharedState};

pub use browser::Browser;
pub use smtp::SmtpSink;

pub struct TestServer {
    pub base: String,
    pub state: SharedState,
    pub clock: Arc<ManualClock>,
    pub smtp: SmtpSink,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

pub const REDIRECT_URI: &str = "https://app.example/cb";
pub const LOGOUT_URI: &str = "https://app.example/bye";

/// The Redis of the ephemeral-store tests: TESSERA_TEST_REDIS_URL, default the local one.
pub fn test_redis_url() -> String {
    std::env::var("TESSERA_TEST_REDIS_URL").ok().filter(|u| !u.is_empty()).unwrap_or("redis://127.0.0.1:6379".into())
}

/// A prefix no other test uses, so tests sharing one Redis never see each other's values.
pub fn random_prefix() -> String {
    format!("it-{}:", tessera::crypto::secrets::random_id().to_lowercase().replace(['-', '_'], "x"))
}

/// A fresh PostgreSQL database for one test, when the suite runs against PostgreSQL.
pub async fn postgres_database() -> Option<String> {
    use sqlx::{Connection, Executor};
    let base = std::env::var("TESSERA_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&base).await.expect("TESSERA_TEST_POSTGRES_URL is reachable");
    let name = format!("tessera_it_{}", tessera::crypto::secrets::random_id().to_lowercase().replace(['-', '_'], "x"));
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    conn.close().await.unwrap();
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let smtp = SmtpSink::start().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = Config {
            issuer: format!("http://localhost:{port}"),
            listen: format!("127.0.0.1:{port}"),
            data_dir: dir.path().to_path_buf(),
            smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
            master_key: MasterKey::generate_base64(),
            // The worker ticks on real time; tests wait for what it delivers by polling.
            worker_interval_ms: 50,
            ..Config::default()
        };
        if let Some(url) = postgres_database().await {
            config.database_url = url;
            // One connection: a pool read made while a transaction holds the connection then
            // times out at once in every test, instead of deadlocking production only when
            // every connection is held that way at the same moment (seen under load).
            config.db_max_connections = 1;
        }
        if std::env::var("TESSERA_TEST_EPHEMERAL").as_deref() == Ok("redis") {
            config.redis_url = test_redis_url();
            config.ephemeral_prefix = random_prefix();
        }
        adjust(&mut config);
        config.validate().unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let base = config.issuer.clone();
        Self::launch(listener, base, config, clock, smtp, dir).await
    }

    async fn launch(
        listener: tokio::net::TcpListener,
        base: String,
        config: Config,
        clock: Arc<ManualClock>,
        smtp: SmtpSink,
        dir: tempfile::TempDir,
    ) -> TestServer {
        let state = AppState::build(config, clock.clone()).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(tessera::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestServer { base, state, clock, smtp, shutdown: Some(tx), _dir: dir }
    }

    /// A second node of the same deployment: same issuer, database, data folder, master key,
    /// ephemeral store, mail sink and clock, on a port of its own (`base`), as behind a load
    /// balancer. Both nodes run their worker.
    pub async fn another_node(&self) -> TestServer {
        self.another_node_with(|_| {}).await
    }

    /// `another_node`, with settings of its own (a restart with a new master key, say).
    pub async fn another_node_with(&self, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = self.state.config.clone();
        adjust(&mut config);
        config.listen = listener.local_addr().unwrap().to_string();
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        Self::launch(listener, base, config, self.clock.clone(), self.smtp.clone(), tempfile::tempdir().unwrap()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn register(&self, public: bool, scopes: &[&str], consent_required: bool) -> TestClient {
        self.register_with_alg(public, scopes, consent_required, None).await
    }

    /// A client whose ID tokens are signed with `alg` (`None`: the server default).
    pub async fn register_with_alg(
        &self,
        public: bool,
        scopes: &[&str],
        consent_required: bool,
        alg: Option<tessera::crypto::keys::Alg>,
    ) -> TestClient {
        let mut grant_types = NewClient::default().grant_types;
        if !scopes.is_empty() {
            grant_types.push(GrantType::ClientCredentials);
        }
        let new = NewClient {
            name: "Shop".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec![LOGOUT_URI.into()],
            public,
            allowed_scopes: scopes.iter().map(|s| s.to_string()).collect(),
            consent_required,
            id_token_alg: alg,
            grant_types,
            ..NewClient::default()
        };
        let (client, secret) = clients::create(&self.state.store, new, self.state.now()).await.unwrap();
        TestClient { id: client.id, secret, redirect_uri: REDIRECT_URI.into() }
    }

    /// A confidential client that wants OIDC Back-Channel Logout tokens at `uri`.
    pub async fn backchannel_client(&self, uri: &str) -> TestClient {
        let new = NewClient {
            name: "Shop".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec![LOGOUT_URI.into()],
            backchannel_logout_uri: Some(uri.into()),
            ..NewClient::default()
        };
        let (client, secret) = clients::create(&self.state.store, new, self.state.now()).await.unwrap();
        TestClient { id: client.id, secret, redirect_uri: REDIRECT_URI.into() }
    }

    /// A confidential client of this server that redirects to `redirect_uri`.
    pub async fn client_for(&self, redirect_uri: &str) -> TestClient {
        let new = NewClient {
            name: "Tessera downstream".into(),
            redirect_uris: vec![redirect_uri.into()],
            ..NewClient::default()
        };
        let (client, secret) = clients::create(&self.state.store, new, self.state.now()).await.unwrap();
        TestClient { id: client.id, secret, redirect_uri: redirect_uri.into() }
    }

    /// A resource server (RFC 7662 §2.2): may introspect tokens issued to other clients.
    pub async fn resource_server(&self) -> TestClient {
        let grant_types = vec![GrantType::ClientCredentials];
        self.register_new(NewClient {
            name: "Orders API".into(),
            introspect: true,
            grant_types,
            ..NewClient::default()
        })
        .await
    }

    /// Register `new` and return it as a test client (redirecting to its first redirect URI).
    pub async fn register_new(&self, new: NewClient) -> TestClient {
        let redirect_uri = new.redirect_uris.first().cloned().unwrap_or_default();
        let (client, secret) = clients::create(&self.state.store, new, self.state.now()).await.unwrap();
        TestClient { id: client.id, secret, redirect_uri }
    }

    /// UserInfo (OpenID Connect Core §5.3) with `access_token` as the bearer.
    pub async fn userinfo(&self, access_token: &str) -> serde_json::Value {
        let res = reqwest::Client::new().get(self.url("/userinfo")).bearer_auth(access_token).send().await.unwrap();
        res.json().await.unwrap()
    }

    /// Introspection (RFC 7662) of `token` by `client` (client_secret_basic).
    pub async fn introspect(&self, client: &TestClient, token: &str) -> serde_json::Value {
        let req = reqwest::Client::new().post(self.url("/introspect")).form(&[("token", token)]);
        let res = req.basic_auth(&client.id, client.secret.as_deref()).send().await.unwrap();
        res.json().await.unwrap()
    }

    /// Exchange a code (with its PKCE verifier) and return the token response.
    pub async fn exchange(&self, client: &TestClient, code: &str, verifier: &str) -> serde_json::Value {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let (status, body) = self.token(client, &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn confidential_client(&self) -> TestClient {
        self.register(false, &["orders:read"], false).await
    }

    pub async fn public_client(&self) -> TestClient {
        self.register(true, &[], false).await
    }

    pub async fn consent_client(&self) -> TestClient {
        self.register(false, &[], true).await
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// POST a form to the token endpoint with client_secret_basic.
    pub async fn token(&self, client: &TestClient, form: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
        let mut req = reqwest::Client::new().post(self.url("/token")).form(form);
        if let Some(secret) = &client.secret {
            req = req.basic_auth(&client.id, Some(secret));
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// S256 PKCE pair (RFC 7636 Appendix B).
pub fn pkce_pair() -> (String, String) {
    use base64::Engine;
    let verifier = tessera::crypto::secrets::random_token();
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tessera::crypto::secrets::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// The value of query parameter `name` in an absolute or relative URL.
pub fn query_param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).or_else(|_| url::Url::parse(&format!("http://x{location}"))).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// An authorization request URL for `client` with S256 PKCE; returns (url, verifier).
pub fn authorize_url(server: &TestServer, client: &TestClient, extra: &[(&str, &str)]) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", &client.redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", "st-123")
            .append_pair("nonce", "n-456")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    (url.to_string(), verifier)
}

/// Sign `email` in through the link (unless the browser has a session) and return (code, verifier) for `client`.
pub async fn signed_in_code(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    email: &str,
) -> (String, String) {
    let (url, verifier) = authorize_url(server, client, &[]);
    let first = browser.follow(browser.get(&url).await).await;
    // With a live browser session (SSO) the authorization is answered at once.
    let signed_in = first.location.as_deref().is_some_and(|l| l.starts_with(&client.redirect_uri));
    let done = if signed_in { first } else { browser.sign_in_from(server, first, email).await };
    let location = done.location.expect("redirected back to the client");
    assert!(location.starts_with(&client.redirect_uri), "{location}");
    (query_param(&location, "code").expect("a code"), verifier)
}

/// The claims of a JWT, without checking its signature (tests check signatures elsewhere).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Make the stored signature counter of a passkey jump ahead, as if a clone of the
/// authenticator had been used meanwhile.
pub async fn raise_passkey_counter(server: &TestServer, credential_id: &str, counter: u32) {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    let row = sqlx::query("SELECT credential FROM passkeys WHERE credential_id = $1")
        .bind(credential_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let mut credential: serde_json::Value = serde_json::from_str(&row.get::<String, _>(0)).unwrap();
    credential["cred"]["counter"] = counter.into();
    sqlx::query("UPDATE passkeys SET credential = $1, sign_count = $2 WHERE credential_id = $3")
        .bind(credential.to_string())
        .bind(i64::from(counter))
        .bind(credential_id)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// The sealed TOTP secret as stored (the test server has one enrolled customer).
pub async fn stored_totp_secret(server: &TestServer) -> Vec<u8> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    let row = sqlx::query("SELECT sealed_secret FROM totp_factors").fetch_one(&mut conn).await.unwrap();
    row.get::<Vec<u8>, _>(0)
}

/// The bytes of the first column of the first row a query returns, as stored.
pub async fn stored_column(server: &TestServer, sql: &'static str) -> Vec<u8> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
    row.get::<Vec<u8>, _>(0)
}

/// Run the `tessera` CLI with only `data_dir` set (a clean environment).
pub fn cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env_clear()
        .env("TESSERA_DATA_DIR", dir)
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap()
}
