//! Which customer an upstream identity signs in: a linked one, a new account (first
//! federated handshake), or an existing account with the same address, which is linked only
//! after the customer proves it (or when the admin trusts the provider's verified emails).
//! An unverified upstream address never links and never creates an account: that would let
//! someone pre-register a victim's address elsewhere and take over their account here.

use super::upstream::UpstreamUser;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::login::session::{self, Browser, NewSession};
use crate::login::totp::{self, SecondStep};
use crate::state::AppState;
use crate::store::FederatedIdentityRecord;
use serde::{Deserialize, Serialize};

/// RFC 8176 §2: `fed`, federated authentication.
pub const AMR_FED: &str = "fed";
const LINK_TTL_SECS: i64 = 15 * 60;

pub enum Outcome {
    /// The account has an authenticator app: it is the second step, as after an email proof.
    SecondStep {
        cookie: String,
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

pub async fn resolve(state: &AppState, user: UpstreamUser, browser: &Browser<'_>, now: i64) -> Result<Outcome> {
    let c = &user.connector.view;
    let open = |customer_id: &str| {
        session::new_session(state, customer_id, &user.acr, &amr(&user), browser, user.remember, now)
    };
    if let Some(identity) = state.store.federated_identity(&user.issuer, &user.subject).await? {
        if totp::enrolled(state, &identity.customer_id).await? {
            let step = SecondStep {
                customer_id: identity.customer_id.clone(),
                first_amr: amr(&user),
                authz: user.authz.clone(),
                remember: user.remember,
                upgrade_session: None,
            };
            return Ok(Outcome::SecondStep { cookie: totp::park(state, &step).await? });
        }
        let new = open(&identity.customer_id);
        state.store.insert_session(&new.record).await?;
        tracing::info!(connector = %c.id, customer = %identity.customer_id, "signed in through a connector");
        return Ok(Outcome::SignedIn { session: new, authz: user.authz });
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
    if let Some(existing) = state.store.customer_by_email(&email).await? {
        if c.authoritative_email {
            state.store.link_identity(&identity(&existing.id)).await?;
            let new = open(&existing.id);
            state.store.insert_session(&new.record).await?;
            tracing::info!(connector = %c.id, customer = %existing.id, "linked by a trusted verified address");
            return Ok(Outcome::SignedIn { session: new, authz: user.authz });
        }
        let link = secrets::random_token();
        let pending = PendingLink {
            connector_id: c.id.clone(),
            issuer: user.issuer.clone(),
            subject: user.subject.clone(),
            email: email.clone(),
            customer_id: existing.id,
        };
        state.ephemeral.put_json(&format!("fed-link:{}", secrets::hash(&link)), &pending, LINK_TTL_SECS).await?;
        return Ok(Outcome::NeedsProof {
            email,
            provider: c.display_name.clone(),
            link_cookie: link,
            authz: user.authz,
        });
    }
    let new = open(&secrets::random_id());
    let id = identity(&new.record.customer_id);
    if !state.store.create_federated_customer(&email, user.name.as_deref(), &id, &new.record).await? {
        return Err(Error::bad_input("Please try again."));
    }
    tracing::info!(connector = %c.id, customer = %id.customer_id, "account created through a connector");
    Ok(Outcome::SignedIn { session: new, authz: user.authz })
}

/// After a sign-in that proved an account: link the upstream identity that waited for it,
/// if it was waiting for this very account. Returns whether a link was made.
pub async fn link_after_proof(state: &AppState, cookie: Option<&str>, customer_id: &str, now: i64) -> Result<bool> {
    let Some(link) = cookie.filter(|c| !c.is_empty()) else { return Ok(false) };
    let key = format!("fed-link:{}", secrets::hash(link));
    let Some(p) = state.ephemeral.take_json::<PendingLink>(&key).await? else { return Ok(false) };
    if p.customer_id != customer_id {
        tracing::warn!(connector = %p.connector_id, "link proof came from another account; not linked");
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
    state.store.link_identity(&identity).await?;
    tracing::info!(connector = %p.connector_id, customer = %customer_id, "identity linked after proof");
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
pub async fn unlink(state: &AppState, customer_id: &str, connector_id: &str) -> Result<()> {
    let customer = state.store.customer(customer_id).await?.ok_or(Error::NotFound)?;
    let others =
        state.store.identities_of(customer_id).await?.into_iter().filter(|i| i.connector_id != connector_id).count();
    let passkeys = state.store.passkeys_of(customer_id).await?.len();
    if customer.email_verified == 0 && others == 0 && passkeys == 0 {
        return Err(Error::bad_input("This is your only way to sign in. Add another one first."));
    }
    if !state.store.unlink_identity(customer_id, connector_id).await? {
        return Err(Error::NotFound);
    }
    tracing::info!(connector = %connector_id, customer = %customer_id, "identity unlinked");
    Ok(())
}
