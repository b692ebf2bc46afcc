//! A customer's consent ledger as receipts: each entry in plain words, or as JSON with its
//! hashes, so the customer or an auditor can check the chain without Tessera.

use crate::error::Result;
use crate::state::AppState;
use serde::Serialize;

/// A ledger entry as a customer or auditor reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: String,
    pub seq: i64,
    pub client_id: String,
    pub item: String,
    pub policy: String,
    pub policy_version: i64,
    pub text_hash: String,
    pub action: String,
    pub at: i64,
    pub channel: String,
    pub session_id: String,
    pub ip: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Receipt {
    /// One entry in plain words.
    pub fn words(&self) -> String {
        let policy = if self.policy.is_empty() {
            String::new()
        } else {
            format!(" under {} version {} (text SHA-256 {})", self.policy, self.policy_version, self.text_hash)
        };
        format!(
            "#{} {}: {} {} for {} through {}{}, at {} (entry hash {})",
            self.seq,
            self.id,
            self.action,
            self.item,
            self.client_id,
            self.channel.replace('_', " "),
            policy,
            crate::web::pages::utc_minute(self.at),
            self.hash
        )
    }
}

/// A customer's ledger, oldest first.
pub async fn export(state: &AppState, customer_id: &str) -> Result<Vec<Receipt>> {
    Ok(state
        .store
        .ledger_of(customer_id)
        .await?
        .into_iter()
        .map(|e| Receipt {
            id: e.id,
            seq: e.seq,
            client_id: e.client_id,
            item: e.item,
            policy: e.policy_id,
            policy_version: e.policy_version,
            text_hash: e.text_hash,
            action: e.action,
            at: e.at,
            channel: e.channel,
            session_id: e.session_id,
            ip: e.ip,
            prev_hash: e.prev_hash,
            hash: e.hash,
        })
        .collect())
}
