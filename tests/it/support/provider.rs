//! A small fake OpenID provider on loopback, for what a second Tessera cannot do: ID tokens
//! signed as told (tampered, rotated keys, chosen `amr`), the address only in UserInfo (OIDC
//! Core §5.4), RFC 9207 `iss` in the answer, a discovery document pointing elsewhere, and
//! counters of what it was asked, so tests can see what Tessera fetched.

use axum::extract::{Form, Query};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tessera::clock::{Clock, ManualClock};
use tessera::crypto::keys::{Alg, SigningKey};

/// How the fake provider misbehaves when it issues an ID token.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Tamper {
    BadSignature,
    WrongNonce,
    WrongAudience,
    /// Expired five minutes ago: refused.
    ExpiredLongAgo,
    /// Expired 30 seconds ago: within the clock-skew tolerance.
    ExpiredJustNow,
    None,
}

/// What the provider does; tests change it between sign-ins.
#[derive(Clone, Debug)]
pub struct Knobs {
    pub tamper: Tamper,
    pub subject: String,
    pub email: String,
    /// ID tokens carry no email, email_verified or name; UserInfo does (OIDC Core §5.4).
    pub claims_only_in_userinfo: bool,
    /// UserInfo answers for another subject than the ID token's.
    pub userinfo_subject: Option<String>,
    /// RFC 9207: the `iss` the authorization response carries, if any.
    pub iss_in_answer: Option<String>,
    /// Published as `jwks_uri` instead of the provider's own.
    pub jwks_uri: Option<String>,
    /// The `amr` of the ID token.
    pub amr: Vec<String>,
    /// Cache-Control of the discovery document and the JWKS.
    pub cache_control: Option<String>,
    /// Bytes of filler in the discovery document.
    pub discovery_padding: usize,
}

#[derive(Default)]
pub struct Hits {
    pub discovery: AtomicUsize,
    pub jwks: AtomicUsize,
    pub token: AtomicUsize,
    pub userinfo: AtomicUsize,
}

pub struct FakeProvider {
    pub base: String,
    pub knobs: Arc<Mutex<Knobs>>,
    pub hits: Arc<Hits>,
    key: Arc<Mutex<Arc<SigningKey>>>,
}

impl FakeProvider {
    /// Serve on 127.0.0.1; tokens are timed by `clock` (the downstream's, so both agree).
    pub async fn start(client_id: &str, clock: Arc<ManualClock>) -> FakeProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let knobs = Arc::new(Mutex::new(Knobs {
            tamper: Tamper::None,
            subject: "fake-1".into(),
            email: "fake@example.com".into(),
            claims_only_in_userinfo: false,
            userinfo_subject: None,
            iss_in_answer: None,
            jwks_uri: None,
            amr: Vec::new(),
            cache_control: None,
            discovery_padding: 0,
        }));
        let hits: Arc<Hits> = Arc::default();
        let key = Arc::new(Mutex::new(Arc::new(SigningKey::generate(Alg::Es256).unwrap().0)));
        let (other, _) = SigningKey::generate(Alg::Es256).unwrap();
        let other = Arc::new(other);
        let nonces: Arc<Mutex<HashMap<String, String>>> = Arc::default();

        let (k, h, b) = (knobs.clone(), hits.clone(), base.clone());
        let discovery = move || async move {
            h.discovery.fetch_add(1, Ordering::SeqCst);
            let k = k.lock().unwrap().clone();
            let mut meta = serde_json::json!({
                "issuer": b, "authorization_endpoint": format!("{b}/authorize"), "token_endpoint": format!("{b}/token"),
                "userinfo_endpoint": format!("{b}/userinfo"),
                "jwks_uri": k.jwks_uri.clone().unwrap_or(format!("{b}/jwks")), "response_types_supported": ["code"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["ES256"],
            });
            if k.discovery_padding > 0 {
                meta["x_padding"] = "x".repeat(k.discovery_padding).into();
            }
            cached(k.cache_control.as_deref(), meta)
        };
        let (k, h, keys) = (knobs.clone(), hits.clone(), key.clone());
        let jwks = move || async move {
            h.jwks.fetch_add(1, Ordering::SeqCst);
            let jwk = keys.lock().unwrap().public_jwk();
            cached(k.lock().unwrap().cache_control.as_deref(), serde_json::json!({ "keys": [jwk] }))
        };
        let (k, n) = (knobs.clone(), nonces.clone());
        let authorize = move |Query(q): Query<HashMap<String, String>>| async move {
            n.lock().unwrap().insert("code-1".into(), q.get("nonce").cloned().unwrap_or_default());
            let mut to = url::Url::parse(&q["redirect_uri"]).unwrap();
            to.query_pairs_mut().append_pair("code", "code-1").append_pair("state", &q["state"]);
            if let Some(iss) = &k.lock().unwrap().iss_in_answer {
                to.query_pairs_mut().append_pair("iss", iss);
            }
            Redirect::to(to.as_str()).into_response()
        };
        let (k, h, keys, iss, aud) = (knobs.clone(), hits.clone(), key.clone(), base.clone(), client_id.to_string());
        let token = move |Form(_): Form<HashMap<String, String>>| async move {
            h.token.fetch_add(1, Ordering::SeqCst);
            let k = k.lock().unwrap().clone();
            let nonce = nonces.lock().unwrap().get("code-1").cloned().unwrap_or_default();
            let now = clock.now_ms() / 1000;
            let exp = match k.tamper {
                Tamper::ExpiredLongAgo => now - 300,
                Tamper::ExpiredJustNow => now - 30,
                _ => now + 300,
            };
            let mut claims = serde_json::json!({
                "iss": iss, "sub": k.subject, "iat": now - 400, "exp": exp,
                "aud": if k.tamper == Tamper::WrongAudience { "someone-else".to_string() } else { aud.clone() },
                "nonce": if k.tamper == Tamper::WrongNonce { "not-yours".to_string() } else { nonce },
            });
            if !k.claims_only_in_userinfo {
                claims["email"] = k.email.clone().into();
                claims["email_verified"] = true.into();
                claims["name"] = "Fake Person".into();
            }
            if !k.amr.is_empty() {
                claims["amr"] = k.amr.clone().into();
            }
            let key = keys.lock().unwrap().clone();
            let signer = if k.tamper == Tamper::BadSignature { &other } else { &key };
            let mut token = tessera::crypto::jwt::encode(signer, "JWT", &claims);
            if k.tamper == Tamper::BadSignature {
                // Claim the published key id, with another key's signature.
                let header = base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    serde_json::json!({"alg": "ES256", "kid": key.kid, "typ": "JWT"}).to_string(),
                );
                let rest = token.split_once('.').unwrap().1.to_string();
                token = format!("{header}.{rest}");
            }
            axum::Json(serde_json::json!({"access_token": "at-1", "token_type": "Bearer", "id_token": token}))
        };
        let (k, h) = (knobs.clone(), hits.clone());
        let userinfo = move |headers: axum::http::HeaderMap| async move {
            h.userinfo.fetch_add(1, Ordering::SeqCst);
            if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some("Bearer at-1") {
                return axum::http::StatusCode::UNAUTHORIZED.into_response();
            }
            let k = k.lock().unwrap().clone();
            let sub = k.userinfo_subject.unwrap_or(k.subject);
            axum::Json(serde_json::json!({
                "sub": sub, "id": sub, "email": k.email, "email_verified": true, "name": "Fake Person"
            }))
            .into_response()
        };
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", axum::routing::get(discovery))
            .route("/jwks", axum::routing::get(jwks))
            .route("/authorize", axum::routing::get(authorize))
            .route("/token", axum::routing::post(token))
            .route("/userinfo", axum::routing::get(userinfo));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeProvider { base, knobs, hits, key }
    }

    pub fn set(&self, change: impl FnOnce(&mut Knobs)) {
        change(&mut self.knobs.lock().unwrap());
    }

    /// Sign with a new key (a new `kid`), as providers do when they rotate.
    pub fn rotate_key(&self) {
        *self.key.lock().unwrap() = Arc::new(SigningKey::generate(Alg::Es256).unwrap().0);
    }

    pub fn count(&self, what: fn(&Hits) -> &AtomicUsize) -> usize {
        what(&self.hits).load(Ordering::SeqCst)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn cached(cache_control: Option<&str>, body: serde_json::Value) -> axum::response::Response {
    let mut res = axum::Json(body).into_response();
    if let Some(cc) = cache_control {
        res.headers_mut().insert(header::CACHE_CONTROL, cc.parse().unwrap());
    }
    res
}
