//! Thin handlers for the consents page of the privacy centre: per app what it may know
//! (scopes) and do (purposes, with their channels, policy versions and receipts), and giving
//! or withdrawing any of it. Every change takes effect everywhere at once and is a consent
//! the customer must give themselves (GDPR Art. 7(1): the controller must be able to show the
//! data subject consented), so each needs a recent proof at the account's strongest level: a
//! stolen session is not enough.

use super::centre_pages::{ConsentsPage, consent_rows};
use crate::consent::centre;
use crate::consent::channels;
use crate::consent::ledger::{Channel, Context};
use crate::consent::withdrawal::{self, WithdrawalInput};
use crate::error::{Error, Result};
use crate::login::factor_change;
use crate::state::SharedState;
use crate::store::SessionRecord;
use crate::web::csrf::CsrfToken;
use crate::web::pages;
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, SignedIn};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

const PAGE: &str = "/account/privacy";

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route(PAGE, get(privacy_page))
        .route("/account/privacy/withdraw", post(withdraw))
        .route("/account/privacy/grant", post(grant))
        .route("/account/privacy/channels", post(set_channels))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    withdrawn: String,
    #[serde(default)]
    granted: String,
    #[serde(default)]
    channels: String,
}

async fn privacy_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let view = match centre::view(&state, &session.customer_id).await {
        Ok(v) => v,
        Err(e) => return responses::page(e),
    };
    let (apps, policies) = consent_rows(view);
    let notice = if !q.withdrawn.is_empty() {
        Some("Withdrawn. It took effect in every app at once.")
    } else if !q.granted.is_empty() {
        Some("Granted. You can withdraw it here at any time.")
    } else if !q.channels.is_empty() {
        Some("Your channels are saved.")
    } else {
        None
    };
    pages::render(StatusCode::OK, &ConsentsPage { csrf: &csrf.0, apps: &apps, policies: &policies, notice })
}

fn from_centre(session: &SessionRecord) -> Context<'_> {
    Context { channel: Channel::PrivacyCentre, session_id: Some(&session.id), ip: Some(&session.ip) }
}

/// Back to the page with what happened, or to a fresh proof (and back here after it).
fn after(done: Result<()>, what: &str) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("{PAGE}?{what}=1")).into_response(),
        Err(Error::StepUpRequired) => responses::step_up(PAGE),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct WithdrawForm {
    client_id: String,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

async fn withdraw(
    State(state): State<SharedState>,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<WithdrawForm>,
) -> Response {
    let now = state.now();
    let done = async {
        factor_change::require_fresh(&state, &session, now).await?;
        let what = WithdrawalInput { purpose: f.purpose, scope: f.scope };
        withdrawal::withdraw_input(&state, &session.customer_id, &f.client_id, &what, from_centre(&session), now).await
    };
    after(done.await.map(|_| ()), "withdrawn")
}

#[derive(Deserialize)]
struct GrantForm {
    client_id: String,
    purpose: String,
}

async fn grant(
    State(state): State<SharedState>,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<GrantForm>,
) -> Response {
    let now = state.now();
    let done = async {
        factor_change::require_fresh(&state, &session, now).await?;
        centre::grant(&state, &session.customer_id, &f.client_id, &f.purpose, from_centre(&session), now).await
    };
    after(done.await.map(|_| ()), "granted")
}

/// A ticked box per channel: `email=1`, `sms=1`, `push=1`, `phone=1`.
#[derive(Deserialize)]
struct ChannelsForm {
    client_id: String,
    purpose: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    sms: Option<String>,
    #[serde(default)]
    push: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

async fn set_channels(
    State(state): State<SharedState>,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<ChannelsForm>,
) -> Response {
    let now = state.now();
    let ticked = [&f.email, &f.sms, &f.push, &f.phone];
    let wanted: Vec<String> =
        channels::KNOWN.iter().zip(ticked).filter(|(_, on)| on.is_some()).map(|(c, _)| c.to_string()).collect();
    let done = async {
        factor_change::require_fresh(&state, &session, now).await?;
        let ctx = from_centre(&session);
        channels::set(&state, &session.customer_id, &f.client_id, &f.purpose, &wanted, ctx, now).await
    };
    after(done.await.map(|_| ()), "channels")
}
