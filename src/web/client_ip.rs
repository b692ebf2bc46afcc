//! The client's address behind reverse proxies. The TCP peer is the client unless it is one
//! of the operator's `trusted_proxies`; only then is the forwarding header believed, and only
//! as far as it was written by trusted hops: walking from the right, each trusted hop vouches
//! for the address to its left, and the first address that is not a trusted proxy is the
//! client (RFC 7239 §5.2 and §7.4: earlier entries are whatever the client chose to send).

use axum::http::HeaderMap;
use serde::Deserialize;
use std::fmt;
use std::net::IpAddr;

/// An address range in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is /32
/// or /128.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), 32, self.prefix) == masked(u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix) == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u32, prefix: u8) -> u128 {
    let host_bits = width - u32::from(prefix);
    if host_bits >= 128 { 0 } else { bits >> host_bits }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The `trusted_proxies` setting: a list of CIDRs, written as a TOML array or as one
/// comma-separated string (the form environment variables take).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(parse_one).collect::<Result<_, _>>().map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }
}

fn parse_one(s: &str) -> Result<Cidr, String> {
    Cidr::parse(s).ok_or_else(|| format!("`{s}` is not an address range like 10.0.0.0/8 or 2001:db8::/32"))
}

/// Written back as the list of CIDRs (the configuration's Debug output is built from it).
impl serde::Serialize for TrustedProxies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| format!("{}/{}", c.addr, c.prefix)))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(String),
            Many(Vec<String>),
        }
        let list = match Form::deserialize(d)? {
            Form::One(s) => return TrustedProxies::parse(&s).map_err(serde::de::Error::custom),
            Form::Many(v) => v,
        };
        list.iter().map(|s| parse_one(s)).collect::<Result<_, _>>().map(Self).map_err(serde::de::Error::custom)
    }
}

/// Which header the trusted proxies write: `X-Forwarded-For` (nginx, HAProxy, most load
/// balancers) or RFC 7239 `Forwarded`. Only one is read: a proxy that appends to one passes
/// the other through untouched, so reading both would let a client choose its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardedHeader {
    XForwardedFor,
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(name: &str) -> Option<ForwardedHeader> {
        match name.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Some(ForwardedHeader::XForwardedFor),
            "forwarded" => Some(ForwardedHeader::Forwarded),
            _ => None,
        }
    }
}

/// The client address of a request that arrived from `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies, header: ForwardedHeader) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    let hops = match header {
        ForwardedHeader::XForwardedFor => header_items(headers, "x-forwarded-for").map(str::to_string).collect(),
        ForwardedHeader::Forwarded => forwarded_for(headers),
    };
    for hop in hops.iter().rev() {
        // An unknown or obfuscated hop (RFC 7239 §6.2, §6.3) ends the chain: the last
        // trusted proxy is the best address known for this client.
        let Some(ip) = hop_address(hop) else { break };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// The comma-separated items of every instance of header `name`, in order (RFC 9110 §5.3).
fn header_items<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim)
}

/// The `for=` parameter of each element of `Forwarded` (RFC 7239 §4), in order; an element
/// without one counts as an unknown hop.
fn forwarded_for(headers: &HeaderMap) -> Vec<String> {
    header_items(headers, "forwarded")
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
                .unwrap_or_default()
        })
        .collect()
}

/// An address from one hop: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    let (host, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_contain_their_addresses() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.200.1.1")) && !c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped peers count as IPv4");
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("198.51.100.1")));
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(Cidr::parse("10.0.0.0/33").is_none() && Cidr::parse("ten").is_none());
        assert!(TrustedProxies::parse("10.0.0.0/8, ::1").is_ok());
        assert!(TrustedProxies::parse("10.0.0.0/8, nope").is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(client_ip(ip("198.51.100.7"), &h, &trusted, ForwardedHeader::XForwardedFor), ip("198.51.100.7"));
        let none = TrustedProxies::default();
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &none, ForwardedHeader::XForwardedFor), ip("10.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let xff = ForwardedHeader::XForwardedFor;
        // The client prepended a forged address; the proxies appended the real one.
        let h = headers("x-forwarded-for", &["1.2.3.4, 203.0.113.9", "10.0.0.5"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, xff), ip("203.0.113.9"));
        // No header: the proxy itself is all we know.
        assert_eq!(client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted, xff), ip("10.0.0.1"));
        let h = headers("x-forwarded-for", &["garbage, 10.0.0.7"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, xff), ip("10.0.0.7"));
        // The other header is ignored: a proxy passes it through as the client wrote it.
        let h = headers("forwarded", &["for=203.0.113.50"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, xff), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_elements_quoted_with_ports() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let fwd = ForwardedHeader::Forwarded;
        let h = headers("forwarded", &["for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https", "For=10.0.0.3"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, fwd), ip("2001:db8:cafe::17"));
        let h = headers("forwarded", &["for=\"198.51.100.17:8080\";by=10.0.0.1"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, fwd), ip("198.51.100.17"));
        let h = headers("forwarded", &["for=203.0.113.1, for=_hidden"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, fwd), ip("10.0.0.1"));
    }
}
