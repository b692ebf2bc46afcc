//! Customers: the people who sign in.

use super::inline::{self, col};
use super::{Store, TokenStanding, Tx};

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
    /// E.164, e.g. `+41446681800`.
    pub phone_number: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthdate: Option<String>,
    /// JSON of the OpenID Connect Core §5.1.1 address claim.
    pub address: Option<String>,
}

macro_rules! columns {
    () => {
        "id, email, email_verified, name, given_name, family_name, created_at, updated_at, phone_number, \
         birthdate, address"
    };
}

impl CustomerRecord {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CustomerRecord> {
        Ok(CustomerRecord {
            id: col(r, "id")?,
            email: col(r, "email")?,
            email_verified: col(r, "email_verified")?,
            name: col(r, "name")?,
            given_name: col(r, "given_name")?,
            family_name: col(r, "family_name")?,
            created_at: col(r, "created_at")?,
            updated_at: col(r, "updated_at")?,
            phone_number: col(r, "phone_number")?,
            birthdate: col(r, "birthdate")?,
            address: col(r, "address")?,
        })
    }
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
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            ", (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $2) \
               + (SELECT COUNT(*) FROM grants WHERE id = $3 AND revoked_at IS NOT NULL) AS revoked, \
             (SELECT allowed_scopes FROM clients WHERE id = $4) AS client_scopes \
             FROM customers WHERE id = $1"
        );
        let map = |r: &rusqlite::Row<'_>| {
            Ok(CustomerForToken {
                customer: CustomerRecord::from_row(r)?,
                revoked: col(r, "revoked")?,
                client_scopes: col(r, "client_scopes")?,
            })
        };
        let row: Option<CustomerForToken> = match self
            .inline_read(|c| inline::optional(c, SQL, &[&id, &jti, &grant_id, &client_id], map))
        {
            Some(found) => found,
            None => {
                sqlx::query_as(SQL).bind(id).bind(jti).bind(grant_id).bind(client_id).fetch_optional(&self.read).await?
            }
        };
        Ok(row.map(|r| (r.customer, TokenStanding { revoked: r.revoked > 0, client_scopes: r.client_scopes })))
    }

    pub async fn customer_by_email(&self, email: &str) -> anyhow::Result<Option<CustomerRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM customers WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn customer(&self, id: &str) -> anyhow::Result<Option<CustomerRecord>> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM customers WHERE id = $1");
        if let Some(found) = self.inline_read(|c| inline::optional(c, SQL, &[&id], CustomerRecord::from_row)) {
            return Ok(found);
        }
        Ok(sqlx::query_as(SQL).bind(id).fetch_optional(&self.read).await?)
    }

    /// Whether the customer with this address lets a sign-in be approved from another
    /// device; `None` when no customer has the address yet.
    /// Set the progressive-profile fields given (the others stay), in the caller's unit of work.
    pub async fn set_profile_in(
        tx: &mut Tx,
        customer_id: &str,
        phone_number: Option<&str>,
        birthdate: Option<&str>,
        address: Option<&str>,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE customers SET phone_number = COALESCE($2, phone_number), birthdate = COALESCE($3, birthdate), \
             address = COALESCE($4, address), updated_at = $5 WHERE id = $1",
        )
        .bind(customer_id)
        .bind(phone_number)
        .bind(birthdate)
        .bind(address)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    pub async fn cross_device_approval_by_email(&self, email: &str) -> anyhow::Result<Option<bool>> {
        let on: Option<i64> = sqlx::query_scalar("SELECT cross_device_approval FROM customers WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.read)
            .await?;
        Ok(on.map(|v| v != 0))
    }

    pub async fn cross_device_approval(&self, customer_id: &str) -> anyhow::Result<bool> {
        let on: Option<i64> = sqlx::query_scalar("SELECT cross_device_approval FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(on.unwrap_or(1) != 0)
    }

    pub async fn set_cross_device_approval_in(
        tx: &mut Tx,
        customer_id: &str,
        on: bool,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE customers SET cross_device_approval = $2, updated_at = $3 WHERE id = $1")
            .bind(customer_id)
            .bind(i64::from(on))
            .bind(now)
            .execute(&mut *tx.0)
            .await?;
        Ok(())
    }
}
