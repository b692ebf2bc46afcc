//! Authorization codes, token families (grants), refresh tokens and revoked access tokens:
//! everything the token endpoint writes. Each request writes at most one transaction.

use super::Store;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct CodeRecord {
    pub code_hash: String,
    pub client_id: String,
    pub customer_id: String,
    pub session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: String,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub grant_id: Option<String>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct GrantRecord {
    pub id: String,
    pub client_id: String,
    pub customer_id: String,
    pub session_id: Option<String>,
    pub scope: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A refresh token row joined with its family.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct RefreshTokenRecord {
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    #[sqlx(flatten)]
    pub grant: GrantRecord,
}

macro_rules! code_columns {
    () => {
        "code_hash, client_id, customer_id, session_id, redirect_uri, scope, nonce, \
    code_challenge, auth_time, acr, amr, expires_at, consumed_at, grant_id"
    };
}
macro_rules! grant_columns {
    () => {
        "g.id, g.client_id, g.customer_id, g.session_id, g.scope, g.auth_time, g.acr, g.amr, g.created_at, g.revoked_at"
    };
}

impl Store {
    pub async fn insert_code(&self, c: &CodeRecord) -> anyhow::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO authorization_codes (",
            code_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL)"
        ))
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.customer_id)
        .bind(&c.session_id)
        .bind(&c.redirect_uri)
        .bind(&c.scope)
        .bind(&c.nonce)
        .bind(&c.code_challenge)
        .bind(c.auth_time)
        .bind(&c.acr)
        .bind(&c.amr)
        .bind(c.expires_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn code(&self, code_hash: &str) -> anyhow::Result<Option<CodeRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", code_columns!(), " FROM authorization_codes WHERE code_hash = $1"))
            .bind(code_hash)
            .fetch_optional(&self.read)
            .await?)
    }

    /// Mark a code used without issuing anything (it failed a check).
    pub async fn burn_code(&self, code_hash: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE authorization_codes SET consumed_at = $2 WHERE code_hash = $1 AND consumed_at IS NULL")
            .bind(code_hash)
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Consume the code and open its token family with a first refresh token, atomically.
    /// Returns false (and writes nothing) if the code was consumed meanwhile.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        grant: &GrantRecord,
        refresh_hash: &str,
        refresh_expires_at: i64,
    ) -> anyhow::Result<bool> {
        let mut tx = self.write.begin().await?;
        let updated = sqlx::query(
            "UPDATE authorization_codes SET consumed_at = $2, grant_id = $3 WHERE code_hash = $1 AND consumed_at IS NULL",
        )
        .bind(code_hash)
        .bind(grant.created_at)
        .bind(&grant.id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        insert_grant(&mut tx, grant).await?;
        insert_refresh(&mut tx, refresh_hash, &grant.id, grant.created_at, refresh_expires_at).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// RFC 6749 §4.1.2: a code used twice revokes what was issued from it.
    pub async fn revoke_grant_of_code(&self, code_hash: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE grants SET revoked_at = $2 WHERE revoked_at IS NULL \
             AND id = (SELECT grant_id FROM authorization_codes WHERE code_hash = $1)",
        )
        .bind(code_hash)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn refresh_token(&self, token_hash: &str) -> anyhow::Result<Option<RefreshTokenRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT r.expires_at, r.rotated_at, ",
            grant_columns!(),
            " FROM refresh_tokens r \
             JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Rotate: retire the presented refresh token and issue its successor, atomically.
    /// Returns false if the old token was rotated meanwhile.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        grant_id: &str,
        now: i64,
        expires_at: i64,
    ) -> anyhow::Result<bool> {
        let mut tx = self.write.begin().await?;
        let updated =
            sqlx::query("UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL")
                .bind(old_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        insert_refresh(&mut tx, new_hash, grant_id, now, expires_at).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn revoke_grant(&self, grant_id: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(grant_id)
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Whether an access token was revoked, itself or through its token family.
    pub async fn access_token_revoked(&self, jti: &str, grant_id: &str) -> anyhow::Result<bool> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $1) \
                  + (SELECT COUNT(*) FROM grants WHERE id = $2 AND revoked_at IS NOT NULL)",
        )
        .bind(jti)
        .bind(grant_id)
        .fetch_one(&self.read)
        .await?;
        Ok(n > 0)
    }
}

async fn insert_grant(tx: &mut sqlx::Transaction<'_, sqlx::Any>, g: &GrantRecord) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO grants (id, client_id, customer_id, session_id, scope, auth_time, acr, amr, created_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
    )
    .bind(&g.id)
    .bind(&g.client_id)
    .bind(&g.customer_id)
    .bind(&g.session_id)
    .bind(&g.scope)
    .bind(g.auth_time)
    .bind(&g.acr)
    .bind(&g.amr)
    .bind(g.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_refresh(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    hash: &str,
    grant_id: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at, rotated_at) VALUES ($1, $2, $3, $4, NULL)")
        .bind(hash)
        .bind(grant_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
