//! Changing how an account signs in: adding or removing a passkey, enrolling or removing the
//! authenticator app, new recovery codes, unlinking a provider.
//!
//! Threat model: a phished mail code gives an email-level session. If that session could add
//! a passkey or an app, it would upgrade itself to the levels apps ask for in step-up and
//! lock the owner out. So every change needs a proof at the account's strongest level within
//! ten minutes (`require_fresh`); the person is asked for it in place and comes back. Every
//! change gives the session a new secret and is mailed to the customer (`changed`).

use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, Entry};
use crate::session::{self, Browser};
use crate::state::AppState;
use crate::store::SessionRecord;

/// How recent the proof at the account's strongest level must be.
pub const WINDOW_MS: i64 = 10 * 60 * 1000;

/// Refuse (`StepUpRequired`) unless `session` proved the account's strongest level recently.
pub async fn require_fresh(state: &AppState, session: &SessionRecord, now: i64) -> Result<()> {
    let level = session::strongest_level(state, &session.customer_id).await?;
    if session::fresh_enough(session, level, WINDOW_MS, now) { Ok(()) } else { Err(Error::StepUpRequired) }
}

/// What changed, in words for the mail ("A passkey was added").
pub enum Change {
    PasskeyAdded,
    PasskeyRemoved,
    AppAdded,
    AppRemoved,
    RecoveryCodes,
    IdentityLinked,
    IdentityUnlinked,
}

impl Change {
    fn words(&self) -> &'static str {
        match self {
            Change::PasskeyAdded => "A passkey was added",
            Change::PasskeyRemoved => "A passkey was removed",
            Change::AppAdded => "An authenticator app was added",
            Change::AppRemoved => "The authenticator app was removed",
            Change::RecoveryCodes => "You made new recovery codes",
            Change::IdentityLinked => "A social sign-in was linked",
            Change::IdentityUnlinked => "A social sign-in was unlinked",
        }
    }

    /// The audit action and the factor it is about.
    fn audited(&self) -> (&'static str, &'static str) {
        match self {
            Change::PasskeyAdded => ("factor.added", "passkey"),
            Change::PasskeyRemoved => ("factor.removed", "passkey"),
            Change::AppAdded => ("factor.added", "authenticator_app"),
            Change::AppRemoved => ("factor.removed", "authenticator_app"),
            Change::RecoveryCodes => ("factor.added", "recovery_codes"),
            Change::IdentityLinked => ("factor.added", "federated_identity"),
            Change::IdentityUnlinked => ("factor.removed", "federated_identity"),
        }
    }
}

/// The session's new secret after a change: the route must put it in the cookie.
#[must_use]
pub struct Renewed {
    pub token: String,
    pub max_age: Option<i64>,
}

/// After a change: a new session secret, and a mail to the customer saying what changed,
/// when, from which device, with a link to the security page. A mail that cannot be sent
/// does not undo the change; it is logged.
pub async fn changed(
    state: &AppState,
    session: &SessionRecord,
    change: Change,
    browser: &Browser<'_>,
    now: i64,
) -> Result<Renewed> {
    let token = session::rotate(state, session).await?;
    notify(state, session, change, browser, now).await?;
    Ok(Renewed { token, max_age: session::cookie_max_age(state, session) })
}

/// Record the change in the audit log, and mail the customer what changed, when and from
/// which device (the session's browser).
pub async fn notify(
    state: &AppState,
    session: &SessionRecord,
    change: Change,
    browser: &Browser<'_>,
    now: i64,
) -> Result<()> {
    tracing::info!(customer = %session.customer_id, change = change.words(), "sign-in methods changed");
    let (action, factor) = change.audited();
    let customer = session.customer_id.as_str();
    let entry = Entry::new(Actor::Customer(customer.into()), action, Some(customer))
        .from(browser)
        .detail(serde_json::json!({ "factor": factor, "session": session.id }));
    audit::record(state, entry, now).await?;
    if let Some(customer) = state.store.customer(&session.customer_id).await? {
        let when = chrono::DateTime::from_timestamp_millis(now)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let device = session::device(&session.user_agent);
        let mail = crate::mail::factor_changed_mail(
            &customer.email,
            change.words(),
            &when,
            &device,
            &state.url("/account/sessions"),
        );
        let sent = match mail {
            Ok(m) => state.mailer.send(&state.mail_from, m).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::error!(error = %format!("{e:#}"), "the mail about a changed sign-in method was not sent");
        }
    }
    Ok(())
}
