//! Customers and what is known about them.

pub mod pages;
pub mod privacy_routes;
pub mod routes;
pub mod security_routes;
pub mod sessions;
