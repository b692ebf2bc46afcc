//! The thin handler of "What we hold about you and why" (`holdings`).

use super::holdings::{self, Category, PurposeUse};
use crate::error::Error;
use crate::state::SharedState;
use crate::web::pages;
use crate::web::responses;
use crate::web::signed_in::SignedIn;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

pub fn pages() -> Router<SharedState> {
    Router::new().route("/account/holdings", get(holdings_page))
}

#[derive(Template)]
#[template(path = "account/holdings.html")]
struct HoldingsPage<'a> {
    categories: &'a [Category],
    purposes: &'a [PurposeUse],
    /// (link, title) of the full policy.
    policy: Option<(String, String)>,
}

async fn holdings_page(State(state): State<SharedState>, SignedIn(session): SignedIn) -> Response {
    let now = state.now();
    let shown = async {
        let purposes = holdings::purposes(&state, &session.customer_id, now).await?;
        let policy = holdings::full_policy(&state, &purposes, now).await?;
        let categories = holdings::categories(&state);
        Ok::<_, Error>(pages::render(
            StatusCode::OK,
            &HoldingsPage { categories: &categories, purposes: &purposes, policy },
        ))
    };
    shown.await.unwrap_or_else(responses::page)
}
