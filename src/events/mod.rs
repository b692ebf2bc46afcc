//! Events: what happened, for the audit log (and, with the outbox, for webhooks).

pub mod audit;
pub mod audit_query;
