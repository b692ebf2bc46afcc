//! Which customer an upstream identity signs in: a linked one, a new account (first
//! federated handshake), or an existing account with the same address, which is linked only
//! after the customer proves it (or when the admin trusts the provider's verified emails).
//! An unverified upstream address never links and never creates an account: that would let
//! someone pre-register a victim's address elsewhere and take over their account here.

use super::upstream::UpstreamUser;
use crate::crypto::secrets;
use crate::ephemeral::Space;
use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, Entry};
use crate::events::{NewEvent, outbox};
use crate::login::factor_change::{self, Change, Renewed};
use crate::login::finish::{self, Attempt, Opened, Proof};
use crate::session::{self, Browser, NewSession};
use crate::state::AppState;
use crate::store::{FederatedIdentityRecord, SessionRecord, Store, Tx};
use serde::{Deserialize, Serialize};

pub use crate::session::AMR_FED;
const LINK_TTL_SECS: i64 = 15 * 60;

pub enum Outcome {
    /// The account has an authenticator app: it is the second step, as after an email proof.
    /// A provider trusted for its addresses is linked once that step is passed.
    SecondStep {
        cookie: String,
        link_cookie: Option<String>,
    },
    SignedIn {
        session: NewSession,
        authz: Option<String>,
    },
    /// The address belongs to an existing account: sign in to it once to link.
    NeedsProof {
        email: String,
        provider: String,
        link_cookie: String,
        authz: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
struct PendingLink {
    connector_id: String,
    #[serde(default)]
    issuer: String,
    subject: String,
    email: String,
    customer_id: String,
}

/// `fed` (RFC 8176 §2), then only the provider's values its connector trusts (upstream.rs
/// filtered them): a provider's `amr` is its word, not Tessera's proof.
fn amr(user: &UpstreamUser) -> String {
    session::amr_union(AMR_FED, &user.amr.join(" "))
}

/// The provider's answer on the callback: check it (`upstream::complete`), then sign in
/// (`resolve`). A failure is in the audit log with a short reason, never the provider's words.
pub async fn complete(
    state: &AppState,
    answer: &std::collections::HashMap<String, String>,
    path: &str,
    cookie: Option<&str>,
    browser: Browser<'_>,
    previous: Option<SessionRecord>,
    now: i64,
) -> Result<Outcome> {
    let done = async {
        let user = super::upstream::complete(state, answer, path, cookie, now).await?;
        resolve(state, user, browser, previous, now).await
    };
    let outcome = done.await;
    if let Err(e) = &outcome {
        let why = match e {
            Error::BadInput(_) | Error::InvalidRequest(_) => "refused",
            Error::AccessDenied(_) => "access_denied",
            _ => "error",
        };
        finish::failed(state, None, "federated", why, &browser, now).await?;
    }
    outcome
}

/// Which account the upstream identity signs in to. Every branch that signs in goes through
/// `finish::open_session`, so the account's second factor applies to federation too.
pub async fn resolve(
    state: &AppState,
    user: UpstreamUser,
    browser: Browser<'_>,
    previous: Option<SessionRecord>,
    now: i64,
) -> Result<Outcome> {
    let c = &user.connector.view;
    let a = Attempt { authz: user.authz.clone(), remember: user.remember, browser, previous, method: "federated" };
    let proof = || Proof { acr: user.acr.clone(), amr: amr(&user), multi_factor: false };
    if let Some(identity) = state.store.federated_identity(&user.issuer, &user.subject).await? {
        tracing::info!(connector = %c.id, customer = %identity.customer_id, "signing in through a connector");
        return opened(state, &identity.customer_id, proof(), &a, now).await;
    }
    let unverified = || {
        tracing::warn!(connector = %c.id, "upstream address not verified; refused");
        Error::bad_input(format!(
            "{} did not confirm your email address, so it cannot be used to sign in here. Sign in with your email instead.",
            c.display_name
        ))
    };
    let email = user.email.clone().filter(|_| user.email_verified).ok_or_else(unverified)?;
    let identity = |customer_id: &str| FederatedIdentityRecord {
        connector_id: c.id.clone(),
        issuer: user.issuer.clone(),
        subject: user.subject.clone(),
        customer_id: customer_id.to_string(),
        email: email.clone(),
        created_at: now,
        last_used_at: Some(now),
    };
    let pending = |customer_id: String| PendingLink {
        connector_id: c.id.clone(),
        issuer: user.issuer.clone(),
        subject: user.subject.clone(),
        email: email.clone(),
        customer_id,
    };
    if let Some(existing) = state.store.customer_by_email(&email).await? {
        if c.authoritative_email {
            return match opened(state, &existing.id, proof(), &a, now).await? {
                // Linked only once the account's own second factor is passed.
                Outcome::SecondStep { cookie, .. } => {
                    let link = park_link(state, &pending(existing.id)).await?;
                    Ok(Outcome::SecondStep { cookie, link_cookie: Some(link) })
                }
                signed_in => {
                    let unproven = state.store.passkeys_of(&existing.id).await?.is_empty();
                    let mut tx = state.store.begin().await?;
                    link_in(&mut tx, &identity(&existing.id), now).await?;
                    // Attached without a mail proof: the owner's next mail proof reviews it
                    // (an account with a passkey keeps its proof: removing one needs the passkey).
                    if unproven {
                        Store::forget_mailbox_proof_in(&mut tx, &existing.id).await?;
                        let updated = NewEvent::customer_updated(&existing.id, &["mailbox_proven"]);
                        outbox::emit_in(&mut tx, updated, now).await?;
                    }
                    tx.commit().await?;
                    tracing::info!(connector = %c.id, customer = %existing.id, "linked by a trusted verified address");
                    Ok(signed_in)
                }
            };
        }
        let link_cookie = park_link(state, &pending(existing.id)).await?;
        return Ok(Outcome::NeedsProof { email, provider: c.display_name.clone(), link_cookie, authz: user.authz });
    }
    // A new account has no second factor yet; its session is stored with it, atomically.
    let new = session::successor(
        state,
        a.previous.as_ref(),
        &secrets::random_id(),
        &user.acr,
        &amr(&user),
        &a.browser,
        user.remember,
        now,
    );
    let id = identity(&new.record.customer_id);
    let customer = id.customer_id.as_str();
    // The customer, the linked identity and the session, with their events, in one unit of work.
    let mut tx = state.store.begin().await?;
    if !Store::insert_federated_customer_in(&mut tx, customer, &email, user.name.as_deref(), now).await? {
        return Err(Error::bad_input("Please try again."));
    }
    outbox::emit_in(&mut tx, NewEvent::customer_created(customer, "federation"), now).await?;
    let given: &[&str] = if user.name.is_some() { &["email", "name"] } else { &["email"] };
    Store::set_profile_sources_in(&mut tx, customer, given, "connector", &c.id, now).await?;
    link_in(&mut tx, &id, now).await?;
    finish::store_session_in(state, &mut tx, a.previous.as_ref(), &new.record, now).await?;
    let detail = serde_json::json!({ "session": new.record.id, "method": "federated", "connector": c.id,
                                     "new_account": true, "acr": new.record.acr, "amr": new.record.amr });
    let entry = Entry::new(Actor::Customer(customer.into()), "signin.federated", Some(customer)).from(&a.browser);
    audit::record_in(&mut tx, entry.detail(detail), now).await?;
    tx.commit().await?;
    tracing::info!(connector = %c.id, customer = %id.customer_id, "account created through a connector");
    Ok(Outcome::SignedIn { session: new, authz: user.authz })
}

async fn opened(state: &AppState, customer_id: &str, proof: Proof, a: &Attempt<'_>, now: i64) -> Result<Outcome> {
    Ok(match finish::open_session(state, customer_id, proof, a, now).await? {
        Opened::SecondStep(cookie) => Outcome::SecondStep { cookie, link_cookie: None },
        Opened::Session(new) | Opened::Review(new) => Outcome::SignedIn { session: new, authz: a.authz.clone() },
    })
}

/// Keep the upstream identity until the account it names is proven; returns the cookie secret.
async fn park_link(state: &AppState, pending: &PendingLink) -> Result<String> {
    let link = secrets::random_token();
    state.ephemeral.put_json(&Space::FederatedLink.key(&secrets::hash(&link)), pending, LINK_TTL_SECS).await?;
    Ok(link)
}

/// After a sign-in that proved an account: link the upstream identity that waited for it,
/// if it was waiting for this very account. Linking is a change of sign-in methods, so the
/// sign-in must have reached the account's strongest level (a mail proof does not link a
/// provider to an account that has a passkey; the passkey does). Returns whether a link was made.
pub async fn link_after_proof(
    state: &AppState,
    cookie: Option<&str>,
    session: &SessionRecord,
    browser: &Browser<'_>,
    now: i64,
) -> Result<bool> {
    let Some(link) = cookie.filter(|c| !c.is_empty()) else { return Ok(false) };
    let key = Space::FederatedLink.key(&secrets::hash(link));
    let Some(p) = state.ephemeral.get_json::<PendingLink>(&key).await? else { return Ok(false) };
    if p.customer_id != session.customer_id {
        state.ephemeral.delete(&key).await?;
        tracing::warn!(connector = %p.connector_id, "link proof came from another account; not linked");
        return Ok(false);
    }
    if factor_change::require_fresh(state, session, now).await.is_err() {
        tracing::info!(connector = %p.connector_id, "linking waits for a proof at the account's strongest level");
        return Ok(false);
    }
    if state.ephemeral.take_json::<PendingLink>(&key).await?.is_none() {
        return Ok(false);
    }
    // Links that waited since before identities carried their issuer take the connector's.
    let issuer = if p.issuer.is_empty() {
        super::connectors::provider_issuer(&super::connectors::get(state, &p.connector_id).await?)
    } else {
        p.issuer
    };
    let identity = FederatedIdentityRecord {
        connector_id: p.connector_id.clone(),
        issuer,
        subject: p.subject,
        customer_id: p.customer_id,
        email: p.email,
        created_at: now,
        last_used_at: Some(now),
    };
    let mut tx = state.store.begin().await?;
    link_in(&mut tx, &identity, now).await?;
    tx.commit().await?;
    tracing::info!(connector = %p.connector_id, customer = %session.customer_id, "identity linked after proof");
    factor_change::notify(state, session, Change::IdentityLinked, browser, now).await?;
    Ok(true)
}

/// Linked identities as the account page lists them: (connector id, provider name, email).
pub async fn linked(state: &AppState, customer_id: &str) -> Result<Vec<(String, String, String)>> {
    let names: std::collections::HashMap<String, String> =
        state.store.connectors().await?.into_iter().map(|c| (c.id, c.display_name)).collect();
    Ok(state
        .store
        .identities_of(customer_id)
        .await?
        .into_iter()
        .map(|i| {
            let name = names.get(&i.connector_id).cloned().unwrap_or_else(|| i.connector_id.clone());
            (i.connector_id, name, i.email)
        })
        .collect())
}

/// Unlink a provider. Allowed while another way to sign in remains: the verified mailbox
/// (always, for accounts with an address), a passkey, or another linked provider.
pub async fn unlink(
    state: &AppState,
    session: &SessionRecord,
    connector_id: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<Renewed> {
    factor_change::require_fresh(state, session, now).await?;
    let customer_id = session.customer_id.as_str();
    let customer = state.store.customer(customer_id).await?.ok_or(Error::NotFound)?;
    let others =
        state.store.identities_of(customer_id).await?.into_iter().filter(|i| i.connector_id != connector_id).count();
    let passkeys = state.store.passkeys_of(customer_id).await?.len();
    if customer.email_verified == 0 && others == 0 && passkeys == 0 {
        return Err(Error::bad_input("This is your only way to sign in. Add another one first."));
    }
    let mut tx = state.store.begin().await?;
    if !Store::unlink_identity_in(&mut tx, customer_id, connector_id).await? {
        return Err(Error::NotFound);
    }
    outbox::emit_in(&mut tx, NewEvent::identity_unlinked(customer_id, connector_id), now).await?;
    tx.commit().await?;
    tracing::info!(connector = %connector_id, customer = %customer_id, "identity unlinked");
    factor_change::changed(state, session, Change::IdentityUnlinked, browser, now).await
}

/// Link an upstream identity inside the caller's unit of work, with `identity.linked` when
/// it was not linked already.
async fn link_in(tx: &mut Tx, identity: &FederatedIdentityRecord, now: i64) -> Result<()> {
    if Store::link_identity_in(tx, identity).await? {
        let linked = NewEvent::identity_linked(&identity.customer_id, &identity.connector_id, &identity.issuer);
        outbox::emit_in(tx, linked, now).await?;
    }
    Ok(())
}
