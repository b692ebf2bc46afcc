//! Pending OpenID Connect Back-Channel Logout deliveries: written in the transaction that
//! ends a session, claimed by a worker under a lease when due, retried with backoff.

use super::{Store, Tx, dialect};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct BackchannelDeliveryRecord {
    pub id: String,
    pub client_id: String,
    pub uri: String,
    /// The customer (`sub`) and the session (`sid`) the logout token names.
    pub sub: String,
    pub sid: String,
    /// The logout token's `jti`, the same at every attempt.
    pub jti: String,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub attempts: i64,
}

macro_rules! columns {
    () => {
        "id, client_id, uri, sub, sid, jti, created_at, next_attempt_at, attempts"
    };
}

impl Store {
    pub async fn insert_backchannel_delivery_in(tx: &mut Tx, d: &BackchannelDeliveryRecord) -> anyhow::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO backchannel_deliveries (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&d.id)
        .bind(&d.client_id)
        .bind(&d.uri)
        .bind(&d.sub)
        .bind(&d.sid)
        .bind(&d.jti)
        .bind(d.created_at)
        .bind(d.next_attempt_at)
        .bind(d.attempts)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// Lease up to `limit` due deliveries to `owner` until `lease_until` (see `claim_events`
    /// for why the outer `WHERE` repeats the tests).
    pub async fn claim_backchannel_deliveries(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<BackchannelDeliveryRecord>> {
        let pending = "delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $3 \
                       AND (lease_until IS NULL OR lease_until <= $3)";
        let sql = format!(
            "UPDATE backchannel_deliveries SET lease_owner = $1, lease_until = $2 WHERE {pending} AND id IN ( \
               SELECT id FROM backchannel_deliveries WHERE {pending} ORDER BY next_attempt_at, id LIMIT $4{}) \
             RETURNING {}",
            dialect::skip_locked(self.backend),
            columns!()
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.write)
            .await?)
    }

    /// The client answered 2xx.
    pub async fn backchannel_delivered(&self, id: &str, owner: &str, now: i64) -> anyhow::Result<()> {
        self.finish_attempt(id, owner, "delivered_at = $3, last_error = NULLIF($4, '')", now, "").await
    }

    /// The attempt failed with `error`; the next one is due at `next_attempt_at`.
    pub async fn backchannel_retry_at(
        &self,
        id: &str,
        owner: &str,
        next_attempt_at: i64,
        error: &str,
    ) -> anyhow::Result<()> {
        self.finish_attempt(id, owner, "next_attempt_at = $3, last_error = $4", next_attempt_at, error).await
    }

    /// The attempt failed with `error` and the delivery is past its time: no more attempts.
    pub async fn backchannel_gave_up(&self, id: &str, owner: &str, now: i64, error: &str) -> anyhow::Result<()> {
        self.finish_attempt(id, owner, "gave_up_at = $3, last_error = $4", now, error).await
    }

    async fn finish_attempt(&self, id: &str, owner: &str, set: &str, at: i64, error: &str) -> anyhow::Result<()> {
        let sql = format!(
            "UPDATE backchannel_deliveries SET {set}, attempts = attempts + 1, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(owner).bind(at).bind(error).execute(&self.write).await?;
        Ok(())
    }
}
