//! The master key, and rotating it without downtime. During a rotation every node runs with
//! the new key as `master_key` and the old one in `master_key_previous`: values open under
//! either (new first) and everything sealed is sealed with the new key. `rotate` then
//! re-seals every sealed value still under an old key, a page at a time, each page in one
//! transaction, each row compare-and-set (a secret replaced meanwhile is left alone). After
//! it, the old key can be dropped from the configuration.
//!
//! Keys derived from the master key (pairwise subjects, CSRF tokens, recovery-code hashes)
//! must not change with it: their root is kept sealed in `sealed_settings` (written at the
//! first start with this code) and re-sealed like everything else.

use super::ring::SIGNING_KEY_PURPOSE;
use crate::crypto::sealed::MasterKey;
use crate::state::AppState;
use crate::store::{SealedColumn, Store};
use serde::Serialize;

/// The `sealed_settings` row (and its AEAD purpose) holding the root of derived keys.
pub const DERIVATION_ROOT: &str = "derivation-root";

/// The AEAD purpose a value in `column` (row `id`) was sealed for.
fn purpose(column: SealedColumn, id: &str) -> &str {
    match column {
        SealedColumn::SigningKeys => SIGNING_KEY_PURPOSE,
        SealedColumn::TotpSecrets => crate::login::totp::SEAL_PURPOSE,
        SealedColumn::ConnectorSecrets => crate::login::federation::connectors::SEAL_PURPOSE,
        SealedColumn::WebhookSecrets => crate::events::webhooks::SEAL_PURPOSE,
        SealedColumn::Settings => id,
    }
}

/// The master key from the configuration (or the key file), with the earlier keys of a
/// rotation, deriving from the kept root. The first start stores the root: the first of
/// `master_key_previous` when a rotation has begun, else the master key itself.
pub async fn load(config: &crate::Config, store: &Store, now: i64) -> anyhow::Result<MasterKey> {
    let parse = |k: &str| {
        MasterKey::from_base64(k).ok_or_else(|| anyhow::anyhow!("configuration key `master_key_previous`: not a key"))
    };
    let previous: Vec<MasterKey> =
        config.master_key_previous.split_whitespace().map(parse).collect::<Result<_, _>>()?;
    let root_source = previous.first().map(|k| k.derivation_root().to_vec());
    let key = crate::state::load_master_key(config)?.with_previous(previous);
    if store.sealed_setting(DERIVATION_ROOT).await?.is_none() {
        let root = root_source.unwrap_or_else(|| key.derivation_root().to_vec());
        store.insert_sealed_setting(DERIVATION_ROOT, &key.seal(DERIVATION_ROOT, &root), now).await?;
    }
    let sealed = store.sealed_setting(DERIVATION_ROOT).await?.ok_or_else(|| anyhow::anyhow!("no derivation root"))?;
    let root = key.open(DERIVATION_ROOT, &sealed).map_err(|_| {
        anyhow::anyhow!("the stored key root does not open with master_key or master_key_previous (wrong key?)")
    })?;
    Ok(key.with_derivation_root(&root))
}

/// What a rotation did, per table.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Resealed {
    pub table: &'static str,
    /// Re-sealed under the new key now.
    pub resealed: u64,
    /// Already under the new key.
    pub current: u64,
    /// Opened with no key given (left as they were).
    pub unreadable: u64,
}

/// Re-seal every sealed value under `target` (default: this node's `master_key`), opening
/// with this node's keys; `batch` rows per transaction.
pub async fn rotate(
    state: &AppState,
    target: Option<&MasterKey>,
    batch: i64,
    now: i64,
) -> anyhow::Result<Vec<Resealed>> {
    let target = target.unwrap_or(&state.master_key);
    let mut report = Vec::new();
    for column in SealedColumn::ALL {
        let mut done = Resealed { table: column.name(), ..Resealed::default() };
        let mut after = String::new();
        loop {
            let page = state.store.sealed_values(column, &after, batch).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            let mut tx = state.store.begin().await?;
            for (id, sealed) in &page {
                let purpose = purpose(column, id);
                if target.opens_with_current(purpose, sealed) {
                    done.current += 1;
                    continue;
                }
                let Ok(plain) = state.master_key.open(purpose, sealed) else {
                    tracing::error!(table = column.name(), id, "a sealed value opens with none of the configured keys");
                    done.unreadable += 1;
                    continue;
                };
                if Store::reseal_in(&mut tx, column, id, sealed, &target.seal(purpose, &plain)).await? {
                    done.resealed += 1;
                }
            }
            tx.commit().await?;
        }
        report.push(done);
    }
    let detail = serde_json::to_value(&report)?;
    let entry = crate::events::audit::Caller::operator().entry("master_key.rotated", None).detail(detail);
    crate::events::audit::record(state, entry, now).await?;
    Ok(report)
}
