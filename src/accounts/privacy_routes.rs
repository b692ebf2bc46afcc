//! Thin handlers for the privacy page: what each app may know (scopes) and do (purposes),
//! and withdrawing any of it. A withdrawal takes effect everywhere at once
//! (`consent::withdrawal`), so it needs a recent proof at the account's strongest level,
//! like any change that matters (a stolen session must not be enough).

use super::pages::{AppRow, PrivacyPage};
use crate::consent::ledger::{Channel, Context};
use crate::consent::withdrawal::{self, WithdrawalInput};
use crate::error::Error;
use crate::login::factor_change;
use crate::oidc::consent::describe;
use crate::state::SharedState;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{self, utc_minute};
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, SignedIn};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

const PAGE: &str = "/account/privacy";

pub fn pages() -> Router<SharedState> {
    Router::new().route(PAGE, get(privacy_page)).route("/account/privacy/withdraw", post(withdraw))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    withdrawn: String,
}

async fn privacy_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let apps = match withdrawal::overview(&state, &session.customer_id).await {
        Ok(a) => a,
        Err(e) => return responses::page(e),
    };
    let rows: Vec<AppRow> = apps
        .into_iter()
        .map(|a| AppRow {
            scopes: a.scopes.iter().map(|s| (s.clone(), describe(s))).collect(),
            purposes: a.purposes.into_iter().map(|(id, name, at)| (id, name, utc_minute(at))).collect(),
            client_id: a.client_id,
            client_name: a.client_name,
        })
        .collect();
    let notice = (!q.withdrawn.is_empty()).then_some("Withdrawn. It took effect in every app at once.");
    pages::render(StatusCode::OK, &PrivacyPage { csrf: &csrf.0, apps: &rows, notice })
}

#[derive(Deserialize)]
struct WithdrawForm {
    client_id: String,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

async fn withdraw(
    State(state): State<SharedState>,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<WithdrawForm>,
) -> Response {
    let now = state.now();
    let done = async {
        factor_change::require_fresh(&state, &session, now).await?;
        let what = WithdrawalInput { purpose: f.purpose, scope: f.scope };
        let ctx = Context { channel: Channel::PrivacyCentre, session_id: Some(&session.id), ip: Some(&session.ip) };
        withdrawal::withdraw_input(&state, &session.customer_id, &f.client_id, &what, ctx, now).await
    };
    match done.await {
        Ok(_) => Redirect::to("/account/privacy?withdrawn=1").into_response(),
        // Back here after the proof.
        Err(Error::StepUpRequired) => responses::step_up(PAGE),
        Err(e) => responses::page(e),
    }
}
