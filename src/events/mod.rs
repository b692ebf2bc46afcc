//! Events: what happened, for consumers outside the request that caused it (webhooks).

pub mod webhooks;
