//! Webhooks (Standard Webhooks): admins register endpoints; each event is fanned out to the
//! enabled endpoints that subscribe to its type and delivered, signed, with retries
//! (`delivery.rs`); deliveries can be listed and replayed (`replay.rs`).
//!
//! Threat model: an endpoint URL is admin input that makes Tessera send requests, so it obeys
//! the outbound policy (no private networks, checked again at connect time); the signing
//! secret is generated here, shown once, and kept sealed with the master key; bodies carry
//! events' payloads, which hold no secrets; attempts record no request headers.

mod delivery;
mod endpoints;
mod replay;
pub mod signature;

pub use super::Event;

pub use delivery::{deliver_due, fan_out};
pub use endpoints::{Created, EndpointInput, EndpointView, SEAL_PURPOSE, create, delete, enable, get, list};
pub use replay::{AttemptView, DeliveryView, Replay, ReplayInput, deliveries, replay, send_test};

/// Who asked for a change, and from where, for the audit log.
pub use super::audit::{Actor, Caller};
