//! Webhook endpoints as admins manage them: register (the secret is generated, sealed, and
//! shown only in the answer to this call), list, read, delete, and enable again after
//! Tessera disabled one that kept failing.

use super::{Caller, signature};
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::events::audit::{self, Entry};
use crate::state::AppState;
use crate::store::WebhookEndpointRecord;
use serde::{Deserialize, Serialize};

/// The master key seals secrets per purpose: a webhook secret opens only as one.
pub const SEAL_PURPOSE: &str = "webhook-secret";
const MAX_DESCRIPTION: usize = 200;
const MAX_TYPES: usize = 64;

/// What an admin gives to register an endpoint.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    pub url: String,
    /// Event types to receive (`customer.created`, or `customer.*`); none means every type.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub description: String,
}

/// An endpoint as admins see it: never its secret.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Empty: every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// The first failed attempt since the last success (unix ms).
    pub failing_since: Option<i64>,
    /// When Tessera disabled it for failing too long (unix ms).
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// The answer to a registration: the endpoint and, this once, its secret.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub secret: String,
}

pub(super) fn view(r: &WebhookEndpointRecord) -> EndpointView {
    EndpointView {
        id: r.id.clone(),
        url: r.url.clone(),
        description: r.description.clone(),
        event_types: r.event_types.split(' ').filter(|t| !t.is_empty()).map(String::from).collect(),
        enabled: r.enabled != 0,
        failing_since: r.failing_since,
        disabled_at: r.disabled_at,
        created_at: r.created_at,
    }
}

/// Whether an endpoint subscribing to `types` (space-separated) wants events of `kind`.
pub(super) fn subscribes(types: &str, kind: &str) -> bool {
    let mut any = false;
    for t in types.split(' ').filter(|t| !t.is_empty()) {
        any = true;
        let matches = match t.strip_suffix(".*") {
            Some(prefix) => kind.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')),
            None => t == kind,
        };
        if matches {
            return true;
        }
    }
    !any
}

/// `customer.created`, `consent.*`: dotted lowercase names, a final `*` for a whole family.
fn check_type(t: &str) -> Result<()> {
    let parts: Vec<&str> = t.split('.').collect();
    let word = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let (last, init) = parts.split_last().unwrap_or((&"", &[]));
    if parts.len() < 2 || !init.iter().all(word) || !(word(last) || *last == "*") {
        return Err(Error::bad_input(format!(
            "event type {t:?} is not a dotted name such as customer.created or customer.*"
        )));
    }
    Ok(())
}

pub async fn create(state: &AppState, input: EndpointInput, caller: Caller<'_>, now: i64) -> Result<Created> {
    // Held to the connectors' rule: https, no private network (checked again at connect time).
    let url =
        state.outbound.policy.check_url(input.url.trim()).map_err(|why| Error::bad_input(format!("url {why}")))?;
    // The URL is shown in listings: credentials do not belong in it (the signature proves
    // the sender), nor does a fragment (never sent).
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(Error::bad_input("url must not carry user:password@ or a #fragment"));
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(Error::bad_input(format!("description is longer than {MAX_DESCRIPTION} characters")));
    }
    if input.event_types.len() > MAX_TYPES {
        return Err(Error::bad_input(format!("at most {MAX_TYPES} event types")));
    }
    let mut types: Vec<String> = Vec::new();
    for t in input.event_types.iter().flat_map(|t| t.split([' ', ','])).filter(|t| !t.is_empty()) {
        check_type(t)?;
        if !types.iter().any(|have| have == t) {
            types.push(t.to_string());
        }
    }
    let secret = signature::generate_secret();
    let r = WebhookEndpointRecord {
        id: format!("wh_{}", secrets::random_id()),
        url: url.to_string(),
        description,
        event_types: types.join(" "),
        sealed_secret: state.master_key.seal(SEAL_PURPOSE, secret.as_bytes()),
        enabled: 1,
        failing_since: None,
        disabled_at: None,
        created_at: now,
        updated_at: now,
    };
    state.store.insert_webhook_endpoint(&r).await?;
    let entry = caller.entry("admin.webhook.created", Some(&r.id));
    let entry = Entry { detail: serde_json::json!({ "url": r.url, "event_types": types }), ..entry };
    audit::record(state, entry, now).await?;
    tracing::info!(webhook = %r.id, actor = ?caller.actor, "webhook endpoint registered");
    Ok(Created { endpoint: view(&r), secret })
}

pub async fn list(state: &AppState) -> Result<Vec<EndpointView>> {
    Ok(state.store.webhook_endpoints().await?.iter().map(view).collect())
}

pub async fn get(state: &AppState, id: &str) -> Result<EndpointView> {
    Ok(view(&state.store.webhook_endpoint(id).await?.ok_or(Error::NotFound)?))
}

/// Delete an endpoint with its deliveries and their attempts.
pub async fn delete(state: &AppState, id: &str, caller: Caller<'_>, now: i64) -> Result<()> {
    if !state.store.delete_webhook_endpoint(id).await? {
        return Err(Error::NotFound);
    }
    audit::record(state, caller.entry("admin.webhook.deleted", Some(id)), now).await?;
    tracing::info!(webhook = %id, actor = ?caller.actor, "webhook endpoint deleted");
    Ok(())
}

/// Enable an endpoint again (forgetting its run of failures); deliveries still pending go
/// out from the next run of the worker.
pub async fn enable(state: &AppState, id: &str, caller: Caller<'_>, now: i64) -> Result<EndpointView> {
    if !state.store.set_webhook_endpoint_enabled(id, true, now).await? {
        return Err(Error::NotFound);
    }
    audit::record(state, caller.entry("admin.webhook.enabled", Some(id)), now).await?;
    tracing::info!(webhook = %id, actor = ?caller.actor, "webhook endpoint enabled");
    get(state, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_subscribe_to_types_families_or_everything() {
        assert!(subscribes("", "customer.created"));
        assert!(subscribes("customer.created session.ended", "session.ended"));
        assert!(!subscribes("customer.created", "customer.updated"));
        assert!(subscribes("customer.*", "customer.updated"));
        assert!(!subscribes("customer.*", "customers.updated"));
        assert!(!subscribes("customer.*", "customer"));
    }

    #[test]
    fn event_types_are_dotted_names() {
        for ok in ["customer.created", "consent.*", "a.b.c", "factor_x.added"] {
            assert!(check_type(ok).is_ok(), "{ok}");
        }
        for bad in ["customer", "*", "Customer.created", "customer.", ".x", "a.*.b", "a b"] {
            assert!(check_type(bad).is_err(), "{bad}");
        }
    }
}
