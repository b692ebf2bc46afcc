//! Registered relying parties.

use super::{Store, Tx, flag};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    /// SHA-256 hex of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    /// JSON array.
    pub redirect_uris: String,
    /// JSON array.
    pub post_logout_redirect_uris: String,
    /// Space-separated scopes the client may ask for with client_credentials.
    pub allowed_scopes: String,
    pub consent_required: i64,
    /// JWS alg for this client's ID tokens; empty means the server default.
    pub id_token_alg: String,
    pub created_at: i64,
    /// OIDC Back-Channel Logout 1.0 §2.2; empty when the client does not want it.
    pub backchannel_logout_uri: String,
    /// 1: PKCE (S256) on every authorization request; 0: a legacy confidential client may skip it.
    pub pkce_required: i64,
    /// Space-separated OAuth grant types the client may use (RFC 6749 §5.2 `unauthorized_client`).
    pub grant_types: String,
    /// 1: a resource server, which may introspect tokens issued to other clients (RFC 7662 §2.2).
    pub introspect: i64,
    /// JSON array: the RFC 8707 resource indicators (absolute URIs) the client may ask for.
    pub resources: String,
    /// JSON array: web origins allowed to call the API from a browser besides its redirect URIs'.
    pub allowed_origins: String,
    /// OpenID Connect Core §8.1: the host its pairwise `sub` values are derived for; empty
    /// for the public `sub`.
    pub sector_identifier: String,
}

/// What a presented access token still stands on, read together with whatever else the
/// request needs: whether it (or its token family) was revoked, and its client's registered
/// scopes (`None` when the client was deleted).
#[derive(Debug, Clone)]
pub struct TokenStanding {
    pub revoked: bool,
    pub client_scopes: Option<String>,
}

macro_rules! columns {
    () => {
        "id, name, secret_hash, redirect_uris, post_logout_redirect_uris, allowed_scopes, consent_required, id_token_alg, \
         created_at, backchannel_logout_uri, pkce_required, grant_types, introspect, resources, allowed_origins, \
         sector_identifier"
    };
}

impl Store {
    pub async fn insert_client_in(tx: &mut Tx, c: &ClientRecord) -> anyhow::Result<()> {
        sqlx::query(concat!(
            "INSERT INTO clients (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(&c.redirect_uris)
        .bind(&c.post_logout_redirect_uris)
        .bind(&c.allowed_scopes)
        .bind(flag(c.consent_required != 0))
        .bind(&c.id_token_alg)
        .bind(c.created_at)
        .bind(&c.backchannel_logout_uri)
        .bind(flag(c.pkce_required != 0))
        .bind(&c.grant_types)
        .bind(flag(c.introspect != 0))
        .bind(&c.resources)
        .bind(&c.allowed_origins)
        .bind(&c.sector_identifier)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// The clients of a session's token families that want back-channel logout, read inside
    /// the unit of work that ends the session.
    pub async fn backchannel_clients_in(tx: &mut Tx, session_id: &str) -> anyhow::Result<Vec<ClientRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM clients WHERE id IN (SELECT g.client_id FROM grants g WHERE g.session_id = $1) \
             AND backchannel_logout_uri <> ''"
        ))
        .bind(session_id)
        .fetch_all(&mut *tx.0)
        .await?)
    }

    pub async fn client(&self, id: &str) -> anyhow::Result<Option<ClientRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM clients WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn clients(&self) -> anyhow::Result<Vec<ClientRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM clients ORDER BY created_at, id"))
            .fetch_all(&self.read)
            .await?)
    }

    /// Require PKCE of a client, or let a legacy confidential client skip it.
    pub async fn set_client_pkce_required_in(tx: &mut Tx, id: &str, required: bool) -> anyhow::Result<bool> {
        let r =
            sqlx::query("UPDATE clients SET pkce_required = $2 WHERE id = $1 AND (secret_hash IS NOT NULL OR $2 = 1)")
                .bind(id)
                .bind(flag(required))
                .execute(&mut *tx.0)
                .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes the client and, by cascade, its codes, grants, refresh tokens and consents.
    pub async fn delete_client_in(tx: &mut Tx, id: &str) -> anyhow::Result<bool> {
        let r = sqlx::query("DELETE FROM clients WHERE id = $1").bind(id).execute(&mut *tx.0).await?;
        Ok(r.rows_affected() > 0)
    }
}
