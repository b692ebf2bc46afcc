//! Facts about the browser behind a request: address, user agent and Tessera's cookies.

use super::cookies;
use crate::state::SharedState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, header, request::Parts};
use std::convert::Infallible;
use std::net::SocketAddr;

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

    pub fn facts(&self) -> crate::login::session::Browser<'_> {
        crate::login::session::Browser { ip: &self.ip, user_agent: &self.user_agent }
    }
}

impl FromRequestParts<SharedState> for Browser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        Ok(Browser { ip, user_agent, headers: parts.headers.clone(), secure: state.config.secure_cookies() })
    }
}
