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

    /// The client network this request counts against in abuse limits.
    pub fn network(&self) -> String {
        client_network(&self.ip)
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

/// The network a client address counts against in abuse limits: the address itself for IPv4,
/// its /64 prefix for IPv6 (one subscriber usually holds a whole /64, so counting single
/// IPv6 addresses would let one client rotate through 2^64 of them).
pub fn client_network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        _ => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::client_network;

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        assert_eq!(client_network("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(client_network("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(client_network("::ffff:198.51.100.4"), "198.51.100.4");
        assert_eq!(client_network("unknown"), "unknown");
    }
}
