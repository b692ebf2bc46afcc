//! Sign in with an email address: one mail holding a link and a 6-digit code.
//!
//! The pending sign-in is bound to the browser that asked for it by a random secret in a
//! cookie (only its hash names the record). The link is single-use, lives
//! `sign_in_link_ttl_secs`, is stored only as a hash, and acts only on POST (mail scanners
//! pre-fetch links). Opened in the asking browser it signs in there; opened elsewhere it
//! approves the asking browser, whose waiting page then continues by itself. The code can be
//! typed into the waiting page instead; five wrong codes void the sign-in.

use crate::accounts::customer::EmailAddress;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::AppState;
use serde::{Deserialize, Serialize};

const MAX_WRONG_CODES: u64 = 5;
const RATE_WINDOW_SECS: i64 = 15 * 60;

#[derive(Serialize, Deserialize)]
struct PendingSignIn {
    email: String,
    /// The authorization request to continue afterwards, if any.
    authz: Option<String>,
    /// "Keep me signed in" was ticked.
    #[serde(default)]
    remember: bool,
    link_hash: String,
    code_hash: String,
    approved: bool,
    expires_at: i64,
}

fn pending_key(binding_hash: &str) -> String {
    format!("signin:{binding_hash}")
}

fn link_key(link_hash: &str) -> String {
    format!("signin-link:{link_hash}")
}

/// A proven mailbox, ready to become a session.
pub struct Proven {
    pub email: String,
    pub authz: Option<String>,
    pub remember: bool,
}

/// Send the sign-in mail. Returns the browser-binding secret for the cookie. The answer is
/// the same whether or not an account exists for the address (no enumeration).
pub async fn start(
    state: &AppState,
    input: &str,
    authz: Option<String>,
    remember: bool,
    ip: &str,
    now: i64,
) -> Result<String> {
    let email = EmailAddress::parse(input)
        .ok_or_else(|| Error::bad_input("Enter a valid email address, like name@example.com."))?;
    let limited = Error::RateLimited {
        message: "Too many sign-in mails were asked for. Wait a few minutes, then try again.",
        retry_after_secs: RATE_WINDOW_SECS as u64,
    };
    let by_address =
        state.ephemeral.hit(&format!("rl:signin-address:{}", secrets::hash(email.as_str())), RATE_WINDOW_SECS).await?;
    let by_ip = state.ephemeral.hit(&format!("rl:signin-ip:{ip}"), RATE_WINDOW_SECS).await?;
    if by_address > state.config.sign_in_mails_per_address || by_ip > state.config.sign_in_mails_per_ip {
        tracing::warn!(ip, "sign-in mails rate limited");
        return Err(limited);
    }
    let binding = secrets::random_token();
    let binding_hash = secrets::hash(&binding);
    let link = secrets::random_token();
    let code = secrets::random_digits(6);
    let ttl = state.config.sign_in_link_ttl_secs;
    let pending = PendingSignIn {
        email: email.as_str().to_string(),
        authz,
        remember,
        link_hash: secrets::hash(&link),
        code_hash: secrets::hash(&code),
        approved: false,
        expires_at: now + ttl * 1000,
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
    Ok(binding)
}

async fn pending(state: &AppState, binding_hash: &str, now: i64) -> Result<Option<PendingSignIn>> {
    let p: Option<PendingSignIn> = state.ephemeral.get_json(&pending_key(binding_hash)).await?;
    Ok(p.filter(|p| p.expires_at > now))
}

fn gone() -> Error {
    Error::bad_input("This sign-in has expired or was already used. Ask for a new mail.")
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

/// The address a waiting page is waiting for (to show it to the person).
pub async fn waiting_for(state: &AppState, binding: &str, now: i64) -> Result<String> {
    pending(state, &secrets::hash(binding), now).await?.map(|p| p.email).ok_or_else(gone)
}

/// The code typed into the waiting page of the browser that asked.
pub async fn verify_code(state: &AppState, binding: &str, code: &str, now: i64) -> Result<Proven> {
    let binding_hash = secrets::hash(binding);
    let p = pending(state, &binding_hash, now).await?.ok_or_else(gone)?;
    let code = code.trim();
    if !secrets::constant_time_eq(&secrets::hash(code), &p.code_hash) {
        let wrong = state.ephemeral.hit(&format!("signin-wrong:{binding_hash}"), RATE_WINDOW_SECS).await?;
        tracing::warn!(attempt = wrong, "wrong sign-in code");
        if wrong >= MAX_WRONG_CODES {
            state.ephemeral.delete(&pending_key(&binding_hash)).await?;
            state.ephemeral.delete(&link_key(&p.link_hash)).await?;
            return Err(Error::bad_input("Too many wrong codes: this sign-in is void. Ask for a new mail."));
        }
        return Err(Error::bad_input("That code is not right. Check the mail and try again."));
    }
    take(state, &binding_hash, now).await
}

/// Remove the pending sign-in (and its link) exactly once.
async fn take(state: &AppState, binding_hash: &str, now: i64) -> Result<Proven> {
    let p: PendingSignIn = state.ephemeral.take_json(&pending_key(binding_hash)).await?.ok_or_else(gone)?;
    state.ephemeral.delete(&link_key(&p.link_hash)).await?;
    if p.expires_at <= now {
        return Err(gone());
    }
    Ok(Proven { email: p.email, authz: p.authz, remember: p.remember })
}

/// What opening the link shows, before anything happens.
pub enum LinkView {
    /// The browser that asked: confirm to sign in here.
    SameBrowser { email: String },
    /// Another browser or device: approve the sign-in on the one that asked.
    OtherBrowser { email: String },
}

async fn link_target(state: &AppState, link: &str, now: i64) -> Result<(String, PendingSignIn)> {
    let binding_hash: String = state.ephemeral.get(&link_key(&secrets::hash(link))).await?.ok_or_else(gone)?;
    let p = pending(state, &binding_hash, now).await?.ok_or_else(gone)?;
    Ok((binding_hash, p))
}

fn same_browser(binding_hash: &str, binding: Option<&str>) -> bool {
    binding.is_some_and(|b| secrets::constant_time_eq(&secrets::hash(b), binding_hash))
}

pub async fn inspect_link(state: &AppState, link: &str, binding: Option<&str>, now: i64) -> Result<LinkView> {
    let (binding_hash, p) = link_target(state, link, now).await?;
    Ok(if same_browser(&binding_hash, binding) {
        LinkView::SameBrowser { email: p.email }
    } else {
        LinkView::OtherBrowser { email: p.email }
    })
}

pub enum LinkOutcome {
    SignedIn(Proven),
    ApprovedElsewhere,
}

/// Use the link (once): sign in here if this is the browser that asked, otherwise approve it.
pub async fn use_link(state: &AppState, link: &str, binding: Option<&str>, now: i64) -> Result<LinkOutcome> {
    let binding_hash: String = state.ephemeral.take(&link_key(&secrets::hash(link))).await?.ok_or_else(gone)?;
    if same_browser(&binding_hash, binding) {
        return Ok(LinkOutcome::SignedIn(take(state, &binding_hash, now).await?));
    }
    let mut p = pending(state, &binding_hash, now).await?.ok_or_else(gone)?;
    p.approved = true;
    let ttl = (p.expires_at - now) / 1000 + 1;
    state.ephemeral.put_json(&pending_key(&binding_hash), &p, ttl).await?;
    tracing::info!("sign-in approved from another browser");
    Ok(LinkOutcome::ApprovedElsewhere)
}

/// The asking browser continues once the sign-in was approved on another device.
pub async fn finish_approved(state: &AppState, binding: &str, now: i64) -> Result<Proven> {
    let binding_hash = secrets::hash(binding);
    match pending(state, &binding_hash, now).await? {
        Some(p) if p.approved => take(state, &binding_hash, now).await,
        Some(_) => Err(Error::bad_input(
            "This sign-in has not been approved yet. Open the link in the mail, or type the code.",
        )),
        None => Err(gone()),
    }
}
