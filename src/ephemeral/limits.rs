//! Rate limits per client network, the unit every per-client limit counts in: one IPv4
//! address, or one IPv6 /64 (a subscriber usually holds a whole /64, so counting single IPv6
//! addresses would let one client rotate through 2^64 of them).

use super::Ephemeral;
use crate::error::{Error, Result};

/// The fixed window of the per-minute limits.
const WINDOW_SECS: i64 = 60;

/// The network a client address counts against in abuse limits: the address itself for IPv4,
/// its /64 prefix for IPv6.
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

/// Count one request of kind `what` from `network`; refuse it once more than `per_minute`
/// came in the current minute. Anonymous endpoints that make the server store or fetch
/// something call this first, so one network cannot fill memory or the upstream's quota.
pub async fn per_network(ephemeral: &Ephemeral, what: &str, network: &str, per_minute: u64) -> Result<()> {
    let n = ephemeral.hit(&super::Space::RateLimit.key(&format!("{what}:{network}")), WINDOW_SECS).await?;
    if n > per_minute {
        crate::telemetry::rate_limited("per_network");
        if n == per_minute + 1 {
            tracing::warn!(what, network, "requests from one client network rate limited");
        }
        return Err(Error::RateLimited {
            message: "Too many requests came from your network. Wait a minute, then try again.",
            retry_after_secs: WINDOW_SECS as u64,
        });
    }
    Ok(())
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
