//! Filing a privacy request, and closing one. Filing checks, in order: the input
//! (`check_input`), a fresh proof at the account's strongest level (`proofs::fresh`), and for
//! export and deletion the mailed code (`proofs::check_code`); every refusal is audited. A
//! filed request gets its jurisdiction from the customer's country (OpenID Connect Core
//! §5.1.1 address claim), else the configured default, and its due date from that
//! jurisdiction's rule (`deadlines`). It is written with its `privacy_request.created` event
//! and audit entry in one unit of work; the customer is mailed at receipt and completion.

use super::proofs::{self, Checked, Pending};
use super::{Kind, Status, deadlines};
use crate::consent::ledger::{Channel, Context};
use crate::consent::withdrawal;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, Entry, Outcome};
use crate::events::{NewEvent, outbox};
use crate::session::Browser;
use crate::state::AppState;
use crate::store::{PrivacyRequestRecord, SessionRecord, Store};

/// What a customer asks for, as typed.
#[derive(Debug, Clone)]
pub struct Filing {
    pub kind: Kind,
    /// Restriction: the purpose to stop.
    pub purpose: Option<String>,
    /// Correction: what is wrong and what it should be.
    pub details: Option<String>,
}

/// How filing ended.
#[derive(Debug)]
pub enum Filed {
    /// No proof at the account's strongest level in the last five minutes: nothing filed.
    NeedsFreshProof,
    /// A code went to the verified address; the request waits for it.
    CodeSent,
    Filed(Box<PrivacyRequestRecord>),
}

const MAX_TEXT: usize = 2000;

fn check_input(f: &Filing) -> Result<()> {
    let text = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::len);
    match f.kind {
        Kind::Restriction if text(&f.purpose).is_none() => {
            Err(Error::bad_input("Name the use of your data you want us to stop."))
        }
        Kind::Correction if text(&f.details).is_none() => {
            Err(Error::bad_input("Say what is wrong and what it should be."))
        }
        _ if text(&f.details).unwrap_or(0) > MAX_TEXT || text(&f.purpose).unwrap_or(0) > 200 => {
            Err(Error::bad_input("That is too long; please keep it under 2000 characters."))
        }
        _ => Ok(()),
    }
}

/// Record a refused attempt (`reason`: `no_fresh_proof`, `wrong_code`, `no_code`).
async fn refused(
    state: &AppState,
    session: &SessionRecord,
    kind: &str,
    reason: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<()> {
    let customer = session.customer_id.as_str();
    let entry = Entry::new(Actor::Customer(customer.into()), "privacy_request.refused", Some(customer))
        .from(browser)
        .outcome(Outcome::Refused(reason))
        .detail(serde_json::json!({ "kind": kind, "session": session.id }));
    audit::record(state, entry, now).await?;
    Ok(())
}

/// File `f` for the customer of `session`, or say which proof is missing.
pub async fn file(
    state: &AppState,
    session: &SessionRecord,
    f: Filing,
    browser: &Browser<'_>,
    now: i64,
) -> Result<Filed> {
    check_input(&f)?;
    if !proofs::fresh(state, session, now).await? {
        refused(state, session, f.kind.as_str(), "no_fresh_proof", browser, now).await?;
        return Ok(Filed::NeedsFreshProof);
    }
    if f.kind.needs_second_proof() {
        let customer = state.store.customer(&session.customer_id).await?.ok_or(Error::NotFound)?;
        let pending = Pending::new(session, f.kind.as_str(), f.purpose, f.details);
        let code = proofs::send_code(state, pending, now).await?;
        let paragraphs = [
            format!(
                "To confirm your request for {}, type this code on the page that asked for it: {code}",
                f.kind.words()
            ),
            format!("It works for {} minutes, once.", proofs::CODE_TTL_SECS / 60),
        ];
        tell(state, &customer.email, "Confirm your privacy request", &paragraphs, None).await;
        return Ok(Filed::CodeSent);
    }
    Ok(Filed::Filed(Box::new(create(state, session, f, browser, now).await?)))
}

/// The second step of an export or deletion: the mailed code.
pub async fn confirm(
    state: &AppState,
    session: &SessionRecord,
    code: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<Filed> {
    match proofs::check_code(state, session, code, now).await? {
        Checked::Confirmed(p) => {
            let kind = Kind::parse(&p.kind).ok_or(Error::NotFound)?;
            let f = Filing { kind, purpose: p.purpose, details: p.details };
            Ok(Filed::Filed(Box::new(create(state, session, f, browser, now).await?)))
        }
        Checked::Wrong { left } => {
            refused(state, session, "", "wrong_code", browser, now).await?;
            Err(Error::bad_input(if left > 0 {
                format!("That code is not right. {left} tries left.")
            } else {
                "That code is not right, and it no longer works. Start the request again.".into()
            }))
        }
        Checked::Missing => {
            refused(state, session, "", "no_code", browser, now).await?;
            Err(Error::bad_input("No code is waiting for this request any more. Start the request again."))
        }
    }
}

/// The customer's jurisdiction and the rule that applies to them.
fn jurisdiction_of(state: &AppState, address: Option<&str>) -> (String, deadlines::DeadlineRule) {
    let address: serde_json::Value = address.and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default();
    let config = &state.config;
    let table = &config.privacy_deadlines;
    let j = table.jurisdiction(
        address["country"].as_str(),
        address["region"].as_str(),
        &config.privacy_default_jurisdiction,
    );
    match table.rule(&j) {
        Some(rule) => (j, rule.clone()),
        // `validate` makes sure the default has a rule.
        None => (j, deadlines::DeadlineRule { months: 1, ..Default::default() }),
    }
}

async fn create(
    state: &AppState,
    session: &SessionRecord,
    f: Filing,
    browser: &Browser<'_>,
    now: i64,
) -> Result<PrivacyRequestRecord> {
    let customer = state.store.customer(&session.customer_id).await?.ok_or(Error::NotFound)?;
    let (jurisdiction, rule) = jurisdiction_of(state, customer.address.as_deref());
    let deletion = f.kind == Kind::Deletion;
    let record = PrivacyRequestRecord {
        id: format!("pr_{}", secrets::random_id()),
        customer_id: customer.id.clone(),
        kind: f.kind.as_str().into(),
        // The proofs above are the verification (GDPR Art. 12(6)).
        status: if deletion { Status::InProgress } else { Status::Verified }.as_str().into(),
        jurisdiction,
        received_at: now,
        due_at: deadlines::due_at(&rule, now),
        extended_until: None,
        extension_reason: None,
        purpose: f.purpose.map(|p| p.trim().to_string()),
        details: f.details.map(|d| d.trim().to_string()),
        notes: "[]".into(),
        closed_reason: None,
        closed_at: None,
        erase_after: deletion.then(|| now + state.config.deletion_grace_days * 86_400_000),
        export_expires_at: None,
        contact_notified_at: None,
        updated_at: now,
    };
    let mut tx = state.store.begin().await?;
    Store::insert_privacy_request_in(&mut tx, &record).await?;
    let event =
        NewEvent::privacy_request_created(&customer.id, &record.id, &record.kind, &record.jurisdiction, record.due_at);
    outbox::emit_in(&mut tx, event, now).await?;
    let entry = Entry::new(Actor::Customer(customer.id.clone()), "privacy_request.filed", Some(&customer.id))
        .from(browser)
        .detail(serde_json::json!({ "request": record.id, "kind": record.kind, "session": session.id }));
    audit::record_in(&mut tx, entry, now).await?;
    tx.commit().await?;
    tracing::info!(request = %record.id, kind = %record.kind, "privacy request filed");
    let due = crate::web::pages::utc_minute(record.due_at);
    let mut paragraphs = vec![format!("We received your request for {} (reference {}).", f.kind.words(), record.id)];
    paragraphs.push(match f.kind {
        Kind::Deletion => format!(
            "Your account will be deleted after {} days. Until then you can cancel it on your privacy requests page.",
            state.config.deletion_grace_days
        ),
        Kind::AccessExport => "We will mail you a link to download your data once it is ready.".into(),
        _ => format!("We will answer it by {due}."),
    });
    tell(
        state,
        &customer.email,
        "We received your privacy request",
        &paragraphs,
        Some(("Your privacy requests", &state.url("/account/privacy/requests"))),
    )
    .await;
    let ctx = Context { channel: Channel::PrivacyCentre, session_id: Some(&session.id), ip: Some(&session.ip) };
    match f.kind {
        Kind::WithdrawAll => {
            withdraw_everything(state, &customer.id, None, ctx, now).await?;
            close(state, &record.id, Status::Completed, "every consent withdrawn", &Actor::System, now).await
        }
        Kind::Restriction => {
            // Art. 18: stop the processing now; an admin closes the request.
            withdraw_everything(state, &customer.id, record.purpose.as_deref(), ctx, now).await?;
            Ok(record)
        }
        _ => Ok(record),
    }
}

/// Withdraw every scope and purpose (or only `purpose`) granted to any app.
async fn withdraw_everything(
    state: &AppState,
    customer_id: &str,
    purpose: Option<&str>,
    ctx: Context<'_>,
    now: i64,
) -> Result<usize> {
    let mut n = 0;
    for app in withdrawal::overview(state, customer_id).await? {
        for (p, _, _) in &app.purposes {
            if purpose.is_none_or(|only| only == p) {
                withdrawal::withdraw(state, customer_id, &app.client_id, p, ctx, now).await?;
                n += 1;
            }
        }
        if purpose.is_none() {
            for s in &app.scopes {
                withdrawal::withdraw_scope(state, customer_id, &app.client_id, s, ctx, now).await?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Close request `id` as `to` (completed, rejected or cancelled) with `reason`: the status,
/// the event (`privacy_request.completed` for a completion) and the audit entry in one unit
/// of work, then a mail to the customer. A request no longer open is `BadInput`.
pub async fn close(
    state: &AppState,
    id: &str,
    to: Status,
    reason: &str,
    by: &Actor,
    now: i64,
) -> Result<PrivacyRequestRecord> {
    let r = state.store.privacy_request(id).await?.ok_or(Error::NotFound)?;
    let open = Status::parse(&r.status).is_some_and(Status::is_open);
    let mut tx = state.store.begin().await?;
    if !open || !Store::set_privacy_request_status_in(&mut tx, id, &r.status, to.as_str(), Some(reason), now).await? {
        return Err(Error::bad_input("This request is already closed."));
    }
    if to == Status::Completed {
        outbox::emit_in(&mut tx, NewEvent::privacy_request_completed(&r.customer_id, id, &r.kind), now).await?;
    }
    let action = format!("privacy_request.{}", to.as_str());
    let entry = Entry::new(by.clone(), &action, Some(&r.customer_id))
        .detail(serde_json::json!({ "request": id, "reason": reason }));
    audit::record_in(&mut tx, entry, now).await?;
    tx.commit().await?;
    let kind = Kind::parse(&r.kind).map_or("your request", Kind::words);
    if let Some(customer) = state.store.customer(&r.customer_id).await? {
        let paragraphs = [
            format!("Your request for {kind} (reference {id}) is now {}.", to.as_str().replace('_', " ")),
            format!("Reason: {reason}"),
        ];
        let subject = format!("Your privacy request is {}", to.as_str());
        tell(
            state,
            &customer.email,
            &subject,
            &paragraphs,
            Some(("Your privacy requests", &state.url("/account/privacy/requests"))),
        )
        .await;
    }
    Ok(state.store.privacy_request(id).await?.unwrap_or(r))
}

/// The customer cancels their own deletion during the grace period.
pub async fn cancel(state: &AppState, session: &SessionRecord, id: &str, now: i64) -> Result<PrivacyRequestRecord> {
    let r = state
        .store
        .privacy_request(id)
        .await?
        .filter(|r| r.customer_id == session.customer_id)
        .ok_or(Error::NotFound)?;
    if r.kind != Kind::Deletion.as_str() || r.erase_after.is_none_or(|at| at <= now) {
        return Err(Error::bad_input("Only a deletion can be cancelled, and only before it happens."));
    }
    close(state, id, Status::Cancelled, "cancelled by the customer", &Actor::Customer(session.customer_id.clone()), now)
        .await
}

/// A customer's requests, newest first.
pub async fn of(state: &AppState, customer_id: &str) -> Result<Vec<PrivacyRequestRecord>> {
    Ok(state.store.privacy_requests_of(customer_id).await?)
}

/// Mail `to`; a mail that cannot be sent is logged, and changes nothing already done.
pub async fn tell(state: &AppState, to: &str, subject: &str, paragraphs: &[String], link: Option<(&str, &str)>) {
    let sent = match crate::mail::privacy_mail(to, subject, paragraphs, link) {
        Ok(m) => state.mailer.send(&state.mail_from, m).await,
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        tracing::error!(error = %format!("{e:#}"), subject, "a privacy mail was not sent");
    }
}
