//! The statements of incident response: counting and changing everything in a scope at
//! once: every customer (`customer` and `client` empty), one customer, or the customers and
//! token families of one client. One query text per question serves every scope.

use super::{SessionRecord, Store, Tx};

/// What a breach action would touch or touched.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BreachCounts {
    pub customers: i64,
    pub sessions: i64,
    pub token_families: i64,
}

impl Store {
    /// Live sessions (not for a client scope: sessions belong to no client), live token
    /// families, and the customers they belong to.
    pub async fn breach_token_counts(&self, customer: &str, client: &str, now: i64) -> anyhow::Result<BreachCounts> {
        let (customers, sessions, token_families): (i64, i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM ( \
                  SELECT customer_id FROM grants WHERE revoked_at IS NULL AND ($1 = '' OR customer_id = $1) \
                    AND ($2 = '' OR client_id = $2) \
                  UNION SELECT customer_id FROM sessions WHERE $2 = '' AND expires_at > $3 \
                    AND ($1 = '' OR customer_id = $1)) t), \
               (SELECT COUNT(*) FROM sessions WHERE $2 = '' AND expires_at > $3 AND ($1 = '' OR customer_id = $1)), \
               (SELECT COUNT(*) FROM grants WHERE revoked_at IS NULL AND ($1 = '' OR customer_id = $1) \
                  AND ($2 = '' OR client_id = $2))",
        )
        .bind(customer)
        .bind(client)
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        Ok(BreachCounts { customers, sessions, token_families })
    }

    /// Customers in the scope (for a client: those it was ever granted anything by).
    pub async fn breach_customer_count(&self, customer: &str, client: &str) -> anyhow::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM customers WHERE ($1 = '' OR id = $1) \
             AND ($2 = '' OR id IN (SELECT customer_id FROM grants WHERE client_id = $2))",
        )
        .bind(customer)
        .bind(client)
        .fetch_one(&self.read)
        .await?;
        Ok(n)
    }

    /// A page of (id, email) of the customers in the scope, in id order after `after`.
    pub async fn breach_customers(
        &self,
        customer: &str,
        client: &str,
        after: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, email FROM customers WHERE id > $3 AND ($1 = '' OR id = $1) \
             AND ($2 = '' OR id IN (SELECT customer_id FROM grants WHERE client_id = $2)) ORDER BY id LIMIT $4",
        )
        .bind(customer)
        .bind(client)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// A page of live sessions (every customer's, or one's), in id order after `after`.
    pub async fn breach_sessions(
        &self,
        customer: &str,
        after: &str,
        limit: i64,
        now: i64,
    ) -> anyhow::Result<Vec<SessionRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, token_hash, customer_id, auth_time, acr, amr, user_agent, ip, created_at, expires_at, \
             last_seen_at, persistent FROM sessions WHERE id > $2 AND expires_at > $3 AND ($1 = '' OR customer_id = $1) \
             ORDER BY id LIMIT $4",
        )
        .bind(customer)
        .bind(after)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Revoke every live token family in the scope; returns how many.
    pub async fn breach_revoke_grants_in(tx: &mut Tx, customer: &str, client: &str, now: i64) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = $3 WHERE revoked_at IS NULL AND ($1 = '' OR customer_id = $1) \
             AND ($2 = '' OR client_id = $2)",
        )
        .bind(customer)
        .bind(client)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected())
    }

    /// Access tokens of `client` (`*`: every client) issued at or before `now` are revoked,
    /// including those of no token family (client_credentials).
    pub async fn set_access_token_cutoff_in(tx: &mut Tx, client: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO access_token_cutoffs (client_id, not_before) VALUES ($1, $2) \
             ON CONFLICT (client_id) DO UPDATE SET not_before = excluded.not_before",
        )
        .bind(client)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// Customers in the scope must prove their mailbox (and second factor) at next sign-in.
    pub async fn require_reverification_in(tx: &mut Tx, customer: &str, client: &str) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "UPDATE customers SET reverify_required = 1 WHERE ($1 = '' OR id = $1) \
             AND ($2 = '' OR id IN (SELECT customer_id FROM grants WHERE client_id = $2))",
        )
        .bind(customer)
        .bind(client)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn reverification_required(&self, customer_id: &str) -> anyhow::Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT reverify_required FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some_and(|r| r.0 != 0))
    }

    /// Read inside the sign-in's unit of work: a read on the pool while that transaction holds
    /// a connection could wait for a connection that never comes (PostgreSQL shares one pool).
    pub async fn reverification_required_in(tx: &mut Tx, customer_id: &str) -> anyhow::Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT reverify_required FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(&mut *tx.0)
            .await?;
        Ok(row.is_some_and(|r| r.0 != 0))
    }

    pub async fn reverified_in(tx: &mut Tx, customer_id: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE customers SET reverify_required = 0 WHERE id = $1 AND reverify_required <> 0")
            .bind(customer_id)
            .execute(&mut *tx.0)
            .await?;
        Ok(())
    }
}
