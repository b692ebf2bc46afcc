//! Customers: the people who sign in.

use super::Store;

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

impl Store {
    pub async fn customer(&self, id: &str) -> anyhow::Result<Option<CustomerRecord>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM customers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }
}
