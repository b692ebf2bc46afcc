//! Consent as a model of its own: purposes (what the brand may do with a customer's data),
//! the versioned policies they belong to, the purposes each client may ask for, and the
//! ledger that records every grant and withdrawal as proof.

pub mod centre;
pub mod channels;
pub mod ledger;
pub mod notices;
pub mod pages;
pub mod policies;
pub mod purposes;
pub mod receipts;
pub mod removal;
pub mod routes;
pub mod withdrawal;

use crate::store::Store;
use serde::{Deserialize, Serialize};

/// One purpose granted to a client, as tokens, UserInfo and introspection carry it in their
/// `consents` claim: `{"purpose": "marketing.email", "policy": "privacy", "version": 2,
/// "granted_at": 1764547200, "channels": ["email"]}` (seconds since the epoch; the channels
/// the customer lets the purpose reach them by, see `channels`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsentClaim {
    pub purpose: String,
    pub policy: String,
    pub version: i64,
    pub granted_at: i64,
    /// Codes issued before channels existed carry none.
    #[serde(default)]
    pub channels: Vec<String>,
}

/// The purposes a customer has granted to a client and not withdrawn, now.
pub async fn in_force(store: &Store, customer_id: &str, client_id: &str) -> anyhow::Result<Vec<ConsentClaim>> {
    Ok(store
        .purpose_decisions(customer_id, client_id)
        .await?
        .into_iter()
        .filter(|d| d.granted != 0)
        .map(|d| ConsentClaim {
            purpose: d.purpose_id,
            policy: d.policy_id,
            version: d.policy_version,
            granted_at: d.decided_at / 1000,
            channels: d.channels.split_whitespace().map(String::from).collect(),
        })
        .collect())
}

/// An id of a purpose or policy: lowercase letters, digits, `.`, `-` and `_`, 1 to 64 long,
/// starting with a letter (it travels as `purpose:<id>` in a scope value, RFC 6749 §3.3).
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_plain_words_that_fit_in_a_scope() {
        for good in ["marketing.email", "personalisation", "share.partners", "privacy", "tos-2"] {
            assert!(super::valid_id(good), "{good}");
        }
        for bad in ["", "Marketing", "9lives", "a b", "purpose:x", "x\"y", &"a".repeat(65)] {
            assert!(!super::valid_id(bad), "{bad}");
        }
    }
}
