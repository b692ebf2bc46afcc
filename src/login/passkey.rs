//! Passkeys (W3C WebAuthn Level 3) through webauthn-rs: registration for a signed-in
//! customer, and usernameless sign-in with a discoverable credential (the button, or
//! conditional mediation in the email field's autofill).
//!
//! Ceremony state lives in the ephemeral store for `CEREMONY_TTL_SECS`, under a random id
//! that travels in an HttpOnly cookie (bound to the browser) and is taken exactly once, so a
//! replayed or stale response finds nothing.

use super::factor_change::{self, Change, Renewed};
use crate::config::Config;
use crate::crypto::secrets;
use crate::ephemeral::{Key, Space};
use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, Entry};
use crate::events::{Factor, NewEvent, outbox};
use crate::session::{self, ACR_PASSKEY, AMR_HWK, AMR_SWK, AMR_USER, Browser, NewSession};
use crate::state::AppState;
use crate::store::{PasskeyRecord, SessionRecord, Store};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::*;
use webauthn_rs_proto::ResidentKeyRequirement;

pub use webauthn_rs::prelude::{CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential};
pub use webauthn_rs::prelude::{RequestChallengeResponse, Webauthn};

/// How long a started ceremony may wait for the authenticator's answer.
pub const CEREMONY_TTL_SECS: i64 = 300;

/// The relying party, from `webauthn_rp_id` / `webauthn_origin` (default: the issuer's).
pub fn relying_party(config: &Config) -> anyhow::Result<Webauthn> {
    let origin = url::Url::parse(&config.webauthn_origin())?;
    let rp_id = config.webauthn_rp_id();
    Ok(WebauthnBuilder::new(&rp_id, &origin)?.rp_name(&config.webauthn_rp_name).build()?)
}

/// The WebAuthn user handle of a customer: stable, opaque, and not the customer id itself
/// (WebAuthn §14.6.1: the user handle must not reveal personal information).
pub fn user_handle(customer_id: &str) -> Uuid {
    let digest = secrets::sha256(format!("tessera:webauthn-user:{customer_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

#[derive(Serialize, Deserialize)]
struct RegistrationCeremony {
    customer_id: String,
    state: PasskeyRegistration,
}

#[derive(Serialize, Deserialize)]
struct SignInCeremony {
    state: DiscoverableAuthentication,
}

fn reg_key(id: &str) -> Key {
    Space::PasskeyRegistration.key(id)
}

fn auth_key(id: &str) -> Key {
    Space::PasskeySignIn.key(id)
}

/// Options for `navigator.credentials.create()`, and the ceremony id for the cookie.
pub async fn start_registration(
    state: &AppState,
    session: &SessionRecord,
    email: &str,
    now: i64,
) -> Result<(String, CreationChallengeResponse)> {
    factor_change::require_fresh(state, session, now).await?;
    let existing = state.store.passkeys_of(&session.customer_id).await?;
    let exclude: Vec<CredentialID> =
        existing.iter().filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok()).collect();
    let (mut options, reg) = state
        .webauthn
        .start_passkey_registration(user_handle(&session.customer_id), email, email, Some(exclude))
        .map_err(|e| Error::Internal(anyhow::anyhow!("starting passkey registration: {e}")))?;
    // A passkey must be discoverable so sign-in needs no username (WebAuthn §5.4.4,
    // residentKey "required"); webauthn-rs leaves this to the caller.
    if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
        sel.resident_key = Some(ResidentKeyRequirement::Required);
        sel.require_resident_key = true;
    }
    let id = secrets::random_token();
    let ceremony = RegistrationCeremony { customer_id: session.customer_id.clone(), state: reg };
    state.ephemeral.put_json(&reg_key(&id), &ceremony, CEREMONY_TTL_SECS).await?;
    Ok((id, options))
}

/// Verify the authenticator's answer and store the new passkey.
pub async fn finish_registration(
    state: &AppState,
    ceremony_id: &str,
    session: &SessionRecord,
    credential: &RegisterPublicKeyCredential,
    name: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<(PasskeyRecord, Renewed)> {
    let ceremony: RegistrationCeremony = state
        .ephemeral
        .take_json(&reg_key(ceremony_id))
        .await?
        .ok_or_else(|| Error::bad_input("This request timed out. Please try again."))?;
    factor_change::require_fresh(state, session, now).await?;
    if ceremony.customer_id != session.customer_id {
        return Err(Error::bad_input("This request belongs to another sign-in. Please try again."));
    }
    let passkey = state.webauthn.finish_passkey_registration(credential, &ceremony.state).map_err(|e| {
        tracing::info!(error = %e, customer = %session.customer_id, "passkey registration refused");
        Error::bad_input("The passkey could not be verified. Please try again.")
    })?;
    let cred = Credential::from(passkey.clone());
    let name = name.trim();
    let record = PasskeyRecord {
        id: secrets::random_id(),
        credential_id: URL_SAFE_NO_PAD.encode::<&[u8]>(passkey.cred_id().as_ref()),
        customer_id: session.customer_id.clone(),
        name: if name.is_empty() { default_name(cred.backup_eligible) } else { name.chars().take(60).collect() },
        credential: serde_json::to_string(&passkey).map_err(anyhow::Error::from)?,
        sign_count: i64::from(cred.counter),
        backup_eligible: i64::from(cred.backup_eligible),
        backup_state: i64::from(cred.backup_state),
        user_verified: i64::from(cred.user_verified),
        created_at: now,
        last_used_at: None,
    };
    // WebAuthn §7.1 step 22: a credential id registered to anyone must be refused.
    let mut tx = state.store.begin().await?;
    if !Store::insert_passkey_in(&mut tx, &record).await? {
        return Err(Error::bad_input("This passkey is already registered."));
    }
    let added = NewEvent::factor_added(&record.customer_id, Factor::Passkey, Some(&record.id));
    outbox::emit_in(&mut tx, added, now).await?;
    tx.commit().await?;
    tracing::info!(customer = %record.customer_id, passkey = %record.id, "passkey registered");
    let renewed = factor_change::changed(state, session, Change::PasskeyAdded, browser, now).await?;
    Ok((record, renewed))
}

fn default_name(synced: bool) -> String {
    if synced { "Synced passkey".into() } else { "Passkey on this device".into() }
}

/// Options for `navigator.credentials.get()` with an empty allow list (discoverable
/// credentials), and the ceremony id for the cookie.
pub async fn start_sign_in(state: &AppState) -> Result<(String, RequestChallengeResponse)> {
    let (options, auth) = state
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| Error::Internal(anyhow::anyhow!("starting passkey sign-in: {e}")))?;
    let id = secrets::random_token();
    state.ephemeral.put_json(&auth_key(&id), &SignInCeremony { state: auth }, CEREMONY_TTL_SECS).await?;
    Ok((id, options))
}

/// Verify an assertion and open a session for the passkey's owner; the sign-in, or why it
/// failed, is in the audit log.
pub async fn finish_sign_in(
    state: &AppState,
    ceremony_id: &str,
    credential: &PublicKeyCredential,
    browser: &Browser<'_>,
    previous_session: Option<&SessionRecord>,
    remember: bool,
    now: i64,
) -> Result<NewSession> {
    let mut customer = None;
    match verify_sign_in(state, ceremony_id, credential, browser, previous_session, remember, &mut customer, now).await
    {
        Ok(new) => {
            let id = new.record.customer_id.as_str();
            let entry = Entry::new(Actor::Customer(id.into()), "signin.passkey", Some(id)).from(browser).detail(
                serde_json::json!({ "session": new.record.id, "method": "passkey", "acr": new.record.acr, "amr": new.record.amr }),
            );
            audit::record(state, entry, now).await?;
            Ok(new)
        }
        Err(e) => {
            let why = match &e {
                Error::BadInput(_) => "not_verified",
                _ => "error",
            };
            super::finish::failed(state, customer.as_deref(), "passkey", why, browser, now).await?;
            Err(e)
        }
    }
}

/// `customer` is set as soon as the credential names a known account.
#[allow(clippy::too_many_arguments)]
async fn verify_sign_in(
    state: &AppState,
    ceremony_id: &str,
    credential: &PublicKeyCredential,
    browser: &Browser<'_>,
    previous_session: Option<&SessionRecord>,
    remember: bool,
    customer: &mut Option<String>,
    now: i64,
) -> Result<NewSession> {
    let ceremony: SignInCeremony = state
        .ephemeral
        .take_json(&auth_key(ceremony_id))
        .await?
        .ok_or_else(|| Error::bad_input("The request timed out. Please try again."))?;
    let (handle, cred_id) = state
        .webauthn
        .identify_discoverable_authentication(credential)
        .map_err(|_| Error::bad_input("This passkey did not say which account it belongs to."))?;
    let not_here = || Error::bad_input("This passkey is not registered here.");
    let mut record =
        state.store.passkey_by_credential_id(&URL_SAFE_NO_PAD.encode(cred_id)).await?.ok_or_else(not_here)?;
    *customer = Some(record.customer_id.clone());
    // The user handle is not covered by the signature: the credential id decides the
    // account, and a handle naming anyone else is refused (WebAuthn §7.2 step 6).
    if user_handle(&record.customer_id) != handle {
        tracing::warn!(passkey = %record.id, "assertion names another account's user handle; refused");
        return Err(not_here());
    }
    let mut passkey: Passkey = serde_json::from_str(&record.credential).map_err(anyhow::Error::from)?;
    let result = match state.webauthn.finish_discoverable_authentication_v2(credential, ceremony.state, &passkey) {
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            // WebAuthn §7.2 step 22: a signature counter that did not grow suggests a cloned
            // authenticator.
            tracing::warn!(passkey = %record.id, customer = %record.customer_id, "signature counter went backwards: possible cloned authenticator; refused");
            return Err(Error::bad_input("This passkey cannot be used. Sign in with your email and remove it."));
        }
        Err(e) => {
            tracing::info!(passkey = %record.id, error = %e, "passkey assertion refused");
            return Err(Error::bad_input("The passkey could not be verified. Please try again."));
        }
    };
    let previous = record.sign_count;
    passkey.update_credential(&result);
    record.credential = serde_json::to_string(&passkey).map_err(anyhow::Error::from)?;
    record.sign_count = i64::from(result.counter());
    record.backup_eligible = i64::from(result.backup_eligible());
    record.backup_state = i64::from(result.backup_state());
    record.user_verified = i64::from(result.user_verified());
    record.last_used_at = Some(now);
    let amr = amr(result.backup_eligible(), result.user_verified());
    // A passkey with user verification is multi-factor by itself, so no second step is due
    // (`finish::open_session`); the session is stored in the same transaction as the counter.
    let new =
        session::successor(state, previous_session, &record.customer_id, ACR_PASSKEY, &amr, browser, remember, now);
    let mut tx = state.store.begin().await?;
    if !Store::use_passkey_in(&mut tx, &record, previous).await? {
        return Err(Error::bad_input("This passkey was just used elsewhere. Please try again."));
    }
    super::finish::store_session_in(state, &mut tx, previous_session, &new.record, now).await?;
    tx.commit().await?;
    tracing::info!(session = %new.record.id, customer = %record.customer_id, passkey = %record.id, "signed in with a passkey");
    Ok(new)
}

/// RFC 8176 §2: `swk` for a key that may leave the device (a synced, backup-eligible
/// passkey), `hwk` for a device-bound one; `user` when the authenticator verified the user.
pub fn amr(backup_eligible: bool, user_verified: bool) -> String {
    let key = if backup_eligible { AMR_SWK } else { AMR_HWK };
    if user_verified { format!("{key} {AMR_USER}") } else { key.to_string() }
}

/// A passkey as the account page shows it.
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub synced: bool,
}

pub async fn list(state: &AppState, customer_id: &str) -> Result<Vec<PasskeyView>> {
    Ok(state
        .store
        .passkeys_of(customer_id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            synced: p.backup_eligible != 0,
        })
        .collect())
}

pub async fn rename(state: &AppState, session: &SessionRecord, id: &str, name: &str) -> Result<()> {
    let name: String = name.trim().chars().take(60).collect();
    if name.is_empty() {
        return Err(Error::bad_input("Give the passkey a name."));
    }
    if !state.store.rename_passkey(&session.customer_id, id, &name).await? {
        return Err(Error::NotFound);
    }
    Ok(())
}

pub async fn remove(
    state: &AppState,
    session: &SessionRecord,
    id: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<Renewed> {
    factor_change::require_fresh(state, session, now).await?;
    let mut tx = state.store.begin().await?;
    if !Store::delete_passkey_in(&mut tx, &session.customer_id, id).await? {
        return Err(Error::NotFound);
    }
    let removed = NewEvent::factor_removed(&session.customer_id, Factor::Passkey, Some(id));
    outbox::emit_in(&mut tx, removed, now).await?;
    tx.commit().await?;
    tracing::info!(customer = %session.customer_id, passkey = %id, "passkey removed");
    factor_change::changed(state, session, Change::PasskeyRemoved, browser, now).await
}

/// Offer "create a passkey" after an email sign-in: only to customers without one, and at
/// most once a week. Showing the offer records it.
pub const OFFER_INTERVAL_MS: i64 = 7 * 24 * 3600 * 1000;

pub async fn should_offer(state: &AppState, customer_id: &str, now: i64) -> Result<bool> {
    if !state.store.passkeys_of(customer_id).await?.is_empty() {
        return Ok(false);
    }
    let last = state.store.passkey_offered_at(customer_id).await?;
    if last.is_some_and(|t| now - t < OFFER_INTERVAL_MS) {
        return Ok(false);
    }
    state.store.set_passkey_offered_at(customer_id, now).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_follows_rfc_8176() {
        assert_eq!(amr(true, true), "swk user");
        assert_eq!(amr(false, true), "hwk user");
        assert_eq!(amr(false, false), "hwk");
    }

    #[test]
    fn user_handles_are_stable_and_distinct() {
        assert_eq!(user_handle("a"), user_handle("a"));
        assert_ne!(user_handle("a"), user_handle("b"));
    }
}
