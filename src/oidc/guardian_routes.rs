//! Thin handlers for the minor's guardian pages inside an authorization: the guardian's
//! address (`/consent/guardian`), the waiting page that reloads itself until the guardian
//! answered (`/consent/guardian/wait`), and cancelling (`access_denied`).

use super::authorize::{self, Next};
use super::guardian;
use super::pages::{GuardianAskPage, GuardianWaitPage};
use super::routes::{authorization_response, next_response};
use crate::state::SharedState;
use crate::web::csrf::CsrfToken;
use crate::web::pages;
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, MaybeSignedIn};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

/// Pages a browser visits (CSRF layer applied by the caller).
pub fn pages() -> Router<SharedState> {
    Router::new()
        .route("/consent/guardian", get(ask_page).post(ask))
        .route("/consent/guardian/wait", get(wait))
        .route("/consent/guardian/cancel", post(cancel))
}

#[derive(Deserialize)]
struct AuthzRef {
    authz: String,
}

async fn ask_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    MaybeSignedIn(session): MaybeSignedIn,
    Query(q): Query<AuthzRef>,
) -> Response {
    match guardian::ask_view(&state, &q.authz, session.as_ref(), state.now()).await {
        Ok(v) => pages::render(
            StatusCode::OK,
            &GuardianAskPage { csrf: &csrf.0, authz: &q.authz, client_name: &v.client_name, items: &v.items },
        ),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct AskForm {
    authz: String,
    email: String,
}

async fn ask(
    State(state): State<SharedState>,
    MaybeSignedIn(session): MaybeSignedIn,
    CsrfForm(f): CsrfForm<AskForm>,
) -> Response {
    match guardian::ask(&state, &f.authz, session.as_ref(), &f.email, state.now()).await {
        Ok(()) => Redirect::to(&format!("/consent/guardian/wait?authz={}", f.authz)).into_response(),
        Err(e) => responses::page(e),
    }
}

/// The waiting page: the request continues when the guardian approved, ends when they
/// declined, and otherwise shows itself again (it reloads every few seconds).
async fn wait(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    MaybeSignedIn(session): MaybeSignedIn,
    Query(q): Query<AuthzRef>,
) -> Response {
    match authorize::resume(&state, &q.authz, session.as_ref(), state.now()).await {
        Ok(Next::GuardianWait(_)) => {
            pages::render(StatusCode::OK, &GuardianWaitPage { csrf: &csrf.0, authz: &q.authz })
        }
        other => next_response(other),
    }
}

#[derive(Deserialize)]
struct CancelForm {
    authz: String,
}

async fn cancel(
    State(state): State<SharedState>,
    MaybeSignedIn(session): MaybeSignedIn,
    CsrfForm(f): CsrfForm<CancelForm>,
) -> Response {
    match guardian::cancel(&state, &f.authz, session.as_ref(), state.now()).await {
        Ok(r) => authorization_response(r),
        Err(e) => responses::page(e),
    }
}
