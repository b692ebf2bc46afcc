//! Tessera: a passwordless customer-identity and consent server (OpenID Connect provider).
//!
//! Modules in reading order: configuration and state, then the provider protocol (`oidc`),
//! how people sign in (`login`), the customers (`accounts`), and the parts underneath
//! (`crypto`, `store`, `ephemeral`, `mail`, `web`). Requests flow one way:
//! `routes.rs` → feature function → `store/`.

pub mod app;
pub mod clock;
pub mod config;
pub mod error;
pub mod state;
pub mod telemetry;
pub mod worker;

pub mod accounts;
pub mod admin;
pub mod breach;
pub mod consent;
pub mod customers;
pub mod events;
pub mod health;
pub mod keys;
pub mod login;
pub mod oidc;
pub mod privacy;
pub mod session;

pub mod crypto;
pub mod ephemeral;
pub mod mail;
pub mod store;
pub mod web;

pub use app::{app, serve};
pub use config::Config;
pub use error::{Error, Result};
pub use state::{AppState, SharedState};
