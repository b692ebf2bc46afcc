//! Thin handlers for the sign-in pages.

use super::email::{self, LinkOutcome, LinkView, Proven, Status};
use super::{passkey, passkey_routes, session, totp};
use crate::error::Error;
use crate::oidc::authorize;
use crate::state::SharedState;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{self, CheckMailPage, DonePage, LinkPage, LoginPage};
use crate::web::request::Browser;
use crate::web::responses;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page))
        .route("/login/email", post(start))
        .route("/login/email/wait", get(wait_page))
        .route("/login/email/status", get(status))
        .route("/login/email/code", post(code))
        .route("/login/email/finish", post(finish))
        .route("/login/link", get(link_page).post(link_use))
}

async fn home() -> Response {
    pages::render(StatusCode::OK, &DonePage { title: "Tessera", message: "Sign in from the app you were using." })
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    authz: String,
    /// Set when a step-up sends the person here for their passkey.
    #[serde(default)]
    passkey: String,
}

async fn login_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let now = state.now();
    let hint = if q.authz.is_empty() {
        String::new()
    } else {
        match authorize::load(&state, &q.authz, now).await {
            Ok(r) => r.login_hint.unwrap_or_default(),
            Err(e) => return responses::page(e),
        }
    };
    let what = LoginView { email: &hint, passkey_prompt: !q.passkey.is_empty(), ..LoginView::default() };
    render_login(&state, &csrf, &q.authz, StatusCode::OK, what).await
}

/// What the login page says besides the form.
#[derive(Default)]
pub struct LoginView<'a> {
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub passkey_prompt: bool,
}

/// The login page for authorization request `authz` (may be empty), with the app's name and
/// the enabled social sign-in buttons.
pub async fn render_login(
    state: &SharedState,
    csrf: &CsrfToken,
    authz: &str,
    status: StatusCode,
    what: LoginView<'_>,
) -> Response {
    let now = state.now();
    let client_name = match authorize::load(state, authz, now).await {
        Ok(r) => match state.clients.get(&state.store, &r.client_id, now).await {
            Ok(Some(c)) => c.name.clone(),
            _ => String::new(),
        },
        Err(_) => String::new(),
    };
    let connectors = match crate::federation::connectors::buttons(state).await {
        Ok(c) => c,
        Err(e) => return responses::page(e),
    };
    let page = LoginPage {
        csrf: &csrf.0,
        authz,
        email: what.email,
        client_name: &client_name,
        error: what.error,
        notice: what.notice,
        passkey_prompt: what.passkey_prompt,
        connectors: &connectors,
    };
    pages::render(status, &page)
}

#[derive(Deserialize)]
struct StartForm {
    csrf: String,
    email: String,
    #[serde(default)]
    authz: String,
    /// "Keep me signed in".
    #[serde(default)]
    remember: String,
}

async fn start(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Form(f): Form<StartForm>,
) -> Response {
    if let Err(e) = csrf.verify(&f.csrf) {
        return responses::page(e);
    }
    let authz = (!f.authz.is_empty()).then(|| f.authz.clone());
    match email::start(&state, &f.email, authz, !f.remember.is_empty(), &browser.network(), state.now()).await {
        Ok(binding) => {
            let mut res = Redirect::to("/login/email/wait").into_response();
            let ttl = Some(state.config.sign_in_link_ttl_secs);
            res.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(cookies::SIGN_IN, &binding, ttl, state.config.secure_cookies()),
            );
            res
        }
        Err(Error::BadInput(m)) => {
            let what = LoginView { email: &f.email, error: Some(&m), ..LoginView::default() };
            render_login(&state, &csrf, &f.authz, StatusCode::BAD_REQUEST, what).await
        }
        Err(e) => responses::page(e),
    }
}

async fn wait_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
) -> Response {
    let Some(binding) = browser.cookie(cookies::SIGN_IN) else {
        return Redirect::to("/login").into_response();
    };
    match email::waiting_for(&state, binding, state.now()).await {
        Ok(address) => pages::render(StatusCode::OK, &CheckMailPage { csrf: &csrf.0, email: &address, error: None }),
        Err(e) => responses::page(e),
    }
}

async fn status(State(state): State<SharedState>, browser: Browser) -> Response {
    let s = match browser.cookie(cookies::SIGN_IN) {
        Some(b) => email::status(&state, b, state.now()).await,
        None => Ok(Status::Gone),
    };
    match s {
        Ok(s) => Json(json!({ "status": match s { Status::Waiting => "waiting", Status::Approved => "approved", Status::Gone => "gone" } }))
            .into_response(),
        Err(e) => responses::oauth_json(e),
    }
}

/// A social identity that waited for this account to be proven is linked now.
pub async fn link_waiting_identity(state: &SharedState, browser: &Browser, customer_id: &str, now: i64) {
    let cookie = browser.cookie(cookies::FEDERATION_LINK);
    if let Err(e) = crate::federation::accounts::link_after_proof(state, cookie, customer_id, now).await {
        tracing::warn!(error = %e, "linking the waiting identity failed");
    }
}

/// Open the session in this browser and continue the authorization it came from.
async fn signed_in(state: &SharedState, browser: &Browser, proven: Proven) -> Response {
    let now = state.now();
    let secure = state.config.secure_cookies();
    // An account with an authenticator app needs it as the second step.
    match totp::second_step_after_email(state, &proven.email, proven.authz.clone(), proven.remember).await {
        Ok(Some(step)) => {
            let mut res = Redirect::to("/login/second-factor").into_response();
            let ttl = Some(10 * 60);
            res.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::SECOND_STEP, &step, ttl, secure));
            res.headers_mut().append(header::SET_COOKIE, cookies::delete(cookies::SIGN_IN, secure));
            return res;
        }
        Ok(None) => {}
        Err(e) => return responses::page(e),
    }
    let new = match session::sign_in_with_email(state, &proven.email, &browser.facts(), proven.remember, now).await {
        Ok(s) => s,
        Err(e) => return responses::page(e),
    };
    link_waiting_identity(state, browser, &new.record.customer_id, now).await;
    if let Some(id) = &proven.authz {
        // An expired request is reported to the person by the resume step that follows.
        if let Err(e) = authorize::mark_authenticated(state, id, &new.record.id, now).await {
            tracing::info!(authz = %id, error = %e, "sign-in finished for a request that is gone");
        }
    }
    let authz = proven.authz.unwrap_or_default();
    // After an email sign-in, offer a passkey (at most once a week, never nagging).
    let next = match passkey::should_offer(state, &new.record.customer_id, now).await {
        Ok(true) => format!("/passkey/offer?authz={authz}"),
        Ok(false) => passkey_routes::continue_url(&authz),
        Err(e) => return responses::page(e),
    };
    let mut res = Redirect::to(&next).into_response();
    let max_age = session::cookie_max_age(state, &new.record);
    res.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::SESSION, &new.token, max_age, secure));
    res.headers_mut().append(header::SET_COOKIE, cookies::delete(cookies::SIGN_IN, secure));
    res
}

#[derive(Deserialize)]
struct CodeForm {
    csrf: String,
    code: String,
}

async fn code(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Form(f): Form<CodeForm>,
) -> Response {
    if let Err(e) = csrf.verify(&f.csrf) {
        return responses::page(e);
    }
    let Some(binding) = browser.cookie(cookies::SIGN_IN) else {
        return responses::page(Error::bad_input("This sign-in has expired or was already used. Ask for a new mail."));
    };
    let now = state.now();
    match email::verify_code(&state, binding, &f.code, now).await {
        Ok(proven) => signed_in(&state, &browser, proven).await,
        Err(Error::BadInput(m)) => match email::waiting_for(&state, binding, now).await {
            Ok(address) => pages::render(
                StatusCode::BAD_REQUEST,
                &CheckMailPage { csrf: &csrf.0, email: &address, error: Some(&m) },
            ),
            Err(_) => responses::page(Error::BadInput(m)),
        },
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn finish(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(e) = csrf.verify(&f.csrf) {
        return responses::page(e);
    }
    let Some(binding) = browser.cookie(cookies::SIGN_IN) else {
        return responses::page(Error::bad_input("This sign-in has expired or was already used. Ask for a new mail."));
    };
    match email::finish_approved(&state, binding, state.now()).await {
        Ok(proven) => signed_in(&state, &browser, proven).await,
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct LinkQuery {
    #[serde(default)]
    token: String,
}

/// GET only shows a button: mail scanners that pre-fetch links neither burn nor use them.
async fn link_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Query(q): Query<LinkQuery>,
) -> Response {
    match email::inspect_link(&state, &q.token, browser.cookie(cookies::SIGN_IN), state.now()).await {
        Ok(LinkView::SameBrowser { email }) => pages::render(
            StatusCode::OK,
            &LinkPage { csrf: &csrf.0, token: &q.token, email: &email, same_browser: true },
        ),
        Ok(LinkView::OtherBrowser { email }) => pages::render(
            StatusCode::OK,
            &LinkPage { csrf: &csrf.0, token: &q.token, email: &email, same_browser: false },
        ),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct LinkForm {
    csrf: String,
    token: String,
}

async fn link_use(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Form(f): Form<LinkForm>,
) -> Response {
    if let Err(e) = csrf.verify(&f.csrf) {
        return responses::page(e);
    }
    match email::use_link(&state, &f.token, browser.cookie(cookies::SIGN_IN), state.now()).await {
        Ok(LinkOutcome::SignedIn(proven)) => signed_in(&state, &browser, proven).await,
        Ok(LinkOutcome::ApprovedElsewhere) => pages::render(
            StatusCode::OK,
            &DonePage { title: "Sign-in approved", message: "Go back to your other device: it continues by itself." },
        ),
        Err(e) => responses::page(e),
    }
}
