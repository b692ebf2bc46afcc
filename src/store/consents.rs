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

    /// Every app a customer has remembered consent for: (client id, client name, scope).
    pub async fn consents_of(&self, customer_id: &str) -> anyhow::Result<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT c.client_id, k.name, c.scope FROM consents c JOIN clients k ON k.id = c.client_id \
             WHERE c.customer_id = $1 ORDER BY k.name, c.client_id",
        )
        .bind(customer_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Every purpose a customer has granted, to any app: (client id, client name, purpose id,
    /// purpose name, decided at).
    pub async fn granted_purposes_of(
        &self,
        customer_id: &str,
    ) -> anyhow::Result<Vec<(String, String, String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT d.client_id, k.name, d.purpose_id, p.name, d.decided_at FROM purpose_decisions d \
             JOIN clients k ON k.id = d.client_id JOIN purposes p ON p.id = d.purpose_id \
             WHERE d.customer_id = $1 AND d.granted = 1 ORDER BY k.name, d.client_id, p.name",
        )
        .bind(customer_id)
        .fetch_all(&self.read)
        .await?)
    }
}
