//! How a person proves who they are: one file per method, plus the browser session.

pub mod approval;
pub mod email;
pub mod factor_change;
pub mod factor_routes;
pub mod federation;
pub mod finish;
pub mod mail_limits;
pub mod pages;
pub mod passkey;
pub mod passkey_routes;
pub mod review;
pub mod review_routes;
pub mod routes;
pub mod step_up;
pub mod totp;
