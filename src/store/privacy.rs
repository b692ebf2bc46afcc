//! Privacy requests: filed by a customer, worked on by admins and the worker. Status changes
//! are compare-and-set on the status they start from, so two workers (or an admin and the
//! worker) never both complete one request.

use super::{Store, Tx};

#[derive(sqlx::FromRow, Clone, Debug, PartialEq, Eq)]
pub struct PrivacyRequestRecord {
    pub id: String,
    pub customer_id: String,
    pub kind: String,
    pub status: String,
    pub jurisdiction: String,
    pub received_at: i64,
    pub due_at: i64,
    pub extended_until: Option<i64>,
    pub extension_reason: Option<String>,
    pub purpose: Option<String>,
    pub details: Option<String>,
    pub notes: String,
    pub closed_reason: Option<String>,
    pub closed_at: Option<i64>,
    pub erase_after: Option<i64>,
    pub export_expires_at: Option<i64>,
    pub contact_notified_at: Option<i64>,
    pub updated_at: i64,
}

macro_rules! columns {
    () => {
        "id, customer_id, kind, status, jurisdiction, received_at, due_at, extended_until, extension_reason, \
         purpose, details, notes, closed_reason, closed_at, erase_after, export_expires_at, contact_notified_at, \
         updated_at"
    };
}

/// Statuses of a request still to be answered.
macro_rules! open {
    () => {
        "('received', 'verified', 'in_progress')"
    };
}

/// Which requests an admin lists: every filter optional.
#[derive(Debug, Clone, Default)]
pub struct PrivacyRequestFilter {
    pub status: Option<String>,
    pub customer_id: Option<String>,
    /// Open requests whose (extended) due date is at or before this.
    pub due_before: Option<i64>,
    pub limit: i64,
}

impl Store {
    pub async fn insert_privacy_request_in(tx: &mut Tx, r: &PrivacyRequestRecord) -> anyhow::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO privacy_requests (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        ))
        .bind(&r.id)
        .bind(&r.customer_id)
        .bind(&r.kind)
        .bind(&r.status)
        .bind(&r.jurisdiction)
        .bind(r.received_at)
        .bind(r.due_at)
        .bind(r.extended_until)
        .bind(&r.extension_reason)
        .bind(&r.purpose)
        .bind(&r.details)
        .bind(&r.notes)
        .bind(&r.closed_reason)
        .bind(r.closed_at)
        .bind(r.erase_after)
        .bind(r.export_expires_at)
        .bind(r.contact_notified_at)
        .bind(r.updated_at)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    pub async fn privacy_request(&self, id: &str) -> anyhow::Result<Option<PrivacyRequestRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM privacy_requests WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    /// A customer's requests, newest first.
    pub async fn privacy_requests_of(&self, customer_id: &str) -> anyhow::Result<Vec<PrivacyRequestRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM privacy_requests WHERE customer_id = $1 ORDER BY received_at DESC, id"
        ))
        .bind(customer_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Requests matching `f`, the soonest due first.
    pub async fn privacy_requests(&self, f: &PrivacyRequestFilter) -> anyhow::Result<Vec<PrivacyRequestRecord>> {
        let mut sql = concat!("SELECT ", columns!(), " FROM privacy_requests WHERE 1 = 1").to_string();
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if f.status.is_some() {
            sql.push_str(&format!(" AND status = ${}", next()));
        }
        if f.customer_id.is_some() {
            sql.push_str(&format!(" AND customer_id = ${}", next()));
        }
        if f.due_before.is_some() {
            sql.push_str(&format!(
                concat!(" AND status IN ", open!(), " AND COALESCE(extended_until, due_at) <= ${}"),
                next()
            ));
        }
        sql.push_str(&format!(" ORDER BY COALESCE(extended_until, due_at), id LIMIT ${}", next()));
        // Built only from the fixed fragments above; every value is bound.
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        if let Some(s) = &f.status {
            q = q.bind(s);
        }
        if let Some(c) = &f.customer_id {
            q = q.bind(c);
        }
        if let Some(d) = f.due_before {
            q = q.bind(d);
        }
        Ok(q.bind(f.limit).fetch_all(&self.read).await?)
    }

    /// Move a request from `from` to `to` (with the reason it was closed, if any): false when
    /// it was no longer in `from`.
    pub async fn set_privacy_request_status_in(
        tx: &mut Tx,
        id: &str,
        from: &str,
        to: &str,
        reason: Option<&str>,
        now: i64,
    ) -> anyhow::Result<bool> {
        let closes = matches!(to, "completed" | "rejected" | "cancelled");
        let done = sqlx::query(
            "UPDATE privacy_requests SET status = $3, closed_reason = COALESCE($4, closed_reason), \
             closed_at = CASE WHEN $5 = 1 THEN $6 ELSE closed_at END, updated_at = $6 WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(reason)
        .bind(i64::from(closes))
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replace the notes (JSON) if they are still `previous`.
    pub async fn set_privacy_request_notes_in(
        tx: &mut Tx,
        id: &str,
        previous: &str,
        notes: &str,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE privacy_requests SET notes = $3, updated_at = $4 WHERE id = $1 AND notes = $2")
            .bind(id)
            .bind(previous)
            .bind(notes)
            .bind(now)
            .execute(&mut *tx.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Extend an open request's deadline once.
    pub async fn extend_privacy_request_in(
        tx: &mut Tx,
        id: &str,
        until: i64,
        reason: &str,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(concat!(
            "UPDATE privacy_requests SET extended_until = $2, extension_reason = $3, updated_at = $4 \
             WHERE id = $1 AND extended_until IS NULL AND status IN ",
            open!()
        ))
        .bind(id)
        .bind(until)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Open requests of `kind` in `status` whose `erase_after` (if it matters) has passed.
    pub async fn privacy_requests_to_work(
        &self,
        kind: &str,
        status: &str,
        now: i64,
    ) -> anyhow::Result<Vec<PrivacyRequestRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM privacy_requests WHERE kind = $1 AND status = $2 AND COALESCE(erase_after, 0) <= $3 \
             ORDER BY received_at LIMIT 50"
        ))
        .bind(kind)
        .bind(status)
        .bind(now)
        .fetch_all(&self.read)
        .await?)
    }

    /// Complete an export: the archive, reachable once through the hash of a link token.
    pub async fn complete_export_in(
        tx: &mut Tx,
        id: &str,
        token_hash: &str,
        archive: &str,
        expires_at: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE privacy_requests SET export_token_hash = $2, export_archive = $3, export_expires_at = $4, \
             status = 'completed', closed_at = $5, updated_at = $5 WHERE id = $1 AND status = 'verified'",
        )
        .bind(id)
        .bind(token_hash)
        .bind(archive)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The export behind a link, if it is unexpired and not downloaded yet: (request, archive).
    pub async fn export_by_token(&self, token_hash: &str, now: i64) -> anyhow::Result<Option<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT customer_id, export_archive FROM privacy_requests WHERE export_token_hash = $1 \
             AND export_archive IS NOT NULL AND export_expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Take the archive behind a link: it is gone afterwards. Two concurrent takes: one wins
    /// (the second `UPDATE` finds the archive already gone).
    pub async fn take_export(&self, token_hash: &str, now: i64) -> anyhow::Result<Option<(String, String)>> {
        let mut tx = self.begin().await?;
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT customer_id, export_archive FROM privacy_requests WHERE export_token_hash = $1 \
             AND export_archive IS NOT NULL AND export_expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx.0)
        .await?;
        let Some(found) = found else { return Ok(None) };
        let taken = sqlx::query(
            "UPDATE privacy_requests SET export_archive = NULL, updated_at = $2 \
             WHERE export_token_hash = $1 AND export_archive IS NOT NULL",
        )
        .bind(token_hash)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(found))
    }

    /// Open requests due by `by` whose privacy contact was not told since `told_before`.
    pub async fn privacy_requests_to_flag(
        &self,
        by: i64,
        told_before: i64,
    ) -> anyhow::Result<Vec<PrivacyRequestRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM privacy_requests WHERE status IN ",
            open!(),
            " AND COALESCE(extended_until, due_at) <= $1 \
             AND COALESCE(contact_notified_at, 0) <= $2 ORDER BY COALESCE(extended_until, due_at) LIMIT 100"
        ))
        .bind(by)
        .bind(told_before)
        .fetch_all(&self.read)
        .await?)
    }

    /// Claim the daily mail about `id`: false when another worker told the contact already.
    pub async fn claim_contact_notice(&self, id: &str, told_before: i64, now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE privacy_requests SET contact_notified_at = $3 \
             WHERE id = $1 AND COALESCE(contact_notified_at, 0) <= $2",
        )
        .bind(id)
        .bind(told_before)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
