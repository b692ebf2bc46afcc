//! Customers and what is known about them.

pub mod pages;
pub mod routes;
pub mod security_routes;
pub mod sessions;
