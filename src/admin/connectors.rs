//! Connector changes made by an admin (API caller or operator at the CLI): the change, then
//! its audit entry naming who made it and which fields changed (names only: a new client
//! secret shows as `client_secret`, never its value).

use crate::error::Result;
use crate::events::audit::{self, Entry};
use crate::login::federation::connectors::{self, ConnectorInput, ConnectorView};
use crate::state::AppState;

pub use crate::events::audit::Caller;

/// The names of the fields an input sets.
fn fields(i: &ConnectorInput) -> Vec<&'static str> {
    let set = [
        ("id", i.id.is_some()),
        ("kind", i.kind.is_some()),
        ("display_name", i.display_name.is_some()),
        ("icon", i.icon.is_some()),
        ("position", i.position.is_some()),
        ("enabled", i.enabled.is_some()),
        ("issuer", i.issuer.is_some()),
        ("authorization_endpoint", i.authorization_endpoint.is_some()),
        ("token_endpoint", i.token_endpoint.is_some()),
        ("userinfo_endpoint", i.userinfo_endpoint.is_some()),
        ("client_id", i.client_id.is_some()),
        ("client_secret", i.client_secret.is_some()),
        ("scopes", i.scopes.is_some()),
        ("claim_mapping", i.claim_mapping.is_some()),
        ("authoritative_email", i.authoritative_email.is_some()),
        ("acr", i.acr.is_some()),
        ("settings", i.settings.is_some()),
        ("trusted_amr", i.trusted_amr.is_some()),
        ("shared_callback", i.shared_callback.is_some()),
    ];
    set.into_iter().filter(|(_, on)| *on).map(|(name, _)| name).collect()
}

async fn record(
    state: &AppState,
    by: Caller<'_>,
    action: &str,
    id: &str,
    detail: serde_json::Value,
    now: i64,
) -> Result<()> {
    let mut entry = Entry::new(by.actor, action, Some(id)).detail(detail);
    if let Some(b) = &by.from {
        entry = entry.from(b);
    }
    Ok(audit::record(state, entry, now).await?)
}

pub async fn create(state: &AppState, by: Caller<'_>, input: ConnectorInput, now: i64) -> Result<ConnectorView> {
    let changed = fields(&input);
    let v = connectors::create(state, input, now).await?;
    let detail = serde_json::json!({ "kind": v.kind, "fields": changed });
    record(state, by, "admin.connector.created", &v.id, detail, now).await?;
    Ok(v)
}

/// A change of some fields; one that only switches the connector on or off is recorded as
/// `admin.connector.enabled` / `.disabled`.
pub async fn update(
    state: &AppState,
    by: Caller<'_>,
    id: &str,
    input: ConnectorInput,
    now: i64,
) -> Result<ConnectorView> {
    let changed = fields(&input);
    let action = match (changed.as_slice(), input.enabled) {
        (["enabled"], Some(true)) => "admin.connector.enabled",
        (["enabled"], Some(false)) => "admin.connector.disabled",
        _ => "admin.connector.updated",
    };
    let v = connectors::update(state, id, input, now).await?;
    record(state, by, action, &v.id, serde_json::json!({ "fields": changed }), now).await?;
    Ok(v)
}

/// Switch a connector on or off.
pub async fn switch(state: &AppState, by: Caller<'_>, id: &str, on: bool, now: i64) -> Result<ConnectorView> {
    update(state, by, id, ConnectorInput { enabled: Some(on), ..ConnectorInput::default() }, now).await
}

pub async fn delete(state: &AppState, by: Caller<'_>, id: &str, now: i64) -> Result<()> {
    connectors::delete(state, id, now).await?;
    record(state, by, "admin.connector.deleted", id, serde_json::json!({}), now).await
}
