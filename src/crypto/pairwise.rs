//! Pairwise subject identifiers (OpenID Connect Core §8.1): each sector gets its own `sub` for
//! a customer, so two apps of different sectors cannot join their data on it, while one app
//! always sees the same value. The value is the customer id encrypted deterministically for
//! the sector: AES-256-GCM under a key derived from the master key, the sector as associated
//! data, and a nonce that is an HMAC of sector and customer (a synthetic IV, as in SIV
//! modes: the same pair always gives the same value, different pairs never share a nonce in
//! practice). Tessera can turn a pairwise `sub` back into its customer without any table,
//! and nobody without the master key can do either.

use super::sealed::MasterKey;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub struct PairwiseSubjects {
    aead: LessSafeKey,
    nonce_key: hmac::Key,
}

impl PairwiseSubjects {
    pub fn new(master: &MasterKey) -> PairwiseSubjects {
        let key = master.derive_bytes("pairwise-subject-key");
        let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte AES key"));
        PairwiseSubjects { aead, nonce_key: master.derive("pairwise-subject-nonce") }
    }

    /// The `sub` of `customer_id` in `sector`.
    pub fn subject(&self, sector: &str, customer_id: &str) -> String {
        let mut input = sector.as_bytes().to_vec();
        input.push(0);
        input.extend_from_slice(customer_id.as_bytes());
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&hmac::sign(&self.nonce_key, &input).as_ref()[..NONCE_LEN]);
        let mut sealed = customer_id.as_bytes().to_vec();
        self.aead
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(sector.as_bytes()), &mut sealed)
            .expect("AES-GCM sealing of a short value");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The customer behind a pairwise `sub` of `sector`, if it is one.
    pub fn customer(&self, sector: &str, sub: &str) -> Option<String> {
        let raw = URL_SAFE_NO_PAD.decode(sub).ok()?;
        if raw.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let plain = self.aead.open_in_place(nonce, Aad::from(sector.as_bytes()), &mut buf).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_sector_and_customer_reversible_only_in_its_sector() {
        let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let p = PairwiseSubjects::new(&master);
        let a = p.subject("shop.example", "cus_1");
        assert_eq!(a, p.subject("shop.example", "cus_1"), "stable");
        assert_ne!(a, p.subject("news.example", "cus_1"), "another sector, another value");
        assert_ne!(a, p.subject("shop.example", "cus_2"));
        assert_eq!(p.customer("shop.example", &a).as_deref(), Some("cus_1"));
        assert_eq!(p.customer("news.example", &a), None, "not valid in another sector");
        assert_eq!(p.customer("shop.example", "cus_1"), None);
        let other = PairwiseSubjects::new(&MasterKey::from_base64(&MasterKey::generate_base64()).unwrap());
        assert_eq!(other.customer("shop.example", &a), None, "another server's key");
    }
}
