//! What a run owns on shared services: a PostgreSQL database of its own (created on the
//! server `--database-url` names, dropped at the end) and a Redis key prefix of its own
//! (its keys deleted at the end), so repeated runs start empty and leave nothing behind.

use anyhow::Context;
use sqlx::Connection;

/// The run's database and Redis prefix, to remove at the end.
#[derive(Default)]
pub struct Fresh {
    /// The server URL as given (its own database is only used to create and drop ours), and
    /// our database's name.
    database: Option<(String, String)>,
    /// The Redis URL and our prefix.
    redis: Option<(String, String)>,
}

/// `tessera_bench_<pid>`: a name no other live run has (a crashed earlier run with the same
/// pid left one behind at most, which is dropped first).
pub fn database_name(pid: u32) -> String {
    format!("tessera_bench_{pid}")
}

/// `tessera-bench-<pid>:` (`ephemeral_prefix`: letters, digits, `:` `-` `_` `.`).
pub fn redis_prefix(pid: u32) -> String {
    format!("tessera-bench-{pid}:")
}

/// `server_url` with its database replaced by `name` (user, host and parameters kept).
pub fn database_url(server_url: &str, name: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(server_url).with_context(|| format!("--database-url {server_url:?}"))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

async fn drop_database(server_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(server_url).await.with_context(|| format!("connect to {server_url}"))?;
    // PostgreSQL 13+: FORCE ends sessions a killed node may have left for a moment.
    sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .await
        .with_context(|| format!("drop database {name}"))?;
    conn.close().await?;
    Ok(())
}

async fn delete_prefix(redis_url: &str, prefix: &str) -> anyhow::Result<u64> {
    let client = redis::Client::open(redis_url).with_context(|| format!("--redis-url {redis_url:?}"))?;
    let mut con = client.get_multiplexed_async_connection().await.with_context(|| format!("connect to {redis_url}"))?;
    let pattern = format!("{prefix}*");
    let mut cursor = 0u64;
    let mut deleted = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await?;
        if !keys.is_empty() {
            deleted += redis::cmd("UNLINK").arg(&keys).query_async::<u64>(&mut con).await?;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

impl Fresh {
    /// Create the run's database on `database_url`'s server and clear the run's Redis prefix.
    /// Returns the URL of the new database and the prefix for the nodes.
    pub async fn create(
        database_url: Option<&str>,
        redis_url: Option<&str>,
    ) -> anyhow::Result<(Fresh, Option<String>, Option<String>)> {
        let pid = std::process::id();
        let mut fresh = Fresh::default();
        // Redis first: nothing to undo when it fails.
        let mut prefix = None;
        if let Some(redis_url) = redis_url {
            let p = redis_prefix(pid);
            delete_prefix(redis_url, &p).await?;
            fresh.redis = Some((redis_url.to_string(), p.clone()));
            prefix = Some(p);
        }
        let mut url = None;
        if let Some(server) = database_url {
            let name = database_name(pid);
            let own = self::database_url(server, &name)?;
            drop_database(server, &name).await?;
            let mut conn = sqlx::PgConnection::connect(server).await.with_context(|| format!("connect to {server}"))?;
            sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .with_context(|| format!("create database {name}"))?;
            conn.close().await?;
            url = Some(own);
            fresh.database = Some((server.to_string(), name));
        }
        Ok((fresh, url, prefix))
    }

    /// Drop the database and delete the prefix's keys; a failure is printed, not fatal (the
    /// results are already measured).
    pub async fn remove(self) {
        if let Some((server, name)) = &self.database
            && let Err(e) = drop_database(server, name).await
        {
            eprintln!("warning: could not drop the run's database {name}: {e:#}");
        }
        if let Some((url, prefix)) = &self.redis
            && let Err(e) = delete_prefix(url, prefix).await
        {
            eprintln!("warning: could not delete the run's Redis keys {prefix}*: {e:#}");
        }
    }
}
