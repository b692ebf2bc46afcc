//! The event outbox: events written inside the transaction of the change that caused them,
//! claimed by a worker under a lease (several nodes never hold one event at once), in `seq`
//! order per subject, and marked dispatched once their consumers have them.

use super::{Store, Tx, dialect};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct OutboxRecord {
    pub id: String,
    pub seq: i64,
    pub kind: String,
    pub subject: Option<String>,
    /// JSON text.
    pub payload: String,
    pub occurred_at: i64,
}

impl Store {
    /// Append an event inside the caller's unit of work. `seq` is one past the largest so far:
    /// SQLite's single writer makes it strictly increasing; on PostgreSQL two transactions
    /// committing at once may share one, and ties fall back to the id (the events of one
    /// subject come from one person's requests, which do not race in practice).
    pub async fn insert_event_in(tx: &mut Tx, e: &OutboxRecord) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO event_outbox (id, seq, kind, subject, payload, occurred_at) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM event_outbox), $2, $3, $4, $5)",
        )
        .bind(&e.id)
        .bind(&e.kind)
        .bind(&e.subject)
        .bind(&e.payload)
        .bind(e.occurred_at)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// Lease up to `limit` undispatched events to `owner` until `lease_until`: per subject
    /// only the earliest undispatched one (the next comes once it is dispatched), so order
    /// per subject holds across nodes. Events without a subject (client and connector changes)
    /// count as one subject: they go out in the order they were written. The outer `WHERE` repeats the lease test so that a
    /// claim racing another one on PostgreSQL re-checks the row it waited for and leaves it.
    pub async fn claim_events(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<OutboxRecord>> {
        let sql = format!(
            "UPDATE event_outbox SET lease_owner = $1, lease_until = $2 \
             WHERE dispatched_at IS NULL AND (lease_until IS NULL OR lease_until <= $3) AND id IN ( \
               SELECT e.id FROM event_outbox e \
               WHERE e.dispatched_at IS NULL AND (e.lease_until IS NULL OR e.lease_until <= $3) \
               AND NOT EXISTS (SELECT 1 FROM event_outbox p WHERE COALESCE(p.subject, '') = COALESCE(e.subject, '') \
                               AND p.dispatched_at IS NULL AND (p.seq < e.seq OR (p.seq = e.seq AND p.id < e.id))) \
               ORDER BY e.seq, e.id LIMIT $4{}) \
             RETURNING id, seq, kind, subject, payload, occurred_at",
            dialect::skip_locked(self.backend)
        );
        let mut claimed: Vec<OutboxRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        claimed.sort_by(|a, b| (a.seq, &a.id).cmp(&(b.seq, &b.id)));
        Ok(claimed)
    }

    /// The event's consumers have it: mark it dispatched (only by the lease holder).
    pub async fn mark_event_dispatched(&self, id: &str, owner: &str, now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE event_outbox SET dispatched_at = $3, dispatches = dispatches + 1, lease_owner = NULL, \
             lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND dispatched_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A consumer failed: keep the lease until `retry_at`, when any worker may take it again
    /// (the subject's later events wait behind it).
    pub async fn postpone_event(&self, id: &str, owner: &str, retry_at: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE event_outbox SET lease_until = $3 WHERE id = $1 AND lease_owner = $2")
            .bind(id)
            .bind(owner)
            .bind(retry_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Levels an operator watches: events not yet dispatched, and webhook deliveries that
    /// failed at least once and are still retried, or were given up.
    pub async fn backlogs(&self) -> anyhow::Result<Backlogs> {
        let (outbox,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM event_outbox WHERE dispatched_at IS NULL")
            .fetch_one(&self.read)
            .await?;
        let (retrying, abandoned): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'abandoned' THEN 1 ELSE 0 END), 0) FROM webhook_deliveries",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(Backlogs { outbox, webhooks_retrying: retrying, webhooks_abandoned: abandoned })
    }
}

/// See [`Store::backlogs`].
#[derive(Debug, Clone, Copy)]
pub struct Backlogs {
    pub outbox: i64,
    pub webhooks_retrying: i64,
    pub webhooks_abandoned: i64,
}
