//! Thin handlers for the account page: the customer's passkeys, to rename or remove.

use super::pages::{AccountPage, PasskeyRow};
use crate::error::{Error, Result};
use crate::login::factor_change::Renewed;
use crate::login::passkey_routes::renewed_cookie;
use crate::login::{email, passkey};
use crate::session;
use crate::state::SharedState;
use crate::store::SessionRecord;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{self, utc_minute};
use crate::web::request::Browser;
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, SignedIn};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/passkeys/rename", post(rename))
        .route("/account/passkeys/remove", post(remove))
        .route("/account/identities/unlink", post(unlink))
        .route("/account/cross-device", post(cross_device))
}

async fn current(state: &SharedState, browser: &Browser) -> Result<Option<SessionRecord>> {
    session::current(state, browser.cookie(cookies::SESSION), state.now()).await
}

#[derive(Deserialize)]
struct AccountQuery {
    #[serde(default)]
    created: String,
    /// A sign-in method just changed: offer to end the other sessions.
    #[serde(default)]
    changed: String,
}

async fn account(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Query(q): Query<AccountQuery>,
) -> Response {
    let notice = if !q.created.is_empty() {
        Some("Your passkey is ready. Next time, sign in with it.")
    } else if !q.changed.is_empty() {
        Some("Your sign-in methods changed, and we sent you a mail about it.")
    } else {
        None
    };
    render(&state, &csrf, &browser, StatusCode::OK, notice, None, !q.changed.is_empty()).await
}

async fn render(
    state: &SharedState,
    csrf: &CsrfToken,
    browser: &Browser,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
    offer_end_others: bool,
) -> Response {
    let shown = async {
        let Some(session) = current(state, browser).await? else {
            return Ok(Redirect::to("/login").into_response());
        };
        let customer = session::customer_of(state, &session).await?;
        let rows: Vec<PasskeyRow> = passkey::list(state, &session.customer_id)
            .await?
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id,
                name: p.name,
                created: utc_minute(p.created_at),
                last_used: p.last_used_at.map(utc_minute).unwrap_or_else(|| "never".into()),
                kind: if p.synced { "synced" } else { "on one device" },
            })
            .collect();
        let identities = crate::login::federation::accounts::linked(state, &session.customer_id).await?;
        let cross_device = email::cross_device_approval(state, &session.customer_id).await?;
        let page = AccountPage {
            csrf: &csrf.0,
            email: &customer.email,
            passkeys: &rows,
            identities: &identities,
            cross_device,
            notice,
            error,
            offer_end_others,
        };
        Ok::<_, Error>(pages::render(status, &page))
    };
    shown.await.unwrap_or_else(responses::page)
}

#[derive(Deserialize)]
struct PasskeyForm {
    id: String,
    #[serde(default)]
    name: String,
}

async fn rename(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<PasskeyForm>,
) -> Response {
    let done = async { passkey::rename(&state, &session, &f.id, &f.name).await.map(|()| None) };
    after(&state, &csrf, &browser, done.await).await
}

async fn remove(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<PasskeyForm>,
) -> Response {
    let done = async { passkey::remove(&state, &session, &f.id, &browser.facts(), state.now()).await.map(Some) };
    after(&state, &csrf, &browser, done.await).await
}

#[derive(Deserialize)]
struct UnlinkForm {
    connector: String,
}

async fn unlink(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<UnlinkForm>,
) -> Response {
    let facts = browser.facts();
    let done = async {
        crate::login::federation::accounts::unlink(&state, &session, &f.connector, &facts, state.now()).await.map(Some)
    };
    after(&state, &csrf, &browser, done.await).await
}

#[derive(Deserialize)]
struct CrossDeviceForm {
    /// "1" to allow approving sign-ins from another device, "0" to refuse it.
    allow: String,
}

async fn cross_device(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<CrossDeviceForm>,
) -> Response {
    let done = async {
        email::set_cross_device_approval(&state, &session.customer_id, f.allow == "1", state.now()).await.map(|()| None)
    };
    after(&state, &csrf, &browser, done.await).await
}

/// Back to the account page (POST/redirect/GET), or the page again with the problem. After a
/// change to how the account signs in, the session has a new secret, and the page offers to
/// end the other sessions.
async fn after(state: &SharedState, csrf: &CsrfToken, browser: &Browser, done: Result<Option<Renewed>>) -> Response {
    match done {
        Ok(None) => Redirect::to("/account").into_response(),
        Ok(Some(renewed)) => {
            let mut res = Redirect::to("/account?changed=1").into_response();
            res.headers_mut().append(header::SET_COOKIE, renewed_cookie(state, &renewed));
            res
        }
        Err(Error::BadInput(m)) => render(state, csrf, browser, StatusCode::BAD_REQUEST, None, Some(&m), false).await,
        Err(e) => responses::page(e),
    }
}
