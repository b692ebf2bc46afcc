//! Social login: connectors to upstream providers (admin-configured), the flow towards
//! them, and how their identities become Tessera accounts.

pub mod accounts;
pub mod apple;
mod buttons;
pub mod connectors;
pub mod discovery;
pub mod id_token;
pub mod kind;
pub mod oauth2;
pub mod outbound;
pub mod presets;
mod redacted;
pub mod request;
pub mod routes;
pub mod upstream;
