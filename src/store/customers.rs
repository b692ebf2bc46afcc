//! Customers: the people who sign in.

use super::{Store, TokenStanding};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct CustomerRecord {
    pub id: String,
    pub email: String,
    pub email_verified: i64,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

macro_rules! columns {
    () => {
        "id, email, email_verified, name, given_name, family_name, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct CustomerForToken {
    #[sqlx(flatten)]
    customer: CustomerRecord,
    revoked: i64,
    client_scopes: Option<String>,
}

impl Store {
    /// A customer, and what access token `jti` of family `grant_id`, issued to `client_id`,
    /// still stands on: the one read a userinfo request needs.
    pub async fn customer_for_token(
        &self,
        id: &str,
        jti: &str,
        grant_id: &str,
        client_id: &str,
    ) -> anyhow::Result<Option<(CustomerRecord, TokenStanding)>> {
        let row: Option<CustomerForToken> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            ", (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $2) \
               + (SELECT COUNT(*) FROM grants WHERE id = $3 AND revoked_at IS NOT NULL) AS revoked, \
             (SELECT allowed_scopes FROM clients WHERE id = $4) AS client_scopes \
             FROM customers WHERE id = $1"
        ))
        .bind(id)
        .bind(jti)
        .bind(grant_id)
        .bind(client_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| (r.customer, TokenStanding { revoked: r.revoked > 0, client_scopes: r.client_scopes })))
    }

    pub async fn customer_by_email(&self, email: &str) -> anyhow::Result<Option<CustomerRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM customers WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn customer(&self, id: &str) -> anyhow::Result<Option<CustomerRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM customers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }
}
