//! Every column that holds a value sealed with the master key, for master-key rotation:
//! read them in pages, and write one back re-sealed only if it did not change meanwhile
//! (compare-and-set, so a secret replaced during the rotation is never overwritten). Also the
//! server's own sealed settings (`sealed_settings`).

use super::{Store, Tx};

/// A table and its sealed column, with the purpose (AEAD associated data) it was sealed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    SigningKeys,
    TotpSecrets,
    ConnectorSecrets,
    WebhookSecrets,
    Settings,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 5] = [
        SealedColumn::SigningKeys,
        SealedColumn::TotpSecrets,
        SealedColumn::ConnectorSecrets,
        SealedColumn::WebhookSecrets,
        SealedColumn::Settings,
    ];

    /// (table, id column, sealed column)
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SealedColumn::SigningKeys => ("signing_keys", "kid", "sealed_pkcs8"),
            SealedColumn::TotpSecrets => ("totp_factors", "customer_id", "sealed_secret"),
            SealedColumn::ConnectorSecrets => ("connectors", "id", "sealed_secret"),
            SealedColumn::WebhookSecrets => ("webhook_endpoints", "id", "sealed_secret"),
            SealedColumn::Settings => ("sealed_settings", "name", "sealed_value"),
        }
    }

    pub fn name(self) -> &'static str {
        self.sql().0
    }
}

impl Store {
    /// Up to `limit` sealed values of `column` with ids after `after`, in id order.
    pub async fn sealed_values(
        &self,
        column: SealedColumn,
        after: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let (table, id, sealed) = column.sql();
        let sql = format!(
            "SELECT {id}, {sealed} FROM {table} WHERE {id} > $1 AND {sealed} IS NOT NULL ORDER BY {id} LIMIT $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(after).bind(limit).fetch_all(&self.read).await?)
    }

    /// Replace one sealed value if it is still `old`; false when it changed meanwhile.
    pub async fn reseal_in(
        tx: &mut Tx,
        column: SealedColumn,
        id_value: &str,
        old: &[u8],
        new: &[u8],
    ) -> anyhow::Result<bool> {
        let (table, id, sealed) = column.sql();
        let sql = format!("UPDATE {table} SET {sealed} = $3 WHERE {id} = $1 AND {sealed} = $2");
        let done = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id_value).bind(old).bind(new).execute(&mut *tx.0).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn sealed_setting(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT sealed_value FROM sealed_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// Store a sealed setting unless one exists; false when it was already there.
    pub async fn insert_sealed_setting(&self, name: &str, sealed: &[u8], now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO sealed_settings (name, sealed_value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
