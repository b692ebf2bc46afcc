//! The first proof of the mailbox of an account that was set up through a provider.
//!
//! Threat model (account pre-hijacking): someone who controls the victim's address at a
//! provider, but not the mailbox, creates the account here and attaches their own passkey or
//! authenticator app. When the real owner proves the mailbox for the first time, they see
//! everything attached and keep or remove each item; every other session has already ended
//! (`finish::after_email`). Only then does the account count as proven.

use crate::ephemeral::{Key, Space};
use crate::error::{Error, Result};
use crate::events::{Factor, NewEvent, outbox};
use crate::state::AppState;
use crate::store::{SessionRecord, Store};

const REVIEW_TTL_SECS: i64 = 30 * 60;

fn key(session_id: &str) -> Key {
    Space::AccountReview.key(session_id)
}

/// What is attached to an account besides its mailbox.
pub struct Attached {
    /// (connector id, provider name, address at the provider)
    pub identities: Vec<(String, String, String)>,
    /// (passkey id, name)
    pub passkeys: Vec<(String, String)>,
    pub totp: bool,
}

pub async fn attached(state: &AppState, customer_id: &str) -> Result<Attached> {
    let identities = crate::login::federation::accounts::linked(state, customer_id).await?;
    let passkeys = state.store.passkeys_of(customer_id).await?.into_iter().map(|p| (p.id, p.name)).collect();
    let totp = state.store.totp_factor(customer_id).await?.is_some();
    Ok(Attached { identities, passkeys, totp })
}

pub async fn anything_attached(state: &AppState, customer_id: &str) -> Result<bool> {
    let a = attached(state, customer_id).await?;
    Ok(!a.identities.is_empty() || !a.passkeys.is_empty() || a.totp)
}

/// The review is due for this session (and only this one).
pub async fn begin(state: &AppState, session: &SessionRecord) -> Result<()> {
    state.ephemeral.put(&key(&session.id), session.customer_id.clone(), REVIEW_TTL_SECS).await?;
    Ok(())
}

/// What is attached, if this session has a review due.
pub async fn due(state: &AppState, session: &SessionRecord) -> Result<Attached> {
    let owner = state.ephemeral.get(&key(&session.id)).await?;
    if owner.as_deref() != Some(session.customer_id.as_str()) {
        return Err(Error::bad_input("There is nothing to review. Continue from the app you were using."));
    }
    attached(state, &session.customer_id).await
}

/// What the owner chose to remove.
#[derive(Default)]
pub struct Removals {
    pub identities: Vec<String>,
    pub passkeys: Vec<String>,
    pub totp: bool,
}

/// Remove what the owner does not recognise; the mailbox counts as proven from now on.
pub async fn finish(state: &AppState, session: &SessionRecord, removals: &Removals, now: i64) -> Result<()> {
    let owner = state.ephemeral.take(&key(&session.id)).await?;
    if owner.as_deref() != Some(session.customer_id.as_str()) {
        return Err(Error::bad_input("There is nothing to review. Continue from the app you were using."));
    }
    let customer = &session.customer_id;
    // One unit of work: every removal with its event, and the mailbox counted as proven.
    let mut tx = state.store.begin().await?;
    for connector in &removals.identities {
        if Store::unlink_identity_in(&mut tx, customer, connector).await? {
            outbox::emit_in(&mut tx, NewEvent::identity_unlinked(customer, connector), now).await?;
        }
    }
    for id in &removals.passkeys {
        if Store::delete_passkey_in(&mut tx, customer, id).await? {
            outbox::emit_in(&mut tx, NewEvent::factor_removed(customer, Factor::Passkey, Some(id)), now).await?;
        }
    }
    if removals.totp && Store::remove_totp_in(&mut tx, customer).await? {
        outbox::emit_in(&mut tx, NewEvent::factor_removed(customer, Factor::AuthenticatorApp, None), now).await?;
    }
    Store::mark_mailbox_proven_in(&mut tx, customer, now).await?;
    outbox::emit_in(&mut tx, NewEvent::customer_updated(customer, &["mailbox_proven"]), now).await?;
    tx.commit().await?;
    tracing::info!(
        customer = %customer,
        identities = removals.identities.len(),
        passkeys = removals.passkeys.len(),
        totp = removals.totp,
        "account reviewed after the first mail proof"
    );
    Ok(())
}
