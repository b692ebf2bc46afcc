//! Versioned policies (terms of service, privacy policy, any document a purpose points to).
//! A published version is never changed: its exact text, a short summary of what changed,
//! the SHA-256 of the text (what ledger entries point to) and whether the change is
//! material (customers must accept it again) are fixed at publication.

use super::valid_id;
use crate::crypto::secrets;
use crate::ephemeral::changes::ConfigChange;
use crate::error::{Error, Result};
use crate::events::audit::{self, Caller};
use crate::state::AppState;
use crate::store::PolicyRecord;
use serde::Serialize;

/// What an admin publishes.
pub struct NewVersion {
    pub id: String,
    pub title: String,
    pub body: String,
    pub summary: String,
    pub material: bool,
    /// When it takes effect (`None`: at once). Customers affected by a material change are
    /// told before.
    pub effective_at: Option<i64>,
}

/// A version as admins and the consent screen see it (the full text only on request).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PolicyVersion {
    pub id: String,
    pub version: i64,
    pub title: String,
    pub summary: String,
    pub text_hash: String,
    pub material: bool,
    pub published_at: i64,
    pub effective_at: i64,
}

impl From<&PolicyRecord> for PolicyVersion {
    fn from(r: &PolicyRecord) -> PolicyVersion {
        PolicyVersion {
            id: r.id.clone(),
            version: r.version,
            title: r.title.clone(),
            summary: r.summary.clone(),
            text_hash: r.text_hash.clone(),
            material: r.material != 0,
            published_at: r.published_at,
            effective_at: r.effective_at,
        }
    }
}

/// The hash that proves which exact text was shown: SHA-256 (hex) of its UTF-8 bytes.
pub fn text_hash(body: &str) -> String {
    secrets::hash(body)
}

/// Publish the next version of a policy; returns it.
pub async fn publish(state: &AppState, new: NewVersion, caller: Caller<'_>, now: i64) -> Result<PolicyVersion> {
    if !valid_id(&new.id) {
        return Err(Error::bad_input("a policy id is 1-64 lowercase letters, digits, '.', '-' or '_'"));
    }
    if new.body.trim().is_empty() {
        return Err(Error::bad_input("the policy text is empty"));
    }
    let summary = new.summary.trim();
    if summary.is_empty() || summary.chars().count() > 500 {
        return Err(Error::bad_input("a summary of what changed is required (at most 500 characters)"));
    }
    let title = if new.title.trim().is_empty() { new.id.clone() } else { new.title.trim().to_string() };
    let mut record = PolicyRecord {
        id: new.id,
        version: 0,
        title,
        text_hash: text_hash(&new.body),
        body: new.body,
        summary: summary.to_string(),
        material: i64::from(new.material),
        published_at: now,
        effective_at: new.effective_at.unwrap_or(now).max(now),
    };
    record.version = state.store.publish_policy(&record).await?;
    let detail =
        serde_json::json!({ "version": record.version, "material": new.material, "text_hash": record.text_hash });
    audit::record(state, audit::Entry { detail, ..caller.entry("admin.policy.published", Some(&record.id)) }, now)
        .await?;
    state.config_changed(ConfigChange::Policies).await;
    tracing::info!(policy = %record.id, version = record.version, material = new.material, "policy published");
    Ok(PolicyVersion::from(&record))
}

/// The version in force now, if the policy was ever published.
pub async fn in_force(state: &AppState, id: &str, now: i64) -> Result<Option<PolicyVersion>> {
    Ok(state.store.policy_in_force(id, now).await?.as_ref().map(PolicyVersion::from))
}

/// The full text of one version.
pub async fn text(state: &AppState, id: &str, version: i64) -> Result<(PolicyVersion, String)> {
    let r = state.store.policy_version(id, version).await?.ok_or(Error::NotFound)?;
    Ok((PolicyVersion::from(&r), r.body))
}

pub async fn list(state: &AppState) -> Result<Vec<PolicyVersion>> {
    Ok(state.store.policies().await?.iter().map(PolicyVersion::from).collect())
}
