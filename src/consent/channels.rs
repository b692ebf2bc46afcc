//! Channel preferences: by which channels (email, SMS, push, phone) a purpose granted to an
//! app may reach the customer, limited to the channels the purpose concerns. A customer keeps
//! `marketing` by email but not by SMS.
//!
//! A grant on the consent screen allows every channel shown beside the purpose (GDPR Art. 7(2)
//! and Recital 32: consent is a clear affirmative act for what was presented, and the page
//! names the channels); the privacy centre narrows or widens them at any time (Art. 7(3):
//! withdrawing is as easy as giving). Each channel added or dropped is its own ledger entry,
//! item `channel:<purpose>/<channel>`, with its `consent.granted` / `consent.withdrawn` event,
//! in the unit of work that changes where the customer stands: the change, its proof and its
//! news commit together. The channels ride in the `consents` claim (`super::in_force`).

use super::ledger::{self, Action, Context, Decision};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::PurposeDecisionRecord;

/// Every channel a purpose may name, in the order pages show them.
pub const KNOWN: [&str; 4] = ["email", "sms", "push", "phone"];

/// A channel in words for pages and mails.
pub fn in_words(channel: &str) -> &'static str {
    match channel {
        "email" => "email",
        "sms" => "SMS",
        "push" => "push notifications",
        "phone" => "phone calls",
        _ => "another channel",
    }
}

/// The ledger item of one channel of one purpose.
pub fn item(purpose_id: &str, channel: &str) -> String {
    format!("channel:{purpose_id}/{channel}")
}

/// The channels of `had` (space-separated) still named by the purpose (`offered`), space-
/// separated: what a customer asked again keeps.
pub fn kept(had: &str, offered: &[String]) -> String {
    had.split_whitespace().filter(|c| offered.iter().any(|o| o == c)).collect::<Vec<_>>().join(" ")
}

/// What changes from `had` to `wanted`: (channel, granted) in `KNOWN` order.
pub fn changes(had: &[&str], wanted: &[&str]) -> Vec<(&'static str, bool)> {
    KNOWN
        .iter()
        .filter_map(|c| match (had.contains(c), wanted.contains(c)) {
            (false, true) => Some((*c, true)),
            (true, false) => Some((*c, false)),
            _ => None,
        })
        .collect()
}

/// Set the channels of `purpose_id`, granted by `customer_id` to `client_id`, to `wanted`.
/// Only a granted purpose has channels (`NotFound` otherwise), and only the ones it names
/// (`BadInput` for any other). Returns how many channels changed (0: nothing recorded).
pub async fn set(
    state: &AppState,
    customer_id: &str,
    client_id: &str,
    purpose_id: &str,
    wanted: &[String],
    ctx: Context<'_>,
    now: i64,
) -> Result<usize> {
    let decisions = state.store.purpose_decisions(customer_id, client_id).await?;
    let current = decisions.into_iter().find(|d| d.purpose_id == purpose_id && d.granted != 0);
    let current = current.ok_or(Error::NotFound)?;
    let purpose = state.store.purpose(purpose_id).await?.ok_or(Error::NotFound)?;
    let offered: Vec<&str> = purpose.channels.split_whitespace().collect();
    if let Some(bad) = wanted.iter().find(|w| !offered.contains(&w.as_str())) {
        return Err(Error::bad_input(format!("{} does not reach you by {bad:?}", purpose.name)));
    }
    let had: Vec<&str> = current.channels.split_whitespace().collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let changed = changes(&had, &wanted);
    if changed.is_empty() {
        return Ok(0);
    }
    let policy = state.store.policy_version(&current.policy_id, current.policy_version).await?;
    let text_hash = policy.map(|p| p.text_hash).unwrap_or_default();
    let decisions: Vec<Decision> = changed
        .iter()
        .map(|(channel, granted)| Decision {
            client_id: client_id.to_string(),
            item: item(purpose_id, channel),
            policy_id: current.policy_id.clone(),
            policy_version: current.policy_version,
            text_hash: text_hash.clone(),
            action: if *granted { Action::Granted } else { Action::Withdrawn },
        })
        .collect();
    let ordered: Vec<&str> = KNOWN.iter().copied().filter(|c| wanted.contains(c)).collect();
    // The purpose stays granted since when it was granted; only its channels change.
    let standing = PurposeDecisionRecord { channels: ordered.join(" "), ..current };
    ledger::retrying(|| async {
        let mut tx = state.store.begin().await?;
        ledger::record_in(&mut tx, customer_id, std::slice::from_ref(&standing), &decisions, ctx, now).await?;
        tx.commit().await?;
        Ok(())
    })
    .await?;
    tracing::info!(customer = %customer_id, client = %client_id, purpose = %purpose_id, changed = changed.len(), "channels changed");
    Ok(changed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_changes_is_recorded() {
        assert_eq!(changes(&["email", "sms"], &["email"]), [("sms", false)]);
        assert_eq!(changes(&["email"], &["sms", "email"]), [("sms", true)]);
        assert!(changes(&["email"], &["email"]).is_empty());
        assert_eq!(changes(&[], &["phone", "email"]), [("email", true), ("phone", true)]);
    }

    #[test]
    fn asked_again_keeps_what_is_still_offered() {
        let offered: Vec<String> = vec!["email".into(), "push".into()];
        assert_eq!(kept("email sms", &offered), "email");
        assert_eq!(kept("", &offered), "");
    }
}
