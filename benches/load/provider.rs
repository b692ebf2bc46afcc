//! The provider under test: Tessera started here (fresh data directory; one node, or several
//! behind haproxy), or another OpenID provider named by its issuer.

use super::fresh::Fresh;
use super::options::Options;
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use super::options::External;

/// The started Tessera: its nodes, the proxy in front of several, and what the run owns on
/// PostgreSQL and Redis. Dropping it kills the processes; `stop` also removes the run's
/// database and Redis keys.
pub struct Server {
    nodes: Vec<Child>,
    proxy: Option<super::proxy::Proxy>,
    fresh: Option<Fresh>,
    data: tempfile::TempDir,
    /// `sqlite`, `postgres`, `postgres+redis`…
    pub backend: String,
}

impl Server {
    /// The nodes' processes (their CPU time and memory are the server's, summed).
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(Child::id).collect()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Resident set size of the nodes together, in KiB (Linux `/proc`).
    pub fn rss_kib(&self) -> Option<u64> {
        super::procfs::rss_kib_sum(&self.pids())
    }

    fn kill(&mut self) {
        for child in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.nodes.clear();
        if let Some(mut proxy) = self.proxy.take() {
            proxy.stop();
        }
    }

    pub async fn stop(mut self) {
        self.kill();
        if let Some(fresh) = self.fresh.take() {
            fresh.remove().await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Target {
    /// Where requests go (for Tessera: 127.0.0.1, avoiding a resolver and an IPv6 attempt).
    pub base: String,
    /// The issuer identifier (origins for passkeys derive from it).
    pub issuer: String,
    pub token_endpoint: String,
    pub authorization_endpoint: String,
    pub userinfo_endpoint: String,
    pub introspection_endpoint: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// Cookie header of a signed-in browser session, when one is available.
    pub session_cookie: Option<String>,
    pub server: Option<Server>,
    /// The server's processes (the started Tessera's nodes, or `--server-pid`).
    pub server_pids: Vec<u32>,
    pub startup_ms: Option<f64>,
    pub idle_rss_kib: Option<u64>,
}

/// Loopback ports that were free a moment ago, all different (held together while chosen).
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0")).collect::<Result<Vec<_>, _>>()?;
    listeners.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// Start `bin serve` with `env`, under `taskset -c cpus` when given (taskset execs the
/// server, so the child's pid is the server's).
fn spawn_node(bin: &str, env: &[(&str, String)], cpus: Option<&str>) -> anyhow::Result<Child> {
    let mut command = match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    command.arg("serve").envs(env.iter().cloned()).stdout(Stdio::null()).spawn().context("start tessera")
}

/// Poll `base`'s discovery document until it answers (30 s at most); `detail` says more when
/// `child` (named `what`) exits or never answers.
pub async fn wait_ready(
    http: &reqwest::Client,
    base: &str,
    child: &mut Child,
    what: &str,
    detail: impl Fn() -> String,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let discovery = format!("{base}/.well-known/openid-configuration");
    loop {
        if let Ok(r) = http.get(&discovery).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited before answering ({status}){}", detail());
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("{what} did not answer within 30 s{}", detail());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

impl Target {
    /// Start Tessera as `o` sets it up: on a fresh SQLite, or on a database of the run's own
    /// on the PostgreSQL server `--database-url` names; with `--redis-url`, the ephemeral
    /// store in Redis under a prefix of the run's own; with `--nodes N` above 1, N nodes of
    /// one deployment (one issuer, data folder and master key, as tests/it/support's
    /// `another_node` and docker/compose.yaml share them) behind haproxy. Then sign a browser
    /// in; with `offline_access` in the scope, that browser also consents once (OpenID
    /// Connect Core §11 asks for it).
    pub async fn start_tessera(o: &Options) -> anyhow::Result<Target> {
        // The proxy's absence is found before anything is created.
        let haproxy = if o.nodes > 1 { Some(super::proxy::find_haproxy()?) } else { None };
        let (fresh, database_url, prefix) = Fresh::create(o.database_url.as_deref(), o.redis_url.as_deref()).await?;
        let mut server = Server {
            nodes: Vec::new(),
            proxy: None,
            fresh: Some(fresh),
            data: tempfile::tempdir()?,
            backend: o.backend(),
        };
        match Self::launch(o, &mut server, haproxy, database_url, prefix).await {
            Ok(mut target) => {
                target.server = Some(server);
                Ok(target)
            }
            Err(e) => {
                server.stop().await;
                Err(e)
            }
        }
    }

    async fn launch(
        o: &Options,
        server: &mut Server,
        haproxy: Option<std::path::PathBuf>,
        database_url: Option<String>,
        prefix: Option<String>,
    ) -> anyhow::Result<Target> {
        let ports = free_ports(o.nodes + usize::from(o.nodes > 1))?;
        // What the driver talks to: the one node, or the proxy (the last port).
        let port = ports[ports.len() - 1];
        let data = server.data.path().to_path_buf();
        let issuer = format!("http://localhost:{port}");
        let mut env: Vec<(&str, String)> = vec![
            ("TESSERA_ISSUER", issuer.clone()),
            ("TESSERA_DATA_DIR", data.display().to_string()),
            ("TESSERA_LOG", "error".into()),
            // The scenarios run from one address as fast as they can; the flood names its
            // clients in X-Forwarded-For, so loopback plays the TLS-terminating proxy (and
            // haproxy, on loopback too, appends the driver's address after the flood's).
            ("TESSERA_AUTHORIZE_PER_MINUTE", "1000000000".into()),
            ("TESSERA_PASSKEY_SIGN_IN_STARTS_PER_MINUTE", "1000000000".into()),
            ("TESSERA_TRUSTED_PROXIES", "127.0.0.1/32".into()),
        ];
        if let Some(url) = database_url {
            env.push(("TESSERA_DATABASE_URL", url));
        }
        if let (Some(url), Some(prefix)) = (&o.redis_url, prefix) {
            env.push(("TESSERA_REDIS_URL", url.clone()));
            env.push(("TESSERA_EPHEMERAL_PREFIX", prefix));
        }
        if o.nodes > 1 {
            // Several nodes: every one opens the same sealed secrets, and refuses to start
            // without the shared ephemeral store.
            env.push(("TESSERA_MASTER_KEY", tessera::crypto::sealed::MasterKey::generate_base64()));
            env.push(("TESSERA_CLUSTER", "true".into()));
        }
        // BENCH_TESSERA_BIN measures another build (a copy, when others share the target dir).
        let bin = std::env::var("BENCH_TESSERA_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tessera").into());
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut startup_ms = None;
        // One node after the other: the first applies the migrations and makes the signing
        // keys, the others find them.
        for node_port in &ports[..o.nodes] {
            let mut node_env = env.clone();
            node_env.push(("TESSERA_LISTEN", format!("127.0.0.1:{node_port}")));
            let started = Instant::now();
            let child = spawn_node(&bin, &node_env, o.server_cpus.as_deref())?;
            server.nodes.push(child);
            let what = format!("tessera node {}", server.nodes.len());
            let child = server.nodes.last_mut().context("the node just started")?;
            let printed = || "; its error is printed above".to_string();
            wait_ready(&http, &format!("http://127.0.0.1:{node_port}"), child, &what, printed).await?;
            startup_ms.get_or_insert(started.elapsed().as_secs_f64() * 1000.0);
        }
        if let Some(haproxy) = haproxy {
            let backends: Vec<u16> = ports[..o.nodes].to_vec();
            let proxy = super::proxy::Proxy::start(&haproxy, port, &backends, &data, o.server_cpus.as_deref())?;
            let proxy = server.proxy.insert(proxy);
            proxy.wait_ready(&http, &base).await?;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle_rss_kib = server.rss_kib();

        let redirect_uri = "http://127.0.0.1:9/cb".to_string();
        let mut cli_env = env.clone();
        cli_env.push(("TESSERA_LISTEN", format!("127.0.0.1:{}", ports[0])));
        let out = Command::new(&bin)
            // Every grant the scenarios use (a client uses only the grants it is registered for).
            .args(["client", "create", "--name", "bench", "--redirect-uri", &redirect_uri, "--json"])
            .args(["--grant-type", "authorization_code refresh_token client_credentials"])
            .envs(cli_env.iter().cloned())
            .output()?;
        if !out.status.success() {
            bail!("client create failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let client: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let outbox = data.join("outbox");
        let mut session_cookie = sign_in(&base, &outbox, "bench@example.com").await?;
        let client_id = client["client_id"].as_str().context("client_id")?.to_string();
        if o.scope.split(' ').any(|s| s == "offline_access") {
            session_cookie = consent_once(&base, &session_cookie, &client_id, &redirect_uri, &o.scope).await?;
        }
        Ok(Target {
            token_endpoint: format!("{base}/token"),
            authorization_endpoint: format!("{base}/authorize"),
            userinfo_endpoint: format!("{base}/userinfo"),
            introspection_endpoint: Some(format!("{base}/introspect")),
            base,
            issuer,
            client_id,
            client_secret: client["client_secret"].as_str().context("client_secret")?.to_string(),
            redirect_uri,
            session_cookie: Some(session_cookie),
            server: None,
            server_pids: server.pids(),
            startup_ms,
            idle_rss_kib,
        })
    }

    pub async fn external(ext: &External) -> anyhow::Result<Target> {
        let url = format!("{}/.well-known/openid-configuration", ext.issuer.trim_end_matches('/'));
        let meta: serde_json::Value = reqwest::get(&url).await?.error_for_status()?.json().await?;
        let endpoint = |k: &str| meta[k].as_str().map(String::from);
        Ok(Target {
            base: ext.issuer.clone(),
            issuer: ext.issuer.clone(),
            token_endpoint: endpoint("token_endpoint").context("token_endpoint")?,
            authorization_endpoint: endpoint("authorization_endpoint").context("authorization_endpoint")?,
            userinfo_endpoint: endpoint("userinfo_endpoint").context("userinfo_endpoint")?,
            introspection_endpoint: endpoint("introspection_endpoint"),
            client_id: ext.client_id.clone(),
            client_secret: ext.client_secret.clone(),
            redirect_uri: ext.redirect_uri.clone(),
            session_cookie: ext.cookie.clone(),
            server: None,
            server_pids: ext.server_pid.into_iter().collect(),
            startup_ms: None,
            idle_rss_kib: ext.server_pid.and_then(super::procfs::rss_kib),
        })
    }
}

/// A minimal cookie jar: `Set-Cookie` names and values, sent back as one `Cookie` header.
#[derive(Default, Clone)]
pub struct Jar(pub HashMap<String, String>);

impl Jar {
    pub fn absorb(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all(reqwest::header::SET_COOKIE) {
            if let Some((name, rest)) = v.to_str().unwrap_or("").split_once('=') {
                let value = rest.split(';').next().unwrap_or("");
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker)? + marker.len();
    Some(html[at..].split('"').next()?.to_string())
}

/// Sign in by email (the code from the outbox) and return the browser's Cookie header.
async fn sign_in(base: &str, outbox: &std::path::Path, email: &str) -> anyhow::Result<String> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let mut jar = Jar::default();
    let login = http.get(format!("{base}/login")).send().await?;
    jar.absorb(&login);
    let csrf = hidden(&login.text().await?, "csrf").context("csrf field on the login page")?;
    let sent = http
        .post(format!("{base}/login/email"))
        .header("cookie", jar.header())
        .form(&[("csrf", csrf.as_str()), ("email", email)])
        .send()
        .await?;
    jar.absorb(&sent);
    let mail = std::fs::read_dir(outbox)?.next().context("a mail in the outbox")??.path();
    let text = std::fs::read_to_string(mail)?;
    // The code is in the body only (the subject stays free of it): the first six digits
    // after "this code".
    let at = text.find("this code").context("the code in the mail body")?;
    let code: String =
        text[at..].chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
    anyhow::ensure!(code.len() == 6, "a 6-digit code in the mail body");
    let done = http
        .post(format!("{base}/login/email/code"))
        .header("cookie", jar.header())
        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await?;
    jar.absorb(&done);
    if !jar.0.contains_key("tessera_session") {
        bail!("the email sign-in did not open a session (status {})", done.status());
    }
    Ok(jar.header())
}

/// Answer Tessera's consent page once for `scope` (it asks whenever offline_access is new),
/// so the measured code flows find the grant and get a code at once. Returns the browser's
/// cookies afterwards.
async fn consent_once(
    base: &str,
    cookie: &str,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
) -> anyhow::Result<String> {
    use reqwest::header::{COOKIE, LOCATION};
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let mut jar = Jar::default();
    for pair in cookie.split(';') {
        if let Some((k, v)) = pair.trim().split_once('=') {
            jar.0.insert(k.to_string(), v.to_string());
        }
    }
    let location = |res: &reqwest::Response| {
        res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(String::from).unwrap_or_default()
    };
    let res = http
        .get(format!("{base}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", "consent"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ])
        .header(COOKIE, jar.header())
        .send()
        .await?;
    jar.absorb(&res);
    let to = location(&res);
    if to.starts_with(redirect_uri) {
        return Ok(jar.header());
    }
    let authz = to.strip_prefix("/consent?authz=").with_context(|| format!("expected the consent page, got {to:?}"))?;
    let page = http.get(format!("{base}{to}")).header(COOKIE, jar.header()).send().await?;
    jar.absorb(&page);
    let csrf = hidden(&page.text().await?, "csrf").context("csrf field on the consent page")?;
    let done = http
        .post(format!("{base}/consent"))
        .header(COOKIE, jar.header())
        .form(&[("csrf", csrf.as_str()), ("authz", authz), ("decision", "allow")])
        .send()
        .await?;
    jar.absorb(&done);
    let to = location(&done);
    anyhow::ensure!(to.starts_with(redirect_uri), "consent did not end in a code ({} {to})", done.status());
    Ok(jar.header())
}
