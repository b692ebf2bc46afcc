//! Which scopes a customer has agreed to share with which client.

use super::{Store, Tx};

impl Store {
    pub async fn consented_scope(&self, customer_id: &str, client_id: &str) -> anyhow::Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT scope FROM consents WHERE customer_id = $1 AND client_id = $2")
                .bind(customer_id)
                .bind(client_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn save_consent(&self, customer_id: &str, client_id: &str, scope: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO consents (customer_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (customer_id, client_id) DO UPDATE SET scope = $3, granted_at = $4",
        )
        .bind(customer_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn save_consent_in(
        tx: &mut Tx,
        customer_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO consents (customer_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (customer_id, client_id) DO UPDATE SET scope = $3, granted_at = $4",
        )
        .bind(customer_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }
}
