//! Changing the account's email address: the new address is proven by a link sent to it
//! before it replaces the old one, and the old address is told once it has.
//!
//! Threat model: the address is how the account signs in and recovers, so changing it is a
//! takeover if a stolen session suffices. Asking needs a recent proof at the account's
//! strongest level (`factor_change::require_fresh`); the change needs, in addition, control of
//! the new mailbox (a random 256-bit token mailed there, kept only as its SHA-256 hash in the
//! ephemeral store for an hour, taken once: GETDEL). Opening the link (GET) only shows a button,
//! because mail scanners fetch links; the change happens on the POST. The old address hears of
//! it, so an owner who did not make the change notices. Nothing tells the asker whether the new
//! address belongs to another account (no enumeration): the same answer either way, and only a
//! free address gets the link; the store's unique index decides again at confirmation.

use crate::crypto::secrets;
use crate::customers::EmailAddress;
use crate::ephemeral::keys::Space;
use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, Entry};
use crate::events::{NewEvent, outbox};
use crate::login::factor_change;
use crate::state::AppState;
use crate::store::{SessionRecord, Store};
use serde::{Deserialize, Serialize};

/// How long the link works.
const LINK_MINUTES: i64 = 60;
/// Address changes asked per account per hour.
const PER_HOUR: u64 = 5;

#[derive(Serialize, Deserialize)]
struct Pending {
    customer_id: String,
    new_email: String,
}

fn key(token: &str) -> crate::ephemeral::keys::Key {
    Space::EmailChange.key(&secrets::hash(token))
}

/// Ask to change the address of `session`'s account to `input`; returns the normalised new
/// address (for "we sent a link to …").
pub async fn request(state: &AppState, session: &SessionRecord, input: &str, now: i64) -> Result<String> {
    factor_change::require_fresh(state, session, now).await?;
    let new_email = EmailAddress::parse(input).ok_or(Error::bad_input("That does not look like an email address."))?;
    let customer = state.store.customer(&session.customer_id).await?.ok_or(Error::NotFound)?;
    if customer.email == new_email.as_str() {
        return Err(Error::bad_input("That is already your address."));
    }
    let window = Space::RateLimit.key(&format!("email-change:{}", session.customer_id));
    if state.ephemeral.hit(&window, 3600).await? > PER_HOUR {
        return Err(Error::RateLimited {
            message: "You asked to change your address too often. Try again in an hour.",
            retry_after_secs: 3600,
        });
    }
    if state.store.customer_by_email(new_email.as_str()).await?.is_none() {
        let token = secrets::random_token();
        let pending = Pending { customer_id: session.customer_id.clone(), new_email: new_email.as_str().to_string() };
        state.ephemeral.put_json(&key(&token), &pending, LINK_MINUTES * 60).await?;
        let link = state.url(&format!("/account/email/confirm?token={token}"));
        let mail = crate::mail::account::confirm_new_address_mail(new_email.as_str(), &link, LINK_MINUTES)?;
        state.mailer.send(&state.mail_from, mail).await?;
    }
    tracing::info!(customer = %session.customer_id, "address change asked");
    Ok(new_email.as_str().to_string())
}

/// The address a link would confirm, without using the link (`None`: expired or used).
pub async fn pending(state: &AppState, token: &str) -> Result<Option<String>> {
    Ok(state.ephemeral.get_json::<Pending>(&key(token)).await?.map(|p| p.new_email))
}

/// Confirm the new address with the link's token (once): it replaces the old one, becomes the
/// source `typed`, `customer.updated` and an audit entry record it, and the old address is told.
pub async fn confirm(state: &AppState, token: &str, now: i64) -> Result<String> {
    let used = || Error::bad_input("This link has expired or was used already. Ask for a new one from your profile.");
    let pending: Pending = state.ephemeral.take_json(&key(token)).await?.ok_or_else(used)?;
    let customer = state.store.customer(&pending.customer_id).await?.ok_or(Error::NotFound)?;
    let mut tx = state.store.begin().await?;
    if !Store::change_email_in(&mut tx, &customer.id, &pending.new_email, now).await? {
        return Err(Error::bad_input("This address cannot be used for your account. Choose another one."));
    }
    Store::set_profile_sources_in(&mut tx, &customer.id, &["email"], "typed", "", now).await?;
    outbox::emit_in(&mut tx, NewEvent::customer_updated(&customer.id, &["email"]), now).await?;
    audit::record_in(
        &mut tx,
        Entry::new(Actor::Customer(customer.id.clone()), "account.email.changed", Some(&customer.id)),
        now,
    )
    .await?;
    tx.commit().await?;
    let when = crate::web::pages::utc_minute(now);
    let mail = crate::mail::account::address_changed_mail(
        &customer.email,
        &pending.new_email,
        &when,
        &state.url("/account/sessions"),
    )?;
    // The change stands even if this mail cannot go out now; the failure is logged.
    if let Err(e) = state.mailer.send(&state.mail_from, mail).await {
        tracing::warn!(customer = %customer.id, error = %e, "the old address could not be told of the change");
    }
    tracing::info!(customer = %customer.id, "email address changed");
    Ok(pending.new_email)
}
