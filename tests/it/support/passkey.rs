//! A person's passkey: webauthn-authenticator-rs's software authenticator, driven through
//! Tessera's JSON ceremony endpoints the way `static/webauthn.js` drives a browser's.
//!
//! The soft authenticator cannot store resident keys and never returns a user handle, so it
//! plays a discoverable credential the way a platform authenticator would: it is handed its
//! own credential id, and the (unsigned) user handle is filled in from registration.

use super::browser::Browser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse, ResidentKeyRequirement,
};

pub struct Passkey {
    pub authenticator: SoftPasskey,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
}

/// The CSRF token that the account page's scripts send.
pub async fn account_csrf(browser: &Browser) -> String {
    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let at = page.body.find("data-csrf=\"").expect("the account page has data-csrf") + 11;
    page.body[at..].split('"').next().unwrap().to_string()
}

/// POST JSON with the page's CSRF token in the header.
pub async fn post_json(browser: &Browser, csrf: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let res = browser.http.post(browser.abs(path)).header("X-CSRF-Token", csrf).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The registration options as the server sent them (to inspect), and as the soft
/// authenticator can take them (without the resident-key requirement it cannot meet).
pub async fn registration_options(browser: &Browser, csrf: &str) -> (Value, CreationChallengeResponse) {
    let (status, options) = post_json(browser, csrf, "/passkey/register/start", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let mut ccr: CreationChallengeResponse = serde_json::from_value(options.clone()).unwrap();
    if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
        sel.require_resident_key = false;
        sel.resident_key = Some(ResidentKeyRequirement::Discouraged);
    }
    (options, ccr)
}

impl Passkey {
    /// Register a new passkey for the browser's signed-in customer, at `origin`.
    pub async fn register(browser: &Browser, csrf: &str, origin: &str) -> Result<Passkey, String> {
        let (_, ccr) = registration_options(browser, csrf).await;
        Self::register_with(browser, csrf, origin, ccr).await
    }

    pub async fn register_with(
        browser: &Browser,
        csrf: &str,
        origin: &str,
        ccr: CreationChallengeResponse,
    ) -> Result<Passkey, String> {
        let user_handle = ccr.public_key.user.id.clone();
        let mut authenticator = SoftPasskey::new(true);
        let credential =
            authenticator.do_registration(Url::parse(origin).unwrap(), ccr).map_err(|e| format!("{e:?}"))?;
        let credential_id = credential.raw_id.clone();
        let (status, body) =
            post_json(browser, csrf, "/passkey/register/finish", json!({ "credential": credential })).await;
        if status != StatusCode::OK {
            return Err(body["error"].as_str().unwrap_or("?").to_string());
        }
        Ok(Passkey { authenticator, credential_id, user_handle })
    }

    /// Start a sign-in and answer it: the assertion, not yet sent.
    pub async fn assert(&mut self, browser: &Browser, csrf: &str, origin: &str) -> PublicKeyCredential {
        let (status, options) = post_json(browser, csrf, "/passkey/sign-in/start", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{options}");
        assert_eq!(options["publicKey"]["allowCredentials"], json!([]), "discoverable: no allow list");
        let mut rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        rcr.public_key.allow_credentials =
            vec![AllowCredentials { type_: "public-key".into(), id: self.credential_id.clone(), transports: None }];
        rcr.mediation = None;
        let mut credential = self.authenticator.do_authentication(Url::parse(origin).unwrap(), rcr).unwrap();
        credential.response.user_handle = Some(self.user_handle.clone());
        credential
    }

    /// Sign in for the pending authorization `authz` (or none); returns status and body.
    pub async fn sign_in(&mut self, browser: &Browser, csrf: &str, origin: &str, authz: &str) -> (StatusCode, Value) {
        let credential = self.assert(browser, csrf, origin).await;
        finish(browser, csrf, &credential, authz).await
    }
}

pub async fn finish(
    browser: &Browser,
    csrf: &str,
    credential: &PublicKeyCredential,
    authz: &str,
) -> (StatusCode, Value) {
    post_json(browser, csrf, "/passkey/sign-in/finish", json!({ "credential": credential, "authz": authz })).await
}
