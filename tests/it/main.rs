//! The one integration-test binary: the real server over HTTP, on SQLite by default or on
//! PostgreSQL when TESSERA_TEST_POSTGRES_URL is set.

mod support;

mod abuse;
mod admin;
mod authorize;
mod cli;
mod discovery;
mod email_login;
mod factors;
mod federation;
mod passkeys;
mod relying_party;
mod sessions;
mod tidy;
mod tokens;
