//! The one way a sign-in ends. Every method proves a first factor for a customer and ends
//! here: `open_session` asks for the account's authenticator app when the proof was a single
//! factor (a passkey is multi-factor by itself), then renews or replaces the browser's
//! session. Email proofs come through `after_email`, which also catches the first proof of
//! the mailbox of an account that was set up through a provider (see `review`).
//!
//! Threat model: a second factor that some sign-in path forgets is no second factor at all,
//! and a session that outlives a sign-in in the same browser (or keeps its secret across
//! one) is a fixation target. Routes never open sessions themselves.

use super::review;
use super::totp::{self, SecondStep};
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, Entry};
use crate::events::{NewEvent, outbox};
use crate::session::{self, ACR_EMAIL, AMR_EMAIL, Browser, NewSession};
use crate::state::AppState;
use crate::store::{SessionRecord, Store, Tx};

/// What the sign-in proved.
pub struct Proof {
    pub acr: String,
    pub amr: String,
    /// A passkey with user verification proves possession and the person at once.
    pub multi_factor: bool,
}

impl Proof {
    pub fn email() -> Proof {
        Proof { acr: ACR_EMAIL.into(), amr: AMR_EMAIL.into(), multi_factor: false }
    }
}

/// The circumstances of one sign-in: the request it continues, "keep me signed in", the
/// browser, and the session that browser already holds.
pub struct Attempt<'a> {
    pub authz: Option<String>,
    pub remember: bool,
    pub browser: Browser<'a>,
    pub previous: Option<SessionRecord>,
    /// How the first factor was proven, for the audit log: `email_link`, `email_code`,
    /// `email_approval` (the link opened on another device), `federated`, `second_factor`.
    pub method: &'static str,
}

pub enum Opened {
    /// The account's authenticator app is due: the secret for the parked step's cookie.
    SecondStep(String),
    Session(NewSession),
    /// The first mail proof of an account set up through a provider: a session is open and
    /// every other one ended; the owner reviews what is attached before going on.
    Review(NewSession),
}

/// Open a session for `customer_id` after `proof`, or park the second step it still needs.
pub async fn open_session(
    state: &AppState,
    customer_id: &str,
    proof: Proof,
    a: &Attempt<'_>,
    now: i64,
) -> Result<Opened> {
    if !proof.multi_factor && totp::enrolled(state, customer_id).await? {
        let step = SecondStep {
            customer_id: customer_id.to_string(),
            first_amr: proof.amr,
            authz: a.authz.clone(),
            remember: a.remember,
            upgrade_session: None,
        };
        return Ok(Opened::SecondStep(totp::park(state, &step).await?));
    }
    Ok(Opened::Session(establish(state, customer_id, &proof.acr, &proof.amr, a, now).await?))
}

/// Store the session of a finished sign-in and end the browser's previous one, if it was
/// someone else's (the same customer's is renewed with a new secret), in one unit of work.
pub async fn establish(
    state: &AppState,
    customer_id: &str,
    acr: &str,
    amr: &str,
    a: &Attempt<'_>,
    now: i64,
) -> Result<NewSession> {
    let previous = a.previous.as_ref();
    let new = session::successor(state, previous, customer_id, acr, amr, &a.browser, a.remember, now);
    let mut tx = state.store.begin().await?;
    store_session_in(state, &mut tx, previous, &new.record, now).await?;
    signed_in_in(&mut tx, &new.record, a, now).await?;
    tx.commit().await?;
    tracing::info!(session = %new.record.id, customer = %customer_id, acr, "signed in");
    crate::telemetry::sign_in(sign_in_method(amr), "ok");
    Ok(new)
}

/// The audit entry of a finished sign-in, in the unit of work that stores its session.
async fn signed_in_in(tx: &mut Tx, new: &SessionRecord, a: &Attempt<'_>, now: i64) -> Result<()> {
    let customer = new.customer_id.as_str();
    let detail = serde_json::json!({ "session": new.id, "method": a.method, "acr": new.acr, "amr": new.amr });
    let entry = Entry::new(Actor::Customer(customer.into()), signin_action(&new.amr), Some(customer))
        .from(&a.browser)
        .detail(detail);
    Ok(audit::record_in(tx, entry, now).await?)
}

/// Inside the caller's unit of work: store (or renew) the session `new`, say so with
/// `session.started`, and end the browser's `previous` session unless `new` renewed it.
/// Every sign-in method stores its session through here.
pub async fn store_session_in(
    state: &AppState,
    tx: &mut Tx,
    previous: Option<&SessionRecord>,
    new: &SessionRecord,
    now: i64,
) -> Result<()> {
    // After a breach (issue #15) a customer may be asked to prove the mailbox afresh: until a
    // sign-in that includes a mail proof (and, through `open_session`, the account's
    // authenticator app), no other method opens a session. That sign-in clears the flag.
    if Store::reverification_required_in(tx, &new.customer_id).await? {
        if !new.amr.split(' ').any(|m| m == session::AMR_EMAIL) {
            return Err(Error::bad_input(
                "For your security, sign in this time with the link or code we send to your email address.",
            ));
        }
        Store::reverified_in(tx, &new.customer_id).await?;
    }
    Store::insert_session_in(tx, new).await?;
    outbox::emit_in(tx, NewEvent::session_started(&new.customer_id, &new.id, &new.acr, &new.amr), now).await?;
    crate::oidc::logout::retire_previous_in(state, tx, previous, new, now).await
}

/// Record a failed sign-in by `method` (the reason is a short code), about `customer` where
/// the attempt names a known account.
pub async fn failed(
    state: &AppState,
    customer: Option<&str>,
    method: &str,
    why: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<()> {
    crate::telemetry::sign_in(sign_in_method(method), "failed");
    let entry = Entry::new(Actor::Anonymous, "signin.failed", customer)
        .from(browser)
        .outcome(audit::Outcome::Failure(why))
        .detail(serde_json::json!({ "method": method }));
    Ok(audit::record(state, entry, now).await?)
}

/// The customer id behind an address, if there is an account (the audit log names customers
/// by id, not by address).
pub async fn customer_by_email(state: &AppState, email: &str) -> Result<Option<String>> {
    Ok(state.store.customer_by_email(email).await?.map(|c| c.id))
}

/// The method label of a sign-in for the metrics (a closed set), by the first factor its
/// `amr` (or a failed attempt's method name) names.
fn sign_in_method(amr_or_method: &str) -> &'static str {
    let has = |m: &str| amr_or_method.split(' ').any(|x| x == m || x.starts_with(m));
    if has(session::AMR_FED) || has("federated") {
        "federated"
    } else if has(session::AMR_HWK) || has(session::AMR_SWK) || has("passkey") {
        "passkey"
    } else {
        "email"
    }
}

/// The audit action of a sign-in, by the first factor its `amr` names.
pub fn signin_action(amr: &str) -> &'static str {
    let has = |m: &str| amr.split(' ').any(|x| x == m);
    if has(session::AMR_FED) {
        "signin.federated"
    } else if has(session::AMR_HWK) || has(session::AMR_SWK) {
        "signin.passkey"
    } else {
        "signin.email"
    }
}

/// A mailbox was just proven (link, code or approval on another device): find or create its
/// customer and open the session.
pub async fn after_email(state: &AppState, email: &str, a: &Attempt<'_>, now: i64) -> Result<Opened> {
    let mut tx = state.store.begin().await?;
    let (customer_id, created, first_proof) =
        Store::prove_mailbox_in(&mut tx, email, &secrets::random_id(), now).await?;
    if created {
        outbox::emit_in(&mut tx, NewEvent::customer_created(&customer_id, "email"), now).await?;
        Store::set_profile_sources_in(&mut tx, &customer_id, &["email"], "typed", "", now).await?;
    }
    tx.commit().await?;
    if first_proof {
        if review::anything_attached(state, &customer_id).await? {
            // Whoever set the account up through a provider may not own the mailbox: the
            // factors they attached are not asked for, their sessions end, and the owner
            // decides what stays. (Read before the transaction: a pool read inside it could
            // wait for a connection the transaction holds.)
            let sessions = state.store.sessions_of(&customer_id, now).await?;
            let mut tx = state.store.begin().await?;
            for s in sessions {
                crate::oidc::logout::end_in(state, &mut tx, &s, false, now).await?;
                let why = audit::SessionEnd { by: Actor::System, reason: "mailbox_review", from: Some(a.browser) };
                audit::session_ended_in(&mut tx, &s, why, now).await?;
            }
            let previous = a.previous.as_ref();
            let new =
                session::successor(state, previous, &customer_id, ACR_EMAIL, AMR_EMAIL, &a.browser, a.remember, now);
            store_session_in(state, &mut tx, previous, &new.record, now).await?;
            signed_in_in(&mut tx, &new.record, a, now).await?;
            tx.commit().await?;
            review::begin(state, &new.record).await?;
            tracing::warn!(customer = %customer_id, "first mail proof of an account set up through a provider");
            return Ok(Opened::Review(new));
        }
        let mut tx = state.store.begin().await?;
        Store::mark_mailbox_proven_in(&mut tx, &customer_id, now).await?;
        outbox::emit_in(&mut tx, NewEvent::customer_updated(&customer_id, &["mailbox_proven"]), now).await?;
        tx.commit().await?;
    }
    open_session(state, &customer_id, Proof::email(), a, now).await
}

/// Where a finished sign-in continues: the authorization request it came from, else the page
/// of the account area a step-up was for, else the account page.
pub fn continue_url(authz: &str, next: Option<&str>) -> String {
    if !authz.is_empty() {
        return format!("/authorize/resume?authz={authz}");
    }
    next.and_then(valid_next).unwrap_or("/account").to_string()
}

/// A return path inside the account area, and nothing else (no open redirect).
pub fn valid_next(next: &str) -> Option<&str> {
    let inside = next == "/account" || next.starts_with("/account/");
    let plain = next.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'-' || b == b'_');
    (inside && plain && !next.contains("//")).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_ins_continue_only_inside_the_account_area() {
        assert_eq!(continue_url("abc", Some("/account/totp")), "/authorize/resume?authz=abc");
        assert_eq!(continue_url("", Some("/account/totp")), "/account/totp");
        assert_eq!(continue_url("", None), "/account");
        assert_eq!(signin_action("email otp mfa"), "signin.email");
        assert_eq!(signin_action("fed"), "signin.federated");
        assert_eq!(signin_action("swk user"), "signin.passkey");
        for bad in ["https://evil.example/", "//evil.example", "/account//evil", "/accounting", "/account/x?y=1"] {
            assert_eq!(continue_url("", Some(bad)), "/account", "{bad}");
        }
    }
}
