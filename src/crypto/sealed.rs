//! Encryption at rest with the server's master key (AES-256-GCM, random 96-bit nonce per
//! message, the purpose as associated data so a sealed value cannot be moved to another use),
//! and keyed hashes (HMAC-SHA256 under a per-purpose key derived from the master key) for
//! secrets looked up by equality that have too little entropy for a plain hash.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub struct MasterKey {
    /// Seals, and opens first.
    aead: LessSafeKey,
    /// Earlier master keys during a master-key rotation: they only open.
    previous: Vec<LessSafeKey>,
    /// The root of derived keys: HMAC-SHA256 keyed with the root bytes (the master key's own
    /// bytes until a rotation; then the first key's, kept sealed, so derived values stay).
    derive: hmac::Key,
    root: Vec<u8>,
}

/// Never prints key material.
impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).ok()?;
        (bytes.len() == 32).then(|| Self {
            aead: LessSafeKey::new(key),
            previous: Vec::new(),
            derive: hmac::Key::new(hmac::HMAC_SHA256, bytes),
            root: bytes.to_vec(),
        })
    }

    /// Also open values sealed under `earlier` keys (a master-key rotation under way).
    pub fn with_previous(mut self, earlier: Vec<MasterKey>) -> Self {
        self.previous.extend(earlier.into_iter().map(|k| k.aead));
        self
    }

    /// Derive keys from `root` (kept from before a master-key rotation) instead of this key.
    pub fn with_derivation_root(mut self, root: &[u8]) -> Self {
        self.derive = hmac::Key::new(hmac::HMAC_SHA256, root);
        self.root = root.to_vec();
        self
    }

    /// The bytes keys are derived from (to be kept, sealed, across a master-key rotation).
    pub fn derivation_root(&self) -> &[u8] {
        &self.root
    }

    /// Whether `sealed` opens with the sealing key itself (not only with an earlier one).
    pub fn opens_with_current(&self, purpose: &str, sealed: &[u8]) -> bool {
        open_with(&self.aead, purpose, sealed).is_ok()
    }

    /// HMAC-SHA256 of `value` under a key derived for `purpose` (K = HMAC(master, "tessera
    /// keyed hash: " + purpose), as in HKDF-Expand's single block), as lowercase hex. Without
    /// the master key a stolen database gives no way to test guesses offline.
    pub fn keyed_hash(&self, purpose: &str, value: &[u8]) -> String {
        let derived = hmac::sign(&self.derive, format!("tessera keyed hash: {purpose}").as_bytes());
        let key = hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref());
        hmac::sign(&key, value).as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A key for one purpose, derived from the master key (HMAC-SHA256 of the purpose, as an
    /// HKDF-Expand with a single block, RFC 5869 §2.3): a MAC made for one use says nothing
    /// about another, and nobody without the master key can make one.
    pub fn derive(&self, purpose: &str) -> hmac::Key {
        let mut info = purpose.as_bytes().to_vec();
        info.push(1);
        hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&self.derive, &info).as_ref())
    }

    /// 32 key bytes for one purpose, derived as `derive` does (for keys that are not HMAC
    /// keys, e.g. an AEAD key).
    pub fn derive_bytes(&self, purpose: &str) -> [u8; 32] {
        let mut info = purpose.as_bytes().to_vec();
        info.push(1);
        let mut out = [0u8; 32];
        out.copy_from_slice(hmac::sign(&self.derive, &info).as_ref());
        out
    }

    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        Self::from_bytes(&bytes)
    }

    /// A fresh random key, as base64 (for the generated key file).
    pub fn generate_base64() -> String {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).expect("the system random generator failed");
        STANDARD.encode(bytes)
    }

    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).expect("the system random generator failed");
        let mut buf = plaintext.to_vec();
        self.aead
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(purpose.as_bytes()), &mut buf)
            .expect("AES-GCM sealing cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        out
    }

    /// Open with the master key, else with an earlier one (during a rotation: try new, then
    /// old, so no node needs both at once to keep serving).
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        std::iter::once(&self.aead)
            .chain(&self.previous)
            .find_map(|k| open_with(k, purpose, sealed).ok())
            .ok_or_else(|| anyhow::anyhow!("a sealed value does not open with the master key (wrong key?)"))
    }
}

fn open_with(key: &LessSafeKey, purpose: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(sealed.len() > NONCE_LEN, "sealed value is too short");
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
    let mut buf = rest.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf)
        .map_err(|_| anyhow::anyhow!("a sealed value does not open with this key"))?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_purpose_binding() {
        let key = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let sealed = key.seal("signing-key", b"secret");
        assert_eq!(key.open("signing-key", &sealed).unwrap(), b"secret");
        assert!(key.open("totp", &sealed).is_err());
        let other = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        assert!(other.open("signing-key", &sealed).is_err());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_none());
    }

    #[test]
    fn during_a_rotation_both_keys_open_and_the_new_one_seals() {
        let old = || MasterKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let new = || MasterKey::from_base64("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=").unwrap();
        let under_old = old().seal("totp", b"s");
        let both = new().with_previous(vec![old()]).with_derivation_root(old().derivation_root());
        assert_eq!(both.open("totp", &under_old).unwrap(), b"s");
        assert!(!both.opens_with_current("totp", &under_old));
        let under_new = both.seal("totp", b"s");
        assert!(new().opens_with_current("totp", &under_new));
        assert!(old().open("totp", &under_new).is_err());
        // Derived values do not change with the sealing key.
        assert_eq!(both.keyed_hash("p", b"v"), old().keyed_hash("p", b"v"));
    }

    #[test]
    fn keyed_hashes_depend_on_key_and_purpose() {
        let key = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let other = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let h = key.keyed_hash("recovery-code", b"abcd-efgh");
        assert_eq!(h.len(), 64);
        assert_eq!(h, key.keyed_hash("recovery-code", b"abcd-efgh"));
        assert_ne!(h, key.keyed_hash("other", b"abcd-efgh"));
        assert_ne!(h, other.keyed_hash("recovery-code", b"abcd-efgh"));
        assert_ne!(h, crate::crypto::secrets::hash("abcd-efgh"));
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
    }
}
