//! The OpenID Connect provider protocol: endpoints for relying parties, no sign-in pages.

pub mod acr;
pub mod authorize;
pub mod backchannel;
pub mod claims_request;
pub mod client_auth;
pub mod clients;
pub mod consent;
pub mod cors;
pub mod cors_routes;
pub mod discovery;
pub mod grants;
pub mod id_token_hint;
pub mod interaction;
pub mod introspection;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod prompt;
pub mod redirect;
pub mod revocation;
pub mod routes;
pub mod scopes;
pub mod select_account;
pub mod tokens;
pub mod userinfo;
pub mod verified;
