//! Shared HTTP plumbing: cookies, CSRF, security headers, request facts, and rendering
//! errors and pages. Feature routes use these; features themselves never see axum.

pub mod assets;
pub mod client_ip;
pub mod cookies;
pub mod csrf;
pub mod extract;
pub mod pages;
pub mod request;
pub mod request_log;
pub mod responses;
pub mod security_headers;
pub mod signed_in;
pub mod tls;
