//! Compact JWS (RFC 7515 §7.1) signing and verification with the key ring. Claims checks
//! (iss, aud, exp) belong to the caller, which knows what the token is for.

use super::keys::{Alg, KeyRing, SigningKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub typ: String,
}

/// `typ` values: RFC 9068 §2.1 for access tokens, plain JWT for ID tokens.
pub const TYP_ACCESS_TOKEN: &str = "at+jwt";
pub const TYP_JWT: &str = "JWT";

pub fn encode(key: &SigningKey, typ: &str, claims: &impl Serialize) -> String {
    let header = Header { alg: key.alg.as_str().into(), kid: key.kid.clone(), typ: typ.into() };
    let mut out = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header serializes"));
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize")));
    let sig = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(sig));
    out
}

#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    Malformed,
    UnknownKey,
    BadSignature,
}

/// Verify the signature with the key named by `kid` (whose algorithm must match `alg`) and
/// return the header and claims.
pub fn decode<T: DeserializeOwned>(ring: &KeyRing, token: &str) -> Result<(Header, T), JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed);
    };
    let header: Header =
        URL_SAFE_NO_PAD.decode(h).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwtError::Malformed)?;
    let key = ring.find(&header.kid).ok_or(JwtError::UnknownKey)?;
    if Alg::parse(&header.alg) != Some(key.alg) {
        return Err(JwtError::BadSignature);
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
    if !key.verify(&token.as_bytes()[..h.len() + 1 + p.len()], &sig) {
        return Err(JwtError::BadSignature);
    }
    let claims =
        URL_SAFE_NO_PAD.decode(p).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwtError::Malformed)?;
    Ok((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn ring() -> KeyRing {
        let keys = Alg::ALL.iter().map(|a| SigningKey::generate(*a).unwrap().0).collect();
        KeyRing::new(keys, Alg::Es256).unwrap()
    }

    #[test]
    fn round_trip_and_tamper() {
        let ring = ring();
        for alg in Alg::ALL {
            let t = encode(ring.current(alg), TYP_ACCESS_TOKEN, &json!({"sub": "a"}));
            let (h, c): (Header, Value) = decode(&ring, &t).unwrap();
            assert_eq!(h.typ, "at+jwt");
            assert_eq!(c["sub"], "a");
            let mut parts: Vec<&str> = t.split('.').collect();
            let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"b"}"#);
            parts[1] = &forged;
            assert_eq!(decode::<Value>(&ring, &parts.join(".")).unwrap_err(), JwtError::BadSignature);
        }
        assert_eq!(decode::<Value>(&ring, "a.b").unwrap_err(), JwtError::Malformed);
    }
}
