//! Connectors to upstream identity providers, and the upstream identities linked to
//! customers.

use super::{Store, Tx};

/// `Debug` (below) leaves the sealed secret out.
#[derive(sqlx::FromRow, Clone)]
pub struct ConnectorRecord {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub icon: String,
    pub position: i64,
    pub enabled: i64,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub client_id: String,
    pub sealed_secret: Option<Vec<u8>>,
    pub scopes: String,
    pub claim_mapping: String,
    pub authoritative_email: i64,
    pub acr: String,
    pub settings: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub trusted_amr: String,
    pub shared_callback: i64,
}

impl std::fmt::Debug for ConnectorRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("sealed_secret", &self.sealed_secret.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct FederatedIdentityRecord {
    pub connector_id: String,
    /// The provider's issuer: with `subject`, who this identity is.
    pub issuer: String,
    pub subject: String,
    pub customer_id: String,
    pub email: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, kind, display_name, icon, position, enabled, issuer, authorization_endpoint, token_endpoint, \
         userinfo_endpoint, client_id, sealed_secret, scopes, claim_mapping, authoritative_email, acr, settings, \
         created_at, updated_at, trusted_amr, shared_callback"
    };
}

macro_rules! identity_columns {
    () => {
        "connector_id, issuer, subject, customer_id, email, created_at, last_used_at"
    };
}

impl Store {
    /// Insert, or replace every field of, a connector.
    pub async fn save_connector_in(tx: &mut Tx, c: &ConnectorRecord) -> anyhow::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO connectors (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
             ON CONFLICT (id) DO UPDATE SET kind = $2, display_name = $3, icon = $4, position = $5, enabled = $6, \
             issuer = $7, authorization_endpoint = $8, token_endpoint = $9, userinfo_endpoint = $10, client_id = $11, \
             sealed_secret = $12, scopes = $13, claim_mapping = $14, authoritative_email = $15, acr = $16, \
             settings = $17, updated_at = $19, trusted_amr = $20, shared_callback = $21"
        ))
        .bind(&c.id)
        .bind(&c.kind)
        .bind(&c.display_name)
        .bind(&c.icon)
        .bind(c.position)
        .bind(c.enabled)
        .bind(&c.issuer)
        .bind(&c.authorization_endpoint)
        .bind(&c.token_endpoint)
        .bind(&c.userinfo_endpoint)
        .bind(&c.client_id)
        .bind(&c.sealed_secret)
        .bind(&c.scopes)
        .bind(&c.claim_mapping)
        .bind(c.authoritative_email)
        .bind(&c.acr)
        .bind(&c.settings)
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(&c.trusted_amr)
        .bind(c.shared_callback)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    pub async fn connector(&self, id: &str) -> anyhow::Result<Option<ConnectorRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM connectors WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn connectors(&self) -> anyhow::Result<Vec<ConnectorRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM connectors ORDER BY position, id"))
            .fetch_all(&self.read)
            .await?)
    }

    pub async fn delete_connector_in(tx: &mut Tx, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM connectors WHERE id = $1").bind(id).execute(&mut *tx.0).await?;
        Ok(done.rows_affected() == 1)
    }

    /// The identity `subject` at `issuer`, whichever connector linked it (the oldest, should
    /// two connectors to one provider have linked it twice).
    pub async fn federated_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> anyhow::Result<Option<FederatedIdentityRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            identity_columns!(),
            " FROM federated_identities WHERE issuer = $1 AND subject = $2 ORDER BY created_at LIMIT 1"
        ))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.read)
        .await?)
    }

    /// How many identities are linked through a connector.
    pub async fn identities_through(&self, connector_id: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM federated_identities WHERE connector_id = $1")
            .bind(connector_id)
            .fetch_one(&self.read)
            .await?)
    }

    pub async fn identities_of(&self, customer_id: &str) -> anyhow::Result<Vec<FederatedIdentityRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            identity_columns!(),
            " FROM federated_identities WHERE customer_id = $1 ORDER BY created_at"
        ))
        .bind(customer_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Link an upstream identity; `false` when it was linked already.
    pub async fn link_identity_in(tx: &mut Tx, i: &FederatedIdentityRecord) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO federated_identities (connector_id, subject, customer_id, email, created_at, last_used_at, \
             issuer) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (connector_id, subject) DO NOTHING",
        )
        .bind(&i.connector_id)
        .bind(&i.subject)
        .bind(&i.customer_id)
        .bind(&i.email)
        .bind(i.created_at)
        .bind(i.last_used_at)
        .bind(&i.issuer)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn unlink_identity_in(tx: &mut Tx, customer_id: &str, connector_id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM federated_identities WHERE customer_id = $1 AND connector_id = $2")
            .bind(customer_id)
            .bind(connector_id)
            .execute(&mut *tx.0)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The customer of a first federated sign-in (verified email from the upstream), inside
    /// the caller's unit of work; `false` when the address is taken meanwhile.
    pub async fn insert_federated_customer_in(
        tx: &mut Tx,
        id: &str,
        email: &str,
        name: Option<&str>,
        now: i64,
    ) -> anyhow::Result<bool> {
        let created = sqlx::query(
            "INSERT INTO customers (id, email, email_verified, name, created_at, updated_at) \
             VALUES ($1, $2, 1, $3, $4, $4) ON CONFLICT (email) DO NOTHING",
        )
        .bind(id)
        .bind(email)
        .bind(name)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(created.rows_affected() == 1)
    }
}
