//! All SQL lives here, one file per aggregate. One query text serves SQLite and PostgreSQL
//! through sqlx's `Any` driver: `$n` placeholders, TEXT ids, INTEGER unix-ms times, 0/1 flags.
//! SQLite gets one writer connection (concurrent writers only busy-wait) and a reader pool.
//! A feature that changes several aggregates (and writes the event that says so) opens one
//! unit of work with `Store::begin()` and calls the `…_in(tx, …)` functions of each.

mod audit;
mod backchannel;
mod breach;
mod centre;
mod clients;
mod connectors;
mod consents;
mod customers;
mod dialect;
mod erasure;
mod factors;
mod grants;
mod guardians;
mod inline;
#[cfg(test)]
mod inline_tests;
mod keys;
mod ledger;
mod outbox;
mod passkeys;
mod privacy;
mod purposes;
mod sealed;
mod sessions;
mod webhooks;

pub use audit::{AuditFilter, AuditRecord};
pub use backchannel::BackchannelDeliveryRecord;
pub use breach::BreachCounts;
pub use centre::{ConnectedAppRecord, ProfileSourceRecord};
pub use clients::{ClientRecord, TokenStanding};
pub use connectors::{ConnectorRecord, FederatedIdentityRecord};
pub use customers::CustomerRecord;
pub use factors::TotpRecord;
pub use grants::{GrantRecord, RefreshTokenRecord};
pub use guardians::GuardianApprovalRecord;
pub use keys::SigningKeyRecord;
pub use ledger::LedgerRecord;
pub use outbox::OutboxRecord;
pub use passkeys::PasskeyRecord;
pub use privacy::{PrivacyRequestFilter, PrivacyRequestRecord};
pub use purposes::{ClientPurposeRecord, PolicyRecord, PurposeDecisionRecord, PurposeRecord};
pub use sealed::SealedColumn;
pub use sessions::SessionRecord;
pub use webhooks::{WebhookAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord, WebhookReplay};

use crate::crypto::private_files;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    pub backend: Backend,
    /// SQLite on a file: the token path's statements on the calling thread (`inline.rs`).
    inline: Option<Arc<inline::Inline>>,
}

/// A unit of work: a transaction on the store's write pool (SQLite's one writer). Dropped
/// without `commit`, it rolls back. Only `store/` sees inside.
pub struct Tx(sqlx::Transaction<'static, sqlx::Any>);

impl Tx {
    pub async fn commit(self) -> anyhow::Result<()> {
        self.0.commit().await?;
        Ok(())
    }
}

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connect to the database named by `url` (`sqlite:` or `postgres://`).
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Store> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let acquire = Duration::from_secs(10);
        match backend {
            Backend::Sqlite => {
                if let Some((file, creates)) = sqlite_file(url) {
                    // The database holds customers and token hashes: a private folder and a
                    // 0600 file (SQLite gives its -wal and -shm files the same mode).
                    if let Some(dir) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                        private_files::create_dir(dir)
                            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
                    }
                    if creates {
                        private_files::create_if_missing(&file)
                            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", file.display()))?;
                    }
                }
                let options = || {
                    AnyPoolOptions::new().acquire_timeout(acquire).after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                };
                let write = options().max_connections(1).connect(url).await?;
                let read = options().max_connections(max_connections).connect(url).await?;
                // One reading connection per thread that may run requests at once.
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let inline = match sqlite_file(url).filter(|_| !url.contains("mode=memory")) {
                    Some((file, _)) => match inline::Inline::open(file, threads.min(max_connections as usize)) {
                        Ok(i) => Some(Arc::new(i)),
                        Err(e) => {
                            tracing::warn!(error = %e, "SQLite: every statement runs on the pool");
                            None
                        }
                    },
                    None => None,
                };
                Ok(Store { read, write, backend, inline })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .acquire_timeout(acquire)
                    .max_connections(max_connections)
                    .connect(url)
                    .await?;
                Ok(Store { read: pool.clone(), write: pool, backend, inline: None })
            }
        }
    }

    /// Apply pending migrations (forward only).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE.run(&self.write).await?,
            Backend::Postgres => POSTGRES.run(&self.write).await?,
        }
        Ok(())
    }

    /// Open a unit of work; write through `…_in(&mut tx, …)` functions, then `tx.commit()`.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(Tx(self.write.begin().await?))
    }

    /// Migrations this binary knows that the database has not applied (`/readyz`); an
    /// error when the database cannot be reached.
    pub async fn pending_migrations(&self) -> anyhow::Result<usize> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE,
            Backend::Postgres => &POSTGRES,
        };
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.read)
            .await
            .unwrap_or_default();
        // A database without the table has applied nothing; one that cannot answer is down.
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(migrator.iter().filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version)).count())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// The database file of a `sqlite:` URL, and whether the URL lets SQLite create it.
fn sqlite_file(url: &str) -> Option<(std::path::PathBuf, bool)> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let creates = query.split('&').any(|p| p == "mode=rwc");
    (!path.is_empty() && path != ":memory:").then(|| (std::path::PathBuf::from(path), creates))
}

impl Store {
    /// Run a read on the calling thread when the store can (`inline.rs`); `None`: run it on
    /// the pool.
    fn inline_read<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> inline::Inlined<T>) -> Option<T> {
        self.inline.as_ref()?.read(f).ok()
    }

    /// Run a write transaction on the calling thread when the store can; `None`: nothing was
    /// written, run it on the pool.
    async fn inline_write<T>(&self, f: impl Fn(&rusqlite::Connection) -> inline::Inlined<T>) -> Option<T> {
        let inline = self.inline.as_ref()?;
        loop {
            match inline.write(&f) {
                Ok(v) => return Some(v),
                Err(_) if inline.settled().await => continue,
                Err(_) => return None,
            }
        }
    }
}

/// 0/1 flags are stored as integers on both backends.
fn flag(b: bool) -> i64 {
    i64::from(b)
}
