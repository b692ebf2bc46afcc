//! Thin handlers for the profile page: what is held with its source, editing it, and changing
//! the email address through a link to the new one (`email_change`).

use super::email_change;
use super::profile;
use super::profile_pages::{EmailConfirmPage, ProfilePage, attribute_rows, field_rows};
use crate::error::Error;
use crate::state::SharedState;
use crate::store::SessionRecord;
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
use std::collections::HashMap;

const PAGE: &str = "/account/profile";

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route(PAGE, get(profile_page).post(save))
        .route("/account/email", post(change_email))
        .route("/account/email/confirm", get(confirm_page).post(confirm))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    saved: String,
    #[serde(default)]
    sent: String,
    #[serde(default)]
    changed: String,
}

async fn profile_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let notice = if !q.saved.is_empty() {
        Some("Saved.")
    } else if !q.sent.is_empty() {
        Some("If the new address can be used, a link is on its way there. Your address changes when you open it.")
    } else if !q.changed.is_empty() {
        Some("Your email address changed. We told the old address.")
    } else {
        None
    };
    render(&state, &csrf, &session, StatusCode::OK, notice, None).await
}

async fn render(
    state: &SharedState,
    csrf: &CsrfToken,
    session: &SessionRecord,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    match profile::view(state, &session.customer_id, state.now()).await {
        Ok((customer, attributes)) => {
            let fields = field_rows(&customer);
            let attributes = attribute_rows(attributes);
            let page = ProfilePage {
                csrf: &csrf.0,
                attributes: &attributes,
                fields: &fields,
                email: &customer.email,
                notice,
                error,
            };
            pages::render(status, &page)
        }
        Err(e) => responses::page(e),
    }
}

async fn save(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Response {
    match profile::update(&state, &session.customer_id, &form, state.now()).await {
        Ok(_) => Redirect::to("/account/profile?saved=1").into_response(),
        Err(Error::BadInput(m)) => render(&state, &csrf, &session, StatusCode::BAD_REQUEST, None, Some(&m)).await,
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

async fn change_email(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<EmailForm>,
) -> Response {
    match email_change::request(&state, &session, &f.email, state.now()).await {
        Ok(_) => Redirect::to("/account/profile?sent=1").into_response(),
        Err(Error::StepUpRequired) => responses::step_up(PAGE),
        Err(Error::BadInput(m)) => render(&state, &csrf, &session, StatusCode::BAD_REQUEST, None, Some(&m)).await,
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Opening the link shows a button: mail scanners fetch links, so only the POST changes.
async fn confirm_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<TokenQuery>,
) -> Response {
    match email_change::pending(&state, &q.token).await {
        Ok(new_email) => {
            let page = EmailConfirmPage { csrf: &csrf.0, token: &q.token, new_email: new_email.as_deref() };
            pages::render(StatusCode::OK, &page)
        }
        Err(e) => responses::page(e),
    }
}

async fn confirm(State(state): State<SharedState>, CsrfForm(f): CsrfForm<TokenQuery>) -> Response {
    match email_change::confirm(&state, &f.token, state.now()).await {
        Ok(_) => Redirect::to("/account/profile?changed=1").into_response(),
        Err(e) => responses::page(e),
    }
}
