//! Thin handlers for signing in through a connector: the redirect to the upstream provider
//! and its answer (query or form_post), at the connector's own callback or, for connectors
//! registered before those existed, the shared one.

use super::accounts::{self, Outcome};
use super::{connectors, upstream};
use crate::error::Error;
use crate::events::audit;
use crate::login::routes::{LoginView, landed, previous_session, render_login};
use crate::state::SharedState;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::request::Browser;
use crate::web::responses;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use std::collections::HashMap;

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route(upstream::SHARED_CALLBACK, get(shared_get).post(shared_post))
        .route("/login/federated/{id}/callback", get(callback_get).post(callback_post))
        .route("/login/federated/{id}", get(start))
}

#[derive(Deserialize)]
struct StartQuery {
    #[serde(default)]
    authz: String,
    #[serde(default)]
    remember: String,
}

async fn start(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Path(id): Path<String>,
    Query(q): Query<StartQuery>,
) -> Response {
    if let Err(e) = limit(&state, &browser).await {
        return responses::page(e);
    }
    let authz = (!q.authz.is_empty()).then(|| q.authz.clone());
    let begun = async {
        let c = connectors::usable(&state, &id).await?;
        upstream::begin(&state, &c, authz, !q.remember.is_empty(), state.now()).await
    };
    match begun.await {
        Ok((url, binding)) => {
            let mut res = Redirect::to(&url).into_response();
            let cookie = cookies::set_cross_site(cookies::FEDERATION, &binding, 600, state.config.secure_cookies());
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Err(Error::BadInput(m)) => {
            let what = LoginView { error: Some(&m), ..LoginView::default() };
            render_login(&state, &csrf, &q.authz, StatusCode::BAD_REQUEST, what).await
        }
        Err(e) => responses::page(e),
    }
}

async fn callback_get(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Path(id): Path<String>,
    Query(answer): Query<HashMap<String, String>>,
) -> Response {
    callback(state, csrf, browser, &format!("/login/federated/{id}/callback"), answer).await
}

/// Apple answers with response_mode=form_post (a cross-site POST: the binding cookie must
/// then be SameSite=None, which needs https).
async fn callback_post(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Path(id): Path<String>,
    Form(answer): Form<HashMap<String, String>>,
) -> Response {
    callback(state, csrf, browser, &format!("/login/federated/{id}/callback"), answer).await
}

/// Starts store a pending sign-in and callbacks call the provider: bound both per client network.
async fn limit(state: &SharedState, browser: &Browser) -> Result<(), Error> {
    let per_minute = state.config.federated_sign_ins_per_minute;
    audit::per_network(state, "federated", &browser.facts(), per_minute, state.now()).await
}

async fn shared_get(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Query(answer): Query<HashMap<String, String>>,
) -> Response {
    callback(state, csrf, browser, upstream::SHARED_CALLBACK, answer).await
}

async fn shared_post(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Form(answer): Form<HashMap<String, String>>,
) -> Response {
    callback(state, csrf, browser, upstream::SHARED_CALLBACK, answer).await
}

async fn callback(
    state: SharedState,
    csrf: CsrfToken,
    browser: Browser,
    path: &str,
    answer: HashMap<String, String>,
) -> Response {
    if let Err(e) = limit(&state, &browser).await {
        return responses::page(e);
    }
    let now = state.now();
    let secure = state.config.secure_cookies();
    let resolved = async {
        let previous = previous_session(&state, &browser).await?;
        let cookie = browser.cookie(cookies::FEDERATION);
        accounts::complete(&state, &answer, path, cookie, browser.facts(), previous, now).await
    };
    let mut res = match resolved.await {
        Ok(Outcome::SignedIn { session: new, authz }) => {
            let authz = authz.unwrap_or_default();
            let (next, set) = landed(&state, &browser, &new, &authz, now).await;
            let mut res = Redirect::to(&next).into_response();
            for c in set {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            res
        }
        Ok(Outcome::SecondStep { cookie, link_cookie }) => {
            let mut res = Redirect::to("/login/second-factor").into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, cookies::set(cookies::SECOND_STEP, &cookie, Some(600), secure));
            if let Some(link) = link_cookie {
                let cookie = cookies::set(cookies::FEDERATION_LINK, &link, Some(15 * 60), secure);
                res.headers_mut().append(header::SET_COOKIE, cookie);
            }
            res
        }
        Ok(Outcome::NeedsProof { email, provider, link_cookie, authz }) => {
            let notice = format!(
                "You already have an account with {email}. Sign in to it once (with the mail we send, or a passkey) to link your {provider} account."
            );
            let what = LoginView { email: &email, notice: Some(&notice), ..LoginView::default() };
            let mut res = render_login(&state, &csrf, authz.as_deref().unwrap_or(""), StatusCode::OK, what).await;
            let cookie = cookies::set(cookies::FEDERATION_LINK, &link_cookie, Some(15 * 60), secure);
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Err(Error::BadInput(m)) => {
            let what = LoginView { error: Some(&m), ..LoginView::default() };
            render_login(&state, &csrf, "", StatusCode::BAD_REQUEST, what).await
        }
        Err(e) => responses::page(e),
    };
    res.headers_mut().append(header::SET_COOKIE, cookies::delete(cookies::FEDERATION, secure));
    res
}
