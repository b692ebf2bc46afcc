//! Age checks (which purposes and clients require one) and the approvals asked of guardians.

use super::{Store, Tx};

#[derive(sqlx::FromRow, Clone, Debug, PartialEq, Eq)]
pub struct GuardianApprovalRecord {
    pub id: String,
    pub link_hash: String,
    pub customer_id: String,
    pub client_id: String,
    pub guardian_email_hash: String,
    /// JSON of the items asked.
    pub items: String,
    /// `pending`, `approved`, `declined` or `withdrawn`.
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, link_hash, customer_id, client_id, guardian_email_hash, items, state, created_at, expires_at, decided_at"
    };
}

impl Store {
    /// Require an age check of a purpose or client (`kind` `purpose` or `client`), or not.
    pub async fn set_age_check(&self, kind: &str, id: &str, on: bool) -> anyhow::Result<()> {
        let sql = if on {
            "INSERT INTO age_checks (kind, id) VALUES ($1, $2) ON CONFLICT (kind, id) DO NOTHING"
        } else {
            "DELETE FROM age_checks WHERE kind = $1 AND id = $2"
        };
        sqlx::query(sql).bind(kind).bind(id).execute(&self.write).await?;
        Ok(())
    }

    /// The ids of `kind` that require an age check.
    pub async fn age_checked(&self, kind: &str) -> anyhow::Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM age_checks WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn insert_guardian_approval(&self, r: &GuardianApprovalRecord) -> anyhow::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO guardian_approvals (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&r.id)
        .bind(&r.link_hash)
        .bind(&r.customer_id)
        .bind(&r.client_id)
        .bind(&r.guardian_email_hash)
        .bind(&r.items)
        .bind(&r.state)
        .bind(r.created_at)
        .bind(r.expires_at)
        .bind(r.decided_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn guardian_approval(&self, id: &str) -> anyhow::Result<Option<GuardianApprovalRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM guardian_approvals WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn guardian_approval_by_link(&self, link_hash: &str) -> anyhow::Result<Option<GuardianApprovalRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM guardian_approvals WHERE link_hash = $1"))
            .bind(link_hash)
            .fetch_optional(&self.read)
            .await?)
    }

    /// Move an approval from `from` to `to` (compare-and-set): false when it was no longer
    /// `from` (another request decided first), so a decision is taken once.
    pub async fn decide_guardian_approval_in(
        tx: &mut Tx,
        id: &str,
        from: &str,
        to: &str,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done =
            sqlx::query("UPDATE guardian_approvals SET state = $3, decided_at = $4 WHERE id = $1 AND state = $2")
                .bind(id)
                .bind(from)
                .bind(to)
                .bind(now)
                .execute(&mut *tx.0)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
