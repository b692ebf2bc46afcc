//! "What we hold about you and why" (GDPR Art. 13-15 in plain language): the categories of data
//! Tessera's data model keeps on a customer, where each comes from and how long it is kept
//! (from the configuration, so the page never disagrees with what the server does), and every
//! purpose in use: what it is for, the data categories it uses, the channels it may use, the
//! apps (partners) that receive data under it and whether this customer allowed it, beside a
//! link to the full policy. Generated from the model and the purposes table, not written by
//! hand, so a new purpose appears here the moment it is created.

use crate::error::Result;
use crate::state::AppState;

/// One category of data held.
#[derive(Debug, Clone)]
pub struct Category {
    pub name: &'static str,
    pub what: &'static str,
    pub source: &'static str,
    pub why: &'static str,
    pub kept: String,
}

/// One purpose in use.
#[derive(Debug, Clone)]
pub struct PurposeUse {
    pub name: String,
    pub notice: String,
    pub data_categories: Vec<String>,
    pub channels: Vec<&'static str>,
    /// `/policies/<id>/<version>` of the version in force, and its title.
    pub policy_link: String,
    pub policy_title: String,
    /// (app name, "required" or "optional", whether this customer allowed it to that app).
    pub partners: Vec<(String, &'static str, bool)>,
}

fn days(secs: i64) -> String {
    match secs / 86400 {
        0 => format!("{} hours", (secs / 3600).max(1)),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

/// The categories of the data model, with their retention from the configuration.
pub fn categories(state: &AppState) -> Vec<Category> {
    let c = &state.config;
    let account = "as long as your account exists; erased when you delete it".to_string();
    vec![
        Category {
            name: "Identity and contact",
            what: "email address, names, phone number, date of birth, postal address",
            source: "typed by you, from a social sign-in you used, or asked by an app that needed it",
            why: "to know who you are and to release to apps only what you allowed",
            kept: account.clone(),
        },
        Category {
            name: "Sign-in methods",
            what: "passkeys (public keys and their names), authenticator app (encrypted), recovery codes (only as hashes), linked social sign-ins",
            source: "set up by you",
            why: "so that only you can sign in",
            kept: account,
        },
        Category {
            name: "Sessions",
            what: "the browser and system, network address, when you signed in and were last seen, how you proved it was you",
            source: "recorded when you sign in",
            why: "to keep you signed in and to let you sign out anywhere",
            kept: format!(
                "until you sign out, or at most {} ({} with \"keep me signed in\"); ended after {} unused",
                days(c.session_ttl_secs),
                days(c.persistent_session_ttl_secs),
                days(c.session_idle_timeout_secs)
            ),
        },
        Category {
            name: "Access given to apps",
            what: "which app may read what and use your data for which purpose, and the tokens it holds",
            source: "your answers on consent screens and in this privacy centre",
            why: "so apps get only what you allowed, and lose it when you withdraw",
            kept: format!(
                "refresh tokens at most {}; the consent until you withdraw it",
                days(c.refresh_token_ttl_secs)
            ),
        },
        Category {
            name: "Consent records",
            what: "every consent you gave or withdrew, with the policy version and a hash of its text",
            source: "recorded when you decide",
            why: "the law asks us to be able to show what you agreed to (GDPR Art. 7(1))",
            kept:
                "as long as the proof may be needed, in a form that no longer names you after your account is deleted"
                    .into(),
        },
        Category {
            name: "Security log",
            what: "sign-ins, changes to your sign-in methods and account, with network address and browser",
            source: "recorded when they happen",
            why: "to protect your account and to answer your questions about it",
            kept: format!("{} days", c.audit_retention_days),
        },
    ]
}

/// Every purpose in use, with the apps that receive data under it.
pub async fn purposes(state: &AppState, customer_id: &str, now: i64) -> Result<Vec<PurposeUse>> {
    let granted = state.store.granted_purposes_of(customer_id).await?;
    let mut out = Vec::new();
    for p in state.store.purposes().await?.into_iter().filter(|p| p.retired_at.is_none()) {
        let policy = state.store.policy_in_force(&p.policy_id, now).await?;
        let partners = state
            .store
            .clients_for_purpose(&p.id)
            .await?
            .into_iter()
            .map(|(name, required)| {
                let allowed = granted.iter().any(|g| g.1 == name && g.2 == p.id);
                (name, if required != 0 { "required" } else { "optional" }, allowed)
            })
            .collect();
        out.push(PurposeUse {
            channels: p.channels.split_whitespace().map(crate::consent::channels::in_words).collect(),
            data_categories: p.data_categories.split_whitespace().map(String::from).collect(),
            policy_link: policy.as_ref().map(|v| format!("/policies/{}/{}", v.id, v.version)).unwrap_or_default(),
            policy_title: policy.map(|v| v.title).unwrap_or_default(),
            name: p.name,
            notice: p.notice,
            partners,
        });
    }
    Ok(out)
}

/// The full policy to link beside the page: the `privacy` policy in force, else the policy of
/// the first purpose that has one. (link, title)
pub async fn full_policy(state: &AppState, purposes: &[PurposeUse], now: i64) -> Result<Option<(String, String)>> {
    if let Some(v) = state.store.policy_in_force("privacy", now).await? {
        return Ok(Some((format!("/policies/{}/{}", v.id, v.version), v.title)));
    }
    Ok(purposes.iter().find(|p| !p.policy_link.is_empty()).map(|p| (p.policy_link.clone(), p.policy_title.clone())))
}
