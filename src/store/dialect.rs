//! The few statement parts where SQLite and PostgreSQL must differ, in one place. Everything
//! else is one query text for both backends.

use super::Backend;

/// Appended to a claim's inner `SELECT`: on PostgreSQL, rows another node is claiming right
/// now are skipped instead of waited for. SQLite has one writer, so there is nothing to skip.
/// (The lease columns alone already keep two claims disjoint; this only avoids the wait.)
pub(super) fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    }
}
