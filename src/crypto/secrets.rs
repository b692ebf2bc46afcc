//! One-time secrets: codes, refresh tokens, magic links and client secrets are 256-bit random
//! values stored only as SHA-256 hashes. They have full entropy, so a slow password hash would
//! add latency and no safety.

use aws_lc_rs::{digest, rand::SecureRandom, rand::SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SystemRandom::new().fill(&mut buf).expect("the system random generator failed");
    buf
}

/// A 256-bit secret, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A 128-bit identifier, base64url without padding (22 characters). It never starts with
/// `-` or `_`, so it can be passed on a command line (`tessera client delete ID`).
pub fn random_id() -> String {
    loop {
        let id = URL_SAFE_NO_PAD.encode(random_bytes::<16>());
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return id;
        }
    }
}

/// `n` decimal digits drawn without modulo bias.
pub fn random_digits(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes::<16>() {
            // 250 is the largest multiple of 10 below 256: reject above it to stay uniform.
            if b < 250 && out.len() < n {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    out
}

/// `n` random bytes (e.g. a TOTP shared secret).
pub fn random_vec(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    SystemRandom::new().fill(&mut buf).expect("the system random generator failed");
    buf
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
pub fn random_chars(alphabet: &[u8], n: usize) -> String {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes::<16>() {
            if usize::from(b) < limit && out.len() < n {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    out
}

/// The at-rest form of a secret: lowercase hex SHA-256.
pub fn hash(secret: &str) -> String {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut s = String::with_capacity(64);
    for b in d.as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

/// Compare secrets (or their hashes) without leaking where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_promised_shape() {
        assert_eq!(random_token().len(), 43);
        assert_ne!(random_token(), random_token());
        assert_eq!(random_id().len(), 22);
        let d = random_digits(6);
        assert_eq!(d.len(), 6);
        assert!(d.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn ids_can_be_command_line_arguments() {
        for _ in 0..2000 {
            let id = random_id();
            assert_eq!(id.len(), 22);
            assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
        }
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq(&hash("x"), &hash("x")));
        assert!(!constant_time_eq(&hash("x"), &hash("y")));
        assert!(!constant_time_eq("a", "ab"));
    }
}
