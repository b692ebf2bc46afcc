//! Thin handlers for incident response in the admin API (JSON) under `/admin/api/v1/breach`:
//! `revoke`, `rotate-keys`, `reverify`, `notify`. The body names the scope (`client` or
//! `customer`; neither: everyone) and `dry_run`; the answer is the report (what it touched,
//! or would touch). Audited with the calling client.

use super::routes::{AdminCaller, answer};
use crate::breach::{self, Scope, notify::Notice};
use crate::error::Error;
use crate::events::audit::{Actor, Caller};
use crate::state::SharedState;
use crate::web::request::Browser;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;

pub fn api() -> Router<SharedState> {
    Router::new()
        .route("/admin/api/v1/breach/revoke", post(revoke))
        .route("/admin/api/v1/breach/rotate-keys", post(rotate_keys))
        .route("/admin/api/v1/breach/reverify", post(reverify))
        .route("/admin/api/v1/breach/notify", post(notify))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Input {
    client: Option<String>,
    customer: Option<String>,
    #[serde(default)]
    dry_run: bool,
    /// For `notify`: the template (a `Subject:` line, an empty line, the body).
    template: Option<String>,
}

fn input(body: &Bytes) -> Result<(Input, Scope), Error> {
    let i: Input = if body.is_empty() {
        Input::default()
    } else {
        serde_json::from_slice(body).map_err(|e| Error::bad_input(format!("the body is not valid here: {e}")))?
    };
    let scope = Scope::from_options(i.client.clone(), i.customer.clone())?;
    Ok((i, scope))
}

fn caller<'a>(admin: AdminCaller, browser: &'a Browser) -> Caller<'a> {
    Caller { actor: Actor::Client(admin.0.client_id), from: Some(browser.facts()) }
}

async fn revoke(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async {
        let (i, scope) = input(&body)?;
        breach::revoke::revoke(&state, caller(admin, &browser), &scope, i.dry_run, state.now()).await
    };
    answer(StatusCode::OK, done.await)
}

async fn rotate_keys(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async {
        let (i, scope) = input(&body)?;
        if scope != Scope::All {
            return Err(Error::bad_input("signing keys belong to no client or customer"));
        }
        breach::revoke::rotate_keys(&state, caller(admin, &browser), i.dry_run, state.now()).await
    };
    answer(StatusCode::OK, done.await)
}

async fn reverify(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async {
        let (i, scope) = input(&body)?;
        breach::revoke::require_reverification(&state, caller(admin, &browser), &scope, i.dry_run, state.now()).await
    };
    answer(StatusCode::OK, done.await)
}

async fn notify(State(state): State<SharedState>, admin: AdminCaller, browser: Browser, body: Bytes) -> Response {
    let done = async {
        let (i, scope) = input(&body)?;
        let notice = Notice::parse(i.template.as_deref().ok_or_else(|| Error::bad_input("a template is required"))?)?;
        breach::notify::notify(&state, caller(admin, &browser), &scope, &notice, i.dry_run, state.now()).await
    };
    answer(StatusCode::OK, done.await)
}
