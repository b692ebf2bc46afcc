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
    pub purpose: String,
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
    let standing = PurposeDecisionRecord { granted: 0, decided_at: now, ..current };
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
    // A concurrent append to the same chain fails on its key; the next try chains after it.
    let mut attempt = 0;
    let (entries, revoked_grants) = loop {
        match once().await {
            Ok(done) => break done,
            Err(e) if attempt == 2 => return Err(e),
            Err(_) => attempt += 1,
        }
    };
    tracing::info!(customer = %customer_id, client = %client_id, purpose = %purpose_id, revoked_grants, "consent withdrawn");
    let ledger_entry = entries.first().map(|e| e.id.clone()).unwrap_or_default();
    Ok(Withdrawn { purpose: purpose_id.to_string(), ledger_entry, revoked_grants })
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
                purpose: p.purpose_id,
                required: p.required != 0,
            }
        })
        .collect())
}
