//! Facts about the browser behind a request: address (through trusted proxies, see
//! `client_ip`), user agent and Tessera's cookies.

use super::client_ip::client_ip;
use super::cookies;
use crate::state::SharedState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, header, request::Parts};
use std::convert::Infallible;
use std::net::SocketAddr;

pub use crate::ephemeral::limits::client_network;

pub struct Browser {
    pub ip: String,
    pub user_agent: String,
    headers: HeaderMap,
    secure: bool,
}

impl Browser {
    pub fn cookie(&self, base: &str) -> Option<&str> {
        cookies::get(&self.headers, base, self.secure)
    }

    /// The client network this request counts against in abuse limits.
    pub fn network(&self) -> String {
        client_network(&self.ip)
    }

    pub fn facts(&self) -> crate::session::Browser<'_> {
        crate::session::Browser { ip: &self.ip, user_agent: &self.user_agent }
    }
}

impl FromRequestParts<SharedState> for Browser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let config = &state.config;
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| {
                client_ip(c.0.ip(), &parts.headers, &config.trusted_proxies, config.forwarded_header()).to_string()
            })
            .unwrap_or_else(|| "unknown".into());
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        Ok(Browser { ip, user_agent, headers: parts.headers.clone(), secure: state.config.secure_cookies() })
    }
}
