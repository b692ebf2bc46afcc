//! A guardian's approval for a minor (GDPR Art. 8(1): below the age of digital consent, a
//! parent or guardian agrees). Tessera mails the guardian exactly what the app asks (the app,
//! each item with its notice and policy version) and a link.
//!
//! Threat model, as for sign-in links (`login/email.rs`): the link is a random 256-bit value
//! stored only as a SHA-256 hash; mail scanners pre-fetch links, so opening it (GET) only
//! shows what is asked and acts on nothing; only a POST from that page (CSRF-protected)
//! approves or declines, once (compare-and-set on the stored state), and only until it
//! expires (`guardian_link_ttl_secs`). The approval is durable (SQL), since the same link
//! lets the guardian withdraw later, long after: withdrawing goes through
//! `consent::withdrawal` with channel `guardian`, so tokens reflect it at once.
//!
//! Proof: approving records one ledger entry per item, channel `guardian`, with the
//! approval's id (`gda_…`) in the entry's session field and the guardian's network address;
//! the approval row keeps only the SHA-256 of the guardian's address, never the address.

use super::ledger::{self, Action, Channel, Context, Decision};
use crate::crypto::secrets;
use crate::customers::EmailAddress;
use crate::error::{Error, Result};
use crate::mail::{GuardianItem, GuardianMail};
use crate::state::AppState;
use crate::store::{GuardianApprovalRecord, PurposeDecisionRecord, Store};
use serde::{Deserialize, Serialize};

/// One item the guardian is asked to agree to, as the minor's consent page showed it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Item {
    pub purpose: String,
    pub name: String,
    pub notice: String,
    pub policy_id: String,
    pub policy_title: String,
    pub policy_version: i64,
    pub text_hash: String,
    /// The channels it reaches the customer by: an approval allows those shown.
    #[serde(default)]
    pub channels: Vec<String>,
}

/// What to ask a guardian.
pub struct Ask<'a> {
    pub customer_id: &'a str,
    pub minor_email: &'a str,
    pub client_id: &'a str,
    pub client_name: &'a str,
    pub guardian_email: &'a str,
    pub items: Vec<Item>,
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Pending,
    Approved,
    Declined,
    Withdrawn,
    /// The minor cancelled while waiting.
    Cancelled,
    /// Not decided in time.
    Expired,
}

impl Standing {
    fn of(r: &GuardianApprovalRecord, now: i64) -> Standing {
        match r.state.as_str() {
            "pending" if r.expires_at <= now => Standing::Expired,
            "pending" => Standing::Pending,
            "approved" => Standing::Approved,
            "declined" => Standing::Declined,
            "withdrawn" => Standing::Withdrawn,
            _ => Standing::Cancelled,
        }
    }
}

/// `j***@example.com`: enough for a parent to recognise their child's account.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// Ask a guardian: store the approval and mail the link. Returns the approval's id.
pub async fn ask(state: &AppState, ask: Ask<'_>, now: i64) -> Result<String> {
    let guardian = EmailAddress::parse(ask.guardian_email)
        .ok_or_else(|| Error::bad_input("Enter your parent's or guardian's email address, like name@example.com."))?;
    if guardian.as_str() == ask.minor_email.to_lowercase() {
        return Err(Error::bad_input("Enter the address of your parent or guardian, not your own."));
    }
    if ask.items.is_empty() {
        return Err(Error::bad_input("There is nothing to ask a guardian about."));
    }
    let link = secrets::random_token();
    let ttl = state.config.guardian_link_ttl_secs;
    let record = GuardianApprovalRecord {
        id: format!("gda_{}", secrets::random_id()),
        link_hash: secrets::hash(&link),
        customer_id: ask.customer_id.to_string(),
        client_id: ask.client_id.to_string(),
        guardian_email_hash: secrets::hash(guardian.as_str()),
        items: serde_json::to_string(&ask.items).map_err(anyhow::Error::from)?,
        state: "pending".into(),
        created_at: now,
        expires_at: now + ttl * 1000,
        decided_at: None,
    };
    let items: Vec<GuardianItem> = ask
        .items
        .iter()
        .map(|i| GuardianItem {
            name: i.name.clone(),
            notice: i.notice.clone(),
            policy: format!("{}, version {}", i.policy_title, i.policy_version),
            url: state.url(&format!("/policies/{}/{}", i.policy_id, i.policy_version)),
        })
        .collect();
    let mail = crate::mail::guardian_mail(GuardianMail {
        to: guardian.as_str(),
        app: ask.client_name,
        minor: &mask(ask.minor_email),
        items: &items,
        link: &state.url(&format!("/guardian?token={link}")),
        days: (ttl / 86400).max(1),
    })?;
    state.store.insert_guardian_approval(&record).await?;
    state.mailer.send(&state.mail_from, mail).await.map_err(|e| Error::Internal(e.context("mailing a guardian")))?;
    tracing::info!(approval = %record.id, client = %record.client_id, "guardian asked");
    Ok(record.id)
}

/// Where approval `id` stands, for the minor's waiting page; it must be `customer_id`'s.
pub async fn standing(state: &AppState, id: &str, customer_id: &str, now: i64) -> Result<Standing> {
    let r = state.store.guardian_approval(id).await?.filter(|r| r.customer_id == customer_id);
    Ok(r.map(|r| Standing::of(&r, now)).unwrap_or(Standing::Cancelled))
}

/// The minor gave up waiting: the link can no longer approve.
pub async fn cancel(state: &AppState, id: &str, now: i64) -> Result<()> {
    let mut tx = state.store.begin().await?;
    Store::decide_guardian_approval_in(&mut tx, id, "pending", "cancelled", now).await?;
    tx.commit().await?;
    Ok(())
}

/// What the link's page shows, before anything happens.
pub struct LinkView {
    pub client_name: String,
    pub minor: String,
    pub items: Vec<Item>,
    pub standing: Standing,
}

async fn by_link(state: &AppState, token: &str) -> Result<GuardianApprovalRecord> {
    let found = state.store.guardian_approval_by_link(&secrets::hash(token.trim())).await?;
    found.ok_or_else(|| Error::bad_input("This link is not valid. Use the link in the mail you received."))
}

/// Opening the link (GET): shows the app, the items, their notices and the minor's masked
/// address. Acts on nothing (mail scanners open links).
pub async fn view(state: &AppState, token: &str, now: i64) -> Result<LinkView> {
    let r = by_link(state, token).await?;
    let client_name = state.store.client(&r.client_id).await?.map(|c| c.name).unwrap_or_default();
    let minor = state.store.customer(&r.customer_id).await?.map(|c| mask(&c.email)).unwrap_or_default();
    let items: Vec<Item> = serde_json::from_str(&r.items).map_err(anyhow::Error::from)?;
    Ok(LinkView { client_name, minor, items, standing: Standing::of(&r, now) })
}

/// The guardian's answer on the link's page (POST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Approve,
    Decline,
    Withdraw,
}

/// Act on the guardian's answer. Approve and decline decide once, before the link expires;
/// withdraw undoes an approval at any time later.
pub async fn answer(state: &AppState, token: &str, answer: Answer, ip: &str, now: i64) -> Result<Standing> {
    let r = by_link(state, token).await?;
    let standing = Standing::of(&r, now);
    let decided = || Error::bad_input("This request was already answered, or it expired. Nothing changed.");
    match answer {
        Answer::Approve if standing == Standing::Pending => approve(state, &r, ip, now).await,
        Answer::Decline if standing == Standing::Pending => {
            let mut tx = state.store.begin().await?;
            if !Store::decide_guardian_approval_in(&mut tx, &r.id, "pending", "declined", now).await? {
                return Err(decided());
            }
            tx.commit().await?;
            tracing::info!(approval = %r.id, "guardian declined");
            Ok(Standing::Declined)
        }
        Answer::Withdraw if standing == Standing::Approved => withdraw(state, &r, ip, now).await,
        _ => Err(decided()),
    }
}

/// Approval: where the minor stands on each item, a ledger entry per item (channel
/// `guardian`) and a `consent.granted` event each, with the approval's new state, in one
/// unit of work.
async fn approve(state: &AppState, r: &GuardianApprovalRecord, ip: &str, now: i64) -> Result<Standing> {
    let items: Vec<Item> = serde_json::from_str(&r.items).map_err(anyhow::Error::from)?;
    let standing: Vec<PurposeDecisionRecord> = items
        .iter()
        .map(|i| PurposeDecisionRecord {
            customer_id: r.customer_id.clone(),
            client_id: r.client_id.clone(),
            purpose_id: i.purpose.clone(),
            granted: 1,
            policy_id: i.policy_id.clone(),
            policy_version: i.policy_version,
            decided_at: now,
            channels: i.channels.join(" "),
        })
        .collect();
    let decisions: Vec<Decision> = items
        .iter()
        .map(|i| Decision {
            client_id: r.client_id.clone(),
            item: format!("purpose:{}", i.purpose),
            policy_id: i.policy_id.clone(),
            policy_version: i.policy_version,
            text_hash: i.text_hash.clone(),
            action: Action::Granted,
        })
        .collect();
    let ctx = Context { channel: Channel::Guardian, session_id: Some(&r.id), ip: Some(ip) };
    let once = || async {
        let mut tx = state.store.begin().await?;
        if !Store::decide_guardian_approval_in(&mut tx, &r.id, "pending", "approved", now).await? {
            return Ok(false);
        }
        ledger::record_in(&mut tx, &r.customer_id, &standing, &decisions, ctx, now).await?;
        tx.commit().await?;
        Ok::<_, Error>(true)
    };
    if !ledger::retrying(once).await? {
        return Err(Error::bad_input("This request was already answered. Nothing changed."));
    }
    tracing::info!(approval = %r.id, items = items.len(), "guardian approved");
    Ok(Standing::Approved)
}

/// Withdrawal from the same link: each item through `consent::withdrawal` (channel
/// `guardian`), then the approval is marked withdrawn.
async fn withdraw(state: &AppState, r: &GuardianApprovalRecord, ip: &str, now: i64) -> Result<Standing> {
    let items: Vec<Item> = serde_json::from_str(&r.items).map_err(anyhow::Error::from)?;
    let ctx = Context { channel: Channel::Guardian, session_id: Some(&r.id), ip: Some(ip) };
    for i in &items {
        match super::withdrawal::withdraw(state, &r.customer_id, &r.client_id, &i.purpose, ctx, now).await {
            Ok(_) | Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let mut tx = state.store.begin().await?;
    Store::decide_guardian_approval_in(&mut tx, &r.id, "approved", "withdrawn", now).await?;
    tx.commit().await?;
    tracing::info!(approval = %r.id, "guardian withdrew");
    Ok(Standing::Withdrawn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_minor_is_named_by_a_masked_address() {
        assert_eq!(super::mask("jamie@example.com"), "j***@example.com");
        assert_eq!(super::mask("nobody"), "***");
    }
}
