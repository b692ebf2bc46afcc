//! Thin handlers for the review after the first mail proof of an account that was set up
//! through a provider (see `review`).

use super::pages::ReviewPage;
use super::review::{self, Removals};
use crate::error::Error;
use crate::oidc::authorize;
use crate::session;
use crate::state::SharedState;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::pages;
use crate::web::request::Browser;
use crate::web::responses;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

pub fn pages() -> Router<SharedState> {
    Router::new().route("/login/review", get(review_page).post(review_done))
}

#[derive(Deserialize)]
struct ReviewQuery {
    #[serde(default)]
    authz: String,
}

async fn review_page(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Query(q): Query<ReviewQuery>,
) -> Response {
    let shown = async {
        let Some(s) = session::current(&state, browser.cookie(cookies::SESSION), state.now()).await? else {
            return Ok(Redirect::to("/login").into_response());
        };
        let a = review::due(&state, &s).await?;
        let page = ReviewPage {
            csrf: &csrf.0,
            authz: &q.authz,
            identities: &a.identities,
            passkeys: &a.passkeys,
            totp: a.totp,
        };
        Ok::<_, Error>(pages::render(StatusCode::OK, &page))
    };
    shown.await.unwrap_or_else(responses::page)
}

/// The form repeats `remove_identity` / `remove_passkey`, so it is read as pairs.
async fn review_done(
    State(state): State<SharedState>,
    Extension(csrf): Extension<CsrfToken>,
    browser: Browser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    let all = |name: &str| fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let now = state.now();
    let authz = field("authz").to_string();
    let done = async {
        csrf.verify(field("csrf"))?;
        let s = session::current(&state, browser.cookie(cookies::SESSION), now)
            .await?
            .ok_or_else(|| Error::bad_input("Sign in again."))?;
        let removals = Removals {
            identities: all("remove_identity"),
            passkeys: all("remove_passkey"),
            totp: !field("remove_totp").is_empty(),
        };
        review::finish(&state, &s, &removals, now).await?;
        Ok::<_, Error>(s)
    };
    match done.await {
        Ok(s) => {
            if !authz.is_empty()
                && let Err(e) = authorize::mark_authenticated(&state, &authz, &s.id, now).await
            {
                tracing::info!(authz = %authz, error = %e, "review finished for a request that is gone");
            }
            Redirect::to(&super::finish::continue_url(&authz, None)).into_response()
        }
        Err(e) => responses::page(e),
    }
}
