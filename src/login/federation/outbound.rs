//! Every request Tessera makes to an upstream provider or a webhook endpoint goes through
//! here, so that a connector, a provider's discovery document or a webhook URL cannot turn
//! Tessera into a way into the internal network (server-side request forgery).
//!
//! Threat model: whoever controls a connector's URLs, or a provider's discovery document,
//! or the DNS of a provider's names, tries to make Tessera send requests to loopback,
//! private, link-local (cloud metadata), CGNAT or unique-local addresses. Names are checked
//! when they are resolved, in the HTTP client's own resolver (so a name that resolves to a
//! public address when checked and a private one when connected, DNS rebinding, cannot slip
//! through); literal IP addresses never reach a resolver and are checked here first. The
//! client follows no redirects and uses no proxy (a proxy would resolve names itself), and
//! every response body is read up to a limit (a webhook receiver's answer is only excerpted).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Discovery documents are a few KiB; Microsoft's is ~2 KiB, Google's ~1.5 KiB.
pub const DISCOVERY_LIMIT: usize = 64 * 1024;
/// A key set of a handful of RSA keys is ~2 KiB per key.
pub const JWKS_LIMIT: usize = 64 * 1024;
/// Token and UserInfo responses: tokens and a few claims.
pub const TOKEN_LIMIT: usize = 64 * 1024;
pub const USERINFO_LIMIT: usize = 64 * 1024;

/// Where an address belongs, for the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Public,
    /// Loopback, RFC 1918 private, RFC 6598 CGNAT (100.64.0.0/10), RFC 4193 unique-local
    /// (fc00::/7): refused unless `federation_allow_private_networks`.
    Private,
    /// Never a provider, whatever the setting: unspecified (0.0.0.0 reaches this host),
    /// link-local (169.254.0.0/16, fe80::/10: where cloud metadata services answer),
    /// multicast, broadcast.
    Never,
}

pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            // ::ffff:a.b.c.d is the IPv4 address a.b.c.d on a dual-stack socket.
            Some(v4) => reach_v4(v4),
            // 64:ff9b::/96 (RFC 6052 NAT64) reaches the IPv4 address in its last 32 bits.
            None if v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] => {
                let [.., a, b, c, d] = v6.octets();
                reach_v4(Ipv4Addr::new(a, b, c, d))
            }
            None => reach_v6(v6),
        },
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() || ip.is_link_local() || ip.is_multicast() || ip.is_broadcast() || a == 0 {
        Reach::Never
    } else if ip.is_loopback() || ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Reach::Private
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    let first = ip.segments()[0];
    if ip.is_unspecified() || ip.is_multicast() || (first & 0xffc0) == 0xfe80 {
        Reach::Never
    } else if ip.is_loopback() || (first & 0xfe00) == 0xfc00 {
        Reach::Private
    } else {
        Reach::Public
    }
}

/// What the operator allows; `federation_allow_private_networks` lifts `Private`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub allow_private: bool,
}

impl Policy {
    pub fn allows(&self, ip: IpAddr) -> bool {
        match reach(ip) {
            Reach::Public => true,
            Reach::Private => self.allow_private,
            Reach::Never => false,
        }
    }

    /// A URL Tessera may send requests to: https, or http on an allowed private network;
    /// a literal IP address only where `allows` says so. Names are checked at connect time.
    pub fn check_url(&self, value: &str) -> Result<url::Url, String> {
        let u = url::Url::parse(value).map_err(|_| "must be an absolute URL".to_string())?;
        let host = match u.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err("must name a host".into()),
        };
        if let Some(ip) = host
            && !self.allows(ip)
        {
            return Err("must not be on a private network (loopback, private, link-local, CGNAT or unique-local \
                        address); set federation_allow_private_networks for development"
                .into());
        }
        // Plain http only where private networks are allowed and the host is plainly local:
        // a private address, or a name without dots (a container or intranet name).
        let local = match (host, u.host_str()) {
            (Some(ip), _) => reach(ip) == Reach::Private,
            (None, Some(name)) => name == "localhost" || name.ends_with(".localhost") || !name.contains('.'),
            _ => false,
        };
        match u.scheme() {
            "https" => Ok(u),
            "http" if self.allow_private && local => Ok(u),
            _ => Err("must use https (plain http only on an allowed private network)".into()),
        }
    }
}

/// The HTTP client's resolver: the system's, with the addresses the policy refuses removed.
/// If none remain the connection fails, before any byte is sent.
struct GuardedResolver {
    policy: Policy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| policy.allows(a.ip())).collect();
            if allowed.is_empty() {
                tracing::warn!(host = %host, "refused to connect: the name resolves only to private addresses");
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to a private network address").into();
                return Err(refused);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The client for upstream providers, and the cache of what they publish.
pub struct Outbound {
    client: reqwest::Client,
    pub policy: Policy,
    pub cache: super::discovery::Cache,
}

/// A response read within its limit.
pub struct Fetched {
    pub status: reqwest::StatusCode,
    pub cache_control: Option<String>,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("not JSON: {e}"))
    }
}

impl Outbound {
    pub fn new(allow_private: bool) -> anyhow::Result<Outbound> {
        let policy = Policy { allow_private };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("Tessera")
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .build()?;
        Ok(Outbound { client, policy, cache: Default::default() })
    }

    /// GET `url` (checked by the policy), with a bearer token if given.
    pub async fn get(&self, url: &str, bearer: Option<&str>, limit: usize) -> Result<Fetched, String> {
        let u = self.policy.check_url(url).map_err(|e| format!("{url}: {e}"))?;
        let mut req = self.client.get(u).header("accept", "application/json");
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        read(req.send().await.map_err(|e| format!("{e:#}"))?, limit).await
    }

    /// POST a form to `url` (checked by the policy).
    pub async fn post_form(&self, url: &str, form: &[(String, String)], limit: usize) -> Result<Fetched, String> {
        let u = self.policy.check_url(url).map_err(|e| format!("{url}: {e}"))?;
        let req = self.client.post(u).header("accept", "application/json").form(form);
        read(req.send().await.map_err(|e| format!("{e:#}"))?, limit).await
    }
}

/// A receiver's answer to a POST: its status and the first bytes of its body.
pub struct Answered {
    pub status: reqwest::StatusCode,
    pub excerpt: Vec<u8>,
}

impl Outbound {
    /// POST a JSON body with extra headers to `url` (checked by the policy), for webhooks.
    /// The response body is read up to `excerpt` bytes and the rest dropped, not refused (only
    /// an excerpt is kept). Errors name the cause, never the URL (it may carry a token).
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: String,
        excerpt: usize,
    ) -> Result<Answered, String> {
        let u = self.policy.check_url(url)?;
        let mut req = self.client.post(u).header("content-type", "application/json").body(body);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let mut res = req.send().await.map_err(|e| chain(&e.without_url()))?;
        let status = res.status();
        let mut kept = Vec::new();
        while kept.len() < excerpt {
            match res.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(excerpt - kept.len())]),
                Ok(None) => break,
                // The status is the answer; a body cut short only shortens the excerpt.
                Err(_) => break,
            }
        }
        Ok(Answered { status, excerpt: kept })
    }
}

/// An error and its causes, e.g. "error sending request: client error (Connect): dns error:
/// 10.0.0.1 resolves to a private network address".
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

async fn read(mut res: reqwest::Response, limit: usize) -> Result<Fetched, String> {
    let too_big = || format!("the response is larger than {limit} bytes");
    if res.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let status = res.status();
    let cache_control =
        res.headers().get(reqwest::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).map(String::from);
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { status, cache_control, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_sorted_into_public_private_and_never() {
        for a in ["127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1", "100.127.255.254"] {
            assert_eq!(reach(ip(a)), Reach::Private, "{a}");
        }
        for a in ["::1", "fc00::1", "fd12:3456::1", "::ffff:192.168.1.1", "::ffff:127.0.0.1", "64:ff9b::a00:1"] {
            assert_eq!(reach(ip(a)), Reach::Private, "{a}");
        }
        for a in ["0.0.0.0", "169.254.169.254", "224.0.0.1", "255.255.255.255", "::", "fe80::1", "ff02::1"] {
            assert_eq!(reach(ip(a)), Reach::Never, "{a}");
        }
        for a in ["8.8.8.8", "100.128.0.1", "172.32.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert_eq!(reach(ip(a)), Reach::Public, "{a}");
        }
    }

    #[test]
    fn urls_need_https_and_a_public_address_unless_private_networks_are_allowed() {
        let strict = Policy { allow_private: false };
        let dev = Policy { allow_private: true };
        assert!(strict.check_url("https://idp.example/x").is_ok());
        assert!(strict.check_url("https://8.8.8.8/").is_ok());
        assert!(strict.check_url("http://idp.example/").is_err());
        assert!(strict.check_url("https://10.0.0.1/jwks").is_err());
        assert!(strict.check_url("http://127.0.0.1:8080/").is_err());
        assert!(dev.check_url("http://127.0.0.1:8080/").is_ok());
        assert!(dev.check_url("http://keycloak:8080/realms/x").is_ok());
        assert!(dev.check_url("http://idp.example/").is_err(), "http only on a private network");
        assert!(dev.check_url("http://169.254.169.254/latest/meta-data").is_err(), "never metadata");
        assert!(dev.check_url("http://0.0.0.0:9000/").is_err());
        assert!(dev.check_url("ftp://10.0.0.1/").is_err());
    }
}
