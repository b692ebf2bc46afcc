//! What the privacy centre reads and writes beyond consents: the apps that hold access (token
//! families and remembered consents), forgetting an app's remembered consent, and where each
//! profile attribute came from.

use super::{Store, Tx};

/// An app that holds access for a customer: its live token families' scopes, its remembered
/// scopes, and when it last used its access (the latest token family or refresh).
#[derive(sqlx::FromRow, Clone, Debug, PartialEq, Eq)]
pub struct ConnectedAppRecord {
    pub client_id: String,
    pub client_name: String,
    /// Scopes of live token families, space-separated (may repeat).
    pub token_scopes: String,
    /// Live token families.
    pub live_grants: i64,
    /// The remembered consent's scopes ('' when none).
    pub consented_scope: String,
    /// Milliseconds; 0 when it never obtained tokens.
    pub last_used_at: i64,
}

/// Where a profile attribute came from.
#[derive(sqlx::FromRow, Clone, Debug, PartialEq, Eq)]
pub struct ProfileSourceRecord {
    pub attribute: String,
    /// `typed`, `connector` or `app`.
    pub source: String,
    /// The connector or client id.
    pub detail: String,
    pub changed_at: i64,
}

impl Store {
    /// Every app that holds live tokens or a remembered consent for the customer.
    pub async fn connected_apps(&self, customer_id: &str) -> anyhow::Result<Vec<ConnectedAppRecord>> {
        // One row per client from the union of token families and consents; the scopes of
        // live families are gathered in the feature (string aggregation differs per backend).
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT k.id, k.name, COALESCE(c.scope, ''), \
             (SELECT COUNT(*) FROM grants g WHERE g.customer_id = $1 AND g.client_id = k.id AND g.revoked_at IS NULL), \
             COALESCE((SELECT MAX(COALESCE(r.created_at, g.created_at)) FROM grants g \
               LEFT JOIN refresh_tokens r ON r.grant_id = g.id WHERE g.customer_id = $1 AND g.client_id = k.id), 0) \
             FROM clients k LEFT JOIN consents c ON c.client_id = k.id AND c.customer_id = $1 \
             WHERE c.customer_id IS NOT NULL OR EXISTS (SELECT 1 FROM grants g WHERE g.customer_id = $1 \
               AND g.client_id = k.id AND g.revoked_at IS NULL) ORDER BY k.name, k.id",
        )
        .bind(customer_id)
        .fetch_all(&self.read)
        .await?;
        let live: Vec<(String, String)> = sqlx::query_as(
            "SELECT client_id, scope FROM grants WHERE customer_id = $1 AND revoked_at IS NULL ORDER BY created_at",
        )
        .bind(customer_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(client_id, client_name, consented_scope, live_grants, last_used_at)| {
                let token_scopes =
                    live.iter().filter(|(c, _)| *c == client_id).map(|(_, s)| s.as_str()).collect::<Vec<_>>().join(" ");
                ConnectedAppRecord { client_id, client_name, token_scopes, live_grants, consented_scope, last_used_at }
            })
            .collect())
    }

    /// Forget the remembered consent of a customer at a client, in the caller's unit of work.
    pub async fn forget_consent_in(tx: &mut Tx, customer_id: &str, client_id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM consents WHERE customer_id = $1 AND client_id = $2")
            .bind(customer_id)
            .bind(client_id)
            .execute(&mut *tx.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Note where attributes came from, now, in the caller's unit of work.
    pub async fn set_profile_sources_in(
        tx: &mut Tx,
        customer_id: &str,
        attributes: &[&str],
        source: &str,
        detail: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        for a in attributes {
            sqlx::query(
                "INSERT INTO profile_sources (customer_id, attribute, source, detail, changed_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_id, attribute) \
                 DO UPDATE SET source = $3, detail = $4, changed_at = $5",
            )
            .bind(customer_id)
            .bind(a)
            .bind(source)
            .bind(detail)
            .bind(now)
            .execute(&mut *tx.0)
            .await?;
        }
        Ok(())
    }

    pub async fn profile_sources(&self, customer_id: &str) -> anyhow::Result<Vec<ProfileSourceRecord>> {
        Ok(sqlx::query_as(
            "SELECT attribute, source, detail, changed_at FROM profile_sources WHERE customer_id = $1 \
             ORDER BY attribute",
        )
        .bind(customer_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Set what the customer may edit, exactly (None clears): name, given name, family name,
    /// phone number, birthdate and address, in this order; in the caller's unit of work.
    pub async fn set_profile_values_in(
        tx: &mut Tx,
        customer_id: &str,
        values: [Option<&str>; 6],
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE customers SET name = $2, given_name = $3, family_name = $4, phone_number = $5, birthdate = $6, \
             address = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(customer_id)
        .bind(values[0])
        .bind(values[1])
        .bind(values[2])
        .bind(values[3])
        .bind(values[4])
        .bind(values[5])
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// Replace the email address (already proven by the link sent to it); false when another
    /// account holds it (the unique index decides).
    pub async fn change_email_in(tx: &mut Tx, customer_id: &str, email: &str, now: i64) -> anyhow::Result<bool> {
        let taken: Option<(String,)> = sqlx::query_as("SELECT id FROM customers WHERE email = $1 AND id <> $2")
            .bind(email)
            .bind(customer_id)
            .fetch_optional(&mut *tx.0)
            .await?;
        if taken.is_some() {
            return Ok(false);
        }
        let done = sqlx::query("UPDATE customers SET email = $2, email_verified = 1, updated_at = $3 WHERE id = $1")
            .bind(customer_id)
            .bind(email)
            .bind(now)
            .execute(&mut *tx.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The apps registered for a purpose: (client name, required), by name.
    pub async fn clients_for_purpose(&self, purpose_id: &str) -> anyhow::Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT k.name, c.required FROM client_purposes c JOIN clients k ON k.id = c.client_id \
             WHERE c.purpose_id = $1 ORDER BY k.name",
        )
        .bind(purpose_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// What a customer granted under a policy: (purpose name, client name, channels), the
    /// choices a notice of its change reminds them of.
    pub async fn grants_under_policy(
        &self,
        customer_id: &str,
        policy_id: &str,
    ) -> anyhow::Result<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT p.name, k.name, d.channels FROM purpose_decisions d JOIN purposes p ON p.id = d.purpose_id \
             JOIN clients k ON k.id = d.client_id WHERE d.customer_id = $1 AND p.policy_id = $2 AND d.granted = 1 \
             ORDER BY p.name, k.name",
        )
        .bind(customer_id)
        .bind(policy_id)
        .fetch_all(&self.read)
        .await?)
    }
}
