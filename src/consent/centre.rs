//! Consents as the privacy centre shows them: per app and per purpose what is granted, since
//! when, under which policy version, with the ledger entry that proves it (its receipt), the
//! channels chosen; the policy versions the customer accepted; and granting an optional purpose
//! from there (channel `privacy_centre` in the ledger).

use super::ledger::{self, Action, Context, Decision};
use super::receipts::{self, Receipt};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::PurposeDecisionRecord;

/// One purpose an app is registered for (or was granted), and where the customer stands.
#[derive(Debug, Clone)]
pub struct PurposeStanding {
    pub id: String,
    pub name: String,
    pub notice: String,
    pub required: bool,
    pub granted: bool,
    /// When the current decision was made (ms), if any.
    pub since: Option<i64>,
    pub policy_id: String,
    pub policy_version: i64,
    /// The ledger entry that proves the current decision.
    pub receipt: Option<Receipt>,
    /// The channels the purpose names, and those the customer allows.
    pub offered: Vec<String>,
    pub channels: Vec<String>,
}

/// One app and what it may know (remembered scopes) and do (purposes).
#[derive(Debug, Clone)]
pub struct AppStanding {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub purposes: Vec<PurposeStanding>,
}

/// A policy version the customer accepted (a grant was made under it), first accepted at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedPolicy {
    pub id: String,
    pub version: i64,
    pub title: String,
    pub accepted_at: i64,
}

pub struct ConsentsView {
    pub apps: Vec<AppStanding>,
    pub policies: Vec<AcceptedPolicy>,
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// Everything the consents page shows.
pub async fn view(state: &AppState, customer_id: &str) -> Result<ConsentsView> {
    let receipts = receipts::export(state, customer_id).await?;
    let mut apps = Vec::new();
    for a in super::withdrawal::overview(state, customer_id).await? {
        let decided = state.store.purpose_decisions(customer_id, &a.client_id).await?;
        let registered = state.store.client_purposes(&a.client_id).await?;
        let mut ids: Vec<(String, bool)> = registered.iter().map(|r| (r.purpose_id.clone(), r.required != 0)).collect();
        // Granted once, no longer registered: still shown, so it can be withdrawn.
        let extra: Vec<(String, bool)> = decided
            .iter()
            .filter(|d| d.granted != 0 && !ids.iter().any(|(id, _)| *id == d.purpose_id))
            .map(|d| (d.purpose_id.clone(), false))
            .collect();
        ids.extend(extra);
        let mut purposes = Vec::new();
        for (id, required) in ids {
            let Some(p) = state.store.purpose(&id).await? else { continue };
            let d = decided.iter().find(|d| d.purpose_id == id);
            let granted = d.is_some_and(|d| d.granted != 0);
            let item = format!("purpose:{id}");
            let action = if granted { Action::Granted } else { Action::Withdrawn };
            let receipt = receipts
                .iter()
                .rev()
                .find(|r| r.client_id == a.client_id && r.item == item && r.action == action.as_str())
                .filter(|_| d.is_some())
                .cloned();
            purposes.push(PurposeStanding {
                name: p.name,
                notice: p.notice,
                required,
                granted,
                since: d.map(|d| d.decided_at),
                policy_id: d.map(|d| d.policy_id.clone()).unwrap_or(p.policy_id),
                policy_version: d.map(|d| d.policy_version).unwrap_or(0),
                receipt,
                offered: words(&p.channels),
                channels: d.filter(|_| granted).map(|d| words(&d.channels)).unwrap_or_default(),
                id,
            });
        }
        apps.push(AppStanding { client_id: a.client_id, client_name: a.client_name, scopes: a.scopes, purposes });
    }
    let mut policies: Vec<AcceptedPolicy> = Vec::new();
    for r in receipts.iter().filter(|r| !r.policy.is_empty() && r.action == Action::Granted.as_str()) {
        if policies.iter().any(|p| p.id == r.policy && p.version == r.policy_version) {
            continue;
        }
        let title = state.store.policy_version(&r.policy, r.policy_version).await?.map(|p| p.title).unwrap_or_default();
        policies.push(AcceptedPolicy { id: r.policy.clone(), version: r.policy_version, title, accepted_at: r.at });
    }
    Ok(ConsentsView { apps, policies })
}

/// Grant `purpose_id` to `client_id` from the privacy centre: the app must be registered for
/// it and already be one the customer uses (it has a remembered consent or a decision), and
/// the grant is made on the policy version in force, with every channel the purpose names
/// (as on the consent screen; the page says so). Granting what is granted records nothing.
pub async fn grant(
    state: &AppState,
    customer_id: &str,
    client_id: &str,
    purpose_id: &str,
    ctx: Context<'_>,
    now: i64,
) -> Result<bool> {
    let registered = state.store.client_purposes(client_id).await?.into_iter().any(|r| r.purpose_id == purpose_id);
    let decided = state.store.purpose_decisions(customer_id, client_id).await?;
    let uses = !decided.is_empty() || state.store.consented_scope(customer_id, client_id).await?.is_some();
    if !registered || !uses {
        return Err(Error::NotFound);
    }
    if decided.iter().any(|d| d.purpose_id == purpose_id && d.granted != 0) {
        return Ok(false);
    }
    let purpose = state.store.purpose(purpose_id).await?.ok_or(Error::NotFound)?;
    let policy = state.store.policy_in_force(&purpose.policy_id, now).await?.ok_or(Error::NotFound)?;
    let decision = Decision {
        client_id: client_id.to_string(),
        item: format!("purpose:{purpose_id}"),
        policy_id: policy.id.clone(),
        policy_version: policy.version,
        text_hash: policy.text_hash.clone(),
        action: Action::Granted,
    };
    let standing = PurposeDecisionRecord {
        customer_id: customer_id.to_string(),
        client_id: client_id.to_string(),
        purpose_id: purpose_id.to_string(),
        granted: 1,
        policy_id: policy.id,
        policy_version: policy.version,
        decided_at: now,
        channels: purpose.channels.clone(),
    };
    ledger::retrying(|| async {
        let mut tx = state.store.begin().await?;
        ledger::record_in(
            &mut tx,
            customer_id,
            std::slice::from_ref(&standing),
            std::slice::from_ref(&decision),
            ctx,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await?;
    tracing::info!(customer = %customer_id, client = %client_id, purpose = %purpose_id, "purpose granted from the privacy centre");
    Ok(true)
}
