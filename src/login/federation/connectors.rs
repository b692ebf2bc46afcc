//! Connectors: what an admin configures to let customers sign in with another provider.
//! Secrets are sealed with the master key and never shown again; changes take effect on
//! the next request (connectors are read from the store, not cached at start). Their URLs
//! are held to the outbound policy (outbound.rs), their acr to the configured ceiling, and
//! a connector's issuer cannot change while identities are linked through it.

pub use super::buttons::{Button, buttons};
pub use super::kind::ConnectorKind;
use super::outbound::Policy;
use super::presets;
use crate::ephemeral::changes::ConfigChange;
use crate::error::{Error, Result};
use crate::events::{Change, NewEvent, outbox};
use crate::session::{ACR_EMAIL, acr_level};
use crate::state::AppState;
use crate::store::{ConnectorRecord, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The RFC 8176 §2 registry: the values a connector may be configured to trust.
pub const AMR_VALUES: &[&str] = &[
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba", "retina", "sc", "sms",
    "swk", "tel", "user", "vbm", "wia",
];
pub const SEAL_PURPOSE: &str = "connector-secret";

/// Which upstream claim carries what (for OAuth 2.0 userinfo responses and odd providers).
/// `email_verified` empty: the provider's addresses are never taken as verified.
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
            // A generic OAuth 2.0 provider's address is unverified unless the admin names
            // the claim that says it was verified.
            email_verified: String::new(),
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
    /// RFC 8176 `amr` values of this provider that Tessera passes on after `fed`.
    pub trusted_amr: Option<Vec<String>>,
    /// Answer at the old shared /login/federated/callback (registrations made before each
    /// connector had its own callback).
    pub shared_callback: Option<bool>,
}

/// A connector as admins see it: everything but the secret.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorView {
    pub id: String,
    pub kind: ConnectorKind,
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
    /// RFC 8176 values of the provider's `amr` passed on after `fed`.
    pub trusted_amr: Vec<String>,
    /// Answers at the old shared callback rather than `callback_path`.
    pub shared_callback: bool,
    /// The path to register at the provider as redirect URI (under the issuer).
    pub callback_path: String,
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
        // Every stored kind was parsed on the way in (`apply`).
        kind: ConnectorKind::parse(&r.kind).unwrap_or(ConnectorKind::Oidc),
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
        trusted_amr: r.trusted_amr.split(' ').filter(|m| !m.is_empty()).map(String::from).collect(),
        shared_callback: r.shared_callback != 0,
        callback_path: if r.shared_callback != 0 {
            super::upstream::SHARED_CALLBACK.to_string()
        } else {
            format!("/login/federated/{}/callback", r.id)
        },
    }
}

/// The issuer an identity from this connector belongs to: the OpenID issuer, or for plain
/// OAuth 2.0 the origin of the userinfo URL (where the subject comes from).
pub fn provider_issuer(v: &ConnectorView) -> String {
    if v.kind.is_oidc() {
        return v.issuer.clone();
    }
    url::Url::parse(&v.userinfo_endpoint).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

fn setting<'a>(v: &'a ConnectorView, key: &str) -> &'a str {
    v.settings[key].as_str().unwrap_or("")
}

fn check_url(policy: Policy, field: &str, value: &str) -> Result<()> {
    policy.check_url(value).map(|_| ()).map_err(|why| Error::bad_input(format!("{field} {why}")))
}

fn apply(r: &mut ConnectorRecord, input: ConnectorInput, state: &AppState) -> Result<()> {
    if let Some(v) = input.kind {
        let kind = ConnectorKind::parse(&v)
            .ok_or_else(|| Error::bad_input(format!("kind must be one of {}", ConnectorKind::list())))?;
        r.kind = kind.as_str().into();
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
    if let Some(amr) = input.trusted_amr {
        if let Some(bad) = amr.iter().find(|m| !AMR_VALUES.contains(&m.as_str())) {
            return Err(Error::bad_input(format!("trusted_amr: {bad:?} is not an RFC 8176 value")));
        }
        r.trusted_amr = amr.join(" ");
    }
    if let Some(v) = input.shared_callback {
        r.shared_callback = i64::from(v);
    }
    if let Some(secret) = input.client_secret {
        r.sealed_secret = (!secret.is_empty()).then(|| state.master_key.seal(SEAL_PURPOSE, secret.as_bytes()));
    }
    Ok(())
}

/// Fill in a preset's endpoints and scopes where the admin left them empty, then check.
fn complete_and_check(r: &mut ConnectorRecord, state: &AppState) -> Result<()> {
    let policy = state.outbound.policy;
    if !r.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || r.id.is_empty()
        || r.id.len() > 32
    {
        return Err(Error::bad_input("id must be 1-32 lowercase letters, digits or dashes"));
    }
    let Some(kind) = ConnectorKind::parse(&r.kind) else {
        return Err(Error::bad_input(format!("kind must be one of {}", ConnectorKind::list())));
    };
    if r.display_name.is_empty() {
        return Err(Error::bad_input("display_name is required"));
    }
    if r.client_id.is_empty() {
        return Err(Error::bad_input("client_id is required"));
    }
    let settings: serde_json::Value = serde_json::from_str(&r.settings).unwrap_or_else(|_| json!({}));
    if let Some(p) = presets::preset(kind, settings["tenant"].as_str().unwrap_or("")) {
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
    if kind.is_oidc() {
        check_url(policy, "issuer", &r.issuer)?;
        if r.scopes.is_empty() {
            r.scopes = "openid email profile".into();
        }
    } else {
        check_url(policy, "authorization_endpoint", &r.authorization_endpoint)?;
        check_url(policy, "token_endpoint", &r.token_endpoint)?;
        check_url(policy, "userinfo_endpoint", &r.userinfo_endpoint)?;
    }
    if kind == ConnectorKind::Apple && (settings["team_id"].as_str().is_none() || settings["key_id"].as_str().is_none())
    {
        return Err(Error::bad_input(
            "apple needs settings.team_id and settings.key_id, and its private key as client_secret",
        ));
    }
    if !r.acr.is_empty() && acr_level(&r.acr).is_none() {
        return Err(Error::bad_input("acr must be one of acr_values_supported"));
    }
    // A provider's sign-in proves to Tessera only what the operator trusts it for.
    let ceiling = &state.config.federation_acr_ceiling;
    if !r.acr.is_empty() && acr_level(&r.acr) > acr_level(ceiling) {
        return Err(Error::bad_input(format!(
            "acr {} is above the federation_acr_ceiling ({ceiling}); raise the ceiling in the configuration first",
            r.acr
        )));
    }
    Ok(())
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
        trusted_amr: String::new(),
        shared_callback: 0,
        created_at: now,
        updated_at: now,
    };
    apply(&mut r, input, state)?;
    complete_and_check(&mut r, state)?;
    save(state, &r, Change::Created, now).await?;
    tracing::info!(connector = %r.id, kind = %r.kind, "connector created");
    Ok(view(&r))
}

pub async fn update(state: &AppState, id: &str, mut input: ConnectorInput, now: i64) -> Result<ConnectorView> {
    let mut r = state.store.connector(id).await?.ok_or(Error::NotFound)?;
    if input.id.take().is_some_and(|new| new != id) {
        return Err(Error::bad_input("a connector's id cannot change"));
    }
    let (before, was_enabled) = (provider_issuer(&view(&r)), r.enabled);
    apply(&mut r, input, state)?;
    complete_and_check(&mut r, state)?;
    // Identities are keyed by issuer and subject: under another issuer the same subject is
    // another person, so the linked ones would be orphaned (or worse, matched by mistake).
    let after = provider_issuer(&view(&r));
    if after != before {
        let linked = state.store.identities_through(id).await?;
        if linked > 0 {
            return Err(Error::bad_input(format!(
                "{linked} customer identities are linked through this connector to {before}; its issuer cannot \
                 change to {after}. Create a new connector for the new provider instead."
            )));
        }
    }
    r.updated_at = now;
    let change = match (was_enabled != 0, r.enabled != 0) {
        (false, true) => Change::Enabled,
        (true, false) => Change::Disabled,
        _ => Change::Updated,
    };
    save(state, &r, change, now).await?;
    tracing::info!(connector = %r.id, "connector updated");
    Ok(view(&r))
}

pub async fn list(state: &AppState) -> Result<Vec<ConnectorView>> {
    Ok(state.store.connectors().await?.iter().map(view).collect())
}

pub async fn get(state: &AppState, id: &str) -> Result<ConnectorView> {
    Ok(view(&state.store.connector(id).await?.ok_or(Error::NotFound)?))
}

/// Store a connector and its `connector.changed` event in one unit of work.
async fn save(state: &AppState, r: &ConnectorRecord, change: Change, now: i64) -> Result<()> {
    let mut tx = state.store.begin().await?;
    Store::save_connector_in(&mut tx, r).await?;
    outbox::emit_in(&mut tx, NewEvent::connector_changed(&r.id, change), now).await?;
    tx.commit().await?;
    state.config_changed(ConfigChange::Connectors).await;
    Ok(())
}

pub async fn delete(state: &AppState, id: &str, now: i64) -> Result<()> {
    let mut tx = state.store.begin().await?;
    if !Store::delete_connector_in(&mut tx, id).await? {
        return Err(Error::NotFound);
    }
    outbox::emit_in(&mut tx, NewEvent::connector_changed(id, Change::Deleted), now).await?;
    tx.commit().await?;
    state.config_changed(ConfigChange::Connectors).await;
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
    let extra = presets::preset(v.kind, setting(&v, "tenant")).map(|p| p.extra).unwrap_or_default();
    Ok(Connector { view: v, secret, extra })
}
