//! Customers and what is known about them.

pub mod customer;
pub mod routes;
