//! The signing key ring: parsed key pairs held for the life of the process (re-parsing PKCS#8
//! per signature costs ~40 %). Which key signs and which are published: `crypto::ring`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::json;
use std::sync::Arc;

pub use super::ring::{KeyRing, Keys};

/// JWS algorithms Tessera signs with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Es256,
    Rs256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::Es256, Alg::Rs256, Alg::EdDsa];

    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "ES256" => Some(Alg::Es256),
            "RS256" => Some(Alg::Rs256),
            "EdDSA" => Some(Alg::EdDsa),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The same algorithm in jsonwebtoken's terms.
    pub fn jws(self) -> Algorithm {
        match self {
            Alg::Es256 => Algorithm::ES256,
            Alg::Rs256 => Algorithm::RS256,
            Alg::EdDsa => Algorithm::EdDSA,
        }
    }
}

/// A parsed private key, ready to sign without touching its PKCS#8 document again.
pub enum KeyPairOf {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl KeyPairOf {
    /// The JWS signature over `message` (RFC 7518 §3.4: ES256 is the fixed-width R || S).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
        let rng = SystemRandom::new();
        match self {
            KeyPairOf::Ec(k) => Ok(k.sign(&rng, message)?.as_ref().to_vec()),
            KeyPairOf::Ed(k) => Ok(k.sign(message).as_ref().to_vec()),
            KeyPairOf::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)?;
                Ok(sig)
            }
        }
    }
}

pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pair: Arc<KeyPairOf>,
    public: Vec<u8>,
    /// The PKCS#8 document as jsonwebtoken carries it; our crypto provider finds the parsed
    /// pair above by these bytes (see `jwt::provider`).
    pub(super) encoding: EncodingKey,
    pub(super) decoding: DecodingKey,
}

impl SigningKey {
    /// A new key pair and its PKCS#8 document (to be sealed and stored).
    pub fn generate(alg: Alg) -> anyhow::Result<(SigningKey, Vec<u8>)> {
        let pkcs8 = match alg {
            Alg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("EC key generation failed"))?
                .as_ref()
                .to_vec(),
            Alg::EdDsa => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("Ed25519 key generation failed"))?
                .as_ref()
                .to_vec(),
            Alg::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?
                .as_ref()
                .to_vec(),
        };
        let key = SigningKey::from_pkcs8(crate::crypto::secrets::random_id(), alg, &pkcs8)?;
        Ok((key, pkcs8))
    }

    pub fn from_pkcs8(kid: String, alg: Alg, der: &[u8]) -> anyhow::Result<SigningKey> {
        let bad = |_| anyhow::anyhow!("stored {} key {kid} is not valid PKCS#8", alg.as_str());
        let pair = match alg {
            Alg::Es256 => KeyPairOf::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(bad)?),
            Alg::EdDsa => KeyPairOf::Ed(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?),
            Alg::Rs256 => KeyPairOf::Rsa(RsaKeyPair::from_pkcs8(der).map_err(bad)?),
        };
        let public = match &pair {
            KeyPairOf::Ec(k) => k.public_key().as_ref().to_vec(),
            KeyPairOf::Ed(k) => k.public_key().as_ref().to_vec(),
            KeyPairOf::Rsa(k) => k.public_key().as_ref().to_vec(),
        };
        let (encoding, decoding) = match &pair {
            // The uncompressed point (SEC 1 §2.3.3) and the raw Ed25519 key are what aws-lc-rs
            // verifies against; RSA goes by modulus and exponent.
            KeyPairOf::Ec(_) => (EncodingKey::from_ec_der(der), DecodingKey::from_ec_der(&public)),
            KeyPairOf::Ed(_) => (EncodingKey::from_ed_der(der), DecodingKey::from_ed_der(&public)),
            KeyPairOf::Rsa(k) => {
                let pk = k.public_key();
                let n = pk.modulus().big_endian_without_leading_zero();
                let e = pk.exponent().big_endian_without_leading_zero();
                (EncodingKey::from_rsa_der(der), DecodingKey::from_rsa_raw_components(n, e))
            }
        };
        let pair = Arc::new(pair);
        super::jwt::remember_parsed(der, alg, pair.clone());
        Ok(SigningKey { kid, alg, pair, public, encoding, decoding })
    }

    /// Check a raw signature with the public key (for tests and callers outside JWS).
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        let alg: &dyn VerificationAlgorithm = match self.alg {
            Alg::Es256 => &ECDSA_P256_SHA256_FIXED,
            Alg::EdDsa => &ED25519,
            Alg::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(alg, &self.public).verify(message, sig).is_ok()
    }

    /// The public JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2).
    pub fn public_jwk(&self) -> serde_json::Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match &*self.pair {
            KeyPairOf::Ec(_) => json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
                "x": b64(&self.public[1..33]), "y": b64(&self.public[33..65]),
            }),
            KeyPairOf::Ed(_) => json!({
                "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": self.kid,
                "x": b64(&self.public),
            }),
            KeyPairOf::Rsa(k) => {
                let pk = k.public_key();
                json!({
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                    "n": b64(pk.modulus().big_endian_without_leading_zero()),
                    "e": b64(pk.exponent().big_endian_without_leading_zero()),
                })
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_reloads_to_the_same_public_key_and_only_as_itself() {
        for (i, alg) in Alg::ALL.into_iter().enumerate() {
            let (key, der) = SigningKey::generate(alg).unwrap();
            let again = SigningKey::from_pkcs8(key.kid.clone(), alg, &der).unwrap();
            assert_eq!(key.public_jwk(), again.public_jwk(), "{alg:?}");
            assert_eq!(key.public_jwk()["alg"], alg.as_str());
            let other = Alg::ALL[(i + 1) % Alg::ALL.len()];
            assert!(SigningKey::from_pkcs8(key.kid.clone(), other, &der).is_err(), "{alg:?} as {other:?}");
        }
    }
}
