//! One rendering of `Error` per audience: RFC 6749 §5.2 JSON for clients, RFC 6750 §3 for
//! bearer-protected resources, and a human page for people. Internal causes are logged here
//! once and never shown.

use super::pages::{self, ErrorPage, FormPostPage};
use crate::error::Error;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

fn log_internal(e: &Error) {
    match e {
        Error::Internal(cause) => tracing::error!(error = %format!("{cause:#}"), "request failed"),
        Error::Unavailable(cause) => tracing::warn!(error = %format!("{cause:#}"), "request failed: a service is down"),
        _ => {}
    }
}

/// How long a client should wait before trying again after a 503 (RFC 9110 §10.2.3).
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

fn status(e: &Error) -> StatusCode {
    match e {
        Error::InvalidClient(_) | Error::InvalidToken(_) | Error::MissingToken => StatusCode::UNAUTHORIZED,
        Error::InsufficientScope(_) | Error::StepUpRequired => StatusCode::FORBIDDEN,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn retry_after(e: &Error) -> Option<u64> {
    match e {
        Error::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
        Error::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
        _ => None,
    }
}

/// RFC 6749 §5.2: JSON error; `invalid_client` is a 401 with `WWW-Authenticate`.
pub fn oauth_json(e: Error) -> Response {
    log_internal(&e);
    let body = json!({ "error": e.oauth_code(), "error_description": e.description() });
    let mut res = (status(&e), Json(body)).into_response();
    if let Some(secs) = retry_after(&e) {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if matches!(e, Error::InvalidClient(_)) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"tessera\""));
    }
    res
}

/// RFC 6750 §3: bearer-token errors carry their code in `WWW-Authenticate`; a request with
/// no credentials at all gets the bare challenge (§3.1) and an empty body.
pub fn bearer(e: Error) -> Response {
    log_internal(&e);
    let mut res = if let Error::MissingToken = e {
        status(&e).into_response()
    } else {
        (status(&e), Json(json!({ "error": e.oauth_code(), "error_description": e.description() }))).into_response()
    };
    let challenge = match &e {
        Error::InvalidToken(_) | Error::InsufficientScope(_) | Error::InvalidRequest(_) => {
            format!("Bearer realm=\"tessera\", error=\"{}\", error_description=\"{}\"", e.oauth_code(), e.description())
        }
        _ => "Bearer realm=\"tessera\"".to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// A page for a person, in plain words.
pub fn page(e: Error) -> Response {
    if let Error::StepUpRequired = e {
        return step_up("/account");
    }
    log_internal(&e);
    let (title, message) = match &e {
        Error::Internal(_) => {
            ("Something went wrong", "Something went wrong on our side. Please try again in a moment.".into())
        }
        Error::Unavailable(_) => (
            "Briefly unavailable",
            "We cannot complete this right now. Nothing was changed: please try again in a moment.".into(),
        ),
        Error::RateLimited { message, .. } => ("Please wait", (*message).into()),
        Error::NotFound => ("Not found", "There is nothing at this address.".into()),
        Error::BadInput(m) => ("That did not work", m.clone()),
        other => ("That did not work", other.description()),
    };
    let mut res = pages::render(status(&e), &ErrorPage { title, message: &message });
    if let Some(secs) = retry_after(&e) {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// Ask for a fresh proof of the account's strongest factor, then come back to `next` (a page
/// of the account area).
pub fn step_up(next: &str) -> Response {
    Redirect::to(&step_up_url(next)).into_response()
}

pub fn step_up_url(next: &str) -> String {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/login/step-up?next={next}")
}

/// A page that posts `fields` to `action` as soon as it loads (OAuth 2.0 Form Post Response
/// Mode); the only page allowed to submit a form to another origin.
pub fn form_post(action: &str, fields: &[(&'static str, String)]) -> Response {
    let mut res = pages::render(StatusCode::OK, &FormPostPage { action, fields });
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, super::security_headers::form_post_csp(action));
    res
}
