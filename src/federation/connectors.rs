//! Connectors: what an admin configures to let customers sign in with another provider.
//! Secrets are sealed with the master key and never shown again; changes take effect on
//! the next request (connectors are read from the store, not cached at start).

use super::presets;
use crate::error::{Error, Result};
use crate::login::session::{ACR_EMAIL, acr_level};
use crate::state::AppState;
use crate::store::ConnectorRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const KINDS: &[&str] = &["oidc", "oauth2", "google", "microsoft", "apple", "github", "facebook"];
const SEAL_PURPOSE: &str = "connector-secret";

/// Which upstream claim carries what (for OAuth 2.0 userinfo responses and odd providers).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimMapping {
    pub subject: String,
    pub email: String,
    pub email_verified: String,
    pub name: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            subject: "sub".into(),
            email: "email".into(),
            email_verified: "email_verified".into(),
            name: "name".into(),
        }
    }
}

/// Create or change a connector: every field optional on update; the secret is write-only.
/// (`Debug` in `redacted.rs` leaves the secret out.)
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    pub id: Option<String>,
    pub kind: Option<String>,
    pub display_name: Option<String>,
    pub icon: Option<String>,
    pub position: Option<i64>,
    pub enabled: Option<bool>,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<String>,
    pub claim_mapping: Option<ClaimMapping>,
    pub authoritative_email: Option<bool>,
    pub acr: Option<String>,
    /// Microsoft: `tenant`; Apple: `team_id`, `key_id`.
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A connector as admins see it: everything but the secret.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorView {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub icon: String,
    pub position: i64,
    pub enabled: bool,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub client_id: String,
    pub has_secret: bool,
    pub scopes: String,
    pub claim_mapping: ClaimMapping,
    pub authoritative_email: bool,
    pub acr: String,
    pub settings: serde_json::Value,
}

/// A connector ready to use, with its secret opened. (`Debug` in `redacted.rs` leaves the
/// secret out.)
#[derive(Clone)]
pub struct Connector {
    pub view: ConnectorView,
    pub secret: Option<String>,
    pub extra: Vec<(&'static str, &'static str)>,
}

fn view(r: &ConnectorRecord) -> ConnectorView {
    ConnectorView {
        id: r.id.clone(),
        kind: r.kind.clone(),
        display_name: r.display_name.clone(),
        icon: r.icon.clone(),
        position: r.position,
        enabled: r.enabled != 0,
        issuer: r.issuer.clone(),
        authorization_endpoint: r.authorization_endpoint.clone(),
        token_endpoint: r.token_endpoint.clone(),
        userinfo_endpoint: r.userinfo_endpoint.clone(),
        client_id: r.client_id.clone(),
        has_secret: r.sealed_secret.is_some(),
        scopes: r.scopes.clone(),
        claim_mapping: serde_json::from_str(&r.claim_mapping).unwrap_or_default(),
        authoritative_email: r.authoritative_email != 0,
        acr: if r.acr.is_empty() { ACR_EMAIL.into() } else { r.acr.clone() },
        settings: serde_json::from_str(&r.settings).unwrap_or_else(|_| json!({})),
    }
}

fn setting<'a>(v: &'a ConnectorView, key: &str) -> &'a str {
    v.settings[key].as_str().unwrap_or("")
}

fn check_url(field: &str, value: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::bad_input(format!("{field} {why}")));
    let Ok(u) = url::Url::parse(value) else { return bad("must be an absolute URL") };
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bad("must use https (http only on loopback)"),
    }
}

fn apply(r: &mut ConnectorRecord, input: ConnectorInput, state: &AppState) -> Result<()> {
    if let Some(v) = input.kind {
        r.kind = v;
    }
    if let Some(v) = input.display_name {
        r.display_name = v.trim().to_string();
    }
    if let Some(v) = input.icon {
        if !(v.is_empty() || v.starts_with("data:image/") || v.starts_with('/')) {
            return Err(Error::bad_input("icon must be a data:image/… URL or a path on this server"));
        }
        r.icon = v;
    }
    if let Some(v) = input.position {
        r.position = v;
    }
    if let Some(v) = input.enabled {
        r.enabled = i64::from(v);
    }
    for (field, value) in [
        (&mut r.issuer, input.issuer),
        (&mut r.authorization_endpoint, input.authorization_endpoint),
        (&mut r.token_endpoint, input.token_endpoint),
        (&mut r.userinfo_endpoint, input.userinfo_endpoint),
        (&mut r.client_id, input.client_id),
        (&mut r.scopes, input.scopes),
        (&mut r.acr, input.acr),
    ] {
        if let Some(v) = value {
            *field = v.trim().to_string();
        }
    }
    if let Some(m) = input.claim_mapping {
        r.claim_mapping = serde_json::to_string(&m).map_err(anyhow::Error::from)?;
    }
    if let Some(v) = input.authoritative_email {
        r.authoritative_email = i64::from(v);
    }
    if let Some(s) = input.settings {
        r.settings = serde_json::Value::Object(s).to_string();
    }
    if let Some(secret) = input.client_secret {
        r.sealed_secret = (!secret.is_empty()).then(|| state.master_key.seal(SEAL_PURPOSE, secret.as_bytes()));
    }
    Ok(())
}

/// Fill in a preset's endpoints and scopes where the admin left them empty, then check.
fn complete_and_check(r: &mut ConnectorRecord) -> Result<()> {
    if !r.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || r.id.is_empty()
        || r.id.len() > 32
    {
        return Err(Error::bad_input("id must be 1-32 lowercase letters, digits or dashes"));
    }
    if !KINDS.contains(&r.kind.as_str()) {
        return Err(Error::bad_input(format!("kind must be one of {}", KINDS.join(", "))));
    }
    if r.display_name.is_empty() {
        return Err(Error::bad_input("display_name is required"));
    }
    if r.client_id.is_empty() {
        return Err(Error::bad_input("client_id is required"));
    }
    let settings: serde_json::Value = serde_json::from_str(&r.settings).unwrap_or_else(|_| json!({}));
    if let Some(p) = presets::preset(&r.kind, settings["tenant"].as_str().unwrap_or("")) {
        for (field, preset) in [
            (&mut r.issuer, p.issuer),
            (&mut r.authorization_endpoint, p.authorization_endpoint),
            (&mut r.token_endpoint, p.token_endpoint),
            (&mut r.userinfo_endpoint, p.userinfo_endpoint),
            (&mut r.scopes, p.scopes),
        ] {
            if field.is_empty() {
                *field = preset;
            }
        }
    }
    if is_oidc(&r.kind) {
        check_url("issuer", &r.issuer)?;
        if r.scopes.is_empty() {
            r.scopes = "openid email profile".into();
        }
    } else {
        check_url("authorization_endpoint", &r.authorization_endpoint)?;
        check_url("token_endpoint", &r.token_endpoint)?;
        check_url("userinfo_endpoint", &r.userinfo_endpoint)?;
    }
    if r.kind == "apple" && (settings["team_id"].as_str().is_none() || settings["key_id"].as_str().is_none()) {
        return Err(Error::bad_input(
            "apple needs settings.team_id and settings.key_id, and its private key as client_secret",
        ));
    }
    if !r.acr.is_empty() && acr_level(&r.acr).is_none() {
        return Err(Error::bad_input("acr must be one of acr_values_supported"));
    }
    Ok(())
}

/// Whether a kind speaks OpenID Connect (ID tokens) rather than plain OAuth 2.0.
pub fn is_oidc(kind: &str) -> bool {
    matches!(kind, "oidc" | "google" | "microsoft" | "apple")
}

pub async fn create(state: &AppState, input: ConnectorInput, now: i64) -> Result<ConnectorView> {
    let id = input.id.clone().unwrap_or_default();
    if state.store.connector(&id).await?.is_some() {
        return Err(Error::bad_input(format!("a connector with id {id:?} exists already")));
    }
    let mut r = ConnectorRecord {
        id,
        kind: String::new(),
        display_name: String::new(),
        icon: String::new(),
        position: 0,
        enabled: 1,
        issuer: String::new(),
        authorization_endpoint: String::new(),
        token_endpoint: String::new(),
        userinfo_endpoint: String::new(),
        client_id: String::new(),
        sealed_secret: None,
        scopes: String::new(),
        claim_mapping: "{}".into(),
        authoritative_email: 0,
        acr: String::new(),
        settings: "{}".into(),
        created_at: now,
        updated_at: now,
    };
    apply(&mut r, input, state)?;
    complete_and_check(&mut r)?;
    state.store.save_connector(&r).await?;
    tracing::info!(connector = %r.id, kind = %r.kind, "connector created");
    Ok(view(&r))
}

pub async fn update(state: &AppState, id: &str, mut input: ConnectorInput, now: i64) -> Result<ConnectorView> {
    let mut r = state.store.connector(id).await?.ok_or(Error::NotFound)?;
    if input.id.take().is_some_and(|new| new != id) {
        return Err(Error::bad_input("a connector's id cannot change"));
    }
    apply(&mut r, input, state)?;
    complete_and_check(&mut r)?;
    r.updated_at = now;
    state.store.save_connector(&r).await?;
    tracing::info!(connector = %r.id, "connector updated");
    Ok(view(&r))
}

pub async fn list(state: &AppState) -> Result<Vec<ConnectorView>> {
    Ok(state.store.connectors().await?.iter().map(view).collect())
}

pub async fn get(state: &AppState, id: &str) -> Result<ConnectorView> {
    Ok(view(&state.store.connector(id).await?.ok_or(Error::NotFound)?))
}

pub async fn delete(state: &AppState, id: &str) -> Result<()> {
    if !state.store.delete_connector(id).await? {
        return Err(Error::NotFound);
    }
    tracing::info!(connector = %id, "connector deleted");
    Ok(())
}

/// An enabled connector, with its secret opened, for a sign-in.
pub async fn usable(state: &AppState, id: &str) -> Result<Connector> {
    let r = state.store.connector(id).await?.filter(|r| r.enabled != 0);
    let r = r.ok_or_else(|| Error::bad_input("This sign-in option is not available."))?;
    let secret = match &r.sealed_secret {
        Some(s) => Some(String::from_utf8(state.master_key.open(SEAL_PURPOSE, s)?).map_err(anyhow::Error::from)?),
        None => None,
    };
    let v = view(&r);
    let extra = presets::preset(&r.kind, setting(&v, "tenant")).map(|p| p.extra).unwrap_or_default();
    Ok(Connector { view: v, secret, extra })
}

/// The buttons on the login page: enabled connectors in their order.
pub async fn buttons(state: &AppState) -> Result<Vec<Button>> {
    Ok(state
        .store
        .connectors()
        .await?
        .into_iter()
        .filter(|r| r.enabled != 0)
        .map(|r| Button { id: r.id, name: r.display_name, icon: r.icon })
        .collect())
}

/// A button on the login page.
pub struct Button {
    pub id: String,
    pub name: String,
    /// A `data:` URL or a path on this server (the page's CSP allows no other images).
    pub icon: String,
}
