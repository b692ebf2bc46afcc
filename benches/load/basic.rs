//! The Basic header for client_secret_basic (RFC 6749 §2.3.1): the client identifier and
//! secret are each encoded with application/x-www-form-urlencoded, joined by `:`, then
//! base64-encoded. A secret holding `:`, `%`, `+` or a space survives only this way.
//! Shared with the integration tests (tests/it/bench_driver.rs), which check it against
//! Tessera's own decoding.

use base64::Engine;

/// The `Authorization` header value for `client_id` and `client_secret`.
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(client_secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}
