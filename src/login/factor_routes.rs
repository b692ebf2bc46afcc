//! Thin handlers for the second step of a sign-in (authenticator app or recovery code) and
//! for step-up requests from apps.

use super::finish;
use super::pages::{SecondFactorPage, StepUpPage};
use super::step_up::{self, StepUp};
use super::totp::{self, Finished};
use crate::error::Error;
use crate::session;
use crate::state::SharedState;
use crate::store::SessionRecord;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::pages;
use crate::web::request::Browser;
use crate::web::responses;
use crate::web::signed_in::CsrfForm;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route("/login/second-factor", get(second_factor_page).post(second_factor))
        .route("/login/step-up", get(step_up_page))
        .route("/login/step-up/cancel", post(step_up_cancel))
}

async fn second_factor_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
) -> Response {
    match totp::parked(&state, browser.cookie(cookies::SECOND_STEP)).await {
        Ok(_) => pages::render(StatusCode::OK, &SecondFactorPage { csrf: &csrf.0, error: None }),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn second_factor(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> Response {
    let now = state.now();
    let cookie = browser.cookie(cookies::SECOND_STEP);
    let finished = async {
        let previous = super::routes::previous_session(&state, &browser).await?;
        totp::finish(&state, cookie, &f.code, browser.facts(), previous, now).await
    };
    let (step, finished) = match finished.await {
        Ok(done) => done,
        Err(Error::BadInput(m)) => {
            return pages::render(StatusCode::BAD_REQUEST, &SecondFactorPage { csrf: &csrf.0, error: Some(&m) });
        }
        Err(e) => return responses::page(e),
    };
    let authz = step.authz.unwrap_or_default();
    let (Finished::NewSession(new) | Finished::Upgraded(new)) = finished;
    let (next, set) = super::routes::landed(&state, &browser, &new, &authz, now).await;
    let mut res = Redirect::to(&next).into_response();
    for c in set {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res.headers_mut().append(header::SET_COOKIE, cookies::delete(cookies::SECOND_STEP, state.config.secure_cookies()));
    res
}

#[derive(Deserialize)]
struct StepUpQuery {
    /// The authorization request that asked for a stronger level…
    #[serde(default)]
    authz: String,
    /// …or the page of the account area where a change waits for a fresh proof.
    #[serde(default)]
    next: String,
}

async fn step_up_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Query(q): Query<StepUpQuery>,
) -> Response {
    let now = state.now();
    let session = match session::current(&state, browser.cookie(cookies::SESSION), now).await {
        Ok(Some(s)) => s,
        Ok(None) => return Redirect::to(&format!("/login?authz={}", q.authz)).into_response(),
        Err(e) => return responses::page(e),
    };
    if q.authz.is_empty() {
        return step_up_for_change(&state, &session, &q.next).await;
    }
    match step_up::next(&state, &q.authz, &session, now).await {
        Ok(StepUp::SecondFactor(step)) => {
            let mut res = Redirect::to("/login/second-factor").into_response();
            let cookie = cookies::set(cookies::SECOND_STEP, &step, Some(10 * 60), state.config.secure_cookies());
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Ok(StepUp::Passkey) => Redirect::to(&format!("/login?authz={}&passkey=1", q.authz)).into_response(),
        Ok(StepUp::Mailbox) => Redirect::to(&format!("/login?authz={}", q.authz)).into_response(),
        Ok(StepUp::Unreachable { client_name, wants_passkey }) => pages::render(
            StatusCode::OK,
            &StepUpPage { csrf: &csrf.0, authz: &q.authz, client_name: &client_name, wants_passkey },
        ),
        Err(e) => responses::page(e),
    }
}

/// A change in the account area needs a fresh proof at the account's strongest level: ask for
/// it in place, then come back to `next`.
async fn step_up_for_change(state: &SharedState, session: &SessionRecord, next: &str) -> Response {
    let next = finish::valid_next(next).unwrap_or("/account");
    let secure = state.config.secure_cookies();
    let mut res = match step_up::for_change(state, session).await {
        Ok(StepUp::SecondFactor(step)) => {
            let mut res = Redirect::to("/login/second-factor").into_response();
            res.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::SECOND_STEP, &step, Some(600), secure));
            res
        }
        Ok(StepUp::Passkey) => Redirect::to(&format!("/login?passkey=1&next={next}")).into_response(),
        Ok(_) => Redirect::to(&format!("/login?next={next}")).into_response(),
        Err(e) => return responses::page(e),
    };
    res.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::NEXT, next, Some(15 * 60), secure));
    res
}

#[derive(Deserialize)]
struct CancelForm {
    authz: String,
}

async fn step_up_cancel(State(state): State<SharedState>, CsrfForm(f): CsrfForm<CancelForm>) -> Response {
    match step_up::cancel(&state, &f.authz, state.now()).await {
        Ok(r) => crate::oidc::routes::authorization_response(r),
        Err(e) => responses::page(e),
    }
}
