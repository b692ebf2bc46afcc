//! Proof Key for Code Exchange, S256 only (RFC 7636; `plain` is refused as RFC 9700 §2.1.1
//! recommends).

use super::clients::Client;
use super::params::Params;
use crate::crypto::secrets::{constant_time_eq, sha256};
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// An S256 challenge is BASE64URL(SHA-256(verifier)): exactly 43 base64url characters.
pub fn is_valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.1 (verifier syntax) and §4.6 (S256 comparison).
pub fn verify(verifier: &str, challenge: &str) -> bool {
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_unreserved) {
        return false;
    }
    constant_time_eq(&URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes())), challenge)
}

/// RFC 7636 §4.3, only S256. Every client must use PKCE (RFC 9700 §2.1.1: it also stops
/// code injection against confidential clients), except a confidential client registered
/// with `--pkce optional` for legacy software; a public client never can be.
pub fn check_request(client: &Client, params: &Params) -> Result<Option<String>> {
    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method")) {
        (None, Some(_)) => Err(Error::invalid_request("code_challenge_method without code_challenge")),
        (None, None) if client.pkce_optional && !client.is_public() => Ok(None),
        (None, None) => Err(Error::invalid_request("PKCE is required (code_challenge with S256)")),
        (Some(_), Some(m)) if m != "S256" => {
            Err(Error::invalid_request("only the S256 code_challenge_method is supported"))
        }
        (Some(_), None) => Err(Error::invalid_request("code_challenge_method must be S256")),
        (Some(c), Some(_)) if !is_valid_challenge(c) => {
            Err(Error::invalid_request("code_challenge is not a valid S256 challenge"))
        }
        (Some(c), Some(_)) => Ok(Some(c.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_valid_challenge(challenge));
        assert!(verify(verifier, challenge));
        assert!(!verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX", challenge));
        assert!(!verify("short", challenge));
        assert!(!is_valid_challenge("plain-challenge"));
    }
}
