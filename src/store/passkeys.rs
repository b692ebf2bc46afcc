//! Passkeys: WebAuthn credentials registered to a customer, and the offer to create one.

use super::{Store, Tx};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct PasskeyRecord {
    pub id: String,
    pub credential_id: String,
    pub customer_id: String,
    pub name: String,
    /// The serialised webauthn-rs credential (public key, counter, flags; nothing secret).
    pub credential: String,
    pub sign_count: i64,
    pub backup_eligible: i64,
    pub backup_state: i64,
    pub user_verified: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, credential_id, customer_id, name, credential, sign_count, backup_eligible, backup_state, \
         user_verified, created_at, last_used_at"
    };
}

impl Store {
    /// Register a passkey. `false` when the credential id is already registered (to anyone).
    pub async fn insert_passkey_in(tx: &mut Tx, p: &PasskeyRecord) -> anyhow::Result<bool> {
        let done = sqlx::query(concat!(
            "INSERT INTO passkeys (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (credential_id) DO NOTHING"
        ))
        .bind(&p.id)
        .bind(&p.credential_id)
        .bind(&p.customer_id)
        .bind(&p.name)
        .bind(&p.credential)
        .bind(p.sign_count)
        .bind(p.backup_eligible)
        .bind(p.backup_state)
        .bind(p.user_verified)
        .bind(p.created_at)
        .bind(p.last_used_at)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn passkey_by_credential_id(&self, credential_id: &str) -> anyhow::Result<Option<PasskeyRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM passkeys WHERE credential_id = $1"))
            .bind(credential_id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn passkeys_of(&self, customer_id: &str) -> anyhow::Result<Vec<PasskeyRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM passkeys WHERE customer_id = $1 ORDER BY created_at"))
            .bind(customer_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// After a successful assertion: the new counter and flags, inside the caller's unit of
    /// work (with the session it opens). `false` (and nothing written) when the stored counter
    /// moved meanwhile, so two concurrent uses of one counter value cannot both succeed.
    pub async fn use_passkey_in(tx: &mut Tx, used: &PasskeyRecord, previous_count: i64) -> anyhow::Result<bool> {
        let updated = sqlx::query(
            "UPDATE passkeys SET credential = $2, sign_count = $3, backup_state = $4, backup_eligible = $5, \
             user_verified = $6, last_used_at = $7 WHERE id = $1 AND sign_count = $8",
        )
        .bind(&used.id)
        .bind(&used.credential)
        .bind(used.sign_count)
        .bind(used.backup_state)
        .bind(used.backup_eligible)
        .bind(used.user_verified)
        .bind(used.last_used_at)
        .bind(previous_count)
        .execute(&mut *tx.0)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    pub async fn rename_passkey(&self, customer_id: &str, id: &str, name: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $2 AND customer_id = $1")
            .bind(customer_id)
            .bind(id)
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_passkey_in(tx: &mut Tx, customer_id: &str, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $2 AND customer_id = $1")
            .bind(customer_id)
            .bind(id)
            .execute(&mut *tx.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// When the "create a passkey" offer was last shown to this customer.
    pub async fn passkey_offered_at(&self, customer_id: &str) -> anyhow::Result<Option<i64>> {
        let row: Option<(Option<i64>,)> = sqlx::query_as("SELECT passkey_offered_at FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.and_then(|r| r.0))
    }

    pub async fn set_passkey_offered_at(&self, customer_id: &str, at: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE customers SET passkey_offered_at = $2 WHERE id = $1")
            .bind(customer_id)
            .bind(at)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
