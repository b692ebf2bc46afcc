//! The one integration-test binary: the real server over HTTP, on SQLite by default or on
//! PostgreSQL when TESSERA_TEST_POSTGRES_URL is set; with the ephemeral store on Redis when
//! TESSERA_TEST_EPHEMERAL=redis. The ephemeral-store contract, Redis-down and two-node tests
//! always need Redis: TESSERA_TEST_REDIS_URL, default redis://127.0.0.1:6379.

mod support;

mod abuse;
mod admin;
mod audience;
mod audit;
mod authorize;
mod bench_driver;
mod breach;
mod claims;
mod cli;
mod client_grants;
mod consent_model;
mod consent_purposes;
mod cors;
mod cross_device;
mod discovery;
mod email_login;
mod ephemeral;
mod factors;
mod federation;
mod guardian;
mod hardening;
mod keys;
mod master_key;
mod offline;
mod operations;
mod outbox;
mod outbox_delivery;
mod pairwise;
mod passkeys;
mod privacy_centre;
mod privacy_page;
mod privacy_requests;
mod profile;
mod prompts;
mod protocol;
mod redis_down;
mod relying_party;
mod secrets;
mod sessions;
mod sign_in_limits;
mod takeover;
mod tidy;
mod tokens;
mod two_nodes;
mod webhooks;
