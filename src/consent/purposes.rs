//! Purposes: what the brand may do with a customer's data (`marketing.email`,
//! `personalisation`, `share.partners`…), each with a name, a short plain-language notice
//! shown on the consent screen, the policy it belongs to, the data categories it uses and the
//! channels it concerns; and the purposes each client is registered for, `required` (with the
//! reason the customer is shown) or `optional`.

use super::valid_id;
use crate::ephemeral::changes::ConfigChange;
use crate::error::{Error, Result};
use crate::events::audit::{self, Caller};
use crate::state::AppState;
use crate::store::{ClientPurposeRecord, PurposeRecord, Store};
use serde::{Deserialize, Serialize};

/// A notice is one or two sentences: longer text belongs in the policy.
const MAX_NOTICE_CHARS: usize = 300;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Purpose {
    pub id: String,
    pub name: String,
    pub notice: String,
    pub policy: String,
    pub data_categories: Vec<String>,
    pub channels: Vec<String>,
    pub retired: bool,
    /// Below the age of digital consent, a guardian must approve it (`consent::guardian`).
    pub age_check: bool,
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

impl From<&PurposeRecord> for Purpose {
    fn from(r: &PurposeRecord) -> Purpose {
        Purpose {
            id: r.id.clone(),
            name: r.name.clone(),
            notice: r.notice.clone(),
            policy: r.policy_id.clone(),
            data_categories: words(&r.data_categories),
            channels: words(&r.channels),
            retired: r.retired_at.is_some(),
            age_check: false,
        }
    }
}

/// What an admin sends to create or change a purpose; on update only the fields given change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub notice: Option<String>,
    pub policy: Option<String>,
    pub data_categories: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub age_check: Option<bool>,
}

fn apply(r: &mut PurposeRecord, input: PurposeInput) -> Result<()> {
    if let Some(v) = input.name {
        r.name = v.trim().to_string();
    }
    if let Some(v) = input.notice {
        r.notice = v.trim().to_string();
    }
    if let Some(v) = input.policy {
        r.policy_id = v;
    }
    for (list, field) in [(input.data_categories, &mut r.data_categories), (input.channels, &mut r.channels)] {
        if let Some(v) = list {
            if let Some(bad) = v.iter().find(|w| !valid_id(w)) {
                return Err(Error::bad_input(format!("{bad:?} is not a plain lowercase word")));
            }
            *field = v.join(" ");
        }
    }
    if r.name.is_empty() {
        return Err(Error::bad_input("a purpose needs a name"));
    }
    if r.notice.is_empty() || r.notice.chars().count() > MAX_NOTICE_CHARS {
        return Err(Error::bad_input(format!(
            "a purpose needs a notice of one or two sentences (at most {MAX_NOTICE_CHARS} characters)"
        )));
    }
    if !valid_id(&r.policy_id) {
        return Err(Error::bad_input("a purpose belongs to a policy: give its id"));
    }
    Ok(())
}

pub async fn create(state: &AppState, input: PurposeInput, caller: Caller<'_>, now: i64) -> Result<Purpose> {
    let id = input.id.clone().unwrap_or_default();
    let age_check = input.age_check;
    if !valid_id(&id) {
        return Err(Error::bad_input("a purpose id is 1-64 lowercase letters, digits, '.', '-' or '_'"));
    }
    let mut r = PurposeRecord {
        id,
        name: String::new(),
        notice: String::new(),
        policy_id: String::new(),
        data_categories: String::new(),
        channels: String::new(),
        created_at: now,
        updated_at: now,
        retired_at: None,
    };
    apply(&mut r, input)?;
    if state.store.policy_in_force(&r.policy_id, now).await?.is_none() {
        return Err(Error::bad_input(format!("publish the policy {:?} before pointing a purpose to it", r.policy_id)));
    }
    if !state.store.insert_purpose(&r).await? {
        return Err(Error::bad_input(format!("a purpose with id {:?} exists already", r.id)));
    }
    audit::record(state, caller.entry("admin.purpose.created", Some(&r.id)), now).await?;
    state.config_changed(ConfigChange::Purposes).await;
    tracing::info!(purpose = %r.id, "purpose created");
    with_age_check(state, &r, age_check).await
}

pub async fn update(state: &AppState, id: &str, input: PurposeInput, caller: Caller<'_>, now: i64) -> Result<Purpose> {
    let mut r = state.store.purpose(id).await?.ok_or(Error::NotFound)?;
    let age_check = input.age_check;
    if input.id.as_deref().is_some_and(|new| new != id) {
        return Err(Error::bad_input("a purpose's id cannot change (the ledger points to it)"));
    }
    apply(&mut r, input)?;
    if state.store.policy_in_force(&r.policy_id, now).await?.is_none() {
        return Err(Error::bad_input(format!("the policy {:?} was never published", r.policy_id)));
    }
    r.updated_at = now;
    state.store.update_purpose(&r).await?;
    audit::record(state, caller.entry("admin.purpose.updated", Some(id)), now).await?;
    state.config_changed(ConfigChange::Purposes).await;
    with_age_check(state, &r, age_check).await
}

/// Stop offering a purpose. It stays for the ledger's sake; clients can no longer ask for it.
pub async fn retire(state: &AppState, id: &str, caller: Caller<'_>, now: i64) -> Result<Purpose> {
    let mut r = state.store.purpose(id).await?.ok_or(Error::NotFound)?;
    if r.retired_at.is_none() {
        r.retired_at = Some(now);
        r.updated_at = now;
        state.store.update_purpose(&r).await?;
        audit::record(state, caller.entry("admin.purpose.retired", Some(id)), now).await?;
        state.config_changed(ConfigChange::Purposes).await;
        tracing::info!(purpose = %r.id, "purpose retired");
    }
    with_age_check(state, &r, None).await
}

/// The purpose as shown, after setting its age check when `set` says so.
async fn with_age_check(state: &AppState, r: &PurposeRecord, set: Option<bool>) -> Result<Purpose> {
    if let Some(on) = set {
        state.store.set_age_check("purpose", &r.id, on).await?;
    }
    let checked = state.store.age_checked("purpose").await?;
    Ok(Purpose { age_check: checked.contains(&r.id), ..Purpose::from(r) })
}

pub async fn list(state: &AppState) -> Result<Vec<Purpose>> {
    let checked = state.store.age_checked("purpose").await?;
    let all = state.store.purposes().await?;
    Ok(all.iter().map(|r| Purpose { age_check: checked.contains(&r.id), ..Purpose::from(r) }).collect())
}

/// A purpose a client is registered for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClientPurpose {
    pub purpose: String,
    pub required: bool,
    /// Why the app cannot work without it (required purposes only).
    pub reason: String,
}

impl ClientPurpose {
    /// `id:optional`, `id:required` or `id:required:<why>` (the CLI's `--purpose`). Without a
    /// reason, the consent screen says the app cannot work without it.
    pub fn parse(spec: &str) -> Result<ClientPurpose> {
        let mut parts = spec.splitn(3, ':');
        let purpose = parts.next().unwrap_or("").to_string();
        let kind = parts.next().unwrap_or("");
        let reason = parts.next().unwrap_or("").trim().to_string();
        match kind {
            "optional" if reason.is_empty() => Ok(ClientPurpose { purpose, required: false, reason }),
            "required" => Ok(ClientPurpose { purpose, required: true, reason }),
            _ => Err(Error::bad_input(format!("{spec:?}: write <purpose>:optional or <purpose>:required[:<why>]"))),
        }
    }
}

/// Check purposes a client is to be registered for: each exists, is not retired, and is
/// given once. Done before the client is created, so a bad one creates nothing.
pub async fn check_for_client(store: &Store, purposes: &[ClientPurpose]) -> Result<Vec<ClientPurposeRecord>> {
    let mut records = Vec::new();
    for p in purposes {
        let known = store.purpose(&p.purpose).await?;
        match known {
            Some(r) if r.retired_at.is_none() => {}
            Some(_) => return Err(Error::bad_input(format!("the purpose {:?} is retired", p.purpose))),
            None => return Err(Error::bad_input(format!("there is no purpose {:?}", p.purpose))),
        }
        if records.iter().any(|r: &ClientPurposeRecord| r.purpose_id == p.purpose) {
            return Err(Error::bad_input(format!("the purpose {:?} is given twice", p.purpose)));
        }
        records.push(ClientPurposeRecord {
            client_id: String::new(),
            purpose_id: p.purpose.clone(),
            required: i64::from(p.required),
            reason: p.reason.clone(),
        });
    }
    Ok(records)
}

/// Register the purposes a client may ask for (replacing what it had).
pub async fn register_for_client(store: &Store, client_id: &str, purposes: &[ClientPurpose]) -> Result<()> {
    let records = check_for_client(store, purposes).await?;
    store.set_client_purposes(client_id, &records).await?;
    Ok(())
}

pub async fn of_client(store: &Store, client_id: &str) -> Result<Vec<ClientPurpose>> {
    Ok(store
        .client_purposes(client_id)
        .await?
        .into_iter()
        .map(|r| ClientPurpose { purpose: r.purpose_id, required: r.required != 0, reason: r.reason })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_purposes_are_optional_or_required_with_a_reason() {
        let opt = ClientPurpose::parse("marketing.email:optional").unwrap();
        assert_eq!((opt.purpose.as_str(), opt.required), ("marketing.email", false));
        let req = ClientPurpose::parse("personalisation:required:Your feed is built from what you read").unwrap();
        assert!(req.required);
        assert_eq!(req.reason, "Your feed is built from what you read");
        assert!(ClientPurpose::parse("personalisation:required").unwrap().required);
        for bad in ["personalisation", "x:maybe", "x:optional:why"] {
            assert!(ClientPurpose::parse(bad).is_err(), "{bad}");
        }
    }
}
