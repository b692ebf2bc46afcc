//! Notice of material policy changes: customers who agreed to a purpose under an earlier
//! version of its policy get one mail with the short summary of what changes, before the new
//! version takes effect (it asks for their acceptance at their next sign-in). The worker runs
//! `send_due` every tick; a notice is claimed in the store before its mail goes out, so no
//! customer gets two for one change, even with several nodes; a refused send gives the claim
//! back (a crash between claim and send loses that one mail: at most once).

use crate::error::Result;
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
            let mail = crate::mail::policy_changed_mail(&email, &version.title, &when, &version.summary, &url)?;
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
