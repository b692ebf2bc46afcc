//! The audit log: append an entry, read entries newest first (filters and a cursor), and
//! delete the entries past the retention.

use super::{Store, Tx};

#[derive(sqlx::FromRow, Clone, Debug, PartialEq, serde::Serialize)]
pub struct AuditRecord {
    /// Decimal digits that sort in the order entries were written (see `events::audit`).
    pub id: String,
    pub occurred_at: i64,
    /// customer | client | operator | anonymous | system
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// success | failure | refused
    pub outcome: String,
    pub reason: Option<String>,
    /// JSON without secrets.
    pub detail: String,
}

/// Which entries to read. Every filter is optional; `before_id` is the page cursor.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub target: Option<String>,
    /// Exact action name…
    pub action: Option<String>,
    /// …or every action that starts with this (e.g. `signin.`).
    pub action_prefix: Option<String>,
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, inclusive.
    pub until: Option<i64>,
    pub before_id: Option<String>,
    pub limit: i64,
}

macro_rules! columns {
    () => {
        "id, occurred_at, actor_kind, actor_id, action, target, ip, user_agent, outcome, reason, detail"
    };
}

/// `LIKE` matches `_` and `%` as wildcards: escape them (and the escape) in a literal prefix.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

macro_rules! insert {
    ($r:expr) => {
        sqlx::query(concat!(
            "INSERT INTO audit_log (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&$r.id)
        .bind($r.occurred_at)
        .bind(&$r.actor_kind)
        .bind(&$r.actor_id)
        .bind(&$r.action)
        .bind(&$r.target)
        .bind(&$r.ip)
        .bind(&$r.user_agent)
        .bind(&$r.outcome)
        .bind(&$r.reason)
        .bind(&$r.detail)
    };
}

impl Store {
    pub async fn insert_audit(&self, r: &AuditRecord) -> anyhow::Result<()> {
        insert!(r).execute(&self.write).await?;
        Ok(())
    }

    /// The entry inside the caller's unit of work: written with the change it records, or not at all.
    pub async fn insert_audit_in(tx: &mut Tx, r: &AuditRecord) -> anyhow::Result<()> {
        insert!(r).execute(&mut *tx.0).await?;
        Ok(())
    }

    /// Entries matching `f`, newest first, at most `f.limit`. The query text is built from the
    /// filters present, the same for both backends.
    pub async fn audit_entries(&self, f: &AuditFilter) -> anyhow::Result<Vec<AuditRecord>> {
        let mut conditions: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut numbers: Vec<i64> = Vec::new();
        // Texts are bound first ($1…), then numbers, so the placeholders are known up front.
        let text_filters = [
            ("target = ", f.target.clone()),
            ("action = ", f.action.clone()),
            ("action LIKE ", f.action_prefix.as_deref().map(like_prefix)),
            ("id < ", f.before_id.clone()),
        ];
        for (condition, value) in text_filters {
            if let Some(v) = value {
                texts.push(v);
                let escape = if condition.contains("LIKE") { " ESCAPE '\\'" } else { "" };
                conditions.push(format!("{condition}${}{escape}", texts.len()));
            }
        }
        for (condition, value) in [("occurred_at >= ", f.since), ("occurred_at <= ", f.until)] {
            if let Some(v) = value {
                numbers.push(v);
                conditions.push(format!("{condition}${}", texts.len() + numbers.len()));
            }
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!(
            "SELECT {} FROM audit_log {filter} ORDER BY id DESC LIMIT ${}",
            columns!(),
            texts.len() + numbers.len() + 1
        );
        // Built only from the fixed fragments above; every value is bound.
        let mut q = sqlx::query_as::<_, AuditRecord>(sqlx::AssertSqlSafe(sql));
        for t in texts {
            q = q.bind(t);
        }
        for n in numbers {
            q = q.bind(n);
        }
        Ok(q.bind(f.limit).fetch_all(&self.read).await?)
    }

    /// Delete the entries written before `cutoff` (unix ms); returns how many. A look through
    /// the `occurred_at` index on a reader comes first, so when nothing is due the writer is
    /// not taken (the worker asks every tick).
    pub async fn prune_audit(&self, cutoff: i64) -> anyhow::Result<u64> {
        let due: Option<(i64,)> = sqlx::query_as("SELECT occurred_at FROM audit_log WHERE occurred_at < $1 LIMIT 1")
            .bind(cutoff)
            .fetch_optional(&self.read)
            .await?;
        if due.is_none() {
            return Ok(0);
        }
        let done =
            sqlx::query("DELETE FROM audit_log WHERE occurred_at < $1").bind(cutoff).execute(&self.write).await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::like_prefix;

    #[test]
    fn prefixes_match_literally() {
        assert_eq!(like_prefix("signin."), "signin.%");
        assert_eq!(like_prefix("second_factor."), "second\\_factor.%");
        assert_eq!(like_prefix("100%\\"), "100\\%\\\\%");
    }
}
