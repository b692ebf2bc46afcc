//! Signing keys, sealed with the master key, with the times of their lifecycle (see
//! `crypto::ring`).

use super::{Store, Tx};

#[derive(sqlx::FromRow, Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: String,
    pub sealed_pkcs8: Vec<u8>,
    pub created_at: i64,
    /// When it starts signing (until then it is only published).
    pub activates_at: i64,
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Every key, revoked ones included, newest first.
    pub async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKeyRecord>> {
        Ok(sqlx::query_as(
            "SELECT kid, alg, sealed_pkcs8, created_at, activates_at, revoked_at FROM signing_keys \
             ORDER BY created_at DESC, kid",
        )
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        Store::insert_signing_key_in(&mut tx, key).await?;
        tx.commit().await
    }

    pub async fn insert_signing_key_in(tx: &mut Tx, key: &SigningKeyRecord) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_pkcs8, created_at, activates_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed_pkcs8)
        .bind(key.created_at)
        .bind(key.activates_at)
        .bind(key.revoked_at)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// Insert a key the rotation schedule made as the one successor of `succeeds` (a kid):
    /// false, and nothing written, when a successor is already there, added by another node
    /// at the same moment (the unique index of migration 0025 decides; PostgreSQL makes the
    /// second insert wait for the first to commit, SQLite has one writer).
    pub async fn insert_scheduled_signing_key_in(
        tx: &mut Tx,
        key: &SigningKeyRecord,
        succeeds: &str,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_pkcs8, created_at, activates_at, revoked_at, succeeds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed_pkcs8)
        .bind(key.created_at)
        .bind(key.activates_at)
        .bind(key.revoked_at)
        .bind(succeeds)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Withdraw a key; false when there is no such key or it was already revoked.
    pub async fn revoke_signing_key_in(tx: &mut Tx, kid: &str, now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE signing_keys SET revoked_at = $2 WHERE kid = $1 AND revoked_at IS NULL")
            .bind(kid)
            .bind(now)
            .execute(&mut *tx.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Bring a waiting key's activation forward to `at` (a revoked current key's successor).
    pub async fn activate_signing_key_in(tx: &mut Tx, kid: &str, at: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE signing_keys SET activates_at = $2 WHERE kid = $1 AND activates_at > $2")
            .bind(kid)
            .bind(at)
            .execute(&mut *tx.0)
            .await?;
        Ok(())
    }
}
