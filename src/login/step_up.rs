//! Step-up: a signed-in person is asked for the factor that is missing for the level an app
//! asked for, not for a whole new sign-in.

use super::totp::{self, SecondStep};
use crate::error::{Error, Result};
use crate::oidc::authorize;
use crate::oidc::redirect::AuthorizationResponse;
use crate::session::{self, ACR_MFA, ACR_PASSKEY, acr_level};
use crate::state::AppState;
use crate::store::SessionRecord;

/// What the person is asked to do.
pub enum StepUp {
    /// Type a code from the authenticator app (the cookie secret of the parked step).
    SecondFactor(String),
    /// Use a passkey (on the login page of this request).
    Passkey,
    /// Nothing enrolled reaches the level: offer to set something up, or cancel.
    Unreachable { client_name: String, wants_passkey: bool },
    /// Prove the mailbox again (an account with no other factor).
    Mailbox,
}

pub async fn next(state: &AppState, authz: &str, session: &SessionRecord, now: i64) -> Result<StepUp> {
    let request = authorize::load(state, authz, now).await?;
    let required = request.acr_required.clone().unwrap_or_else(|| ACR_MFA.to_string());
    let has_totp = totp::enrolled(state, &session.customer_id).await?;
    let has_passkey = !state.store.passkeys_of(&session.customer_id).await?.is_empty();
    if acr_level(&required) <= acr_level(ACR_MFA) && has_totp {
        let step = SecondStep {
            customer_id: session.customer_id.clone(),
            first_amr: session.amr.clone(),
            authz: Some(authz.to_string()),
            remember: session.persistent != 0,
            upgrade_session: Some(session.id.clone()),
        };
        return Ok(StepUp::SecondFactor(totp::park(state, &step).await?));
    }
    if acr_level(&required) <= acr_level(ACR_PASSKEY) && has_passkey {
        return Ok(StepUp::Passkey);
    }
    let client_name = match state.clients.get(&state.store, &request.client_id, now).await? {
        Some(c) => c.name.clone(),
        None => String::new(),
    };
    Ok(StepUp::Unreachable { client_name, wants_passkey: required == ACR_PASSKEY })
}

/// The person cancelled, or could not step up: the client hears
/// `unmet_authentication_requirements`.
pub async fn cancel(state: &AppState, authz: &str, now: i64) -> Result<AuthorizationResponse> {
    let e = Error::UnmetAuthenticationRequirements("the end-user could not reach the requested level");
    authorize::fail(state, authz, e, now).await
}

/// Whether a session is recent and strong enough for a sensitive action: `acr` (or
/// stronger) within `within_ms`. Privacy requests and factor changes use this.
pub fn satisfied(session: &SessionRecord, acr: &str, within_ms: i64, now: i64) -> bool {
    session::fresh_enough(session, acr, within_ms, now)
}

/// What proves the account's strongest level again, before a change to its factors
/// (`factor_change::require_fresh`): the authenticator app as a step-up of this session, a
/// passkey, or the mailbox for an account with nothing else.
pub async fn for_change(state: &AppState, session: &SessionRecord) -> Result<StepUp> {
    Ok(match session::strongest_level(state, &session.customer_id).await? {
        ACR_PASSKEY => StepUp::Passkey,
        ACR_MFA => {
            let step = SecondStep {
                customer_id: session.customer_id.clone(),
                first_amr: session.amr.clone(),
                authz: None,
                remember: session.persistent != 0,
                upgrade_session: Some(session.id.clone()),
            };
            StepUp::SecondFactor(totp::park(state, &step).await?)
        }
        _ => StepUp::Mailbox,
    })
}
