//! Thin handlers for the account's security pages: the authenticator app with its recovery
//! codes, and the list of sessions.

use super::pages::{RecoveryCodesPage, SessionRow, SessionsPage, TotpPage};
use super::sessions;
use crate::error::{Error, Result};
use crate::login::factor_change::Renewed;
use crate::login::passkey_routes::renewed_cookie;
use crate::login::totp;
use crate::session;
use crate::state::SharedState;
use crate::store::SessionRecord;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{self, utc_minute};
use crate::web::request::Browser;
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, JustCsrf, SignedIn};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route("/account/totp", get(totp_page).post(totp_confirm))
        .route("/account/totp/recovery-codes", post(new_codes))
        .route("/account/totp/remove", post(totp_remove))
        .route("/account/sessions", get(sessions_page))
        .route("/account/sessions/end", post(end_session))
        .route("/account/sessions/end-others", post(end_others))
}

async fn signed_in(state: &SharedState, browser: &Browser) -> Result<Option<SessionRecord>> {
    session::current(state, browser.cookie(cookies::SESSION), state.now()).await
}

async fn email_of(state: &SharedState, s: &SessionRecord) -> Result<String> {
    Ok(session::customer_of(state, s).await?.email)
}

async fn totp_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
) -> Response {
    render_totp(&state, &csrf, &browser, None).await
}

async fn render_totp(state: &SharedState, csrf: &CsrfToken, browser: &Browser, error: Option<&str>) -> Response {
    let shown = async {
        let Some(s) = signed_in(state, browser).await? else { return Ok(Redirect::to("/login").into_response()) };
        let now = state.now();
        let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        if totp::enrolled(state, &s.customer_id).await? {
            let unused_codes = totp::unused_recovery_codes(state, &s.customer_id).await?;
            let page = TotpPage { csrf: &csrf.0, enrolled: true, qr_png_base64: "", secret: "", unused_codes, error };
            return Ok(pages::render(status, &page));
        }
        let email = email_of(state, &s).await?;
        let enrolment = match totp::pending_enrolment(state, &s, &email).await? {
            Some(e) if error.is_some() => e,
            _ => totp::start_enrolment(state, &s, &email, now).await?,
        };
        let page = TotpPage {
            csrf: &csrf.0,
            enrolled: false,
            qr_png_base64: &enrolment.qr_png_base64,
            secret: &enrolment.secret_base32,
            unused_codes: 0,
            error,
        };
        Ok::<_, Error>(pages::render(status, &page))
    };
    shown.await.unwrap_or_else(after_error)
}

/// A change that needs a fresh proof comes back to this page after it.
fn after_error(e: Error) -> Response {
    match e {
        Error::StepUpRequired => responses::step_up("/account/totp"),
        e => responses::page(e),
    }
}

/// The recovery codes, shown once, with the session's new secret in the cookie.
fn codes_page(state: &SharedState, codes: &[String], renewed: &Renewed) -> Response {
    let mut res = pages::render(StatusCode::OK, &RecoveryCodesPage { codes });
    res.headers_mut().append(header::SET_COOKIE, renewed_cookie(state, renewed));
    res
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn totp_confirm(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    SignedIn(s): SignedIn,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> Response {
    let done = async {
        let email = email_of(&state, &s).await?;
        totp::confirm_enrolment(&state, &s, &email, &f.code, &browser.facts(), state.now()).await
    };
    match done.await {
        Ok((codes, renewed)) => codes_page(&state, &codes, &renewed),
        Err(Error::BadInput(m)) => render_totp(&state, &csrf, &browser, Some(&m)).await,
        Err(e) => after_error(e),
    }
}

async fn new_codes(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    SignedIn(s): SignedIn,
    CsrfForm(_): CsrfForm<JustCsrf>,
) -> Response {
    match totp::regenerate_recovery_codes(&state, &s, &browser.facts(), state.now()).await {
        Ok((codes, renewed)) => codes_page(&state, &codes, &renewed),
        Err(Error::BadInput(m)) => render_totp(&state, &csrf, &browser, Some(&m)).await,
        Err(e) => after_error(e),
    }
}

async fn totp_remove(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    SignedIn(s): SignedIn,
    CsrfForm(_): CsrfForm<JustCsrf>,
) -> Response {
    match totp::remove(&state, &s, &browser.facts(), state.now()).await {
        Ok(renewed) => {
            let mut res = Redirect::to("/account?changed=1").into_response();
            res.headers_mut().append(header::SET_COOKIE, renewed_cookie(&state, &renewed));
            res
        }
        Err(Error::BadInput(m)) => render_totp(&state, &csrf, &browser, Some(&m)).await,
        Err(e) => after_error(e),
    }
}

async fn sessions_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
) -> Response {
    let shown = async {
        let now = state.now();
        let Some(current) = signed_in(&state, &browser).await? else {
            return Ok(Redirect::to("/login").into_response());
        };
        let rows: Vec<SessionRow> = sessions::list(&state, &current.customer_id, now)
            .await?
            .into_iter()
            .map(|s| SessionRow {
                current: s.id == current.id,
                device: sessions::device(&s.user_agent),
                ip: s.ip.clone(),
                created: utc_minute(s.created_at),
                last_seen: utc_minute(s.last_seen_at.max(s.created_at)),
                methods: sessions::methods(&s.amr),
                id: s.id,
            })
            .collect();
        Ok::<_, Error>(pages::render(StatusCode::OK, &SessionsPage { csrf: &csrf.0, sessions: &rows }))
    };
    shown.await.unwrap_or_else(responses::page)
}

#[derive(Deserialize)]
struct EndForm {
    #[serde(default)]
    id: String,
}

async fn end_session(
    State(state): State<SharedState>,
    browser: Browser,
    SignedIn(current): SignedIn,
    CsrfForm(f): CsrfForm<EndForm>,
) -> Response {
    let done = async {
        sessions::end_one(&state, &current, &f.id, &browser.facts(), state.now()).await?;
        Ok::<_, Error>(current.id == f.id)
    };
    match done.await {
        Ok(true) => {
            let mut res = Redirect::to("/login").into_response();
            let cookie = cookies::delete(cookies::SESSION, state.config.secure_cookies());
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Ok(false) => Redirect::to("/account/sessions").into_response(),
        Err(e) => responses::page(e),
    }
}

async fn end_others(
    State(state): State<SharedState>,
    browser: Browser,
    SignedIn(current): SignedIn,
    CsrfForm(_): CsrfForm<JustCsrf>,
) -> Response {
    match sessions::end_others(&state, &current, &browser.facts(), state.now()).await {
        Ok(_) => Redirect::to("/account/sessions").into_response(),
        Err(e) => responses::page(e),
    }
}
