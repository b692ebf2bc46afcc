//! Browser sessions (single sign-on). The cookie holds a random token; only its hash is here.

use super::inline::{self, col};
use super::{Store, Tx};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct SessionRecord {
    /// The public session id, sent as `sid` in ID tokens.
    pub id: String,
    pub token_hash: String,
    pub customer_id: String,
    pub auth_time: i64,
    pub acr: String,
    /// Space-separated RFC 8176 method references.
    pub amr: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
    /// "Keep me signed in": the cookie outlives the browser session.
    pub persistent: i64,
}

impl SessionRecord {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRecord> {
        Ok(SessionRecord {
            id: col(r, "id")?,
            token_hash: col(r, "token_hash")?,
            customer_id: col(r, "customer_id")?,
            auth_time: col(r, "auth_time")?,
            acr: col(r, "acr")?,
            amr: col(r, "amr")?,
            user_agent: col(r, "user_agent")?,
            ip: col(r, "ip")?,
            created_at: col(r, "created_at")?,
            expires_at: col(r, "expires_at")?,
            last_seen_at: col(r, "last_seen_at")?,
            persistent: col(r, "persistent")?,
        })
    }
}

macro_rules! columns {
    () => {
        "id, token_hash, customer_id, auth_time, acr, amr, user_agent, ip, created_at, expires_at, last_seen_at, \
         persistent"
    };
}

impl Store {
    /// An email proof: find or create the customer with this (now verified) address, in one
    /// statement. Returns the customer id, whether it was created now (it has the new id), and
    /// whether this is the first proof of the mailbox of an account that was set up without
    /// one (through a provider).
    pub async fn prove_mailbox_in(
        tx: &mut Tx,
        email: &str,
        new_customer_id: &str,
        now: i64,
    ) -> anyhow::Result<(String, bool, bool)> {
        let (customer_id, proven_at): (String, Option<i64>) = sqlx::query_as(
            "INSERT INTO customers (id, email, email_verified, mailbox_proven_at, created_at, updated_at) \
             VALUES ($1, $2, 1, $3, $3, $3) \
             ON CONFLICT (email) DO UPDATE SET email_verified = 1 RETURNING id, mailbox_proven_at",
        )
        .bind(new_customer_id)
        .bind(email)
        .bind(now)
        .fetch_one(&mut *tx.0)
        .await?;
        let created = customer_id == new_customer_id;
        Ok((customer_id, created, proven_at.is_none()))
    }

    /// The owner proved the mailbox and reviewed what is attached to the account.
    pub async fn mark_mailbox_proven_in(tx: &mut Tx, customer_id: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE customers SET mailbox_proven_at = $2 WHERE id = $1")
            .bind(customer_id)
            .bind(now)
            .execute(&mut *tx.0)
            .await?;
        Ok(())
    }

    /// Something was attached without a proof of the mailbox (a provider linked by its
    /// address alone): the next mail proof shows the owner what is attached.
    pub async fn forget_mailbox_proof_in(tx: &mut Tx, customer_id: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE customers SET mailbox_proven_at = NULL WHERE id = $1")
            .bind(customer_id)
            .execute(&mut *tx.0)
            .await?;
        Ok(())
    }

    pub async fn session_by_id(&self, id: &str, now: i64) -> anyhow::Result<Option<SessionRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM sessions WHERE id = $1 AND expires_at > $2"))
            .bind(id)
            .bind(now)
            .fetch_optional(&self.write)
            .await?)
    }

    /// Store a session inside the caller's transaction: insert it, or renew the session with
    /// the same id (same customer only): new secret, level, methods and times; its creation
    /// time stays.
    pub async fn insert_session_in(tx: &mut Tx, session: &SessionRecord) -> anyhow::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO sessions (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, auth_time = excluded.auth_time, \
             acr = excluded.acr, amr = excluded.amr, user_agent = excluded.user_agent, ip = excluded.ip, \
             expires_at = excluded.expires_at, last_seen_at = excluded.last_seen_at, persistent = excluded.persistent \
             WHERE sessions.customer_id = excluded.customer_id"
        ))
        .bind(&session.id)
        .bind(&session.token_hash)
        .bind(&session.customer_id)
        .bind(session.auth_time)
        .bind(&session.acr)
        .bind(&session.amr)
        .bind(&session.user_agent)
        .bind(&session.ip)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.last_seen_at)
        .bind(session.persistent)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// The live session whose cookie token hashes to `token_hash`.
    pub async fn session_by_token(&self, token_hash: &str, now: i64) -> anyhow::Result<Option<SessionRecord>> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM sessions WHERE token_hash = $1 AND expires_at > $2");
        if let Some(found) =
            self.inline_read(|c| inline::optional(c, SQL, &[&token_hash, &now], SessionRecord::from_row))
        {
            return Ok(found);
        }
        Ok(sqlx::query_as(SQL).bind(token_hash).bind(now).fetch_optional(&self.read).await?)
    }

    /// A customer's live sessions, most recently seen first.
    pub async fn sessions_of(&self, customer_id: &str, now: i64) -> anyhow::Result<Vec<SessionRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM sessions WHERE customer_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, created_at DESC"
        ))
        .bind(customer_id)
        .bind(now)
        .fetch_all(&self.read)
        .await?)
    }

    /// Record that a session was used; at most one write a minute per session.
    pub async fn touch_session(&self, id: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $3")
            .bind(id)
            .bind(now)
            .bind(now - 60_000)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A new secret for a session: the old cookie value stops working.
    pub async fn rotate_session_token(&self, id: &str, token_hash: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE sessions SET token_hash = $2 WHERE id = $1")
            .bind(id)
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A step-up: the session now carries a stronger `acr`, the union `amr`, a new auth_time.
    pub async fn upgrade_session(
        &self,
        id: &str,
        token_hash: &str,
        acr: &str,
        amr: &str,
        auth_time: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE sessions SET acr = $2, amr = $3, auth_time = $4, last_seen_at = $4, token_hash = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(acr)
        .bind(amr)
        .bind(auth_time)
        .bind(token_hash)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Delete a session inside the caller's unit of work; `false` when it was already gone.
    pub async fn delete_session_in(tx: &mut Tx, session_id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1").bind(session_id).execute(&mut *tx.0).await?;
        Ok(done.rows_affected() == 1)
    }
}
