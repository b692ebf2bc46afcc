//! Webhook endpoints, their deliveries (one per endpoint and event) and every attempt made.

use super::Store;

/// `Debug` (below) leaves the sealed secret out.
#[derive(sqlx::FromRow, Clone)]
pub struct WebhookEndpointRecord {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Space-separated; empty means every type.
    pub event_types: String,
    pub sealed_secret: Vec<u8>,
    pub enabled: i64,
    pub failing_since: Option<i64>,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for WebhookEndpointRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpointRecord")
            .field("id", &self.id)
            .field("event_types", &self.event_types)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct WebhookDeliveryRecord {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub subject: Option<String>,
    pub body: String,
    pub seq: i64,
    /// pending | delivered | abandoned
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct WebhookAttemptRecord {
    pub id: String,
    pub delivery_id: String,
    pub attempted_at: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response_excerpt: String,
}

/// Which deliveries of an endpoint a replay re-queues.
#[derive(Debug, Clone, Copy)]
pub enum WebhookReplay<'a> {
    Delivery(&'a str),
    Event(&'a str),
    /// Every delivery created at or after this time (unix ms).
    Since(i64),
}

macro_rules! endpoint_columns {
    () => {
        "id, url, description, event_types, sealed_secret, enabled, failing_since, disabled_at, created_at, updated_at"
    };
}

macro_rules! requeue {
    () => {
        "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3, updated_at = $3 \
         WHERE endpoint_id = $2 AND "
    };
}

macro_rules! delivery_columns {
    () => {
        "id, endpoint_id, event_id, event_type, subject, body, seq, state, attempts, next_attempt_at, created_at, \
         updated_at"
    };
}

impl Store {
    pub async fn insert_webhook_endpoint(&self, e: &WebhookEndpointRecord) -> anyhow::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO webhook_endpoints (",
            endpoint_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&e.id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(&e.event_types)
        .bind(&e.sealed_secret)
        .bind(e.enabled)
        .bind(e.failing_since)
        .bind(e.disabled_at)
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn webhook_endpoint(&self, id: &str) -> anyhow::Result<Option<WebhookEndpointRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", endpoint_columns!(), " FROM webhook_endpoints WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn webhook_endpoints(&self) -> anyhow::Result<Vec<WebhookEndpointRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", endpoint_columns!(), " FROM webhook_endpoints ORDER BY created_at, id"))
            .fetch_all(&self.read)
            .await?)
    }

    /// Deletes the endpoint with its deliveries and their attempts.
    pub async fn delete_webhook_endpoint(&self, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&self.write).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Enable (forgetting past failures) or disable an endpoint; false when there is none.
    pub async fn set_webhook_endpoint_enabled(&self, id: &str, enabled: bool, now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET enabled = $2, updated_at = $3, failing_since = NULL, \
             disabled_at = CASE WHEN $2 = 1 THEN NULL ELSE $3 END WHERE id = $1",
        )
        .bind(id)
        .bind(i64::from(enabled))
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disable an endpoint that failed too long; true only for the call that disabled it.
    pub async fn disable_failing_webhook_endpoint(&self, id: &str, now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_at = $2, updated_at = $2 WHERE id = $1 AND enabled = 1",
        )
        .bind(id)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Insert a delivery after the endpoint's others (its `seq`); nothing when this endpoint
    /// has one for this event already. True when inserted.
    pub async fn insert_webhook_delivery(&self, d: &WebhookDeliveryRecord) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, subject, body, seq, state, \
             attempts, next_attempt_at, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, COALESCE(MAX(seq), 0) + 1, 'pending', 0, $7, $8, $8 \
             FROM webhook_deliveries WHERE endpoint_id = $2 \
             ON CONFLICT (endpoint_id, event_id) DO NOTHING",
        )
        .bind(&d.id)
        .bind(&d.endpoint_id)
        .bind(&d.event_id)
        .bind(&d.event_type)
        .bind(&d.subject)
        .bind(&d.body)
        .bind(d.next_attempt_at)
        .bind(d.created_at)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn webhook_delivery(&self, id: &str) -> anyhow::Result<Option<WebhookDeliveryRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", delivery_columns!(), " FROM webhook_deliveries WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    /// Pending deliveries of enabled endpoints whose time has come and that no earlier
    /// pending delivery of the same endpoint and subject is waiting ahead of.
    pub async fn due_webhook_deliveries(&self, now: i64, limit: i64) -> anyhow::Result<Vec<WebhookDeliveryRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
             AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.enabled = 1) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id \
             AND p.subject = d.subject AND p.state = 'pending' AND p.seq < d.seq) \
             ORDER BY d.next_attempt_at, d.seq LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.write)
        .await?)
    }

    /// Take a due delivery for one attempt (compare-and-set on its next attempt time, which
    /// moves to `lease_until`: should this process die mid-attempt, it is tried again then).
    /// False when another worker took it first.
    pub async fn claim_webhook_delivery(
        &self,
        d: &WebhookDeliveryRecord,
        lease_until: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $3, updated_at = $4 \
             WHERE id = $1 AND state = 'pending' AND next_attempt_at = $2",
        )
        .bind(&d.id)
        .bind(d.next_attempt_at)
        .bind(lease_until)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Record an attempt, the delivery's new state, and the endpoint's run of failures, in
    /// one transaction. Returns since when the endpoint has been failing (None after a
    /// success).
    pub async fn record_webhook_attempt(
        &self,
        a: &WebhookAttemptRecord,
        endpoint_id: &str,
        state: &str,
        attempts: i64,
        next_attempt_at: i64,
        succeeded: bool,
    ) -> anyhow::Result<Option<i64>> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status, error, latency_ms, \
             response_excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&a.id)
        .bind(&a.delivery_id)
        .bind(a.attempted_at)
        .bind(a.status)
        .bind(&a.error)
        .bind(a.latency_ms)
        .bind(&a.response_excerpt)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, attempts = $3, next_attempt_at = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(&a.delivery_id)
        .bind(state)
        .bind(attempts)
        .bind(next_attempt_at)
        .bind(a.attempted_at)
        .execute(&mut *tx)
        .await?;
        let failing_since: Option<i64> = if succeeded {
            sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
                .bind(endpoint_id)
                .execute(&mut *tx)
                .await?;
            None
        } else {
            sqlx::query_scalar(
                "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 \
                 RETURNING failing_since",
            )
            .bind(endpoint_id)
            .bind(a.attempted_at)
            .fetch_optional(&mut *tx)
            .await?
            .flatten()
        };
        tx.commit().await?;
        Ok(failing_since)
    }

    /// An endpoint's deliveries, newest first.
    pub async fn webhook_deliveries_of(
        &self,
        endpoint_id: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<WebhookDeliveryRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq DESC LIMIT $2"
        ))
        .bind(endpoint_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// A delivery's attempts, oldest first.
    pub async fn webhook_attempts_of(&self, delivery_id: &str) -> anyhow::Result<Vec<WebhookAttemptRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, delivery_id, attempted_at, status, error, latency_ms, response_excerpt \
             FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempted_at, id",
        )
        .bind(delivery_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Start a new attempt series for the chosen deliveries of an endpoint (pending, no
    /// attempts yet in the series, due now). Returns how many.
    pub async fn requeue_webhook_deliveries(
        &self,
        endpoint_id: &str,
        which: WebhookReplay<'_>,
        now: i64,
    ) -> anyhow::Result<u64> {
        // The selector is $1, the endpoint $2, the time $3.
        let q = match which {
            WebhookReplay::Delivery(id) => sqlx::query(concat!(requeue!(), "id = $1")).bind(id.to_string()),
            WebhookReplay::Event(id) => sqlx::query(concat!(requeue!(), "event_id = $1")).bind(id.to_string()),
            WebhookReplay::Since(t) => sqlx::query(concat!(requeue!(), "created_at >= $1")).bind(t),
        };
        Ok(q.bind(endpoint_id).bind(now).execute(&self.write).await?.rows_affected())
    }
}
