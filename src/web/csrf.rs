//! CSRF protection for every form and JSON ceremony: a token in a cookie, echoed in a hidden
//! field or the `X-CSRF-Token` header and compared in constant time (double submit), on top
//! of SameSite cookies.
//!
//! Plain double submit accepts any pair that matches, so whoever can plant a cookie (a
//! sibling subdomain, a man-in-the-middle on plain http) could pick both halves. The token
//! is therefore signed: `nonce.mac` with an HMAC under a key derived from the master key, and
//! a cookie whose MAC does not verify is ignored and replaced. Only tokens this server issued
//! ever reach a comparison (OWASP CSRF Prevention Cheat Sheet, "signed double-submit cookie").

use super::cookies;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::SharedState;
use aws_lc_rs::hmac;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The purpose the MAC key is derived for.
const KEY_PURPOSE: &str = "csrf-token";
/// 128-bit nonce and 128-bit truncated MAC, each 22 base64url characters.
const PART_LEN: usize = 22;

/// The token for forms on this page, put into request extensions by [`layer`]. It holds only
/// a token this server issued.
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

fn mac(key: &hmac::Key, nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(&hmac::sign(key, nonce.as_bytes()).as_ref()[..16])
}

/// A fresh token: a random nonce and its MAC.
fn issue(key: &hmac::Key) -> String {
    let nonce = URL_SAFE_NO_PAD.encode(secrets::random_vec(16));
    let tag = mac(key, &nonce);
    format!("{nonce}.{tag}")
}

/// True when `token` is one this server issued.
fn issued_here(key: &hmac::Key, token: &str) -> bool {
    match token.split_once('.') {
        Some((nonce, tag)) if nonce.len() == PART_LEN && tag.len() == PART_LEN => {
            secrets::constant_time_eq(&mac(key, nonce), tag)
        }
        _ => false,
    }
}

/// Reads the CSRF cookie if this server issued it, or mints one and sets it on the response.
pub async fn layer(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let secure = state.config.secure_cookies();
    let key = state.master_key.derive(KEY_PURPOSE);
    let existing =
        cookies::get(req.headers(), cookies::CSRF, secure).filter(|v| issued_here(&key, v)).map(String::from);
    let token = existing.clone().unwrap_or_else(|| issue(&key));
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    if existing.is_none() {
        res.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::CSRF, &token, None, secure));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sealed::MasterKey;

    #[test]
    fn only_tokens_issued_under_this_key_pass() {
        let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let key = master.derive(KEY_PURPOSE);
        let token = issue(&key);
        assert!(issued_here(&key, &token));
        assert!(!issued_here(&key, &secrets::random_token()), "a self-chosen value");
        let (nonce, _) = token.split_once('.').unwrap();
        assert!(!issued_here(&key, &format!("{nonce}.{}", mac(&master.derive("other"), nonce))));
        let other = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        assert!(!issued_here(&other.derive(KEY_PURPOSE), &token), "another server's token");
    }
}
