//! How a person proves who they are: one file per method, plus the browser session.

pub mod email;
pub mod routes;
pub mod session;
