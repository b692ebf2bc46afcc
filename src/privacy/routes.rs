//! Thin handlers for the privacy requests pages: list and file requests, confirm with the
//! mailed code, cancel a deletion, download an export once.

use super::pages::{ConfirmPage, ExportPage, RequestRow, RequestsPage, VerifyPage};
use super::requests::{self, Filed, Filing};
use super::{Kind, Status, export};
use crate::error::Error;
use crate::state::SharedState;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{self, utc_minute};
use crate::web::request::Browser;
use crate::web::responses;
use crate::web::signed_in::{CsrfForm, SignedIn};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

const PAGE: &str = "/account/privacy/requests";

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route(PAGE, get(requests_page).post(file))
        .route("/account/privacy/requests/confirm", post(confirm))
        .route("/account/privacy/requests/cancel", post(cancel))
        .route("/account/privacy/export", get(export_page).post(download))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    done: String,
}

async fn requests_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let now = state.now();
    let list = match requests::of(&state, &session.customer_id).await {
        Ok(l) => l,
        Err(e) => return responses::page(e),
    };
    let rows: Vec<RequestRow> = list
        .into_iter()
        .map(|r| RequestRow {
            kind: Kind::parse(&r.kind).map_or("a request", Kind::words),
            status: r.status.replace('_', " "),
            received: utc_minute(r.received_at),
            due: utc_minute(r.extended_until.unwrap_or(r.due_at)),
            erases_at: r.erase_after.filter(|at| *at > now && r.status == Status::InProgress.as_str()).map(utc_minute),
            id: r.id,
        })
        .collect();
    let notice = match q.done.as_str() {
        "filed" => Some("We received your request. We mailed you a receipt."),
        "cancelled" => Some("The deletion is cancelled. Your account stays."),
        _ => None,
    };
    let page = RequestsPage { csrf: &csrf.0, requests: &rows, notice, grace_days: state.config.deletion_grace_days };
    pages::render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct FileForm {
    kind: String,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

fn filed(csrf: &CsrfToken, done: Result<Filed, Error>) -> Response {
    match done {
        Ok(Filed::Filed(_)) => Redirect::to(&format!("{PAGE}?done=filed")).into_response(),
        Ok(Filed::CodeSent) => pages::render(StatusCode::OK, &ConfirmPage { csrf: &csrf.0, error: None }),
        Ok(Filed::NeedsFreshProof) => {
            let url = responses::step_up_url(PAGE);
            pages::render(StatusCode::FORBIDDEN, &VerifyPage { verify_url: &url })
        }
        Err(Error::BadInput(m)) => {
            pages::render(StatusCode::BAD_REQUEST, &ConfirmPage { csrf: &csrf.0, error: Some(&m) })
        }
        Err(e) => responses::page(e),
    }
}

async fn file(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    browser: Browser,
    CsrfForm(f): CsrfForm<FileForm>,
) -> Response {
    let Some(kind) = Kind::parse(&f.kind) else { return responses::page(Error::bad_input("Unknown kind of request.")) };
    let filing = Filing { kind, purpose: f.purpose.filter(|p| !p.trim().is_empty()), details: f.details };
    match requests::file(&state, &session, filing, &browser.facts(), state.now()).await {
        Err(Error::BadInput(m)) => responses::page(Error::BadInput(m)),
        done => filed(&csrf, done),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn confirm(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    browser: Browser,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> Response {
    filed(&csrf, requests::confirm(&state, &session, &f.code, &browser.facts(), state.now()).await)
}

#[derive(Deserialize)]
struct CancelForm {
    id: String,
}

async fn cancel(
    State(state): State<SharedState>,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<CancelForm>,
) -> Response {
    match requests::cancel(&state, &session, &f.id, state.now()).await {
        Ok(_) => Redirect::to(&format!("{PAGE}?done=cancelled")).into_response(),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn export_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    SignedIn(session): SignedIn,
    Query(q): Query<TokenQuery>,
) -> Response {
    match export::waiting(&state, &session.customer_id, &q.token, state.now()).await {
        Ok(true) => pages::render(StatusCode::OK, &ExportPage { csrf: &csrf.0, token: &q.token }),
        Ok(false) => {
            responses::page(Error::bad_input("This download link has been used, has expired, or is not yours."))
        }
        Err(e) => responses::page(e),
    }
}

async fn download(
    State(state): State<SharedState>,
    SignedIn(session): SignedIn,
    CsrfForm(f): CsrfForm<TokenQuery>,
) -> Response {
    match export::download(&state, &session.customer_id, &f.token, state.now()).await {
        Ok(archive) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"your-data.json\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            archive,
        )
            .into_response(),
        Err(Error::NotFound) => {
            responses::page(Error::bad_input("This download link has been used, has expired, or is not yours."))
        }
        Err(e) => responses::page(e),
    }
}
