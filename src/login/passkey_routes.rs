//! Thin handlers for passkeys: the JSON ceremony endpoints that `static/webauthn.js` calls,
//! and the "create a passkey" offer page. JSON requests carry the CSRF token in the
//! `X-CSRF-Token` header.

use super::factor_change::Renewed;
use super::pages::PasskeyOfferPage;
use super::passkey::{self, PublicKeyCredential, RegisterPublicKeyCredential};
use crate::error::{Error, Result};
use crate::events::audit;
use crate::session;
use crate::state::SharedState;
use crate::store::SessionRecord;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::pages;
use crate::web::request::Browser;
use crate::web::responses;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route("/passkey/register/start", post(register_start))
        .route("/passkey/register/finish", post(register_finish))
        .route("/passkey/sign-in/start", post(sign_in_start))
        .route("/passkey/sign-in/finish", post(sign_in_finish))
        .route("/passkey/offer", get(offer_page))
}

/// Where the person goes once signed in: back into the authorization, or their account.
pub fn continue_url(authz: &str) -> String {
    super::finish::continue_url(authz, None)
}

fn check_csrf(csrf: &CsrfToken, headers: &HeaderMap) -> Result<()> {
    csrf.verify(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or(""))
}

async fn signed_in(state: &SharedState, browser: &Browser) -> Result<SessionRecord> {
    session::current(state, browser.cookie(cookies::SESSION), state.now())
        .await?
        .ok_or_else(|| Error::bad_input("Your session has ended. Sign in again."))
}

/// A JSON error a person can read: `{"error": "..."}`; when a fresh proof is needed first,
/// `step_up` says where the script sends the person.
fn json_error(e: Error) -> Response {
    if let Error::StepUpRequired = e {
        let body = json!({
            "error": "Confirm it is you before adding a passkey.",
            "step_up": responses::step_up_url("/account"),
        });
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    let message = match &e {
        Error::BadInput(m) => m.to_string(),
        Error::NotFound => "This passkey no longer exists.".into(),
        Error::Internal(cause) => {
            tracing::error!(error = %format!("{cause:#}"), "passkey request failed");
            "Something went wrong on our side. Please try again in a moment.".into()
        }
        Error::Unavailable(cause) => {
            tracing::warn!(error = %format!("{cause:#}"), "passkey request failed: a service is down");
            "We cannot do this right now. Please try again in a moment.".into()
        }
        other => other.description().to_string(),
    };
    let status = match e {
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut res = (status, Json(json!({ "error": message }))).into_response();
    if let Error::RateLimited { retry_after_secs, .. } = e {
        res.headers_mut().insert(header::RETRY_AFTER, retry_after_secs.into());
    }
    res
}

fn with_ceremony_cookie(state: &SharedState, body: impl serde::Serialize, ceremony: &str) -> Response {
    let mut res = Json(body).into_response();
    let cookie =
        cookies::set(cookies::WEBAUTHN, ceremony, Some(passkey::CEREMONY_TTL_SECS), state.config.secure_cookies());
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

async fn register_start(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    browser: Browser,
) -> Response {
    let started = async {
        check_csrf(&csrf, &headers)?;
        let session = signed_in(&state, &browser).await?;
        let customer = session::customer_of(&state, &session).await?;
        passkey::start_registration(&state, &session, &customer.email, state.now()).await
    };
    match started.await {
        Ok((id, options)) => with_ceremony_cookie(&state, options, &id),
        Err(e) => json_error(e),
    }
}

#[derive(Deserialize)]
struct RegisterFinish {
    credential: RegisterPublicKeyCredential,
    #[serde(default)]
    name: String,
}

async fn register_finish(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    browser: Browser,
    Json(body): Json<RegisterFinish>,
) -> Response {
    let finished = async {
        check_csrf(&csrf, &headers)?;
        let session = signed_in(&state, &browser).await?;
        let ceremony = browser.cookie(cookies::WEBAUTHN).unwrap_or("");
        let facts = browser.facts();
        passkey::finish_registration(&state, ceremony, &session, &body.credential, &body.name, &facts, state.now())
            .await
    };
    match finished.await {
        Ok((p, renewed)) => {
            let mut res = Json(json!({ "id": p.id, "name": p.name })).into_response();
            res.headers_mut().append(header::SET_COOKIE, renewed_cookie(&state, &renewed));
            res
        }
        Err(e) => json_error(e),
    }
}

async fn sign_in_start(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    browser: Browser,
) -> Response {
    if let Err(e) = check_csrf(&csrf, &headers) {
        return json_error(e);
    }
    // Each start stores a ceremony for anyone who asks: bound them per client network.
    let limit = state.config.passkey_sign_in_starts_per_minute;
    if let Err(e) = audit::per_network(&state, "passkey-start", &browser.facts(), limit, state.now()).await {
        return json_error(e);
    }
    match passkey::start_sign_in(&state).await {
        Ok((id, options)) => with_ceremony_cookie(&state, options, &id),
        Err(e) => json_error(e),
    }
}

#[derive(Deserialize)]
struct SignInFinish {
    credential: PublicKeyCredential,
    #[serde(default)]
    authz: String,
    /// "Keep me signed in" was ticked on the login page.
    #[serde(default)]
    remember: bool,
}

async fn sign_in_finish(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    browser: Browser,
    Json(body): Json<SignInFinish>,
) -> Response {
    if let Err(e) = check_csrf(&csrf, &headers) {
        return json_error(e);
    }
    let now = state.now();
    let ceremony = browser.cookie(cookies::WEBAUTHN).unwrap_or("");
    let signed = async {
        let previous = super::routes::previous_session(&state, &browser).await?;
        let facts = browser.facts();
        passkey::finish_sign_in(&state, ceremony, &body.credential, &facts, previous.as_ref(), body.remember, now).await
    };
    let new = match signed.await {
        Ok(new) => new,
        Err(e) => return json_error(e),
    };
    let (next, set) = super::routes::landed(&state, &browser, &new, &body.authz, now).await;
    let mut res = Json(json!({ "redirect": next })).into_response();
    for c in set {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res.headers_mut().append(header::SET_COOKIE, cookies::delete(cookies::WEBAUTHN, state.config.secure_cookies()));
    res
}

/// The session cookie with the secret a factor change gave the session.
pub fn renewed_cookie(state: &SharedState, renewed: &Renewed) -> HeaderValue {
    cookies::set(cookies::SESSION, &renewed.token, renewed.max_age, state.config.secure_cookies())
}

#[derive(Deserialize)]
struct OfferQuery {
    #[serde(default)]
    authz: String,
}

async fn offer_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Query(q): Query<OfferQuery>,
) -> Response {
    if let Err(e) = signed_in(&state, &browser).await {
        return responses::page(e);
    }
    let next = continue_url(&q.authz);
    pages::render(StatusCode::OK, &PasskeyOfferPage { csrf: &csrf.0, next: &next })
}
