//! Thin handlers for the public consent pages: the full text of a policy version, which the
//! consent screen links to (anyone may read what they are asked to accept), and the page a
//! guardian's mail links to (GET shows, only its POST acts: `consent::guardian`).

use super::guardian::{self, Answer, Standing};
use super::pages::{GuardianLinkPage, PolicyPage};
use super::policies;
use crate::state::SharedState;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{self, DonePage, utc_minute};
use crate::web::request::Browser;
use crate::web::responses;
use crate::web::signed_in::CsrfForm;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

pub fn pages() -> Router<SharedState> {
    Router::new()
        .route("/policies/{id}/{version}", get(policy))
        .route("/guardian", get(guardian_page).post(guardian_answer))
}

async fn policy(State(state): State<SharedState>, Path((id, version)): Path<(String, i64)>) -> Response {
    match policies::text(&state, &id, version).await {
        Ok((v, text)) => pages::render(
            StatusCode::OK,
            &PolicyPage {
                title: &v.title,
                version: v.version,
                published: &utc_minute(v.published_at),
                summary: &v.summary,
                text_hash: &v.text_hash,
                text: &text,
            },
        ),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct LinkRef {
    token: String,
}

/// What the guardian's link shows; acts on nothing (mail scanners open links).
async fn guardian_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<LinkRef>,
) -> Response {
    match guardian::view(&state, &q.token, state.now()).await {
        Ok(v) => pages::render(
            StatusCode::OK,
            &GuardianLinkPage {
                csrf: &csrf.0,
                token: &q.token,
                client_name: &v.client_name,
                minor: &v.minor,
                items: &v.items,
                pending: v.standing == Standing::Pending,
                approved: v.standing == Standing::Approved,
            },
        ),
        Err(e) => responses::page(e),
    }
}

#[derive(Deserialize)]
struct AnswerForm {
    token: String,
    decision: String,
}

async fn guardian_answer(
    State(state): State<SharedState>,
    browser: Browser,
    CsrfForm(f): CsrfForm<AnswerForm>,
) -> Response {
    let answer = match f.decision.as_str() {
        "approve" => Answer::Approve,
        "withdraw" => Answer::Withdraw,
        _ => Answer::Decline,
    };
    let message = match guardian::answer(&state, &f.token, answer, &browser.ip, state.now()).await {
        Ok(Standing::Approved) => {
            "Thank you: you agreed. The app may now do what was asked. You can withdraw \
                                   your agreement at any time from the link in the mail."
        }
        Ok(Standing::Withdrawn) => "You withdrew your agreement. It takes effect now, everywhere.",
        Ok(_) => "You refused. Nothing was granted.",
        Err(e) => return responses::page(e),
    };
    pages::render(StatusCode::OK, &DonePage { title: "Done", message })
}
