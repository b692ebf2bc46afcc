//! Withdrawing a purpose takes effect everywhere at once: where the customer stands changes,
//! the ledger records the withdrawal and the outbox carries `consent.withdrawn`, in one unit
//! of work. From then on UserInfo and introspection show the reduced consents, a refresh of a
//! token family that included the purpose is refused (`oidc::grants::refresh_token`), and
//! when the purpose was one the app requires, its token families are revoked so that
//! introspection answers `active: false` (revocation is read on every use, never cached).

use super::ledger::{self, Action, Context, Decision};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{PurposeDecisionRecord, Store};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Withdrawn {
    /// `purpose:<id>` or `scope:<scope>`.
    pub item: String,
    /// The ledger entry that proves it.
    pub ledger_entry: String,
    /// Token families revoked because the app required the purpose.
    pub revoked_grants: u64,
}

/// Withdraw `purpose_id`, granted by `customer_id` to `client_id`. Withdrawing what is not
/// granted is `NotFound` (nothing is recorded).
pub async fn withdraw(
    state: &AppState,
    customer_id: &str,
    client_id: &str,
    purpose_id: &str,
    ctx: Context<'_>,
    now: i64,
) -> Result<Withdrawn> {
    let decisions = state.store.purpose_decisions(customer_id, client_id).await?;
    let Some(current) = decisions.into_iter().find(|d| d.purpose_id == purpose_id && d.granted != 0) else {
        return Err(Error::NotFound);
    };
    let required =
        state.store.client_purposes(client_id).await?.iter().any(|p| p.purpose_id == purpose_id && p.required != 0);
    let policy = state.store.policy_version(&current.policy_id, current.policy_version).await?;
    let item = format!("purpose:{purpose_id}");
    let decision = Decision {
        client_id: client_id.to_string(),
        item: item.clone(),
        policy_id: current.policy_id.clone(),
        policy_version: current.policy_version,
        text_hash: policy.map(|p| p.text_hash).unwrap_or_default(),
        action: Action::Withdrawn,
    };
    let standing = PurposeDecisionRecord { granted: 0, decided_at: now, channels: String::new(), ..current };
    let once = || async {
        let mut tx = state.store.begin().await?;
        let entries = ledger::record_in(
            &mut tx,
            customer_id,
            std::slice::from_ref(&standing),
            std::slice::from_ref(&decision),
            ctx,
            now,
        )
        .await?;
        let revoked = if required {
            Store::revoke_customer_grants_at_client_in(&mut tx, customer_id, client_id, now).await?
        } else {
            0
        };
        tx.commit().await?;
        Ok::<_, Error>((entries, revoked))
    };
    let (entries, revoked_grants) = ledger::retrying(once).await?;
    tracing::info!(customer = %customer_id, client = %client_id, purpose = %purpose_id, revoked_grants, "consent withdrawn");
    let ledger_entry = entries.first().map(|e| e.id.clone()).unwrap_or_default();
    Ok(Withdrawn { item: format!("purpose:{purpose_id}"), ledger_entry, revoked_grants })
}

/// Withdraw a scope granted by `customer_id` to `client_id`: it leaves the remembered
/// consent (the app must ask again), the ledger records it with `consent.withdrawn`, and the
/// token families that hold it are revoked (the data it reads is no longer the app's).
pub async fn withdraw_scope(
    state: &AppState,
    customer_id: &str,
    client_id: &str,
    scope: &str,
    ctx: Context<'_>,
    now: i64,
) -> Result<Withdrawn> {
    let remembered = state.store.consented_scope(customer_id, client_id).await?.unwrap_or_default();
    if !remembered.split_whitespace().any(|s| s == scope) {
        return Err(Error::NotFound);
    }
    let left: Vec<&str> = remembered.split_whitespace().filter(|s| *s != scope).collect();
    let decision = Decision {
        client_id: client_id.to_string(),
        item: format!("scope:{scope}"),
        policy_id: String::new(),
        policy_version: 0,
        text_hash: String::new(),
        action: Action::Withdrawn,
    };
    let once = || async {
        let mut tx = state.store.begin().await?;
        Store::save_consent_in(&mut tx, customer_id, client_id, &left.join(" "), now).await?;
        let entries = ledger::record_in(&mut tx, customer_id, &[], std::slice::from_ref(&decision), ctx, now).await?;
        let revoked = Store::revoke_grants_with_scope_in(&mut tx, customer_id, client_id, scope, now).await?;
        tx.commit().await?;
        Ok::<_, Error>((entries, revoked))
    };
    let (entries, revoked_grants) = ledger::retrying(once).await?;
    tracing::info!(customer = %customer_id, client = %client_id, scope, revoked_grants, "scope withdrawn");
    let ledger_entry = entries.first().map(|e| e.id.clone()).unwrap_or_default();
    Ok(Withdrawn { item: format!("scope:{scope}"), ledger_entry, revoked_grants })
}

/// What a withdrawal names: one purpose or one scope (the consent and admin APIs' body).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalInput {
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// Withdraw what `input` names.
pub async fn withdraw_input(
    state: &AppState,
    customer_id: &str,
    client_id: &str,
    input: &WithdrawalInput,
    ctx: Context<'_>,
    now: i64,
) -> Result<Withdrawn> {
    match (&input.purpose, &input.scope) {
        (Some(p), None) => withdraw(state, customer_id, client_id, p, ctx, now).await,
        (None, Some(s)) => withdraw_scope(state, customer_id, client_id, s, ctx, now).await,
        _ => Err(Error::bad_input("name one purpose or one scope to withdraw")),
    }
}

/// One app in the customer's overview: what it may read, and what it may do.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppConsents {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    /// (purpose id, purpose name, granted at in ms).
    pub purposes: Vec<(String, String, i64)>,
}

/// Everything a customer has granted, app by app (the privacy centre).
pub async fn overview(state: &AppState, customer_id: &str) -> Result<Vec<AppConsents>> {
    let mut apps: Vec<AppConsents> = Vec::new();
    for (client_id, client_name, scope) in state.store.consents_of(customer_id).await? {
        let scopes = scope.split_whitespace().map(String::from).collect();
        apps.push(AppConsents { client_id, client_name, scopes, purposes: Vec::new() });
    }
    for (client_id, client_name, purpose, name, at) in state.store.granted_purposes_of(customer_id).await? {
        match apps.iter_mut().find(|a| a.client_id == client_id) {
            Some(a) => a.purposes.push((purpose, name, at)),
            None => apps.push(AppConsents {
                client_id,
                client_name,
                scopes: Vec::new(),
                purposes: vec![(purpose, name, at)],
            }),
        }
    }
    Ok(apps)
}

/// The scopes a customer has granted a client (remembered consent).
pub async fn remembered_scopes(state: &AppState, customer_id: &str, client_id: &str) -> Result<Vec<String>> {
    let scope = state.store.consented_scope(customer_id, client_id).await?.unwrap_or_default();
    Ok(scope.split_whitespace().map(String::from).collect())
}

/// Where a customer stands on each purpose a client is registered for (the consent API).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Standing {
    pub purpose: String,
    pub required: bool,
    /// `granted`, `refused` or `not_asked`.
    pub state: &'static str,
    pub policy: Option<String>,
    pub version: Option<i64>,
    /// Seconds since the epoch.
    pub decided_at: Option<i64>,
    /// The channels the customer lets the purpose reach them by (granted purposes only).
    pub channels: Vec<String>,
}

pub async fn standing(state: &AppState, customer_id: &str, client_id: &str) -> Result<Vec<Standing>> {
    let decided = state.store.purpose_decisions(customer_id, client_id).await?;
    Ok(state
        .store
        .client_purposes(client_id)
        .await?
        .into_iter()
        .map(|p| {
            let d = decided.iter().find(|d| d.purpose_id == p.purpose_id);
            Standing {
                state: match d.map(|d| d.granted) {
                    Some(0) => "refused",
                    Some(_) => "granted",
                    None => "not_asked",
                },
                policy: d.map(|d| d.policy_id.clone()),
                version: d.map(|d| d.policy_version),
                decided_at: d.map(|d| d.decided_at / 1000),
                channels: d.map(|d| d.channels.split_whitespace().map(String::from).collect()).unwrap_or_default(),
                purpose: p.purpose_id,
                required: p.required != 0,
            }
        })
        .collect())
}
