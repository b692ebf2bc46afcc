//! Sign in with an email address: one mail holding a link and a 6-digit code.
//!
//! The pending sign-in is bound to the browser that asked for it by a random secret in a
//! cookie (only its hash names the record). The link is single-use, lives
//! `sign_in_link_ttl_secs`, is stored only as a hash, and acts only on POST (mail scanners
//! pre-fetch links). Opened in the asking browser it signs in there. Opened elsewhere it can
//! approve the asking browser, whose waiting page then continues by itself, so that approval
//! is what a phisher wants the owner to click: the approval page names the app, the asking
//! device, its network and how long ago it asked, and the person must pick the number the
//! asking browser shows (a wrong pick voids the sign-in). A customer can turn approving from
//! another device off. The code can be typed into the waiting page instead; five wrong codes
//! in the sign-in's whole life void it, counted in the pending record itself (compare-and-swap),
//! so no window boundary or concurrent request gives a guesser more.

use super::approval::{self, Approval};
use super::finish;
use super::mail_limits::MailLimits;
use crate::crypto::secrets;
use crate::customers::EmailAddress;
use crate::ephemeral::{Key, Space};
use crate::error::{Error, Result};
use crate::events::audit;
use crate::session::Browser;
use crate::state::AppState;
use serde::{Deserialize, Serialize};

const MAX_WRONG_CODES: u32 = 5;

#[derive(Serialize, Deserialize)]
struct PendingSignIn {
    email: String,
    /// The authorization request to continue afterwards, if any.
    authz: Option<String>,
    /// "Keep me signed in" was ticked.
    remember: bool,
    link_hash: String,
    code_hash: String,
    approved: bool,
    expires_at: i64,
    /// Wrong codes typed so far.
    wrong_codes: u32,
    /// The two-digit number the waiting page shows, and the three the approval page offers.
    number: u8,
    choices: [u8; 3],
    /// Who asked and when, for the approval page.
    asked_at: i64,
    ip: String,
    user_agent: String,
}

fn pending_key(binding_hash: &str) -> Key {
    Space::EmailSignIn.key(binding_hash)
}

fn link_key(link_hash: &str) -> Key {
    Space::EmailLink.key(link_hash)
}

/// A proven mailbox, ready to become a session.
pub struct Proven {
    pub email: String,
    pub authz: Option<String>,
    pub remember: bool,
    /// `email_link`, `email_code` or `email_approval` (the audit log's method).
    pub method: &'static str,
}

impl PendingSignIn {
    fn proven(&self, method: &'static str) -> Proven {
        Proven { email: self.email.clone(), authz: self.authz.clone(), remember: self.remember, method }
    }
}

/// The browser asking for the mail, as the request showed it.
pub struct Asker<'a> {
    pub ip: &'a str,
    /// The client network it counts against in abuse limits.
    pub network: &'a str,
    pub user_agent: &'a str,
}

/// Send the sign-in mail. Returns the browser-binding secret for the cookie. The answer is
/// the same whether or not an account exists for the address (no enumeration).
pub async fn start(
    state: &AppState,
    input: &str,
    authz: Option<String>,
    remember: bool,
    asker: &Asker<'_>,
    now: i64,
) -> Result<String> {
    let email = EmailAddress::parse(input)
        .ok_or_else(|| Error::bad_input("Enter a valid email address, like name@example.com."))?;
    let limits = MailLimits::new(email.as_str(), asker.network);
    if let Err(e) = limits.check(state, now).await {
        let customer = finish::customer_by_email(state, email.as_str()).await?;
        let browser = Browser { ip: asker.ip, user_agent: asker.user_agent };
        audit::refused(state, "sign_in_mail", customer.as_deref(), &browser, now).await?;
        return Err(e);
    }
    let binding = secrets::random_token();
    let binding_hash = secrets::hash(&binding);
    let link = secrets::random_token();
    let code = secrets::random_digits(6);
    let ttl = state.config.sign_in_link_ttl_secs;
    let (number, choices) = approval::numbers();
    let pending = PendingSignIn {
        email: email.as_str().to_string(),
        authz,
        remember,
        link_hash: secrets::hash(&link),
        code_hash: secrets::hash(&code),
        approved: false,
        expires_at: now + ttl * 1000,
        wrong_codes: 0,
        number,
        choices,
        asked_at: now,
        ip: asker.ip.to_string(),
        user_agent: asker.user_agent.chars().take(512).collect(),
    };
    let mail =
        crate::mail::sign_in_mail(email.as_str(), &state.url(&format!("/login/link?token={link}")), &code, ttl / 60)?;
    state.ephemeral.put_json(&pending_key(&binding_hash), &pending, ttl).await?;
    state.ephemeral.put(&link_key(&pending.link_hash), binding_hash.clone(), ttl).await?;
    if let Err(e) = state.mailer.send(&state.mail_from, mail).await {
        state.ephemeral.delete(&pending_key(&binding_hash)).await?;
        state.ephemeral.delete(&link_key(&pending.link_hash)).await?;
        return Err(Error::Internal(e.context("sending the sign-in mail")));
    }
    // Only a mail that went out counts against the limits.
    limits.count(state, now).await?;
    Ok(binding)
}

async fn pending(state: &AppState, binding_hash: &str, now: i64) -> Result<Option<PendingSignIn>> {
    let p: Option<PendingSignIn> = state.ephemeral.get_json(&pending_key(binding_hash)).await?;
    Ok(p.filter(|p| p.expires_at > now))
}

fn gone() -> Error {
    Error::bad_input("This sign-in has expired or was already used. Ask for a new mail.")
}

/// What becomes of the pending sign-in after a look at it.
enum Change<T> {
    Keep(T),
    Save(T),
    /// Remove it, and its link.
    Remove(T),
}

/// Change the pending sign-in atomically: `decide` sees the record as it is and may edit it;
/// when another request changed it meanwhile, `decide` runs again on the fresh record.
async fn change<T>(
    state: &AppState,
    binding_hash: &str,
    now: i64,
    mut decide: impl FnMut(&mut PendingSignIn) -> Change<T>,
) -> Result<T> {
    let key = pending_key(binding_hash);
    // Every failed swap means another request made progress, so this ends quickly.
    for _ in 0..64 {
        let Some(raw) = state.ephemeral.get(&key).await? else { return Err(gone()) };
        let mut p: PendingSignIn = serde_json::from_str(&raw).map_err(anyhow::Error::from)?;
        if p.expires_at <= now {
            return Err(gone());
        }
        let ttl = (p.expires_at - now) / 1000 + 1;
        let (new, out) = match decide(&mut p) {
            Change::Keep(out) => return Ok(out),
            Change::Save(out) => (Some(serde_json::to_string(&p).map_err(anyhow::Error::from)?), out),
            Change::Remove(out) => (None, out),
        };
        if state.ephemeral.compare_and_swap(&key, &raw, new.clone(), ttl).await? {
            if new.is_none() {
                state.ephemeral.delete(&link_key(&p.link_hash)).await?;
            }
            return Ok(out);
        }
    }
    Err(Error::Internal(anyhow::anyhow!("the pending sign-in kept changing")))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Status {
    Waiting,
    Approved,
    Gone,
}

/// What the waiting page polls.
pub async fn status(state: &AppState, binding: &str, now: i64) -> Result<Status> {
    Ok(match pending(state, &secrets::hash(binding), now).await? {
        Some(p) if p.approved => Status::Approved,
        Some(_) => Status::Waiting,
        None => Status::Gone,
    })
}

/// What the waiting page shows: the address, and the number to pick on another device.
pub struct Waiting {
    pub email: String,
    pub number: u8,
}

pub async fn waiting_for(state: &AppState, binding: &str, now: i64) -> Result<Waiting> {
    let p = pending(state, &secrets::hash(binding), now).await?.ok_or_else(gone)?;
    Ok(Waiting { email: p.email, number: p.number })
}

enum Guess {
    Right(Proven),
    /// Wrong codes so far, and the address.
    Wrong(u32, String),
    Void(String),
}

/// The code typed into the waiting page of the browser that asked.
pub async fn verify_code(
    state: &AppState,
    binding: &str,
    code: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<Proven> {
    let typed = secrets::hash(code.trim());
    // The guess is weighed and counted in one swap of the record: concurrent guesses each
    // count, and a record that is gone answers nothing about the code.
    let guess = change(state, &secrets::hash(binding), now, |p| {
        if secrets::constant_time_eq(&typed, &p.code_hash) {
            Change::Remove(Guess::Right(p.proven("email_code")))
        } else if p.wrong_codes + 1 >= MAX_WRONG_CODES {
            Change::Remove(Guess::Void(p.email.clone()))
        } else {
            p.wrong_codes += 1;
            Change::Save(Guess::Wrong(p.wrong_codes, p.email.clone()))
        }
    })
    .await?;
    match guess {
        Guess::Right(proven) => Ok(proven),
        Guess::Wrong(attempt, email) => {
            tracing::warn!(attempt, "wrong sign-in code");
            let customer = finish::customer_by_email(state, &email).await?;
            finish::failed(state, customer.as_deref(), "email_code", "wrong_code", browser, now).await?;
            Err(Error::bad_input("That code is not right. Check the mail and try again."))
        }
        Guess::Void(email) => {
            tracing::warn!("too many wrong sign-in codes: the sign-in is void");
            let customer = finish::customer_by_email(state, &email).await?;
            finish::failed(state, customer.as_deref(), "email_code", "too_many_wrong_codes", browser, now).await?;
            Err(Error::bad_input("Too many wrong codes: this sign-in is void. Ask for a new mail."))
        }
    }
}

/// Remove the pending sign-in (and its link) exactly once.
async fn take(state: &AppState, binding_hash: &str, now: i64) -> Result<Proven> {
    change(state, binding_hash, now, |p| Change::Remove(p.proven("email_link"))).await
}

/// What opening the link shows, before anything happens.
pub enum LinkView {
    /// The browser that asked: confirm to sign in here.
    SameBrowser { email: String },
    /// Another browser or device: approve the sign-in on the one that asked, knowing what it is.
    OtherBrowser { email: String, approval: Approval },
    /// Another browser, and the customer turned approving from elsewhere off.
    CrossDeviceOff { email: String },
}

async fn link_target(state: &AppState, link: &str, now: i64) -> Result<(String, PendingSignIn)> {
    let binding_hash: String = state.ephemeral.get(&link_key(&secrets::hash(link))).await?.ok_or_else(gone)?;
    let p = pending(state, &binding_hash, now).await?.ok_or_else(gone)?;
    Ok((binding_hash, p))
}

fn same_browser(binding_hash: &str, binding: Option<&str>) -> bool {
    binding.is_some_and(|b| secrets::constant_time_eq(&secrets::hash(b), binding_hash))
}

/// Whether a sign-in to `email` may be approved from another device. An address without an
/// account yet may (the customer has not had the chance to say otherwise).
async fn cross_device_allowed(state: &AppState, email: &str) -> Result<bool> {
    Ok(state.store.cross_device_approval_by_email(email).await?.unwrap_or(true))
}

pub async fn inspect_link(state: &AppState, link: &str, binding: Option<&str>, now: i64) -> Result<LinkView> {
    let (binding_hash, p) = link_target(state, link, now).await?;
    if same_browser(&binding_hash, binding) {
        return Ok(LinkView::SameBrowser { email: p.email });
    }
    if !cross_device_allowed(state, &p.email).await? {
        return Ok(LinkView::CrossDeviceOff { email: p.email });
    }
    let app = approval::app_name(state, p.authz.as_deref(), now).await;
    let approval = Approval::new(app, &p.user_agent, &p.ip, now - p.asked_at, p.choices);
    Ok(LinkView::OtherBrowser { email: p.email, approval })
}

pub enum LinkOutcome {
    SignedIn(Proven),
    ApprovedElsewhere,
    /// The number picked was not the one the asking browser shows: the sign-in is void.
    Voided,
}

fn cross_device_off() -> Error {
    Error::bad_input(
        "This account does not approve sign-ins from another device. Open the link on the device that asked, \
         or type the code from the mail there.",
    )
}

/// Use the link (once): sign in here if this is the browser that asked, otherwise approve it
/// when `pick` is the number the asking browser shows, and void it when it is not.
pub async fn use_link(
    state: &AppState,
    link: &str,
    binding: Option<&str>,
    pick: Option<u8>,
    browser: &Browser<'_>,
    now: i64,
) -> Result<LinkOutcome> {
    let key = link_key(&secrets::hash(link));
    let (binding_hash, p) = match link_target(state, link, now).await {
        Ok(found) => found,
        Err(e) => {
            finish::failed(state, None, "email_link", "link_not_valid", browser, now).await?;
            return Err(e);
        }
    };
    if same_browser(&binding_hash, binding) {
        state.ephemeral.take(&key).await?.ok_or_else(gone)?;
        return Ok(LinkOutcome::SignedIn(take(state, &binding_hash, now).await?));
    }
    if !cross_device_allowed(state, &p.email).await? {
        return Err(cross_device_off());
    }
    let Some(pick) = pick else {
        return Err(Error::bad_input("Pick the number that the device asking to sign in shows."));
    };
    // The link is single-use: whoever takes it decides, once.
    state.ephemeral.take(&key).await?.ok_or_else(gone)?;
    let matched = change(state, &binding_hash, now, |p| {
        if p.number == pick {
            p.approved = true;
            Change::Save(true)
        } else {
            Change::Remove(false)
        }
    })
    .await?;
    if matched {
        tracing::info!("sign-in approved from another browser");
        Ok(LinkOutcome::ApprovedElsewhere)
    } else {
        tracing::warn!("wrong number picked on the approval page: the sign-in is void");
        let customer = finish::customer_by_email(state, &p.email).await?;
        finish::failed(state, customer.as_deref(), "email_approval", "wrong_number", browser, now).await?;
        Ok(LinkOutcome::Voided)
    }
}

/// The asking browser continues once the sign-in was approved on another device.
pub async fn finish_approved(state: &AppState, binding: &str, now: i64) -> Result<Proven> {
    change(state, &secrets::hash(binding), now, |p| {
        if p.approved { Change::Remove(Ok(p.proven("email_approval"))) } else { Change::Keep(Err(())) }
    })
    .await?
    .map_err(|()| {
        Error::bad_input("This sign-in has not been approved yet. Open the link in the mail, or type the code.")
    })
}

/// Whether the customer lets sign-ins be approved from another device (the account page).
pub async fn cross_device_approval(state: &AppState, customer_id: &str) -> Result<bool> {
    Ok(state.store.cross_device_approval(customer_id).await?)
}

pub async fn set_cross_device_approval(state: &AppState, customer_id: &str, on: bool, now: i64) -> Result<()> {
    let mut tx = state.store.begin().await?;
    crate::store::Store::set_cross_device_approval_in(&mut tx, customer_id, on, now).await?;
    let updated = crate::events::NewEvent::customer_updated(customer_id, &["cross_device_approval"]);
    crate::events::outbox::emit_in(&mut tx, updated, now).await?;
    tx.commit().await?;
    tracing::info!(on, "cross-device sign-in approval changed");
    Ok(())
}
