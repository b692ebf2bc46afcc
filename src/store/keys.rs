//! Signing keys, sealed with the master key.

use super::Store;

#[derive(sqlx::FromRow)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: String,
    pub sealed_pkcs8: Vec<u8>,
    pub created_at: i64,
}

impl Store {
    /// Newest first, so the first key of each algorithm is the current one.
    pub async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKeyRecord>> {
        Ok(sqlx::query_as("SELECT kid, alg, sealed_pkcs8, created_at FROM signing_keys ORDER BY created_at DESC, kid")
            .fetch_all(&self.read)
            .await?)
    }

    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO signing_keys (kid, alg, sealed_pkcs8, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.sealed_pkcs8)
            .bind(key.created_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
