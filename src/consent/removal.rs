//! Connected apps (which clients hold access: token families or a remembered consent, with
//! the purposes granted them and when they last obtained tokens) and "remove access": one app loses everything a customer gave it, in one unit of work: every
//! purpose granted and every scope remembered is withdrawn in the ledger (with its
//! `consent.withdrawn` event), the remembered consent is forgotten (the app must ask again)
//! and every token family of the customer at the app is revoked, so introspection answers
//! `active: false` and a refresh is refused from the moment it commits (revocation is read on
//! every use, never cached).

use super::ledger::{self, Action, Context, Decision};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{ConnectedAppRecord, PurposeDecisionRecord, Store};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Removed {
    /// The ledger entries that prove the withdrawals.
    pub ledger_entries: Vec<String>,
    pub revoked_grants: u64,
}

/// Remove `client_id`'s access to `customer_id`. An app that holds nothing is `NotFound`.
pub async fn remove_access(
    state: &AppState,
    customer_id: &str,
    client_id: &str,
    ctx: Context<'_>,
    now: i64,
) -> Result<Removed> {
    let held = state.store.connected_apps(customer_id).await?.into_iter().any(|a| a.client_id == client_id);
    let granted: Vec<PurposeDecisionRecord> =
        state.store.purpose_decisions(customer_id, client_id).await?.into_iter().filter(|d| d.granted != 0).collect();
    if !held && granted.is_empty() {
        return Err(Error::NotFound);
    }
    let remembered = state.store.consented_scope(customer_id, client_id).await?.unwrap_or_default();
    let mut decisions: Vec<Decision> = Vec::new();
    for d in &granted {
        let policy = state.store.policy_version(&d.policy_id, d.policy_version).await?;
        decisions.push(Decision {
            client_id: client_id.to_string(),
            item: format!("purpose:{}", d.purpose_id),
            policy_id: d.policy_id.clone(),
            policy_version: d.policy_version,
            text_hash: policy.map(|p| p.text_hash).unwrap_or_default(),
            action: Action::Withdrawn,
        });
    }
    decisions.extend(remembered.split_whitespace().map(|s| Decision {
        client_id: client_id.to_string(),
        item: format!("scope:{s}"),
        policy_id: String::new(),
        policy_version: 0,
        text_hash: String::new(),
        action: Action::Withdrawn,
    }));
    let standing: Vec<PurposeDecisionRecord> = granted
        .into_iter()
        .map(|d| PurposeDecisionRecord { granted: 0, decided_at: now, channels: String::new(), ..d })
        .collect();
    let once = || async {
        let mut tx = state.store.begin().await?;
        Store::forget_consent_in(&mut tx, customer_id, client_id).await?;
        let entries = ledger::record_in(&mut tx, customer_id, &standing, &decisions, ctx, now).await?;
        let revoked = Store::revoke_customer_grants_at_client_in(&mut tx, customer_id, client_id, now).await?;
        tx.commit().await?;
        Ok::<_, Error>((entries, revoked))
    };
    let (entries, revoked_grants) = ledger::retrying(once).await?;
    tracing::info!(customer = %customer_id, client = %client_id, revoked_grants, "app access removed");
    Ok(Removed { ledger_entries: entries.into_iter().map(|e| e.id).collect(), revoked_grants })
}

/// The apps that hold access for `customer_id`, each with the names of the purposes granted to
/// it. "Last used" is when it last obtained tokens (a new token family or a refresh).
pub async fn connected(state: &AppState, customer_id: &str) -> Result<Vec<(ConnectedAppRecord, Vec<String>)>> {
    let granted = state.store.granted_purposes_of(customer_id).await?;
    Ok(state
        .store
        .connected_apps(customer_id)
        .await?
        .into_iter()
        .map(|a| {
            let names = granted.iter().filter(|g| g.0 == a.client_id).map(|g| g.3.clone()).collect();
            (a, names)
        })
        .collect())
}
