//! Thin handlers for the sign-in pages.

use super::approval::Approval;
use super::email::{self, Asker, LinkOutcome, LinkView, Proven, Status};
use super::finish::{self, Attempt, Opened};
use super::pages::{CheckMailPage, LinkPage, LoginPage};
use super::passkey;
use crate::error::Error;
use crate::oidc::authorize;
use crate::session::{self, NewSession};
use crate::state::SharedState;
use crate::store::SessionRecord;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{self, DonePage};
use crate::web::request::Browser;
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, JustCsrf};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
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
    /// A page of the account area to return to after signing in (a step-up for a change).
    #[serde(default)]
    next: String,
}

async fn login_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let now = state.now();
    let request = if q.authz.is_empty() {
        None
    } else {
        match authorize::load(&state, &q.authz, now).await {
            Ok(r) => Some(r),
            Err(e) => return responses::page(e),
        }
    };
    let hint = request.as_ref().and_then(|r| r.login_hint.clone()).unwrap_or_default();
    let notice = request.as_ref().is_some_and(|r| r.account_mismatch).then_some(
        "The app asks for another account than the one you are signed in with. Sign in with that account, or with another one to switch.",
    );
    let what = LoginView { email: &hint, passkey_prompt: !q.passkey.is_empty(), notice, ..LoginView::default() };
    let mut res = render_login(&state, &csrf, &q.authz, StatusCode::OK, what).await;
    if let Some(next) = finish::valid_next(&q.next) {
        let cookie = cookies::set(cookies::NEXT, next, Some(15 * 60), state.config.secure_cookies());
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    res
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
    let (client_name, sign_up) = match authorize::load(state, authz, now).await {
        Ok(r) => match state.clients.get(&state.store, &r.client_id, now).await {
            Ok(Some(c)) => (c.name.clone(), r.prompt_create),
            _ => (String::new(), r.prompt_create),
        },
        Err(_) => (String::new(), false),
    };
    let connectors = match crate::login::federation::connectors::buttons(state).await {
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
        sign_up,
        connectors: &connectors,
    };
    pages::render(status, &page)
}

#[derive(Deserialize)]
struct StartForm {
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
    CsrfForm(f): CsrfForm<StartForm>,
) -> Response {
    let authz = (!f.authz.is_empty()).then(|| f.authz.clone());
    let network = browser.network();
    let asker = Asker { ip: &browser.ip, network: &network, user_agent: &browser.user_agent };
    match email::start(&state, &f.email, authz, !f.remember.is_empty(), &asker, state.now()).await {
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
        Ok(w) => pages::render(
            StatusCode::OK,
            &CheckMailPage { csrf: &csrf.0, email: &w.email, number: w.number, error: None },
        ),
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
pub async fn link_waiting_identity(state: &SharedState, browser: &Browser, session: &SessionRecord, now: i64) {
    let cookie = browser.cookie(cookies::FEDERATION_LINK);
    if let Err(e) =
        crate::login::federation::accounts::link_after_proof(state, cookie, session, &browser.facts(), now).await
    {
        tracing::warn!(error = %e, "linking the waiting identity failed");
    }
}

/// The tail of every sign-in that opened a session: the provider identity that waited for
/// this proof is linked, the authorization is marked authenticated, and the session cookie
/// is set. Returns where to continue and the cookies to set.
pub async fn landed(
    state: &SharedState,
    browser: &Browser,
    new: &NewSession,
    authz: &str,
    now: i64,
) -> (String, Vec<HeaderValue>) {
    link_waiting_identity(state, browser, &new.record, now).await;
    // An expired request is reported to the person by the resume step that follows.
    if !authz.is_empty()
        && let Err(e) = authorize::mark_authenticated(state, authz, &new.record.id, now).await
    {
        tracing::info!(authz = %authz, error = %e, "sign-in finished for a request that is gone");
    }
    let next = finish::continue_url(authz, browser.cookie(cookies::NEXT));
    let secure = state.config.secure_cookies();
    let max_age = session::cookie_max_age(state, &new.record);
    (next, vec![cookies::set(cookies::SESSION, &new.token, max_age, secure), cookies::delete(cookies::NEXT, secure)])
}

/// The session this browser holds now, if any (a new sign-in renews or replaces it).
pub async fn previous_session(state: &SharedState, browser: &Browser) -> crate::error::Result<Option<SessionRecord>> {
    session::current(state, browser.cookie(cookies::SESSION), state.now()).await
}

/// Open the session in this browser and continue the authorization it came from.
async fn signed_in(state: &SharedState, browser: &Browser, proven: Proven) -> Response {
    let now = state.now();
    let secure = state.config.secure_cookies();
    let opened = async {
        let previous = previous_session(state, browser).await?;
        let a = Attempt {
            authz: proven.authz.clone(),
            remember: proven.remember,
            browser: browser.facts(),
            previous,
            method: proven.method,
        };
        finish::after_email(state, &proven.email, &a, now).await
    };
    let authz = proven.authz.clone().unwrap_or_default();
    let mut res = match opened.await {
        // An account with an authenticator app needs it as the second step.
        Ok(Opened::SecondStep(step)) => {
            let mut res = Redirect::to("/login/second-factor").into_response();
            res.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::SECOND_STEP, &step, Some(600), secure));
            res
        }
        Ok(Opened::Review(new)) => {
            let mut res = Redirect::to(&format!("/login/review?authz={authz}")).into_response();
            let max_age = session::cookie_max_age(state, &new.record);
            res.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::SESSION, &new.token, max_age, secure));
            res
        }
        Ok(Opened::Session(new)) => {
            let (mut next, set) = landed(state, browser, &new, &authz, now).await;
            // After an email sign-in, offer a passkey (at most once a week, never nagging).
            match passkey::should_offer(state, &new.record.customer_id, now).await {
                Ok(true) => next = format!("/passkey/offer?authz={authz}"),
                Ok(false) => {}
                Err(e) => return responses::page(e),
            }
            let mut res = Redirect::to(&next).into_response();
            for c in set {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            res
        }
        Err(e) => return responses::page(e),
    };
    res.headers_mut().append(header::SET_COOKIE, cookies::delete(cookies::SIGN_IN, secure));
    res
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn code(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> Response {
    let Some(binding) = browser.cookie(cookies::SIGN_IN) else {
        return responses::page(Error::bad_input("This sign-in has expired or was already used. Ask for a new mail."));
    };
    let now = state.now();
    match email::verify_code(&state, binding, &f.code, &browser.facts(), now).await {
        Ok(proven) => signed_in(&state, &browser, proven).await,
        Err(Error::BadInput(m)) => match email::waiting_for(&state, binding, now).await {
            Ok(w) => pages::render(
                StatusCode::BAD_REQUEST,
                &CheckMailPage { csrf: &csrf.0, email: &w.email, number: w.number, error: Some(&m) },
            ),
            Err(_) => responses::page(Error::BadInput(m)),
        },
        Err(e) => responses::page(e),
    }
}

async fn finish(State(state): State<SharedState>, browser: Browser, CsrfForm(_): CsrfForm<JustCsrf>) -> Response {
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
    let page = |email: &str, same_browser: bool, approval: Option<&Approval>| {
        pages::render(StatusCode::OK, &LinkPage { csrf: &csrf.0, token: &q.token, email, same_browser, approval })
    };
    match email::inspect_link(&state, &q.token, browser.cookie(cookies::SIGN_IN), state.now()).await {
        Ok(LinkView::SameBrowser { email }) => page(&email, true, None),
        Ok(LinkView::OtherBrowser { email, approval }) => page(&email, false, Some(&approval)),
        Ok(LinkView::CrossDeviceOff { email }) => page(&email, false, None),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct LinkForm {
    token: String,
    /// The number picked on the approval page (another browser only).
    #[serde(default)]
    number: String,
}

async fn link_use(State(state): State<SharedState>, browser: Browser, CsrfForm(f): CsrfForm<LinkForm>) -> Response {
    let pick = f.number.trim().parse::<u8>().ok();
    let facts = browser.facts();
    match email::use_link(&state, &f.token, browser.cookie(cookies::SIGN_IN), pick, &facts, state.now()).await {
        Ok(LinkOutcome::SignedIn(proven)) => signed_in(&state, &browser, proven).await,
        Ok(LinkOutcome::ApprovedElsewhere) => pages::render(
            StatusCode::OK,
            &DonePage { title: "Sign-in approved", message: "Go back to your other device: it continues by itself." },
        ),
        Ok(LinkOutcome::Voided) => pages::render(
            StatusCode::OK,
            &DonePage {
                title: "Sign-in stopped",
                message: "That number did not match the one on the device asking to sign in, so that sign-in is \
                          void and nobody was signed in. If it was you, ask for a new mail there.",
            },
        ),
        Err(e) => responses::page(e),
    }
}
