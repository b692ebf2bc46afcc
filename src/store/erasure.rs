//! Erasing a customer (GDPR Art. 17) in the caller's unit of work, and the retention
//! deletions the worker runs (what is kept, and for how long, is in the README).

use super::{LedgerRecord, Store, Tx};

impl Store {
    /// Replace a customer's consent chain by its pseudonymised copy (`entries`, already
    /// re-hashed under the pseudonym), with its head.
    pub async fn replace_ledger_in(tx: &mut Tx, customer_id: &str, entries: &[LedgerRecord]) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM consent_ledger WHERE customer_id = $1").bind(customer_id).execute(&mut *tx.0).await?;
        sqlx::query("DELETE FROM consent_heads WHERE customer_id = $1").bind(customer_id).execute(&mut *tx.0).await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO consent_ledger (customer_id, seq, id, client_id, item, policy_id, policy_version, \
                 text_hash, action, at, channel, session_id, ip, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
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
        if let Some(last) = entries.last() {
            sqlx::query("INSERT INTO consent_heads (customer_id, seq, hash) VALUES ($1, $2, $3)")
                .bind(&last.customer_id)
                .bind(last.seq)
                .bind(&last.hash)
                .execute(&mut *tx.0)
                .await?;
        }
        Ok(())
    }

    /// Erase a customer: the audit entries about them keep what happened and when but name
    /// only `pseudonym` (no address, browser or detail), their privacy requests name the
    /// pseudonym without details or notes, events and webhook deliveries about them are
    /// dropped, and the customer row goes with everything that cascades from it (sessions,
    /// grants and refresh tokens, consents, passkeys, authenticator app, recovery codes,
    /// linked identities, purpose decisions, policy notices). False when already gone.
    pub async fn erase_customer_in(tx: &mut Tx, customer_id: &str, pseudonym: &str) -> anyhow::Result<bool> {
        let statements = [
            "UPDATE audit_log SET target = $2, ip = NULL, user_agent = NULL, detail = '{}' WHERE target = $1",
            "UPDATE audit_log SET actor_id = $2, ip = NULL, user_agent = NULL, detail = '{}' \
             WHERE actor_kind = 'customer' AND actor_id = $1",
            "UPDATE privacy_requests SET customer_id = $2, details = NULL, notes = '[]', export_archive = NULL, \
             export_token_hash = NULL WHERE customer_id = $1",
        ];
        for sql in statements {
            sqlx::query(sql).bind(customer_id).bind(pseudonym).execute(&mut *tx.0).await?;
        }
        for sql in [
            "DELETE FROM webhook_deliveries WHERE subject = $1",
            "DELETE FROM event_outbox WHERE subject = $1",
            "DELETE FROM grants WHERE customer_id = $1",
        ] {
            sqlx::query(sql).bind(customer_id).execute(&mut *tx.0).await?;
        }
        let gone = sqlx::query("DELETE FROM customers WHERE id = $1").bind(customer_id).execute(&mut *tx.0).await?;
        Ok(gone.rows_affected() == 1)
    }

    /// Once the announcement of an erasure went out (before `before`), forget it too:
    /// dispatched `customer.deleted` events without pending webhook deliveries, their
    /// finished deliveries, and back-channel logout deliveries that were delivered or given up
    /// (they name the customer's `sub`).
    pub async fn forget_announced_erasures(&self, before: i64) -> anyhow::Result<u64> {
        let mut gone = 0;
        for sql in [
            "DELETE FROM webhook_deliveries WHERE event_type = 'customer.deleted' AND state <> 'pending' \
             AND updated_at < $1",
            "DELETE FROM event_outbox WHERE kind = 'customer.deleted' AND dispatched_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = event_outbox.id)",
            "DELETE FROM backchannel_deliveries WHERE delivered_at < $1 OR gave_up_at < $1",
        ] {
            gone += sqlx::query(sql).bind(before).execute(&self.write).await?.rows_affected();
        }
        Ok(gone)
    }

    /// Delete sessions that ended (expired) before `cutoff`.
    pub async fn prune_sessions(&self, cutoff: i64) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(cutoff).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    /// Delete accounts created before `cutoff` that never finished a first sign-in: the
    /// mailbox never proven, not verified by a provider, no session and no token ever issued.
    pub async fn prune_unverified_customers(&self, cutoff: i64) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM customers WHERE created_at < $1 AND mailbox_proven_at IS NULL AND email_verified = 0 \
             AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.customer_id = customers.id) \
             AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.customer_id = customers.id) \
             AND NOT EXISTS (SELECT 1 FROM privacy_requests p WHERE p.customer_id = customers.id)",
        )
        .bind(cutoff)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }
}
