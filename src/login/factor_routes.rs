//! Thin handlers for the second step of a sign-in (authenticator app or recovery code) and
//! for step-up requests from apps.

use super::passkey_routes::continue_url;
use super::session;
use super::step_up::{self, StepUp};
use super::totp::{self, Finished};
use crate::error::Error;
use crate::oidc::authorize;
use crate::state::SharedState;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{self, SecondFactorPage, StepUpPage};
use crate::web::request::Browser;
use crate::web::responses;
use axum::extract::{Form, Query, State};
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
    csrf: String,
    code: String,
}

async fn second_factor(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Form(f): Form<CodeForm>,
) -> Response {
    if let Err(e) = csrf.verify(&f.csrf) {
        return responses::page(e);
    }
    let now = state.now();
    let cookie = browser.cookie(cookies::SECOND_STEP);
    let (step, finished) = match totp::finish(&state, cookie, &f.code, &browser.facts(), now).await {
        Ok(done) => done,
        Err(Error::BadInput(m)) => {
            return pages::render(StatusCode::BAD_REQUEST, &SecondFactorPage { csrf: &csrf.0, error: Some(&m) });
        }
        Err(e) => return responses::page(e),
    };
    let secure = state.config.secure_cookies();
    let authz = step.authz.unwrap_or_default();
    let (session_id, new_cookie) = match finished {
        Finished::NewSession(new) => {
            super::routes::link_waiting_identity(&state, &browser, &new.record.customer_id, now).await;
            let max_age = session::cookie_max_age(&state, &new.record);
            (new.record.id.clone(), Some(cookies::set(cookies::SESSION, &new.token, max_age, secure)))
        }
        Finished::Upgraded(s) => (s.id, None),
    };
    if !authz.is_empty()
        && let Err(e) = authorize::mark_authenticated(&state, &authz, &session_id, now).await
    {
        tracing::info!(authz = %authz, error = %e, "second step finished for a request that is gone");
    }
    let mut res = Redirect::to(&continue_url(&authz)).into_response();
    if let Some(c) = new_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res.headers_mut().append(header::SET_COOKIE, cookies::delete(cookies::SECOND_STEP, secure));
    res
}

#[derive(Deserialize)]
struct StepUpQuery {
    authz: String,
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
    match step_up::next(&state, &q.authz, &session, now).await {
        Ok(StepUp::SecondFactor(step)) => {
            let mut res = Redirect::to("/login/second-factor").into_response();
            let cookie = cookies::set(cookies::SECOND_STEP, &step, Some(10 * 60), state.config.secure_cookies());
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Ok(StepUp::Passkey) => Redirect::to(&format!("/login?authz={}&passkey=1", q.authz)).into_response(),
        Ok(StepUp::Unreachable { client_name, wants_passkey }) => pages::render(
            StatusCode::OK,
            &StepUpPage { csrf: &csrf.0, authz: &q.authz, client_name: &client_name, wants_passkey },
        ),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct CancelForm {
    csrf: String,
    authz: String,
}

async fn step_up_cancel(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    Form(f): Form<CancelForm>,
) -> Response {
    if let Err(e) = csrf.verify(&f.csrf) {
        return responses::page(e);
    }
    match step_up::cancel(&state, &f.authz, state.now()).await {
        Ok(r) => responses::authorization(r),
        Err(e) => responses::page(e),
    }
}
