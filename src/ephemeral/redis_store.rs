//! The ephemeral store on Redis, shared by every node of a deployment (`redis_url`).
//!
//! Same behaviour as `memory`, measured by the same contract tests (tests/it/ephemeral.rs):
//! - Each value is stored as `<expires_at ms>|<value>` with a Redis TTL (`SET … PX`). The
//!   `expires_at` is on the application's clock and checked on every read, exactly as the
//!   in-process store does; the Redis TTL (real time, never shorter) only frees the memory.
//! - `take` is `GETDEL` (one command, atomic); `compare_and_swap` and `hit` are Lua scripts,
//!   so no other node can interleave between the read and the write.
//! - Rate-limit windows are numbered on the application's clock (`<key>@<window>`), counted
//!   with `INCR` and given a TTL of two windows on the first hit.
//! - Classes and bounds: Redis evicts by its own `maxmemory-policy` (set `maxmemory` and
//!   `volatile-lru`; every key here has a TTL). `usage` reports the whole Redis database
//!   (`DBSIZE`, `used_memory`, `evicted_keys`), so it is approximate when other data share it.
//!
//! Every Redis failure becomes an error marked [`ServiceDown`], which the web layer renders
//! as 503 / `temporarily_unavailable`. The `ConnectionManager` reconnects in the background,
//! so requests work again as soon as Redis is back, without a restart.

use super::{Bounds, ENTRY_OVERHEAD, Usage};
use crate::clock::SharedClock;
use crate::error::ServiceDown;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// How long one Redis command may take before the request fails with 503.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// KEYS[1]; ARGV: now, expected, "1" to set or "0" to delete, the new envelope, ttl ms.
const COMPARE_AND_SWAP: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local sep = string.find(cur, '|', 1, true)
if not sep or tonumber(string.sub(cur, 1, sep - 1)) <= tonumber(ARGV[1]) then return 0 end
if string.sub(cur, sep + 1) ~= ARGV[2] then return 0 end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('DEL', KEYS[1])
end
return 1
";

/// KEYS[1] (the window's key); ARGV: ttl ms. Returns the count after this hit.
const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
";

pub struct RedisEphemeral {
    client: redis::Client,
    conn: ConnectionManager,
    clock: SharedClock,
    bounds: Bounds,
    compare_and_swap: redis::Script,
    hit: redis::Script,
}

fn down(e: redis::RedisError) -> anyhow::Error {
    anyhow::Error::new(ServiceDown { what: "the Redis ephemeral store", cause: e.to_string() })
}

/// `<expires_at>|<value>`: the value with its expiry on the application's clock.
fn envelope(expires_at: i64, value: &str) -> String {
    format!("{expires_at}|{value}")
}

/// The value of an envelope, if it has not expired at `now`.
fn open(stored: Option<String>, now: i64) -> Option<String> {
    let stored = stored?;
    let (expires_at, value) = stored.split_once('|')?;
    (expires_at.parse::<i64>().ok()? > now).then(|| value.to_string())
}

impl RedisEphemeral {
    /// Connect to `url` (`redis://…`, `rediss://…`); fails when Redis cannot be reached now.
    pub async fn connect(url: &str, clock: SharedClock, bounds: Bounds) -> anyhow::Result<RedisEphemeral> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("configuration key `redis_url` (env TESSERA_REDIS_URL): {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(1);
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach Redis at redis_url (env TESSERA_REDIS_URL): {e}"))?;
        Ok(RedisEphemeral {
            client,
            conn,
            clock,
            bounds,
            compare_and_swap: redis::Script::new(COMPARE_AND_SWAP),
            hit: redis::Script::new(HIT),
        })
    }

    /// The client, for the configuration-change subscription (its own connection).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    fn ttl_ms(ttl_secs: i64) -> u64 {
        (ttl_secs.max(1) as u64) * 1000
    }

    /// Store `value` for `ttl_secs`; false when the value alone is larger than the store's
    /// byte bound (the same refusal as in memory).
    pub async fn put(&self, key: &str, value: String, ttl_secs: i64) -> anyhow::Result<bool> {
        if key.len() + value.len() + ENTRY_OVERHEAD > self.bounds.max_bytes {
            return Ok(false);
        }
        let expires_at = self.clock.now_ms() + ttl_secs * 1000;
        let mut conn = self.conn.clone();
        let _: () = conn.pset_ex(key, envelope(expires_at, &value), Self::ttl_ms(ttl_secs)).await.map_err(down)?;
        Ok(true)
    }

    pub async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut conn = self.conn.clone();
        let stored: Option<String> = conn.get(key).await.map_err(down)?;
        Ok(open(stored, self.clock.now_ms()))
    }

    /// `GETDEL`: whoever takes a one-time value first gets it; everyone after finds nothing.
    pub async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut conn = self.conn.clone();
        let stored: Option<String> = conn.get_del(key).await.map_err(down)?;
        Ok(open(stored, self.clock.now_ms()))
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: () = conn.del(key).await.map_err(down)?;
        Ok(())
    }

    pub async fn compare_and_swap(
        &self,
        key: &str,
        expected: &str,
        new: Option<String>,
        ttl_secs: i64,
    ) -> anyhow::Result<bool> {
        let now = self.clock.now_ms();
        let (set, stored) = match &new {
            Some(v) => ("1", envelope(now + ttl_secs * 1000, v)),
            None => ("0", String::new()),
        };
        let mut conn = self.conn.clone();
        let swapped: i64 = self
            .compare_and_swap
            .key(key)
            .arg(now)
            .arg(expected)
            .arg(set)
            .arg(stored)
            .arg(Self::ttl_ms(ttl_secs))
            .invoke_async(&mut conn)
            .await
            .map_err(down)?;
        Ok(swapped == 1)
    }

    fn window_key(&self, key: &str, window_secs: i64) -> String {
        format!("{key}@{}", self.clock.now_ms() / (window_secs * 1000))
    }

    pub async fn hits(&self, key: &str, window_secs: i64) -> anyhow::Result<u64> {
        let mut conn = self.conn.clone();
        let n: Option<u64> = conn.get(self.window_key(key, window_secs)).await.map_err(down)?;
        Ok(n.unwrap_or(0))
    }

    pub async fn hit(&self, key: &str, window_secs: i64) -> anyhow::Result<u64> {
        let mut conn = self.conn.clone();
        // Two windows of real time: the window is numbered on the application's clock.
        let n: u64 = self
            .hit
            .key(self.window_key(key, window_secs))
            .arg(Self::ttl_ms(2 * window_secs))
            .invoke_async(&mut conn)
            .await
            .map_err(down)?;
        Ok(n)
    }

    /// The whole Redis database: keys (`DBSIZE`), memory used and keys evicted (`INFO`).
    pub async fn usage(&self) -> anyhow::Result<Usage> {
        let mut conn = self.conn.clone();
        let entries: usize = redis::cmd("DBSIZE").query_async(&mut conn).await.map_err(down)?;
        let info: String = redis::cmd("INFO").arg("memory").arg("stats").query_async(&mut conn).await.map_err(down)?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(':')))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(Usage { entries, bytes: field("used_memory") as usize, evicted: field("evicted_keys") })
    }

    /// Whether Redis answers now (for `/readyz`).
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(down)?;
        Ok(())
    }

    /// Publish `message` on `channel` (configuration changes), to every subscribed node.
    pub async fn publish(&self, channel: &str, message: &str) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.publish(channel, message).await.map_err(down)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_open_only_before_they_expire() {
        assert_eq!(open(Some(envelope(100, "a|b")), 99).as_deref(), Some("a|b"));
        assert_eq!(open(Some(envelope(100, "a")), 100), None);
        assert_eq!(open(Some("no envelope".into()), 0), None);
        assert_eq!(open(None, 0), None);
    }
}
