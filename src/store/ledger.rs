//! The consent ledger: append-only entries chained per customer, and the head of each chain.

use super::{PurposeDecisionRecord, Store, Tx};

#[derive(sqlx::FromRow, Clone, Debug, PartialEq, Eq)]
pub struct LedgerRecord {
    pub customer_id: String,
    /// 1, 2, 3… per customer.
    pub seq: i64,
    pub id: String,
    pub client_id: String,
    /// `scope:<scope>`, `purpose:<id>` or `policy:<id>`.
    pub item: String,
    pub policy_id: String,
    pub policy_version: i64,
    pub text_hash: String,
    /// `granted` or `withdrawn`.
    pub action: String,
    pub at: i64,
    pub channel: String,
    pub session_id: String,
    pub ip: String,
    pub prev_hash: String,
    pub hash: String,
}

macro_rules! columns {
    () => {
        "customer_id, seq, id, client_id, item, policy_id, policy_version, text_hash, action, at, channel, \
         session_id, ip, prev_hash, hash"
    };
}

impl Store {
    /// Append entries to a customer's chain, in the caller's unit of work. `chain` is given the head
    /// (last seq and hash; 0 and "" for a new chain) and returns the entries to insert, each
    /// already hashed on its predecessor. A concurrent append to the same chain makes the
    /// insert fail on the (customer, seq) key; the caller's retry reads the new head.
    pub async fn append_ledger_in(
        tx: &mut Tx,
        customer_id: &str,
        decisions: &[PurposeDecisionRecord],
        chain: impl FnOnce(i64, &str) -> Vec<LedgerRecord>,
    ) -> anyhow::Result<Vec<LedgerRecord>> {
        let head: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM consent_heads WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_optional(&mut *tx.0)
            .await?;
        let (seq, hash) = head.unwrap_or((0, String::new()));
        // Where the customer now stands, written with the proof of how they got there.
        for d in decisions {
            sqlx::query(
                "INSERT INTO purpose_decisions (customer_id, client_id, purpose_id, granted, policy_id, policy_version, \
                 decided_at, channels) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (customer_id, client_id, purpose_id) \
                 DO UPDATE SET granted = $4, policy_id = $5, policy_version = $6, decided_at = $7, channels = $8",
            )
            .bind(&d.customer_id)
            .bind(&d.client_id)
            .bind(&d.purpose_id)
            .bind(d.granted)
            .bind(&d.policy_id)
            .bind(d.policy_version)
            .bind(d.decided_at)
            .bind(&d.channels)
            .execute(&mut *tx.0)
            .await?;
        }
        let entries = chain(seq, &hash);
        let Some(last) = entries.last() else { return Ok(entries) };
        for e in &entries {
            sqlx::query(concat!(
                "INSERT INTO consent_ledger (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ))
            .bind(&e.customer_id)
            .bind(e.seq)
            .bind(&e.id)
            .bind(&e.client_id)
            .bind(&e.item)
            .bind(&e.policy_id)
            .bind(e.policy_version)
            .bind(&e.text_hash)
            .bind(&e.action)
            .bind(e.at)
            .bind(&e.channel)
            .bind(&e.session_id)
            .bind(&e.ip)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(&mut *tx.0)
            .await?;
        }
        // Moves only forward from the head that was read: a concurrent append loses here or
        // on the ledger's key, never both succeed.
        let moved = sqlx::query(
            "INSERT INTO consent_heads (customer_id, seq, hash) VALUES ($1, $2, $3) \
             ON CONFLICT (customer_id) DO UPDATE SET seq = $2, hash = $3 WHERE consent_heads.seq = $4",
        )
        .bind(customer_id)
        .bind(last.seq)
        .bind(&last.hash)
        .bind(seq)
        .execute(&mut *tx.0)
        .await?;
        anyhow::ensure!(moved.rows_affected() == 1, "the consent ledger moved on during the append");
        Ok(entries)
    }

    /// A customer's chain, oldest first.
    pub async fn ledger_of(&self, customer_id: &str) -> anyhow::Result<Vec<LedgerRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM consent_ledger WHERE customer_id = $1 ORDER BY seq"))
            .bind(customer_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// Every chain's head, and the customers whose ledger has entries but no head.
    pub async fn ledger_heads(&self) -> anyhow::Result<Vec<(String, i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT customer_id, seq, hash FROM consent_heads UNION ALL \
             SELECT DISTINCT customer_id, -1, '' FROM consent_ledger l \
             WHERE NOT EXISTS (SELECT 1 FROM consent_heads h WHERE h.customer_id = l.customer_id) \
             ORDER BY 1",
        )
        .fetch_all(&self.read)
        .await?)
    }

    /// The remembered consents (customer, client, scope, granted_at) without any ledger entry
    /// for that customer and client: what predates the ledger.
    pub async fn consents_without_ledger(&self) -> anyhow::Result<Vec<(String, String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT c.customer_id, c.client_id, c.scope, c.granted_at FROM consents c WHERE NOT EXISTS \
             (SELECT 1 FROM consent_ledger l WHERE l.customer_id = c.customer_id AND l.client_id = c.client_id) \
             ORDER BY c.customer_id, c.client_id",
        )
        .fetch_all(&self.read)
        .await?)
    }
}
