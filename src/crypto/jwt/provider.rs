//! jsonwebtoken's crypto provider for Tessera: its aws-lc-rs backend, except that signing
//! uses the key pair parsed once when the key was loaded. jsonwebtoken hands the signer
//! factory only the key's PKCS#8 bytes; its stock signer re-parses them on every `encode`
//! (measured: 26 µs per ES256 signature instead of 16 µs), and its RSA signer reads PKCS#1
//! only, so it could not sign with our PKCS#8 RSA keys at all. Parsed pairs therefore wait in
//! a process-wide map keyed by those bytes. Verification is the backend's own.

use crate::crypto::keys::{Alg, KeyPairOf};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, aws_lc};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error as SignatureError, Signer};
use jsonwebtoken::{Algorithm, EncodingKey};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Once, RwLock};

type Parsed = HashMap<Vec<u8>, (Alg, Arc<KeyPairOf>)>;

static PARSED: LazyLock<RwLock<Parsed>> = LazyLock::new(Default::default);

static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    signer_factory: parsed_signer,
    verifier_factory: aws_lc::DEFAULT_PROVIDER.verifier_factory,
    key_utils: aws_lc::DEFAULT_PROVIDER.key_utils.clone(),
});

/// Make this the process's provider before jsonwebtoken's first use (it may be set once;
/// until then jsonwebtoken would pick its plain aws-lc-rs backend from the crate feature).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if CryptoProvider::install_default(&PROVIDER).is_err() {
            tracing::error!("another JWS crypto provider was installed first; signing re-parses keys");
        }
    });
}

/// Keep a parsed key pair for the life of the process, found again by its PKCS#8 bytes.
pub fn remember_parsed(pkcs8: &[u8], alg: Alg, pair: Arc<KeyPairOf>) {
    let mut parsed = PARSED.write().unwrap_or_else(|e| e.into_inner());
    parsed.insert(pkcs8.to_vec(), (alg, pair));
}

struct ParsedSigner {
    alg: Algorithm,
    pair: Arc<KeyPairOf>,
}

impl Signer<Vec<u8>> for ParsedSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        self.pair.sign(msg).map_err(SignatureError::from_source)
    }
}

impl JwtSigner for ParsedSigner {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn parsed_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    let found = PARSED.read().unwrap_or_else(|e| e.into_inner()).get(key.as_bytes()).cloned();
    match found {
        // The pair signs only with its own algorithm.
        Some((own, pair)) if own.jws() == *alg => Ok(Box::new(ParsedSigner { alg: *alg, pair })),
        Some(_) => Err(ErrorKind::InvalidAlgorithm.into()),
        None => (aws_lc::DEFAULT_PROVIDER.signer_factory)(alg, key),
    }
}
