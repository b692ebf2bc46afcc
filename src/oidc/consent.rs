//! The consent step of an authorization: what the page shows, and recording the answer.
//! Scopes are all-or-nothing (the app needs the data it asked for); each purpose is its own
//! choice: a required one says why it is required (refusing it refuses the request,
//! `access_denied`), an optional one is off until the customer ticks it (explicit opt-in).
//! Every grant, and every withdrawal of an earlier grant, goes to the consent ledger.

use super::authorize::{self, Next, Untrusted};
use super::clients::Client;
use super::profile::{self, ClaimAsk};
use super::purposes::PolicyNotice;
use super::scopes::Scopes;
use crate::consent::ledger::{self, Action, Channel, Context, Decision};
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::events::{NewEvent, outbox};
use crate::state::AppState;
use crate::store::{PurposeDecisionRecord, SessionRecord, Store};
use std::collections::HashMap;

/// One purpose on the consent page.
pub struct PurposeItem {
    pub id: String,
    pub name: String,
    pub notice: String,
    pub required: bool,
    pub reason: String,
    pub policy_id: String,
    pub policy_title: String,
    pub policy_version: i64,
    pub text_hash: String,
    /// The channels it reaches the customer by; a grant here allows them all (the page says
    /// which), and the privacy centre narrows them.
    pub channels: Vec<String>,
    /// Asked again because its policy changed materially since the customer decided: the
    /// short summary of what changed.
    pub changed: Option<String>,
}

/// What the consent page shows: the app's name and what it asks for, in plain words.
pub struct ConsentView {
    pub client_name: String,
    pub asks_for: Vec<&'static str>,
    pub purposes: Vec<PurposeItem>,
    /// Fields of the profile the app needs and the account does not have yet.
    pub claims: Vec<ClaimAsk>,
    /// Policies updated (not materially) since the customer agreed: shown once.
    pub notices: Vec<PolicyNotice>,
}

/// The claims `client` needs for `scope` that the customer has not given (progressive
/// profiling); costs no read for a client that requires none.
pub async fn claims_to_ask(state: &AppState, client: &Client, scope: &str, customer_id: &str) -> Result<Vec<ClaimAsk>> {
    if client.required_claims.is_empty() {
        return Ok(Vec::new());
    }
    let customer = state.store.customer(customer_id).await?.ok_or(Error::NotFound)?;
    Ok(profile::missing(client, scope, &customer))
}

pub fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "Know who you are when you sign in",
        "email" => "See your email address",
        "profile" => "See your name and date of birth",
        "phone" => "See your phone number",
        "address" => "See your postal address",
        "offline_access" => "Stay connected when you are not using it",
        _ => "Other access",
    }
}

/// The purposes of `request` still to ask `customer_id` about, with what the page says.
async fn purposes_to_ask(
    state: &AppState,
    request: &authorize::AuthorizationRequest,
    customer_id: &str,
    now: i64,
) -> Result<Vec<PurposeItem>> {
    let client = state.clients.get(&state.store, &request.client_id, now).await?.ok_or(Error::NotFound)?;
    let earlier = state.store.purpose_decisions(customer_id, &request.client_id).await?;
    let mut out = Vec::new();
    for id in super::purposes::to_ask(state, &client, request, customer_id).await? {
        let (Some(registered), Some(purpose)) = (client.purpose(&id), state.store.purpose(&id).await?) else {
            continue;
        };
        let policy = state.store.policy_in_force(&purpose.policy_id, now).await?.ok_or(Error::NotFound)?;
        // Asked again because of a material change since the decision: say what changed.
        let material = state.store.latest_material_version(&policy.id, now).await?;
        let decided_on = earlier.iter().find(|d| d.purpose_id == id).map(|d| d.policy_version);
        let changed = decided_on.filter(|v| *v < material).map(|_| policy.summary.clone());
        out.push(PurposeItem {
            id,
            channels: purpose.channels.split_whitespace().map(String::from).collect(),
            name: purpose.name,
            notice: purpose.notice,
            required: registered.required,
            reason: registered.reason.clone(),
            policy_id: policy.id,
            policy_title: policy.title,
            policy_version: policy.version,
            text_hash: policy.text_hash,
            changed,
        });
    }
    Ok(out)
}

pub async fn view(state: &AppState, id: &str, session: Option<&SessionRecord>, now: i64) -> Result<ConsentView> {
    let mut request = authorize::load(state, id, now).await?;
    let client = state.clients.get(&state.store, &request.client_id, now).await?.ok_or(Error::NotFound)?;
    let (purposes, claims, notices) = match session {
        Some(s) => (
            purposes_to_ask(state, &request, &s.customer_id, now).await?,
            claims_to_ask(state, &client, &request.scope, &s.customer_id).await?,
            super::purposes::notices(state, &client, &s.customer_id).await?,
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    // What this page shows is what an answer to it agrees to (see `approve`).
    request.shown = purposes.iter().map(|p| (p.id.clone(), p.policy_version)).collect();
    authorize::save(state, &request).await?;
    Ok(ConsentView {
        client_name: client.name.clone(),
        asks_for: Scopes::parse(&request.scope)?.iter().map(describe).collect(),
        purposes,
        claims,
        notices,
    })
}

/// The person agreed (to the scopes, the required purposes, the optional purposes ticked
/// (`purpose.<id>` fields) and gave the profile fields asked (`claim.<name>`)): remember it
/// for this client, record the proof, and continue the request. Bad field values are refused
/// before anything is written.
pub async fn approve(
    state: &AppState,
    id: &str,
    session: Option<&SessionRecord>,
    form: &HashMap<String, String>,
    now: i64,
) -> Result<Next, Untrusted> {
    let session =
        session.ok_or(Untrusted(Error::bad_input("Your session ended. Go back to the app and sign in again.")))?;
    let mut request = authorize::load(state, id, now).await.map_err(Untrusted)?;
    let customer = &session.customer_id;
    let ticked: Vec<String> = form.keys().filter_map(|k| k.strip_prefix("purpose.")).map(String::from).collect();
    let client = state.clients.get(&state.store, &request.client_id, now).await.map_err(Untrusted)?;
    let client = client.ok_or(Untrusted(Error::NotFound))?;
    let asked = claims_to_ask(state, &client, &request.scope, customer).await.map_err(Untrusted)?;
    let today = crate::web::pages::utc_minute(now)[..10].to_string();
    let (phone, birthdate, address) = profile::answers(&asked, form, &today).map_err(Untrusted)?;
    let shown = purposes_to_ask(state, &request, customer, now).await.map_err(Untrusted)?;
    // A policy version published while the page was open: the customer has not seen it.
    let now_shown: Vec<(String, i64)> = shown.iter().map(|p| (p.id.clone(), p.policy_version)).collect();
    if now_shown != request.shown {
        return Err(Untrusted(Error::bad_input("What we ask changed while the page was open. Go back and reload it.")));
    }
    let before = state.store.consented_scope(customer, &request.client_id).await.map_err(|e| Untrusted(e.into()))?;
    let earlier = state.store.purpose_decisions(customer, &request.client_id).await.map_err(|e| Untrusted(e.into()))?;
    // The proof: one ledger entry per scope newly granted here, one per purpose granted, and
    // one per earlier grant now refused (a withdrawal).
    let had: Vec<&str> = before.as_deref().unwrap_or("").split_whitespace().collect();
    let mut decisions: Vec<Decision> = request
        .scope
        .split_whitespace()
        .filter(|s| !had.contains(s))
        .map(|s| Decision {
            client_id: request.client_id.clone(),
            item: format!("scope:{s}"),
            policy_id: String::new(),
            policy_version: 0,
            text_hash: secrets::hash(describe(s)),
            action: Action::Granted,
        })
        .collect();
    let mut standing = Vec::new();
    let mut accepted_policies: Vec<(String, i64, String)> = Vec::new();
    for p in &shown {
        let granted = p.required || ticked.contains(&p.id);
        let was_granted = earlier.iter().any(|d| d.purpose_id == p.id && d.granted != 0);
        if granted || was_granted {
            decisions.push(Decision {
                client_id: request.client_id.clone(),
                item: format!("{}{}", super::purposes::PREFIX, p.id),
                policy_id: p.policy_id.clone(),
                policy_version: p.policy_version,
                text_hash: p.text_hash.clone(),
                action: if granted { Action::Granted } else { Action::Withdrawn },
            });
        }
        // A new version of the policy accepted with it (once per policy and version).
        let newer = earlier.iter().all(|d| d.policy_id != p.policy_id || d.policy_version < p.policy_version);
        if granted && newer && !accepted_policies.iter().any(|(id, v, _)| *id == p.policy_id && *v == p.policy_version)
        {
            accepted_policies.push((p.policy_id.clone(), p.policy_version, p.text_hash.clone()));
        }
        // The channels shown beside the purpose (GDPR Art. 7(2), Recital 32: the tick is a
        // clear affirmative act for what the page said); a customer who had narrowed them
        // keeps that choice when asked again.
        let channels = match earlier.iter().find(|d| d.purpose_id == p.id && d.granted != 0) {
            Some(d) if granted => crate::consent::channels::kept(&d.channels, &p.channels),
            _ if granted => p.channels.join(" "),
            _ => String::new(),
        };
        standing.push(PurposeDecisionRecord {
            channels,
            customer_id: customer.clone(),
            client_id: request.client_id.clone(),
            purpose_id: p.id.clone(),
            granted: i64::from(granted),
            policy_id: p.policy_id.clone(),
            policy_version: p.policy_version,
            decided_at: now,
        });
    }
    for (policy_id, version, text_hash) in accepted_policies {
        decisions.push(Decision {
            client_id: request.client_id.clone(),
            item: format!("policy:{policy_id}"),
            policy_id,
            policy_version: version,
            text_hash,
            action: Action::Granted,
        });
    }
    let ctx = Context { channel: Channel::ConsentScreen, session_id: Some(&session.id), ip: Some(&session.ip) };
    // The remembered scopes, where the customer stands on purposes, the proof and the events:
    // one unit of work.
    // What was granted before stays granted (a request for other scopes adds to it).
    let mut remembered: Vec<&str> = had.clone();
    remembered.extend(request.scope.split_whitespace().filter(|s| !had.contains(s)));
    let remembered = remembered.join(" ");
    let record = || async {
        let mut tx = state.store.begin().await?;
        Store::save_consent_in(&mut tx, customer, &request.client_id, &remembered, now).await?;
        if !asked.is_empty() {
            Store::set_profile_in(&mut tx, customer, phone.as_deref(), birthdate.as_deref(), address.as_deref(), now)
                .await?;
            let fields: Vec<&str> = asked.iter().map(|a| a.claim).collect();
            Store::set_profile_sources_in(&mut tx, customer, &fields, "app", &request.client_id, now).await?;
            outbox::emit_in(&mut tx, NewEvent::customer_updated(customer, &fields), now).await?;
        }
        ledger::record_in(&mut tx, customer, &standing, &decisions, ctx, now).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    };
    // Another append to this customer's ledger at the same moment (the consent API, another
    // tab) makes this one fail on the chain's key: the next try chains after it.
    ledger::retrying(record).await.map_err(Untrusted)?;
    // The notices shown on this page have been seen: not again.
    for n in super::purposes::notices(state, &client, customer).await.map_err(Untrusted)? {
        state
            .store
            .claim_policy_notice(customer, &n.policy_id, n.version, now)
            .await
            .map_err(|e| Untrusted(e.into()))?;
    }
    request.consented = true;
    authorize::save(state, &request).await.map_err(Untrusted)?;
    authorize::resume(state, id, Some(session), now).await
}

/// The person refused. Purposes asked again because their policy changed materially are
/// withdrawn (refusing the new version stops what depends on it, at once and everywhere);
/// the request ends with `access_denied` (RFC 6749 §4.1.2.1).
pub async fn refuse(
    state: &AppState,
    id: &str,
    session: Option<&SessionRecord>,
    now: i64,
) -> Result<super::redirect::AuthorizationResponse> {
    if let Some(s) = session {
        let request = authorize::load(state, id, now).await?;
        for p in purposes_to_ask(state, &request, &s.customer_id, now).await?.iter().filter(|p| p.changed.is_some()) {
            let ctx = Context { channel: Channel::ConsentScreen, session_id: Some(&s.id), ip: Some(&s.ip) };
            match crate::consent::withdrawal::withdraw(state, &s.customer_id, &request.client_id, &p.id, ctx, now).await
            {
                Ok(_) | Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
    }
    authorize::deny(state, id, now).await
}
