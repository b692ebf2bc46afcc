//! Thin handlers for the public consent pages: the full text of a policy version, which the
//! consent screen links to (anyone may read what they are asked to accept).

use super::pages::PolicyPage;
use super::policies;
use crate::state::SharedState;
use crate::web::pages::{self, utc_minute};
use crate::web::responses;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

pub fn pages() -> Router<SharedState> {
    Router::new().route("/policies/{id}/{version}", get(policy))
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
