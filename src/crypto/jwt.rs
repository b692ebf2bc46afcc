//! Compact JWS (RFC 7515 §7.1) through the `jsonwebtoken` crate, with the key ring choosing
//! the key. Claims checks (iss, aud, exp, typ) belong to the caller, which knows what the
//! token is for and reads time from its clock.

mod provider;

use super::keys::{Alg, KeyRing, SigningKey};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode_header};
use serde::{Serialize, de::DeserializeOwned};
use std::sync::LazyLock;

pub(super) use provider::remember_parsed;

/// The protected header members Tessera writes and reads.
#[derive(Debug)]
pub struct Header {
    pub alg: String,
    pub kid: String,
    pub typ: String,
}

/// `typ` values: RFC 9068 §2.1 for access tokens, plain JWT for ID tokens.
pub const TYP_ACCESS_TOKEN: &str = "at+jwt";
pub const TYP_JWT: &str = "JWT";

/// Sign `claims` with `key`; the header names the key (`kid`) and its algorithm.
pub fn encode(key: &SigningKey, typ: &str, claims: &impl Serialize) -> String {
    provider::install();
    let mut header = jsonwebtoken::Header::new(key.alg.jws());
    header.typ = Some(typ.to_string());
    header.kid = Some(key.kid.clone());
    // Our claims are maps and structs of strings and numbers, and the key pair was parsed
    // when the ring was loaded, so neither serialization nor signing has a way to fail.
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("a parsed key signs serializable claims")
}

#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    Malformed,
    UnknownKey,
    /// The header's `alg` is not the algorithm of the key its `kid` names.
    WrongAlgorithm,
    BadSignature,
}

/// Signature checks only: `exp`, `aud` and the rest are the caller's (with its clock).
fn signature_only(alg: Alg) -> &'static Validation {
    static RULES: LazyLock<[Validation; 3]> = LazyLock::new(|| {
        Alg::ALL.map(|alg| {
            let mut v = Validation::new(alg.jws());
            v.required_spec_claims.clear();
            v.validate_exp = false;
            v.validate_nbf = false;
            v.validate_aud = false;
            v
        })
    });
    let i = Alg::ALL.iter().position(|a| *a == alg).unwrap_or_default();
    &RULES[i]
}

/// Verify the signature with the key named by `kid`, whose algorithm must be the header's
/// `alg` (RFC 8725 §3.1: the key decides, never the token), and return header and claims.
/// Unsigned tokens (`alg: none`, RFC 7518 §3.6) are not even parsed: jsonwebtoken knows no
/// such algorithm.
pub fn decode<T: DeserializeOwned>(ring: &KeyRing, token: &str) -> Result<(Header, T), JwtError> {
    provider::install();
    let header = decode_header(token).map_err(|_| JwtError::Malformed)?;
    let key = header.kid.as_deref().and_then(|kid| ring.find(kid)).ok_or(JwtError::UnknownKey)?;
    if header.alg != key.alg.jws() {
        return Err(JwtError::WrongAlgorithm);
    }
    let data =
        jsonwebtoken::decode::<T>(token, &key.decoding, signature_only(key.alg)).map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => JwtError::BadSignature,
            _ => JwtError::Malformed,
        })?;
    let h = data.header;
    Ok((
        Header { alg: key.alg.as_str().to_string(), kid: h.kid.unwrap_or_default(), typ: h.typ.unwrap_or_default() },
        data.claims,
    ))
}

#[cfg(test)]
mod tests;
