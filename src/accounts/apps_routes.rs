//! Thin handlers for the connected apps page: which apps hold access (scopes, purposes, when
//! they last obtained tokens), and "remove access", which revokes an app's tokens and consents
//! in one step (`consent::removal`). Like a withdrawal it takes effect at once, so it needs a
//! recent proof at the account's strongest level.

use super::centre_pages::{AppsPage, connected_row};
use crate::consent::ledger::{Channel, Context};
use crate::consent::removal;
use crate::error::Error;
use crate::login::factor_change;
use crate::state::SharedState;
use crate::web::csrf::CsrfToken;
use crate::web::pages;
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, SignedIn};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

const PAGE: &str = "/account/apps";

pub fn pages() -> Router<SharedState> {
    Router::new().route(PAGE, get(apps_page)).route("/account/apps/remove", post(remove))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    removed: String,
}

async fn apps_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    match removal::connected(&state, &session.customer_id).await {
        Ok(apps) => {
            let rows: Vec<_> = apps.into_iter().map(|(a, purposes)| connected_row(a, purposes)).collect();
            let notice =
                (!q.removed.is_empty()).then_some("Access removed. The app can no longer use what you gave it.");
            pages::render(StatusCode::OK, &AppsPage { csrf: &csrf.0, apps: &rows, notice })
        }
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    client_id: String,
}

async fn remove(
    State(state): State<SharedState>,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<RemoveForm>,
) -> Response {
    let now = state.now();
    let done = async {
        factor_change::require_fresh(&state, &session, now).await?;
        let ctx = Context { channel: Channel::PrivacyCentre, session_id: Some(&session.id), ip: Some(&session.ip) };
        removal::remove_access(&state, &session.customer_id, &f.client_id, ctx, now).await
    };
    match done.await {
        Ok(_) => Redirect::to("/account/apps?removed=1").into_response(),
        Err(Error::StepUpRequired) => responses::step_up(PAGE),
        Err(e) => responses::page(e),
    }
}
