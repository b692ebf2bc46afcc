//! Second factors: a TOTP secret (sealed) with its replay and lockout state, and the
//! hashed single-use recovery codes.

use super::{Store, Tx};

/// `Debug` (below) leaves the sealed secret out.
#[derive(sqlx::FromRow, Clone)]
pub struct TotpRecord {
    pub customer_id: String,
    pub sealed_secret: Vec<u8>,
    pub created_at: i64,
    pub last_used_step: i64,
    pub failed_attempts: i64,
    pub locked_until: i64,
}

impl std::fmt::Debug for TotpRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRecord")
            .field("customer_id", &self.customer_id)
            .field("sealed_secret", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("last_used_step", &self.last_used_step)
            .field("failed_attempts", &self.failed_attempts)
            .field("locked_until", &self.locked_until)
            .finish()
    }
}

impl Store {
    pub async fn totp_factor(&self, customer_id: &str) -> anyhow::Result<Option<TotpRecord>> {
        Ok(sqlx::query_as(
            "SELECT customer_id, sealed_secret, created_at, last_used_step, failed_attempts, locked_until \
             FROM totp_factors WHERE customer_id = $1",
        )
        .bind(customer_id)
        .fetch_optional(&self.write)
        .await?)
    }

    /// Activate TOTP with its first accepted step and a fresh set of recovery codes.
    pub async fn enrol_totp_in(tx: &mut Tx, f: &TotpRecord, recovery_hashes: &[String]) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM totp_factors WHERE customer_id = $1").bind(&f.customer_id).execute(&mut *tx.0).await?;
        sqlx::query(
            "INSERT INTO totp_factors (customer_id, sealed_secret, created_at, last_used_step, failed_attempts, \
             locked_until) VALUES ($1, $2, $3, $4, 0, 0)",
        )
        .bind(&f.customer_id)
        .bind(&f.sealed_secret)
        .bind(f.created_at)
        .bind(f.last_used_step)
        .execute(&mut *tx.0)
        .await?;
        replace_codes(tx, &f.customer_id, recovery_hashes).await?;
        Ok(())
    }

    /// Accept time step `step` if it is later than every step accepted before (one
    /// statement, so two concurrent uses of one code cannot both pass).
    pub async fn accept_totp_step(&self, customer_id: &str, step: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE totp_factors SET last_used_step = $2, failed_attempts = 0 \
             WHERE customer_id = $1 AND last_used_step < $2",
        )
        .bind(customer_id)
        .bind(step)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Count a wrong code; the `max`-th in a row locks the factor until `lock_until`.
    pub async fn count_totp_failure(&self, customer_id: &str, max: i64, lock_until: i64) -> anyhow::Result<bool> {
        let locked: Option<(i64,)> = sqlx::query_as(
            "UPDATE totp_factors SET \
             locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END, \
             failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END \
             WHERE customer_id = $1 RETURNING locked_until",
        )
        .bind(customer_id)
        .bind(max)
        .bind(lock_until)
        .fetch_optional(&self.write)
        .await?;
        // Whether this failure locked the factor.
        Ok(locked.is_some_and(|(until,)| until == lock_until))
    }

    /// Use the unused code stored as either of `code_hashes` (its current keyed form and the
    /// plain SHA-256 of earlier releases); one statement, so a code is used once.
    pub async fn use_recovery_code(
        &self,
        customer_id: &str,
        code_hashes: &[String; 2],
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $4 \
             WHERE customer_id = $1 AND code_hash IN ($2, $3) AND used_at IS NULL",
        )
        .bind(customer_id)
        .bind(&code_hashes[0])
        .bind(&code_hashes[1])
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() >= 1)
    }

    pub async fn replace_recovery_codes(&self, customer_id: &str, hashes: &[String]) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        replace_codes(&mut tx, customer_id, hashes).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn unused_recovery_codes(&self, customer_id: &str) -> anyhow::Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE customer_id = $1 AND used_at IS NULL")
                .bind(customer_id)
                .fetch_one(&self.read)
                .await?;
        Ok(n)
    }

    /// Remove the authenticator app and its recovery codes; `false` when there was none.
    pub async fn remove_totp_in(tx: &mut Tx, customer_id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM totp_factors WHERE customer_id = $1")
            .bind(customer_id)
            .execute(&mut *tx.0)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE customer_id = $1").bind(customer_id).execute(&mut *tx.0).await?;
        Ok(done.rows_affected() > 0)
    }
}

async fn replace_codes(tx: &mut Tx, customer_id: &str, hashes: &[String]) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE customer_id = $1").bind(customer_id).execute(&mut *tx.0).await?;
    for h in hashes {
        sqlx::query("INSERT INTO recovery_codes (customer_id, code_hash, used_at) VALUES ($1, $2, NULL)")
            .bind(customer_id)
            .bind(h)
            .execute(&mut *tx.0)
            .await?;
    }
    Ok(())
}
