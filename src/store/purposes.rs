//! Consent purposes, the versions of the policies they point to, and the purposes each
//! client is registered for.

use super::inline::{self, col};
use super::{Store, flag};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct PurposeRecord {
    pub id: String,
    pub name: String,
    pub notice: String,
    pub policy_id: String,
    /// Space-separated words.
    pub data_categories: String,
    /// Space-separated words.
    pub channels: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub retired_at: Option<i64>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct PolicyRecord {
    pub id: String,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub summary: String,
    /// SHA-256 hex of `body`, exactly as published.
    pub text_hash: String,
    pub material: i64,
    pub published_at: i64,
    /// When it takes effect (the previous version is in force until then).
    pub effective_at: i64,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct ClientPurposeRecord {
    pub client_id: String,
    pub purpose_id: String,
    pub required: i64,
    pub reason: String,
}

/// Where a customer stands on one purpose for one client.
#[derive(sqlx::FromRow, Clone, Debug, PartialEq, Eq)]
pub struct PurposeDecisionRecord {
    pub customer_id: String,
    pub client_id: String,
    pub purpose_id: String,
    pub granted: i64,
    pub policy_id: String,
    pub policy_version: i64,
    pub decided_at: i64,
    /// The channels the customer lets the purpose reach them by (space-separated words).
    pub channels: String,
}

macro_rules! purpose_columns {
    () => {
        "id, name, notice, policy_id, data_categories, channels, created_at, updated_at, retired_at"
    };
}

macro_rules! policy_columns {
    () => {
        "id, version, title, body, summary, text_hash, material, published_at, effective_at"
    };
}

impl Store {
    /// Insert a purpose; false when the id is taken.
    pub async fn insert_purpose(&self, p: &PurposeRecord) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO purposes (id, name, notice, policy_id, data_categories, channels, created_at, updated_at, \
             retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.notice)
        .bind(&p.policy_id)
        .bind(&p.data_categories)
        .bind(&p.channels)
        .bind(p.created_at)
        .bind(p.updated_at)
        .bind(p.retired_at)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn update_purpose(&self, p: &PurposeRecord) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE purposes SET name = $2, notice = $3, policy_id = $4, data_categories = $5, channels = $6, \
             updated_at = $7, retired_at = $8 WHERE id = $1",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.notice)
        .bind(&p.policy_id)
        .bind(&p.data_categories)
        .bind(&p.channels)
        .bind(p.updated_at)
        .bind(p.retired_at)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn purpose(&self, id: &str) -> anyhow::Result<Option<PurposeRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", purpose_columns!(), " FROM purposes WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn purposes(&self) -> anyhow::Result<Vec<PurposeRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", purpose_columns!(), " FROM purposes ORDER BY id"))
            .fetch_all(&self.read)
            .await?)
    }

    /// Publish the next version of a policy: its number is one past the latest, decided in
    /// the statement (two publishers at once cannot both get the same one: the primary key).
    pub async fn publish_policy(&self, p: &PolicyRecord) -> anyhow::Result<i64> {
        let row: (i64,) = sqlx::query_as(
            "INSERT INTO policies (id, version, title, body, summary, text_hash, material, published_at, \
             effective_at) SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM policies \
             WHERE id = $1 RETURNING version",
        )
        .bind(&p.id)
        .bind(&p.title)
        .bind(&p.body)
        .bind(&p.summary)
        .bind(&p.text_hash)
        .bind(p.material)
        .bind(p.published_at)
        .bind(p.effective_at)
        .fetch_one(&self.write)
        .await?;
        Ok(row.0)
    }

    /// The version of a policy in force at `now` (the latest published), if any.
    pub async fn policy_in_force(&self, id: &str, now: i64) -> anyhow::Result<Option<PolicyRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policies WHERE id = $1 AND effective_at <= $2 ORDER BY version DESC LIMIT 1"
        ))
        .bind(id)
        .bind(now)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The latest version of a policy published as material (0 when none was).
    pub async fn latest_material_version(&self, id: &str, now: i64) -> anyhow::Result<i64> {
        let row: (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM policies WHERE id = $1 AND material = 1 AND effective_at <= $2")
                .bind(id)
                .bind(now)
                .fetch_one(&self.read)
                .await?;
        Ok(row.0.unwrap_or(0))
    }

    pub async fn policy_version(&self, id: &str, version: i64) -> anyhow::Result<Option<PolicyRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", policy_columns!(), " FROM policies WHERE id = $1 AND version = $2"))
            .bind(id)
            .bind(version)
            .fetch_optional(&self.read)
            .await?)
    }

    /// Every version of every policy, newest first within a policy.
    pub async fn policies(&self) -> anyhow::Result<Vec<PolicyRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", policy_columns!(), " FROM policies ORDER BY id, version DESC"))
            .fetch_all(&self.read)
            .await?)
    }

    /// Replace the purposes a client is registered for, in one transaction.
    pub async fn set_client_purposes(&self, client_id: &str, purposes: &[ClientPurposeRecord]) -> anyhow::Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM client_purposes WHERE client_id = $1").bind(client_id).execute(&mut *tx).await?;
        for p in purposes {
            sqlx::query(
                "INSERT INTO client_purposes (client_id, purpose_id, required, reason) VALUES ($1, $2, $3, $4)",
            )
            .bind(client_id)
            .bind(&p.purpose_id)
            .bind(flag(p.required != 0))
            .bind(&p.reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn client_purposes(&self, client_id: &str) -> anyhow::Result<Vec<ClientPurposeRecord>> {
        Ok(sqlx::query_as(
            "SELECT c.client_id, c.purpose_id, c.required, c.reason FROM client_purposes c \
             JOIN purposes p ON p.id = c.purpose_id WHERE c.client_id = $1 AND p.retired_at IS NULL \
             ORDER BY c.purpose_id",
        )
        .bind(client_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn purpose_decisions(
        &self,
        customer_id: &str,
        client_id: &str,
    ) -> anyhow::Result<Vec<PurposeDecisionRecord>> {
        // Read by every code and refresh of a client with purposes (the `consents` claim).
        const SQL: &str = "SELECT customer_id, client_id, purpose_id, granted, policy_id, policy_version, \
             decided_at, channels FROM purpose_decisions WHERE customer_id = $1 AND client_id = $2 ORDER BY purpose_id";
        let map = |r: &rusqlite::Row<'_>| {
            Ok(PurposeDecisionRecord {
                customer_id: col(r, "customer_id")?,
                client_id: col(r, "client_id")?,
                purpose_id: col(r, "purpose_id")?,
                granted: col(r, "granted")?,
                policy_id: col(r, "policy_id")?,
                policy_version: col(r, "policy_version")?,
                decided_at: col(r, "decided_at")?,
                channels: col(r, "channels")?,
            })
        };
        if let Some(found) = self.inline_read(|c| inline::all(c, SQL, &[&customer_id, &client_id], map)) {
            return Ok(found);
        }
        Ok(sqlx::query_as(SQL).bind(customer_id).bind(client_id).fetch_all(&self.read).await?)
    }

    /// Replace the claims a client requires (claim, reason), in one transaction.
    pub async fn set_client_required_claims(&self, client_id: &str, claims: &[(String, String)]) -> anyhow::Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM client_required_claims WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        for (claim, reason) in claims {
            sqlx::query("INSERT INTO client_required_claims (client_id, claim, reason) VALUES ($1, $2, $3)")
                .bind(client_id)
                .bind(claim)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn client_required_claims(&self, client_id: &str) -> anyhow::Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT claim, reason FROM client_required_claims WHERE client_id = $1 ORDER BY claim")
            .bind(client_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// Material versions published by `now` (the ones whose notices may be due).
    pub async fn material_versions(&self, now: i64) -> anyhow::Result<Vec<PolicyRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM policies WHERE material = 1 AND published_at <= $1 ORDER BY id, version"
        ))
        .bind(now)
        .fetch_all(&self.read)
        .await?)
    }

    /// Up to `limit` customers (id, email) who granted a purpose of `policy_id` under an
    /// earlier version than `version` and have not been told about it.
    pub async fn customers_to_notify(
        &self,
        policy_id: &str,
        version: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT c.id, c.email FROM purpose_decisions d JOIN purposes p ON p.id = d.purpose_id \
             JOIN customers c ON c.id = d.customer_id WHERE p.policy_id = $1 AND d.granted = 1 \
             AND d.policy_version < $2 AND NOT EXISTS (SELECT 1 FROM policy_notices n WHERE n.customer_id = c.id \
             AND n.policy_id = $1 AND n.version = $2) ORDER BY c.id LIMIT $3",
        )
        .bind(policy_id)
        .bind(version)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Note that `customer_id` is being told of a version; false when someone already did
    /// (another node): the mail goes out at most once.
    pub async fn claim_policy_notice(
        &self,
        customer_id: &str,
        policy_id: &str,
        version: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO policy_notices (customer_id, policy_id, version, sent_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (customer_id, policy_id, version) DO NOTHING",
        )
        .bind(customer_id)
        .bind(policy_id)
        .bind(version)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether `customer_id` was told about a version (by mail or on screen).
    pub async fn policy_notice_given(&self, customer_id: &str, policy_id: &str, version: i64) -> anyhow::Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT version FROM policy_notices WHERE customer_id = $1 AND policy_id = $2 AND version = $3",
        )
        .bind(customer_id)
        .bind(policy_id)
        .bind(version)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    /// Forget a notice claim whose mail could not be sent.
    pub async fn release_policy_notice(&self, customer_id: &str, policy_id: &str, version: i64) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM policy_notices WHERE customer_id = $1 AND policy_id = $2 AND version = $3")
            .bind(customer_id)
            .bind(policy_id)
            .bind(version)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
