//! The minor's side of a guardian's approval, inside an authorization. An age check is
//! required by a purpose or by a client (then every purpose it asks for is age-checked).
//! When an age-checked purpose is asked and the account has no birthdate, the consent screen
//! asks for it with the reason (progressive profiling). When the birthdate shows the customer
//! is under the age of digital consent for their country (`consent::age`, GDPR Art. 8(1)),
//! the consent step grants everything else but holds the age-checked purposes back: the
//! request then asks for a guardian's address, mails the guardian (`consent::guardian`) and
//! waits. The waiting page reloads itself and continues when the guardian approved (the items
//! are then granted, channel `guardian`), ends with `access_denied` when the guardian declined
//! or the minor cancels. After the request expired, the app's next attempt finds the items
//! granted and goes straight through.

use super::authorize::{self, AuthorizationRequest, Next};
use super::clients::Client;
use super::consent::PurposeItem;
use super::profile::ClaimAsk;
use super::redirect::AuthorizationResponse;
use crate::consent::age::{self, Settings};
use crate::consent::guardian::{self, Item, Standing};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{CustomerRecord, SessionRecord};
use serde::{Deserialize, Serialize};

/// Purposes held back for a guardian, and the approval asked (once the minor gave an address).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    pub items: Vec<Item>,
    pub approval: Option<String>,
}

const BIRTHDATE_REASON: &str = "Some of what this app asks needs a parent's or guardian's agreement below a certain \
                                age: your date of birth tells us whether it does.";

/// The age-checked purposes among `ids` for `client`.
pub async fn age_checked(state: &AppState, client: &Client, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() || client.age_check {
        return Ok(ids.to_vec());
    }
    let checked = state.store.age_checked("purpose").await?;
    Ok(ids.iter().filter(|id| checked.contains(id)).cloned().collect())
}

/// The birthdate to ask for (with the reason) when `purposes` holds an age-checked one and
/// the account has none.
pub async fn birthdate_ask(
    state: &AppState,
    client: &Client,
    purposes: &[String],
    customer: &CustomerRecord,
) -> Result<Option<ClaimAsk>> {
    if customer.birthdate.is_some() || age_checked(state, client, purposes).await?.is_empty() {
        return Ok(None);
    }
    Ok(Some(ClaimAsk { claim: "birthdate", label: "Date of birth", reason: BIRTHDATE_REASON.into() }))
}

fn settings(state: &AppState) -> Settings<'_> {
    Settings { default_country: &state.config.default_country, overrides: &state.config.age_of_digital_consent }
}

/// The purposes of the consent page's answer (`granted`) that wait for a guardian: the
/// age-checked ones, when the customer (born `birthdate`, given now or before) is a minor.
pub async fn held_back(
    state: &AppState,
    client: &Client,
    customer_id: &str,
    granted: &[&PurposeItem],
    given: (Option<&str>, Option<&str>),
    now: i64,
) -> Result<Vec<Item>> {
    let ids: Vec<String> = granted.iter().map(|p| p.id.clone()).collect();
    let checked = age_checked(state, client, &ids).await?;
    if checked.is_empty() {
        return Ok(Vec::new());
    }
    let customer = state.store.customer(customer_id).await?.ok_or(Error::NotFound)?;
    let birthdate = given.0.map(String::from).or(customer.birthdate).unwrap_or_default();
    let address = given.1.map(String::from).or(customer.address);
    let today = crate::web::pages::utc_minute(now)[..10].to_string();
    if !age::is_minor(settings(state), &birthdate, address.as_deref(), &today) {
        return Ok(Vec::new());
    }
    Ok(granted
        .iter()
        .filter(|p| checked.contains(&p.id))
        .map(|p| Item {
            purpose: p.id.clone(),
            name: p.name.clone(),
            notice: p.notice.clone(),
            policy_id: p.policy_id.clone(),
            policy_title: p.policy_title.clone(),
            policy_version: p.policy_version,
            text_hash: p.text_hash.clone(),
            channels: p.channels.clone(),
        })
        .collect())
}

/// Where a request with purposes held for a guardian goes next: the address page, the
/// waiting page, on (approved: `None`), or `access_denied` (declined, cancelled, expired,
/// withdrawn; RFC 6749 §4.1.2.1).
pub async fn gate(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &SessionRecord,
    now: i64,
) -> Result<Option<Next>> {
    let Some(hold) = &request.guardian else { return Ok(None) };
    let Some(id) = &hold.approval else { return Ok(Some(Next::Guardian(request.clone()))) };
    match guardian::standing(state, id, &session.customer_id, now).await? {
        Standing::Approved => Ok(None),
        Standing::Pending => Ok(Some(Next::GuardianWait(request.clone()))),
        _ => Err(Error::AccessDenied("a parent or guardian did not agree")),
    }
}

/// What the guardian page shows: the app and the items that wait.
pub struct AskView {
    pub client_name: String,
    pub items: Vec<Item>,
}

async fn held(
    state: &AppState,
    id: &str,
    session: Option<&SessionRecord>,
    now: i64,
) -> Result<(AuthorizationRequest, Hold, Client, SessionRecord)> {
    let session = session.ok_or(Error::bad_input("Your session ended. Go back to the app and sign in again."))?;
    let request = authorize::load(state, id, now).await?;
    let hold = request.guardian.clone().ok_or(Error::NotFound)?;
    let client = state.clients.get(&state.store, &request.client_id, now).await?.ok_or(Error::NotFound)?;
    Ok((request, hold, (*client).clone(), session.clone()))
}

pub async fn ask_view(state: &AppState, id: &str, session: Option<&SessionRecord>, now: i64) -> Result<AskView> {
    let (_, hold, client, _) = held(state, id, session, now).await?;
    Ok(AskView { client_name: client.name, items: hold.items })
}

/// The minor gave a guardian's address: ask the guardian, then wait.
pub async fn ask(state: &AppState, id: &str, session: Option<&SessionRecord>, email: &str, now: i64) -> Result<()> {
    let (mut request, mut hold, client, session) = held(state, id, session, now).await?;
    if hold.approval.is_some() {
        return Ok(());
    }
    let minor = state.store.customer(&session.customer_id).await?.ok_or(Error::NotFound)?;
    let ask = guardian::Ask {
        customer_id: &minor.id,
        minor_email: &minor.email,
        client_id: &client.id,
        client_name: &client.name,
        guardian_email: email,
        items: hold.items.clone(),
    };
    hold.approval = Some(guardian::ask(state, ask, now).await?);
    request.guardian = Some(hold);
    authorize::save(state, &request).await
}

/// The minor cancelled: the guardian's link can no longer approve, and the app hears
/// `access_denied`.
pub async fn cancel(
    state: &AppState,
    id: &str,
    session: Option<&SessionRecord>,
    now: i64,
) -> Result<AuthorizationResponse> {
    if let Ok((_, hold, _, _)) = held(state, id, session, now).await
        && let Some(approval) = &hold.approval
    {
        guardian::cancel(state, approval, now).await?;
    }
    authorize::deny(state, id, now).await
}

/// Require (or not) an age check of every purpose `client_id` asks for.
pub async fn require_age_check(store: &crate::store::Store, client_id: &str, on: bool) -> Result<()> {
    store.set_age_check("client", client_id, on).await?;
    Ok(())
}
