//! CSRF protection for every form: a random token in a cookie, echoed in a hidden field and
//! compared in constant time (double submit), on top of SameSite cookies.

use super::cookies;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::SharedState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

/// The token for forms on this page, put into request extensions by [`layer`].
#[derive(Clone)]
pub struct CsrfToken(pub String);

impl CsrfToken {
    pub fn verify(&self, submitted: &str) -> Result<()> {
        if secrets::constant_time_eq(&self.0, submitted) {
            Ok(())
        } else {
            Err(Error::bad_input("This form has expired. Go back, reload the page and try again."))
        }
    }
}

/// Reads the CSRF cookie, or mints one and sets it on the response.
pub async fn layer(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let secure = state.config.secure_cookies();
    let existing = cookies::get(req.headers(), cookies::CSRF, secure).filter(|v| v.len() == 43).map(String::from);
    let token = existing.clone().unwrap_or_else(secrets::random_token);
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    if existing.is_none() {
        res.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::CSRF, &token, None, secure));
    }
    res
}
