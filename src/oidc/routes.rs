//! Thin handlers for every OIDC endpoint: parse, call one feature function, render.

use super::authorize::{self, Next, Untrusted};
use super::pages::{ConsentPage, LogoutPage, SelectAccountPage};
use super::redirect::{AuthorizationResponse, ResponseMode};
use super::{consent, discovery, grants, introspection, logout, revocation, select_account, userinfo};
use crate::events::audit;
use crate::session;
use crate::state::SharedState;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::extract::{OAuthForm, UserInfoRequest, bearer_token};
use crate::web::pages::{self, DonePage};
use crate::web::request::Browser;
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, MaybeSignedIn};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

type Pairs = Vec<(String, String)>;

/// Endpoints for relying parties (no CSRF: they are called by clients, not forms).
pub fn api() -> Router<SharedState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(openid_configuration))
        .route("/jwks.json", get(jwks))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo_get).post(userinfo_post))
        .route("/introspect", post(introspect))
        .route("/revoke", post(revoke))
}

/// Endpoints a browser visits (CSRF layer applied by the caller).
pub fn pages() -> Router<SharedState> {
    Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/authorize/resume", get(resume))
        .route("/authorize/select", get(select_page).post(select_answer))
        .route("/consent", get(consent_page).post(consent_answer))
        .route("/logout", get(logout_get).post(logout_post))
}

async fn openid_configuration(State(state): State<SharedState>) -> Response {
    let mut res = Json(discovery::metadata(&state.config)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

async fn jwks(State(state): State<SharedState>) -> Response {
    let mut res =
        ([(header::CONTENT_TYPE, "application/jwk-set+json")], state.keys.at(state.now()).jwks_json().to_string())
            .into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

/// Render what the authorization endpoint decided.
pub fn next_response(next: Result<Next, Untrusted>) -> Response {
    match next {
        Ok(Next::Respond(r)) => authorization_response(r),
        Ok(Next::SignIn(r)) => Redirect::to(&format!("/login?authz={}", r.id)).into_response(),
        Ok(Next::Consent(r)) => Redirect::to(&format!("/consent?authz={}", r.id)).into_response(),
        Ok(Next::StepUp(r)) => Redirect::to(&format!("/login/step-up?authz={}", r.id)).into_response(),
        Ok(Next::SelectAccount(r)) => Redirect::to(&format!("/authorize/select?authz={}", r.id)).into_response(),
        Ok(Next::Guardian(r)) => Redirect::to(&format!("/consent/guardian?authz={}", r.id)).into_response(),
        Ok(Next::GuardianWait(r)) => Redirect::to(&format!("/consent/guardian/wait?authz={}", r.id)).into_response(),
        Err(Untrusted(e)) => responses::page(e),
    }
}

async fn run_authorize(state: SharedState, browser: Browser, pairs: Pairs) -> Response {
    // Every anonymous request stores a pending authorization: bound them per client network.
    let limit = state.config.authorize_per_minute;
    if let Err(e) = audit::per_network(&state, "authorize", &browser.facts(), limit, state.now()).await {
        return responses::page(e);
    }
    let now = state.now();
    let session = match session::current(&state, browser.cookie(cookies::SESSION), now).await {
        Ok(s) => s,
        Err(e) => return responses::page(e),
    };
    next_response(authorize::authorize(&state, pairs, session.as_ref(), now).await)
}

async fn authorize_get(State(state): State<SharedState>, browser: Browser, Query(pairs): Query<Pairs>) -> Response {
    run_authorize(state, browser, pairs).await
}

/// OIDC Core §3.1.2.1: the authorization endpoint must accept POST as well.
async fn authorize_post(State(state): State<SharedState>, browser: Browser, Form(pairs): Form<Pairs>) -> Response {
    run_authorize(state, browser, pairs).await
}

#[derive(Deserialize)]
struct AuthzRef {
    authz: String,
}

async fn resume(State(state): State<SharedState>, browser: Browser, Query(q): Query<AuthzRef>) -> Response {
    let now = state.now();
    let session = match session::current(&state, browser.cookie(cookies::SESSION), now).await {
        Ok(s) => s,
        Err(e) => return responses::page(e),
    };
    next_response(authorize::resume(&state, &q.authz, session.as_ref(), now).await)
}

async fn select_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Query(q): Query<AuthzRef>,
) -> Response {
    let now = state.now();
    let shown = async {
        let Some(s) = session::current(&state, browser.cookie(cookies::SESSION), now).await? else {
            return Ok(Redirect::to(&format!("/login?authz={}", q.authz)).into_response());
        };
        let v = select_account::view(&state, &q.authz, &s, now).await?;
        let page = SelectAccountPage { csrf: &csrf.0, authz: &q.authz, client_name: &v.client_name, email: &v.email };
        Ok::<_, crate::error::Error>(pages::render(StatusCode::OK, &page))
    };
    shown.await.unwrap_or_else(responses::page)
}

#[derive(Deserialize)]
struct SelectForm {
    authz: String,
    choice: String,
}

/// "Continue as …" answers the request; "Use another account" signs in anew (the new
/// session then replaces this browser's).
async fn select_answer(
    State(state): State<SharedState>,
    browser: Browser,
    CsrfForm(f): CsrfForm<SelectForm>,
) -> Response {
    if f.choice != "keep" {
        return Redirect::to(&format!("/login?authz={}", f.authz)).into_response();
    }
    let now = state.now();
    let session = match session::current(&state, browser.cookie(cookies::SESSION), now).await {
        Ok(s) => s,
        Err(e) => return responses::page(e),
    };
    next_response(select_account::keep(&state, &f.authz, session.as_ref(), now).await)
}

async fn consent_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    MaybeSignedIn(session): MaybeSignedIn,
    Query(q): Query<AuthzRef>,
) -> Response {
    match consent::view(&state, &q.authz, session.as_ref(), state.now()).await {
        Ok(v) => pages::render(
            StatusCode::OK,
            &ConsentPage {
                csrf: &csrf.0,
                authz: &q.authz,
                client_name: &v.client_name,
                asks_for: &v.asks_for,
                purposes: &v.purposes,
                claims: &v.claims,
                notices: &v.notices,
            },
        ),
        Err(e) => responses::page(e),
    }
}

/// The consent form: `authz`, `decision` (allow or deny), and `purpose.<id>` for each
/// optional purpose ticked.
async fn consent_answer(
    State(state): State<SharedState>,
    MaybeSignedIn(session): MaybeSignedIn,
    CsrfForm(f): CsrfForm<std::collections::HashMap<String, String>>,
) -> Response {
    let now = state.now();
    let authz = f.get("authz").map(String::as_str).unwrap_or("");
    if f.get("decision").map(String::as_str) != Some("allow") {
        return match consent::refuse(&state, authz, session.as_ref(), now).await {
            Ok(r) => authorization_response(r),
            Err(e) => responses::page(e),
        };
    }
    next_response(consent::approve(&state, authz, session.as_ref(), &f, now).await)
}

fn authorization_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

async fn token(State(state): State<SharedState>, headers: HeaderMap, OAuthForm(pairs): OAuthForm) -> Response {
    match grants::token(&state, authorization_header(&headers), pairs, state.now()).await {
        Ok(t) => Json(t).into_response(),
        Err(e) => responses::oauth_json(e),
    }
}

async fn userinfo_get(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    match userinfo::userinfo(&state, bearer_token(&headers), state.now()).await {
        Ok(c) => Json(c).into_response(),
        Err(e) => responses::bearer(e),
    }
}

/// RFC 6750 §2.1 header (with any body or none), or §2.2 form body `access_token`.
async fn userinfo_post(State(state): State<SharedState>, UserInfoRequest(token): UserInfoRequest) -> Response {
    let token = match token {
        Ok(t) => t,
        Err(e) => return responses::bearer(e),
    };
    match userinfo::userinfo(&state, token.as_deref(), state.now()).await {
        Ok(c) => Json(c).into_response(),
        Err(e) => responses::bearer(e),
    }
}

async fn introspect(State(state): State<SharedState>, headers: HeaderMap, OAuthForm(pairs): OAuthForm) -> Response {
    match introspection::introspect(&state, authorization_header(&headers), pairs, state.now()).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => responses::oauth_json(e),
    }
}

async fn revoke(State(state): State<SharedState>, headers: HeaderMap, OAuthForm(pairs): OAuthForm) -> Response {
    match revocation::revoke(&state, authorization_header(&headers), pairs, state.now()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => responses::oauth_json(e),
    }
}

async fn run_logout(state: SharedState, csrf: CsrfToken, browser: Browser, pairs: Pairs, confirmed: bool) -> Response {
    let now = state.now();
    let fields: Pairs = pairs.iter().filter(|(k, _)| k != "csrf" && k != "confirm").cloned().collect();
    let result = async {
        let session = session::current(&state, browser.cookie(cookies::SESSION), now).await?;
        let req = logout::check(&state, fields.clone(), session.as_ref(), now).await?;
        if session.is_some() && !req.hint_matches_session && !confirmed {
            return Ok(pages::render(
                StatusCode::OK,
                &LogoutPage { csrf: &csrf.0, client_name: req.client_name.as_deref(), fields: &fields },
            ));
        }
        logout::log_out(&state, session.as_ref(), &browser.facts()).await?;
        let mut res = match &req.redirect {
            Some(to) => Redirect::to(to).into_response(),
            None => pages::render(StatusCode::OK, &DonePage { title: "Signed out", message: "You are signed out." }),
        };
        res.headers_mut().append(header::SET_COOKIE, cookies::delete(cookies::SESSION, state.config.secure_cookies()));
        Ok(res)
    }
    .await;
    result.unwrap_or_else(responses::page)
}

async fn logout_get(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Query(pairs): Query<Pairs>,
) -> Response {
    run_logout(state, csrf, browser, pairs, false).await
}

async fn logout_post(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Form(pairs): Form<Pairs>,
) -> Response {
    // A POST from our own confirmation page carries the CSRF token; an RP's POST does not
    // and is treated like a GET (confirmation still required unless the hint matches).
    let confirmed = match pairs.iter().find(|(k, _)| k == "csrf") {
        Some((_, v)) => match csrf.verify(v) {
            Ok(()) => pairs.iter().any(|(k, v)| k == "confirm" && v == "yes"),
            Err(e) => return responses::page(e),
        },
        None => false,
    };
    run_logout(state, csrf, browser, pairs, confirmed).await
}

/// An authorization response: a 303 redirect, or an auto-submitting form (form_post).
pub fn authorization_response(r: AuthorizationResponse) -> Response {
    match r.mode {
        ResponseMode::Query => Redirect::to(&r.location()).into_response(),
        ResponseMode::FormPost => responses::form_post(&r.redirect_uri, &r.params),
    }
}
