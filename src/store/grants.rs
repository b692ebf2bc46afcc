//! Token families (grants), refresh tokens and revoked access tokens: everything the token
//! endpoint writes. Each request writes at most one transaction. (Authorization codes live
//! 60 seconds and are ephemeral state; see `oidc::grants::authorization_code`.)

use super::inline::{self, col};
use super::{Store, TokenStanding, Tx};

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
    /// The RFC 8707 resource its access tokens are for (their `aud`); empty: the issuer.
    pub resource: String,
}

/// A refresh token row joined with its family.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct RefreshTokenRecord {
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    /// The browser session the family came from, if it still exists: when it expires and
    /// when it was last used (OpenID Connect Core §11: without `offline_access` the refresh
    /// token lives no longer than that session).
    pub session_expires_at: Option<i64>,
    pub session_last_seen_at: Option<i64>,
    #[sqlx(flatten)]
    pub grant: GrantRecord,
}

impl GrantRecord {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRecord> {
        Ok(GrantRecord {
            id: col(r, "id")?,
            client_id: col(r, "client_id")?,
            customer_id: col(r, "customer_id")?,
            session_id: col(r, "session_id")?,
            scope: col(r, "scope")?,
            auth_time: col(r, "auth_time")?,
            acr: col(r, "acr")?,
            amr: col(r, "amr")?,
            created_at: col(r, "created_at")?,
            revoked_at: col(r, "revoked_at")?,
            resource: col(r, "resource")?,
        })
    }
}

impl RefreshTokenRecord {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RefreshTokenRecord> {
        Ok(RefreshTokenRecord {
            expires_at: col(r, "expires_at")?,
            rotated_at: col(r, "rotated_at")?,
            session_expires_at: col(r, "session_expires_at")?,
            session_last_seen_at: col(r, "session_last_seen_at")?,
            grant: GrantRecord::from_row(r)?,
        })
    }
}

const INSERT_GRANT: &str = "INSERT INTO grants (id, client_id, customer_id, session_id, scope, auth_time, acr, amr, \
     created_at, revoked_at, resource) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)";
const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at, rotated_at) VALUES ($1, $2, $3, $4, NULL)";

macro_rules! grant_columns {
    () => {
        "g.id, g.client_id, g.customer_id, g.session_id, g.scope, g.auth_time, g.acr, g.amr, g.created_at, g.revoked_at, \
         g.resource"
    };
}

impl Store {
    /// Revoke the token families issued in a session, inside the caller's unit of work. With
    /// `keep_offline`, families granted `offline_access` survive (OpenID Connect Core §11).
    pub async fn revoke_session_grants_in(
        tx: &mut Tx,
        session_id: &str,
        now: i64,
        keep_offline: bool,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE grants SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL \
             AND ($3 = 0 OR (' ' || scope || ' ') NOT LIKE '% offline_access %')",
        )
        .bind(session_id)
        .bind(now)
        .bind(i64::from(keep_offline))
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// Revoke a customer's live token families at a client whose scope holds `scope` (one
    /// scope value, matched whole), inside the caller's unit of work; returns how many.
    pub async fn revoke_grants_with_scope_in(
        tx: &mut Tx,
        customer_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> anyhow::Result<u64> {
        // LIKE with its wildcards escaped: scope values may contain `%` and `_` (RFC 6749 §3.3).
        let escaped = scope.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = $4 WHERE customer_id = $1 AND client_id = $2 AND revoked_at IS NULL \
             AND (' ' || scope || ' ') LIKE $3 ESCAPE '\\'",
        )
        .bind(customer_id)
        .bind(client_id)
        .bind(format!("% {escaped} %"))
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected())
    }

    /// Revoke every live token family of a customer at a client, inside the caller's unit of
    /// work; returns how many.
    pub async fn revoke_customer_grants_at_client_in(
        tx: &mut Tx,
        customer_id: &str,
        client_id: &str,
        now: i64,
    ) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = $3 WHERE customer_id = $1 AND client_id = $2 AND revoked_at IS NULL",
        )
        .bind(customer_id)
        .bind(client_id)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(done.rows_affected())
    }

    /// Open a token family with its first refresh token, atomically (one transaction).
    pub async fn open_grant(
        &self,
        grant: &GrantRecord,
        refresh_hash: &str,
        refresh_expires_at: i64,
    ) -> anyhow::Result<()> {
        let g = grant;
        let inlined = self
            .inline_write(|c| {
                let grant_args: [&dyn rusqlite::ToSql; 10] = [
                    &g.id,
                    &g.client_id,
                    &g.customer_id,
                    &g.session_id,
                    &g.scope,
                    &g.auth_time,
                    &g.acr,
                    &g.amr,
                    &g.created_at,
                    &g.resource,
                ];
                inline::execute(c, INSERT_GRANT, &grant_args)?;
                inline::execute(c, INSERT_REFRESH, &[&refresh_hash, &g.id, &g.created_at, &refresh_expires_at])?;
                Ok(())
            })
            .await;
        if inlined.is_some() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        insert_grant(&mut tx, grant).await?;
        insert_refresh(&mut tx, refresh_hash, &grant.id, grant.created_at, refresh_expires_at).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn refresh_token(&self, token_hash: &str) -> anyhow::Result<Option<RefreshTokenRecord>> {
        const SQL: &str = concat!(
            "SELECT r.expires_at, \
             COALESCE(r.rotated_at, (SELECT c.created_at FROM refresh_tokens c WHERE c.parent_hash = r.token_hash)) \
             AS rotated_at, s.expires_at AS session_expires_at, s.last_seen_at AS session_last_seen_at, ",
            grant_columns!(),
            " FROM refresh_tokens r \
             JOIN grants g ON g.id = r.grant_id LEFT JOIN sessions s ON s.id = g.session_id \
             WHERE r.token_hash = $1"
        );
        if let Some(found) =
            self.inline_read(|c| inline::optional(c, SQL, &[&token_hash], RefreshTokenRecord::from_row))
        {
            return Ok(found);
        }
        Ok(sqlx::query_as(SQL).bind(token_hash).fetch_optional(&self.read).await?)
    }

    /// Rotate: issue the successor of the presented refresh token, which retires it. One
    /// statement, atomic through the unique `parent_hash`: returns false (nothing written) if
    /// the old token already has a successor.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        grant_id: &str,
        now: i64,
        expires_at: i64,
    ) -> anyhow::Result<bool> {
        const SQL: &str = "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at, rotated_at, \
             parent_hash) VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT (parent_hash) DO NOTHING";
        if let Some(n) =
            self.inline_write(|c| inline::execute(c, SQL, &[&new_hash, &grant_id, &now, &expires_at, &old_hash])).await
        {
            return Ok(n == 1);
        }
        let inserted = sqlx::query(SQL)
            .bind(new_hash)
            .bind(grant_id)
            .bind(now)
            .bind(expires_at)
            .bind(old_hash)
            .execute(&self.write)
            .await?;
        Ok(inserted.rows_affected() == 1)
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

    /// What access token `jti` of family `grant_id`, issued to `client_id` at `issued_at_ms`,
    /// still stands on: revocation of the token, its family or every token of its client up to
    /// a cutoff (a breach), and its client (gone or not, and its scopes).
    pub async fn access_token_standing(
        &self,
        jti: &str,
        grant_id: &str,
        client_id: &str,
        issued_at_ms: i64,
    ) -> anyhow::Result<TokenStanding> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $1) \
                  + (SELECT COUNT(*) FROM grants WHERE id = $2 AND revoked_at IS NOT NULL) \
                  + (SELECT COUNT(*) FROM access_token_cutoffs WHERE client_id IN ($3, '*') AND not_before >= $4), \
                    (SELECT allowed_scopes FROM clients WHERE id = $3)";
        let inlined = self.inline_read(|c| {
            let args: [&dyn rusqlite::ToSql; 4] = [&jti, &grant_id, &client_id, &issued_at_ms];
            inline::optional(c, SQL, &args, |r| Ok((r.get::<_, i64>(0)?, r.get(1)?)))
        });
        if let Some(Some((n, client_scopes))) = inlined {
            return Ok(TokenStanding { revoked: n > 0, client_scopes });
        }
        let (n, client_scopes): (i64, Option<String>) = sqlx::query_as(SQL)
            .bind(jti)
            .bind(grant_id)
            .bind(client_id)
            .bind(issued_at_ms)
            .fetch_one(&self.read)
            .await?;
        Ok(TokenStanding { revoked: n > 0, client_scopes })
    }
}

async fn insert_grant(tx: &mut sqlx::Transaction<'_, sqlx::Any>, g: &GrantRecord) -> anyhow::Result<()> {
    sqlx::query(INSERT_GRANT)
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(&g.customer_id)
        .bind(&g.session_id)
        .bind(&g.scope)
        .bind(g.auth_time)
        .bind(&g.acr)
        .bind(&g.amr)
        .bind(g.created_at)
        .bind(&g.resource)
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
    sqlx::query(INSERT_REFRESH).bind(hash).bind(grant_id).bind(now).bind(expires_at).execute(&mut **tx).await?;
    Ok(())
}
