//! What the approval page tells a person before they approve a sign-in asked for on another
//! device: the app, the asking browser and system, its network (masked) and how long ago it
//! asked; and the number matching that keeps one careless click from approving a stranger.

use crate::crypto::secrets;
use crate::oidc::authorize;
use crate::session::device;
use crate::state::AppState;
use std::net::IpAddr;

/// The facts the approval page shows, already in words.
pub struct Approval {
    /// The app being signed in to, when the sign-in continues an authorization request.
    pub app: Option<String>,
    /// "Firefox on Linux".
    pub device: String,
    /// "203.0.113.x", or an IPv6 /64.
    pub network: String,
    /// "3 minutes ago".
    pub asked: String,
    /// Three two-digit numbers, one of them the asking browser's.
    pub choices: [u8; 3],
}

impl Approval {
    pub fn new(app: Option<String>, user_agent: &str, ip: &str, age_ms: i64, choices: [u8; 3]) -> Approval {
        Approval { app, device: device(user_agent), network: approximate_network(ip), asked: ago(age_ms), choices }
    }
}

/// A random two-digit number (10-99).
fn two_digits() -> u8 {
    loop {
        if let Ok(n) = secrets::random_digits(2).parse::<u8>()
            && n >= 10
        {
            return n;
        }
    }
}

/// The number the asking browser shows, and the three choices the approval page offers:
/// that number and two other ones, in random order.
pub fn numbers() -> (u8, [u8; 3]) {
    let number = two_digits();
    let mut choices = [number; 3];
    for i in 1..3 {
        choices[i] = loop {
            let n = two_digits();
            if !choices[..i].contains(&n) {
                break n;
            }
        };
    }
    // Move the right number to a uniformly random place (digits 0-8: 9 is a multiple of 3).
    let place = loop {
        let d = secrets::random_digits(1).parse::<usize>().unwrap_or(9);
        if d < 9 {
            break d % 3;
        }
    };
    choices.swap(0, place);
    (number, choices)
}

/// The client name of authorization request `authz`, if it is still pending.
pub async fn app_name(state: &AppState, authz: Option<&str>, now: i64) -> Option<String> {
    let request = authorize::load(state, authz?, now).await.ok()?;
    let client = state.clients.get(&state.store, &request.client_id, now).await.ok()??;
    Some(client.name.clone())
}

/// An address to recognise, not to locate: IPv4 without its last byte, IPv6 as its /64.
pub fn approximate_network(ip: &str) -> String {
    let v4 = |a: std::net::Ipv4Addr| {
        let o = a.octets();
        format!("{}.{}.{}.x", o[0], o[1], o[2])
    };
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => v4(a),
        Ok(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(m) => v4(m),
            None => {
                let s = a.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => "an unknown network".into(),
    }
}

/// "just now", "1 minute ago", "3 minutes ago", "2 hours ago".
pub fn ago(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        0 => "just now".into(),
        1 => "1 minute ago".into(),
        2..=119 => format!("{minutes} minutes ago"),
        _ => format!("{} hours ago", minutes / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_masked() {
        assert_eq!(approximate_network("203.0.113.7"), "203.0.113.x");
        assert_eq!(approximate_network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(approximate_network("::ffff:198.51.100.4"), "198.51.100.x");
        assert_eq!(approximate_network("unknown"), "an unknown network");
    }

    #[test]
    fn ages_read_plainly() {
        assert_eq!(ago(10_000), "just now");
        assert_eq!(ago(61_000), "1 minute ago");
        assert_eq!(ago(3 * 60_000), "3 minutes ago");
        assert_eq!(ago(3 * 3_600_000), "3 hours ago");
    }

    #[test]
    fn the_number_is_one_of_three_distinct_two_digit_choices() {
        let mut places = [0; 3];
        for _ in 0..300 {
            let (n, c) = numbers();
            assert!((10..=99).contains(&n));
            assert!(c.iter().all(|x| (10..=99).contains(x)));
            assert!(c[0] != c[1] && c[1] != c[2] && c[0] != c[2], "{c:?}");
            places[c.iter().position(|x| *x == n).unwrap()] += 1;
        }
        // The right number is not always in the same place.
        assert!(places.iter().all(|p| *p > 0), "{places:?}");
    }
}
