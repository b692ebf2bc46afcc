//! The JWS layer: round trips per algorithm, and every way a token must be refused.

use super::*;
use crate::crypto::keys::KeyPairOf;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

fn ring() -> KeyRing {
    let keys = Alg::ALL.iter().map(|a| SigningKey::generate(*a).unwrap().0).collect();
    KeyRing::new(keys, Alg::Es256).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn header_of(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

/// `token` with its protected header replaced (signature kept).
fn with_header(token: &str, header: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[0] = b64(header);
    parts.join(".")
}

#[test]
fn every_algorithm_round_trips_with_kid_alg_and_typ() {
    let ring = ring();
    for alg in Alg::ALL {
        let key = ring.current(alg);
        let t = encode(key, TYP_ACCESS_TOKEN, &json!({"sub": "a", "n": 7}));
        let raw = header_of(&t);
        assert_eq!(raw["alg"], alg.as_str());
        assert_eq!(raw["kid"], key.kid.as_str());
        assert_eq!(raw["typ"], "at+jwt");
        let (h, c): (Header, Value) = decode(&ring, &t).unwrap();
        assert_eq!((h.alg.as_str(), h.kid.as_str(), h.typ.as_str()), (alg.as_str(), key.kid.as_str(), "at+jwt"));
        assert_eq!(c, json!({"sub": "a", "n": 7}));
    }
}

#[test]
fn a_key_reloaded_from_its_pkcs8_verifies_what_it_signed() {
    let (keys, ders): (Vec<SigningKey>, Vec<Vec<u8>>) =
        Alg::ALL.iter().map(|a| SigningKey::generate(*a).unwrap()).unzip();
    let tokens: Vec<String> = keys.iter().map(|k| encode(k, TYP_JWT, &json!({"sub": "x"}))).collect();
    let reloaded =
        keys.iter().zip(&ders).map(|(k, d)| SigningKey::from_pkcs8(k.kid.clone(), k.alg, d).unwrap()).collect();
    let ring = KeyRing::new(reloaded, Alg::Es256).unwrap();
    for t in tokens {
        let (_, c): (Header, Value) = decode(&ring, &t).unwrap();
        assert_eq!(c["sub"], "x");
    }
}

#[test]
fn an_unknown_or_missing_kid_is_refused() {
    let (ring, other) = (ring(), ring());
    for alg in Alg::ALL {
        let t = encode(other.current(alg), TYP_JWT, &json!({"sub": "a"}));
        assert_eq!(decode::<Value>(&ring, &t).unwrap_err(), JwtError::UnknownKey, "{alg:?}");
        let mut h = header_of(&t);
        h.as_object_mut().unwrap().remove("kid");
        assert_eq!(decode::<Value>(&other, &with_header(&t, &h)).unwrap_err(), JwtError::UnknownKey, "{alg:?}");
    }
}

#[test]
fn a_signature_by_another_key_under_our_kid_is_refused() {
    let (ring, other) = (ring(), ring());
    for alg in Alg::ALL {
        let t = encode(other.current(alg), TYP_JWT, &json!({"sub": "a"}));
        let mut h = header_of(&t);
        h["kid"] = ring.current(alg).kid.as_str().into();
        assert_eq!(decode::<Value>(&ring, &with_header(&t, &h)).unwrap_err(), JwtError::BadSignature, "{alg:?}");
    }
}

/// RFC 8725 §3.1: the algorithm is the key's. A header naming another algorithm for the key
/// (including HS256, which would turn a public key into an HMAC secret) is refused.
#[test]
fn an_alg_other_than_the_keys_is_refused() {
    let ring = ring();
    for alg in Alg::ALL {
        let t = encode(ring.current(alg), TYP_JWT, &json!({"sub": "a"}));
        for other in ["ES256", "RS256", "EdDSA", "HS256", "PS256", "ES384"] {
            if other == alg.as_str() {
                continue;
            }
            let mut h = header_of(&t);
            h["alg"] = other.into();
            assert_eq!(
                decode::<Value>(&ring, &with_header(&t, &h)).unwrap_err(),
                JwtError::WrongAlgorithm,
                "{alg:?} as {other}"
            );
        }
    }
}

/// RFC 7518 §3.6 / RFC 8725 §3.1: unsecured JWSs are never accepted, whatever the spelling
/// and whether or not they carry a signature part.
#[test]
fn unsigned_tokens_are_refused() {
    let ring = ring();
    let kid = ring.current(Alg::Es256).kid.clone();
    let payload = b64(&json!({"sub": "a"}));
    let signed = encode(ring.current(Alg::Es256), TYP_JWT, &json!({"sub": "a"}));
    let signature = signed.rsplit('.').next().unwrap();
    for alg in ["none", "None", "NONE", ""] {
        let header = b64(&json!({"alg": alg, "kid": kid, "typ": "JWT"}));
        for sig in ["", signature] {
            let token = format!("{header}.{payload}.{sig}");
            assert!(decode::<Value>(&ring, &token).is_err(), "alg {alg:?} with signature {sig:?}");
        }
    }
    assert_eq!(decode::<Value>(&ring, "eyJhbGciOiJub25lIn0.e30.").unwrap_err(), JwtError::Malformed);
}

#[test]
fn tampered_payloads_and_signatures_are_refused() {
    let ring = ring();
    for alg in Alg::ALL {
        let t = encode(ring.current(alg), TYP_ACCESS_TOKEN, &json!({"sub": "a"}));
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let good = parts.clone();
        parts[1] = b64(&json!({"sub": "b"}));
        assert_eq!(decode::<Value>(&ring, &parts.join(".")).unwrap_err(), JwtError::BadSignature, "{alg:?}");
        let mut sig = URL_SAFE_NO_PAD.decode(&good[2]).unwrap();
        sig[5] ^= 1;
        let tampered = [good[0].clone(), good[1].clone(), URL_SAFE_NO_PAD.encode(&sig)].join(".");
        assert_eq!(decode::<Value>(&ring, &tampered).unwrap_err(), JwtError::BadSignature, "{alg:?}");
        let cut = [good[0].clone(), good[1].clone(), String::new()].join(".");
        assert!(decode::<Value>(&ring, &cut).is_err(), "{alg:?}");
    }
    assert_eq!(decode::<Value>(&ring, "a.b").unwrap_err(), JwtError::Malformed);
    assert_eq!(decode::<Value>(&ring, "not a token").unwrap_err(), JwtError::Malformed);
}

/// Signing goes through the pair parsed at load time, found by the key's bytes: bytes that
/// no parser would accept still sign once a pair is remembered for them, a pair refuses to
/// sign for another algorithm, and a key never loaded (Apple's client-secret key) still
/// signs by parsing.
#[test]
fn the_provider_signs_with_parsed_pairs_and_falls_back_for_others() {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    use jsonwebtoken::{Algorithm, EncodingKey};
    provider::install();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = SigningKey::from_pkcs8("k".into(), Alg::Es256, pkcs8.as_ref()).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let handle = format!("not a key {}", crate::crypto::secrets::random_id());
    remember_parsed(handle.as_bytes(), Alg::Es256, std::sync::Arc::new(KeyPairOf::Ec(pair)));
    let by_handle = EncodingKey::from_ec_der(handle.as_bytes());
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::ES256), &json!({}), &by_handle).unwrap();
    let (message, sig) = token.rsplit_once('.').unwrap();
    assert!(key.verify(message.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap()));
    let stock = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.signer_factory;
    assert!(stock(&Algorithm::ES256, &by_handle).is_err(), "only the remembered pair makes these bytes sign");
    // Our RSA keys are PKCS#8; the stock RSA signer reads PKCS#1 only and fails, ours signs.
    let ring = ring();
    let rsa = ring.current(Alg::Rs256);
    let stock_rsa = stock(&Algorithm::RS256, &rsa.encoding).unwrap();
    assert!(jsonwebtoken::signature::Signer::try_sign(&*stock_rsa, b"m").is_err());
    let (_, c): (Header, Value) = decode(&ring, &encode(rsa, TYP_JWT, &json!({"sub": "r"}))).unwrap();
    assert_eq!(c["sub"], "r");
    assert!(jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::ES384), &json!({}), &by_handle).is_err());
    let fresh = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let header = jsonwebtoken::Header::new(Algorithm::ES256);
    assert!(jsonwebtoken::encode(&header, &json!({}), &EncodingKey::from_ec_der(fresh.as_ref())).is_ok());
}
