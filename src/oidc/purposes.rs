//! Purposes in an authorization request: a client asks for them with `purpose:<id>` scope
//! values (any OAuth library can send scopes), limited to the purposes it is registered for;
//! the consent page asks for the ones the customer has not decided on yet, each optional one
//! off until ticked (explicit opt-in); the code carries those granted, as `purpose:<id>` in
//! its scope and as the `consents` claim of its tokens.

use super::authorize::AuthorizationRequest;
use super::clients::Client;
use super::params::Params;
use crate::consent::{self, ConsentClaim};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::SessionRecord;

/// The scope-value prefix that names a purpose.
pub const PREFIX: &str = "purpose:";

/// RFC 6749 §3.3 / §4.1.2.1 `invalid_scope`: a purpose the client is not registered for.
pub fn check_requested(client: &Client, params: &Params) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for id in params.get("scope").unwrap_or("").split(' ').filter_map(|s| s.strip_prefix(PREFIX)) {
        if client.purpose(id).is_none() {
            return Err(Error::InvalidScope("a purpose: scope names a purpose this client is not registered for"));
        }
        if !out.iter().any(|p| p == id) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

/// The purposes to ask about: the requested ones the customer has not decided on for this
/// client (all of them with `prompt=consent`), and every purpose granted to the client under
/// a policy that has since changed materially, requested or not ("at the next sign-in to any
/// app that relies on it"). A change published as not material asks nothing.
pub async fn to_ask(
    state: &AppState,
    client: &Client,
    request: &AuthorizationRequest,
    customer_id: &str,
) -> Result<Vec<String>> {
    if client.purposes.is_empty() {
        return Ok(Vec::new());
    }
    let decided = state.store.purpose_decisions(customer_id, &client.id).await?;
    let granted = decided.iter().filter(|d| d.granted != 0).map(|d| &d.purpose_id);
    let candidates: Vec<&String> =
        request.purposes.iter().chain(granted.filter(|g| !request.purposes.contains(g))).collect();
    let mut out = Vec::new();
    for id in candidates {
        let Some(registered) = client.purpose(id) else { continue };
        let material = match state.store.purpose(&registered.purpose).await? {
            Some(p) => state.store.latest_material_version(&p.policy_id, state.now()).await?,
            None => 0,
        };
        let decision = decided.iter().find(|d| d.purpose_id == *id);
        let outdated = decision.is_some_and(|d| d.policy_version < material);
        let requested = request.purposes.contains(id);
        if outdated || (requested && (request.prompt_consent || decision.is_none())) {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// A newer version of a policy than the one the customer agreed under, published as not
/// material: shown once, as a notice, on the next consent screen of an app that relies on it.
#[derive(Debug, Clone)]
pub struct PolicyNotice {
    pub policy_id: String,
    pub version: i64,
    pub title: String,
    pub summary: String,
}

/// The notices to show `customer_id` for the purposes it granted `client`: each policy's
/// version in force, when newer than the customer's decision and not shown (or mailed) yet.
pub async fn notices(state: &AppState, client: &Client, customer_id: &str) -> Result<Vec<PolicyNotice>> {
    if client.purposes.is_empty() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PolicyNotice> = Vec::new();
    for d in state.store.purpose_decisions(customer_id, &client.id).await?.iter().filter(|d| d.granted != 0) {
        let Some(v) = state.store.policy_in_force(&d.policy_id, state.now()).await? else { continue };
        if v.version <= d.policy_version || out.iter().any(|n| n.policy_id == v.id) {
            continue;
        }
        if state.store.policy_notice_given(customer_id, &v.id, v.version).await? {
            continue;
        }
        out.push(PolicyNotice { policy_id: v.id, version: v.version, title: v.title, summary: v.summary });
    }
    Ok(out)
}

/// What the code carries: the scope with `purpose:<id>` for each requested purpose granted,
/// and the `consents` claim (every purpose granted to this client, RFC 6749 §3.3: the
/// issued scope may differ from the requested one).
pub async fn granted(
    state: &AppState,
    client: &Client,
    request: &AuthorizationRequest,
    session: &SessionRecord,
) -> Result<(String, Vec<ConsentClaim>)> {
    // The code flow's hot path: a client without purposes costs no read.
    if client.purposes.is_empty() {
        return Ok((request.scope.clone(), Vec::new()));
    }
    let consents = consent::in_force(&state.store, &session.customer_id, &request.client_id).await?;
    let mut scope = request.scope.clone();
    for id in request.purposes.iter().filter(|id| consents.iter().any(|c| c.purpose == **id)) {
        scope.push(' ');
        scope.push_str(PREFIX);
        scope.push_str(id);
    }
    Ok((scope, consents))
}

/// The `consents` member of UserInfo and introspection answers, read as it stands now (so a
/// withdrawal shows at once), for a token whose scope names purposes; `None` otherwise.
pub async fn consents_claim(
    state: &AppState,
    scope: &str,
    customer_id: &str,
    client_id: &str,
) -> Result<Option<serde_json::Value>> {
    if !scope.split(' ').any(|s| s.starts_with(PREFIX)) {
        return Ok(None);
    }
    let consents = consent::in_force(&state.store, customer_id, client_id).await?;
    Ok(Some(serde_json::to_value(consents).map_err(anyhow::Error::from)?))
}
