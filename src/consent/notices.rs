//! Notice of material policy changes: customers who agreed to a purpose under an earlier
//! version of its policy get one mail with the short summary of what changes, before the new
//! version takes effect (it asks for their acceptance at their next sign-in). The worker runs
//! `send_due` every tick; a notice is claimed in the store before its mail goes out, so no
//! customer gets two for one change, even with several nodes; a refused send gives the claim
//! back (a crash between claim and send loses that one mail: at most once).
//!
//! Channel preferences: this notice is not marketing but the information a customer needs for
//! their consent to stay informed (GDPR Art. 7, Art. 13(3)), so it goes to the account's
//! address even when no purpose may reach them by email; what it respects is their choices:
//! it names each purpose granted under the policy with exactly the channels they allow, so the
//! notice never suggests contact they turned off.

use crate::error::Result;
use crate::mail::PolicyChange;
use crate::state::AppState;

/// Mails sent per tick at most, so one large change does not hold the worker.
const BATCH: i64 = 50;

/// Send the notices that are due; returns how many mails went out.
pub async fn send_due(state: &AppState, now: i64) -> Result<usize> {
    let mut sent = 0;
    for version in state.store.material_versions(now).await? {
        if version.effective_at + 24 * 3600 * 1000 < now {
            // Long in force: those who did not hear before hear at their next sign-in.
            continue;
        }
        let to_tell = state.store.customers_to_notify(&version.id, version.version, BATCH - sent as i64).await?;
        for (customer_id, email) in to_tell {
            if !state.store.claim_policy_notice(&customer_id, &version.id, version.version, now).await? {
                continue;
            }
            let when = crate::web::pages::utc_minute(version.effective_at);
            let url = state.url(&format!("/policies/{}/{}", version.id, version.version));
            let choices = choices(state, &customer_id, &version.id).await?;
            let change = PolicyChange {
                title: &version.title,
                when: &when,
                summary: &version.summary,
                url: &url,
                choices: &choices,
            };
            let mail = crate::mail::policy_changed_mail(&email, change)?;
            if let Err(e) = state.mailer.send(&state.mail_from, mail).await {
                // Not sent: give the claim back so a later tick tries again, and stop this
                // batch (the mail server is likely down for the others too).
                state.store.release_policy_notice(&customer_id, &version.id, version.version).await?;
                tracing::warn!(customer = %customer_id, policy = %version.id, error = %e, "policy change notice not sent");
                return Ok(sent);
            }
            sent += 1;
        }
        if sent as i64 >= BATCH {
            break;
        }
    }
    Ok(sent)
}

/// The customer's grants under `policy_id` in words: "News by email, for Shop: by email".
async fn choices(state: &AppState, customer_id: &str, policy_id: &str) -> Result<Vec<String>> {
    Ok(state
        .store
        .grants_under_policy(customer_id, policy_id)
        .await?
        .into_iter()
        .map(|(purpose, app, channels)| {
            let by: Vec<&str> = channels.split_whitespace().map(super::channels::in_words).collect();
            if by.is_empty() {
                format!("{purpose}, for {app}")
            } else {
                format!("{purpose}, for {app}: by {}", by.join(", "))
            }
        })
        .collect())
}
