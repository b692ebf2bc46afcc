//! The measured operations, and the loop that runs one of them on N workers: an unmeasured
//! warm-up, then a fixed time recording each operation's latency and the server's CPU time.

use super::procfs;
use super::provider::{Jar, Target};
use super::report::{Measured, Scenario};
use anyhow::{Context, bail};
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera::crypto::secrets;
use tokio::sync::Mutex;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, RequestChallengeResponse, ResidentKeyRequirement,
};

/// What one worker carries between operations.
struct Worker {
    refresh_token: Option<String>,
    passkey: Option<(SoftPasskey, Vec<u8>, Vec<u8>)>,
    jar: Jar,
}

pub struct World {
    http: reqwest::Client,
    t: TargetView,
    /// From a code flow at the start of the introspection and userinfo scenarios.
    access_token: std::sync::RwLock<Option<String>>,
    workers: Vec<Mutex<Worker>>,
}

/// How long a scenario runs, and whose CPU time it reports (summed over the processes).
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
    pub server_pids: Vec<u32>,
}

/// The parts of the target the scenarios read.
struct TargetView {
    base: String,
    issuer: String,
    token: String,
    authorize: String,
    userinfo: String,
    introspect: Option<String>,
    basic: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    cookie: Option<String>,
}

fn pkce() -> (String, String) {
    use base64::Engine;
    let verifier = secrets::random_token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secrets::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

impl World {
    pub async fn prepare(target: &Target, workers: usize, scope: &str, passkeys: bool) -> anyhow::Result<World> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(workers * 2)
            .build()?;
        let t = TargetView {
            base: target.base.clone(),
            issuer: target.issuer.clone(),
            token: target.token_endpoint.clone(),
            authorize: target.authorization_endpoint.clone(),
            userinfo: target.userinfo_endpoint.clone(),
            introspect: target.introspection_endpoint.clone(),
            basic: super::basic::basic_authorization(&target.client_id, &target.client_secret),
            client_id: target.client_id.clone(),
            redirect_uri: target.redirect_uri.clone(),
            scope: scope.to_string(),
            cookie: target.session_cookie.clone(),
        };
        let mut world = World { http, t, access_token: Default::default(), workers: Vec::new() };
        let mut csrf_jar = Jar::default();
        if target.server.is_some() {
            let login = world.http.get(format!("{}/login", world.t.base)).send().await?;
            csrf_jar.absorb(&login);
        }
        // The signed-in browser that registers the passkeys: each change of sign-in methods
        // gives its session a new secret, and a second passkey needs a proof with the first.
        let mut setup = csrf_jar.clone();
        for pair in world.t.cookie.as_deref().unwrap_or("").split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                setup.0.insert(k.to_string(), v.to_string());
            }
        }
        for _ in 0..workers {
            let mut w = Worker { refresh_token: None, passkey: None, jar: csrf_jar.clone() };
            if passkeys {
                if let Some(previous) = world.workers.last() {
                    let mut previous = previous.lock().await;
                    world.passkey_sign_in_with(&mut previous, &mut setup).await?;
                }
                w.passkey = Some(world.register_passkey(&mut setup).await?);
                if world.t.cookie.is_some() {
                    world.t.cookie = Some(setup.header());
                }
            }
            world.workers.push(Mutex::new(w));
        }
        Ok(world)
    }

    pub fn supports(&self, s: Scenario) -> bool {
        match s {
            Scenario::Flow | Scenario::Refresh | Scenario::Userinfo => self.t.cookie.is_some(),
            Scenario::ClientCredentials => true,
            Scenario::Introspection => self.t.introspect.is_some() && self.t.cookie.is_some(),
            Scenario::Passkey => self.workers.first().is_some_and(|w| w.try_lock().is_ok_and(|w| w.passkey.is_some())),
        }
    }

    /// authorize (signed-in session) → code → token exchange; returns the token response.
    async fn code_flow(&self) -> anyhow::Result<serde_json::Value> {
        let (verifier, challenge) = pkce();
        let res = self
            .http
            .get(&self.t.authorize)
            .query(&[
                ("response_type", "code"),
                ("client_id", &self.t.client_id),
                ("redirect_uri", &self.t.redirect_uri),
                ("scope", &self.t.scope),
                ("state", "bench"),
                ("nonce", "bench"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .header(COOKIE, self.t.cookie.as_deref().unwrap_or(""))
            .send()
            .await?;
        let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).context("a redirect")?.to_string();
        if !location.starts_with(&self.t.redirect_uri) {
            bail!(
                "/authorize sent the browser to {location:?}, not back with a code (is the session signed in and consented?)"
            );
        }
        let url = url::Url::parse(&location)?;
        let code = url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
        let code = code.with_context(|| format!("no code in {location}"))?;
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &self.t.redirect_uri),
            ("code_verifier", &verifier),
        ])
        .await
    }

    async fn token(&self, form: &[(&str, &str)]) -> anyhow::Result<serde_json::Value> {
        let res = self.http.post(&self.t.token).header(AUTHORIZATION, &self.t.basic).form(form).send().await?;
        if !res.status().is_success() {
            bail!("token endpoint: {} {}", res.status(), res.text().await.unwrap_or_default());
        }
        Ok(res.json().await?)
    }

    async fn userinfo(&self, access_token: &str) -> anyhow::Result<()> {
        let res = self.http.get(&self.t.userinfo).bearer_auth(access_token).send().await?;
        if !res.status().is_success() {
            bail!("userinfo: {}", res.status());
        }
        res.bytes().await?;
        Ok(())
    }

    async fn introspect(&self, token: &str) -> anyhow::Result<()> {
        let url = self.t.introspect.as_deref().context("no introspection endpoint")?;
        let res = self.http.post(url).header(AUTHORIZATION, &self.t.basic).form(&[("token", token)]).send().await?;
        let body: serde_json::Value = res.json().await?;
        if body["active"] != true {
            bail!("introspection: {body}");
        }
        Ok(())
    }

    async fn post_json(&self, jar: &mut Jar, path: &str, body: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let csrf = jar.0.get("tessera_csrf").cloned().unwrap_or_default();
        let cookie = jar.header();
        let res = self
            .http
            .post(format!("{}{path}", self.t.base))
            .header(COOKIE, cookie)
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await?;
        jar.absorb(&res);
        let status = res.status();
        let body: serde_json::Value = res.json().await?;
        if !status.is_success() {
            bail!("{path}: {status} {body}");
        }
        Ok(body)
    }

    async fn register_passkey(&self, jar: &mut Jar) -> anyhow::Result<(SoftPasskey, Vec<u8>, Vec<u8>)> {
        let options = self.post_json(jar, "/passkey/register/start", serde_json::json!({})).await?;
        let mut ccr: CreationChallengeResponse = serde_json::from_value(options)?;
        // The software authenticator cannot keep resident keys; it plays one (see tests/it).
        if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
            sel.require_resident_key = false;
            sel.resident_key = Some(ResidentKeyRequirement::Discouraged);
        }
        let handle = ccr.public_key.user.id.clone();
        let mut soft = SoftPasskey::new(true);
        let cred = soft.do_registration(url::Url::parse(&self.t.issuer)?, ccr).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let id = cred.raw_id.clone();
        self.post_json(jar, "/passkey/register/finish", serde_json::json!({ "credential": cred })).await?;
        Ok((soft, id, handle))
    }

    /// A passkey sign-in from a fresh browser (only the CSRF cookie).
    async fn passkey_sign_in(&self, w: &mut Worker) -> anyhow::Result<()> {
        let mut jar = w.jar.clone();
        self.passkey_sign_in_with(w, &mut jar).await
    }

    /// A passkey sign-in with the worker's passkey, in the browser whose cookies are `jar`.
    async fn passkey_sign_in_with(&self, w: &mut Worker, jar: &mut Jar) -> anyhow::Result<()> {
        let (soft, id, handle) = w.passkey.as_mut().context("no passkey")?;
        let options = self.post_json(jar, "/passkey/sign-in/start", serde_json::json!({})).await?;
        let mut rcr: RequestChallengeResponse = serde_json::from_value(options)?;
        rcr.public_key.allow_credentials =
            vec![AllowCredentials { type_: "public-key".into(), id: id.clone(), transports: None }];
        rcr.mediation = None;
        let mut cred =
            soft.do_authentication(url::Url::parse(&self.t.issuer)?, rcr).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        cred.response.user_handle = Some(handle.clone());
        self.post_json(jar, "/passkey/sign-in/finish", serde_json::json!({ "credential": cred })).await?;
        Ok(())
    }

    fn access_token(&self) -> anyhow::Result<String> {
        let token = self.access_token.read().map_err(|_| anyhow::anyhow!("a worker panicked"))?;
        token.clone().context("no access token")
    }

    /// An access token from a code flow made now (as for refresh tokens below).
    async fn prepare_access_token(&self) -> anyhow::Result<()> {
        let tokens = self.code_flow().await?;
        let at = tokens["access_token"].as_str().context("no access_token in the token response")?;
        *self.access_token.write().map_err(|_| anyhow::anyhow!("a worker panicked"))? = Some(at.to_string());
        Ok(())
    }

    /// Each worker's own refresh token, from a code flow made now: other providers may evict
    /// tokens issued long before (during earlier scenarios).
    async fn prepare_refresh_tokens(&self) -> anyhow::Result<()> {
        for w in &self.workers {
            let tokens = self.code_flow().await?;
            let rt = tokens["refresh_token"].as_str().with_context(|| {
                format!(
                    "no refresh_token for scope {:?} (a provider following OpenID Connect Core §11 issues one \
                     only with offline_access: --scope 'openid email offline_access')",
                    self.t.scope
                )
            })?;
            w.lock().await.refresh_token = Some(rt.to_string());
        }
        Ok(())
    }

    async fn once(&self, scenario: Scenario, worker: usize) -> anyhow::Result<()> {
        match scenario {
            Scenario::Flow => {
                let tokens = self.code_flow().await?;
                self.userinfo(tokens["access_token"].as_str().context("access_token")?).await
            }
            Scenario::Refresh => {
                let mut w = self.workers[worker].lock().await;
                let rt = w.refresh_token.clone().context("no refresh token")?;
                let tokens = self.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]).await?;
                w.refresh_token = tokens["refresh_token"].as_str().map(String::from);
                Ok(())
            }
            Scenario::ClientCredentials => self.token(&[("grant_type", "client_credentials")]).await.map(|_| ()),
            Scenario::Introspection => self.introspect(&self.access_token()?).await,
            Scenario::Userinfo => self.userinfo(&self.access_token()?).await,
            Scenario::Passkey => {
                let mut w = self.workers[worker].lock().await;
                self.passkey_sign_in(&mut w).await
            }
        }
    }
}

/// Run `scenario` on `concurrency` workers: `timing.warmup` unmeasured, then
/// `timing.duration` in which every operation's latency counts, with the server's CPU time
/// and memory read from `/proc` at both ends of the measured part.
pub async fn measure(
    world: &Arc<World>,
    scenario: Scenario,
    concurrency: usize,
    timing: Timing,
) -> anyhow::Result<Measured> {
    match scenario {
        Scenario::Refresh => world.prepare_refresh_tokens().await.context("preparing refresh tokens")?,
        Scenario::Introspection | Scenario::Userinfo => {
            world.prepare_access_token().await.context("preparing an access token")?
        }
        _ => {}
    }
    // One operation first: a scenario that cannot run at all fails loudly, not as a zero.
    world.once(scenario, 0).await.with_context(|| format!("{scenario:?}"))?;
    let measure_from = Instant::now() + timing.warmup;
    let deadline = measure_from + timing.duration;
    let handles: Vec<_> = (0..concurrency)
        .map(|worker| {
            let world = world.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut first_error = None;
                loop {
                    let t = Instant::now();
                    if t >= deadline {
                        break;
                    }
                    let result = world.once(scenario, worker).await;
                    if t < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => latencies.push(t.elapsed().as_micros() as u32),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = procfs::cpu_secs_sum(&timing.server_pids);
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for h in handles {
        let (l, e, f) = h.await?;
        all.extend(l);
        errors += e;
        first_error = first_error.or(f);
    }
    let elapsed = measure_from.elapsed();
    let mut m = Measured::from_latencies(all, errors, first_error, elapsed);
    let cpu_after = procfs::cpu_secs_sum(&timing.server_pids);
    m.server_cpu_secs = cpu_before.zip(cpu_after).map(|(b, a)| a - b);
    m.server_rss_kib = procfs::rss_kib_sum(&timing.server_pids);
    Ok(m)
}
