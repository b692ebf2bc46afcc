//! Ephemeral state: one-time values, pending sign-ins, ceremony state and rate-limit windows.
//! Losing it loses nobody's data (a person just starts a sign-in again), so it is not in SQL.
//! In-process by default (`memory`); on Redis (`redis_store`, chosen by `redis_url`) for several
//! nodes. Both behave alike, measured by one set of contract tests (tests/it/ephemeral.rs):
//! values expire on the application's clock, `take` is atomic, windows count per clock.
//! Records that expire carry their own `expires_at`, checked by the feature against its
//! clock; the TTL given here only bounds how long the store keeps them.
//!
//! The in-process store is bounded (`ephemeral_max_entries`, `ephemeral_max_bytes`); each
//! value has a [`Class`] that says what goes first when it is full. Redis evicts by its own
//! `maxmemory-policy` instead. A backend that cannot be reached fails the request with 503
//! (`error::ServiceDown`), never with a half-done change.
//!
//! `changes` carries "configuration changed" between nodes (Redis pub/sub).

pub mod changes;
pub mod keys;
pub mod limits;
mod memory;
mod redis_store;

pub use keys::{Key, Space};
pub use memory::{Bounds, ENTRY_OVERHEAD, MemoryEphemeral, Usage};
pub use redis_store::RedisEphemeral;

/// What a stored value is, in the order the store gives values up when it is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A pending authorization request: anyone can create one with a GET, so under a flood
    /// these go first (the person just starts again at the app).
    PendingAuthorization = 0,
    /// Everything else that expires: ceremonies, pending sign-ins, one-time values.
    Expiring = 1,
    /// Rate-limit counters, given up last: dropping one lifts a limit.
    Counter = 2,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::PendingAuthorization, Class::Expiring, Class::Counter];
}

/// Where the values live. An enum rather than a trait object: two known implementations, and
/// async methods stay plain `async fn`.
pub enum Backend {
    Memory(MemoryEphemeral),
    Redis(RedisEphemeral),
}

/// The ephemeral store: a backend, and the deployment prefix put before every key (see
/// `keys`), so that deployments sharing one store never read each other's values.
pub struct Ephemeral {
    backend: Backend,
    prefix: String,
}

impl Ephemeral {
    pub fn new(backend: Backend, prefix: &str) -> Ephemeral {
        Ephemeral { backend, prefix: prefix.to_string() }
    }

    /// The store `redis_url` asks for: Redis when set (reachable now, or an error), else the
    /// bounded in-process store.
    pub async fn from_config(config: &crate::config::Config, clock: crate::clock::SharedClock) -> anyhow::Result<Self> {
        let bounds = Bounds { max_entries: config.ephemeral_max_entries, max_bytes: config.ephemeral_max_bytes };
        let backend = if config.redis_url.is_empty() {
            Backend::Memory(MemoryEphemeral::new(clock, bounds))
        } else {
            Backend::Redis(RedisEphemeral::connect(&config.redis_url, clock, bounds).await?)
        };
        Ok(Ephemeral::new(backend, &config.ephemeral_prefix))
    }

    /// Whether values are shared with other nodes (Redis) rather than held in this process.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// The deployment prefix put before every key (and the change channel's name).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the store answers now (`/readyz`); the in-process store always does.
    pub async fn ping(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(r) => r.ping().await,
        }
    }

    fn full(&self, key: &Key) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    pub async fn put(&self, key: &Key, value: String, ttl_secs: i64) -> anyhow::Result<()> {
        self.put_as(Class::Expiring, key, value, ttl_secs).await
    }

    /// Store a value of class `class` (what the store gives up first when it is full).
    pub async fn put_as(&self, class: Class, key: &Key, value: String, ttl_secs: i64) -> anyhow::Result<()> {
        let stored = match &self.backend {
            Backend::Memory(m) => m.put(&self.full(key), value, ttl_secs, class),
            // Redis has no classes: its maxmemory-policy decides what goes (see `redis_store`).
            Backend::Redis(r) => r.put(&self.full(key), value, ttl_secs).await?,
        };
        anyhow::ensure!(stored, "a value for the ephemeral store is larger than ephemeral_max_bytes");
        Ok(())
    }

    /// How full the store is (entries and bytes, as its bounds count them; on Redis, the
    /// whole database, so approximate when other data share it).
    pub async fn usage(&self) -> anyhow::Result<Usage> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.usage()),
            Backend::Redis(r) => r.usage().await,
        }
    }

    pub async fn get(&self, key: &Key) -> anyhow::Result<Option<String>> {
        Ok(match &self.backend {
            Backend::Memory(m) => m.get(&self.full(key)),
            Backend::Redis(r) => r.get(&self.full(key)).await?,
        })
    }

    /// Read and delete atomically: a one-time value can be taken once.
    pub async fn take(&self, key: &Key) -> anyhow::Result<Option<String>> {
        Ok(match &self.backend {
            Backend::Memory(m) => m.take(&self.full(key)),
            Backend::Redis(r) => r.take(&self.full(key)).await?,
        })
    }

    pub async fn delete(&self, key: &Key) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Memory(m) => {
                m.take(&self.full(key));
            }
            Backend::Redis(r) => r.delete(&self.full(key)).await?,
        }
        Ok(())
    }

    /// Replace the value at `key` with `new` (or delete it, for `None`) only if it is still
    /// `expected`: read-modify-write without lost updates (Redis: WATCH/MULTI or a script).
    pub async fn compare_and_swap(
        &self,
        key: &Key,
        expected: &str,
        new: Option<String>,
        ttl_secs: i64,
    ) -> anyhow::Result<bool> {
        Ok(match &self.backend {
            Backend::Memory(m) => m.compare_and_swap(&self.full(key), expected, new, ttl_secs),
            Backend::Redis(r) => r.compare_and_swap(&self.full(key), expected, new, ttl_secs).await?,
        })
    }

    /// The count of events in the current window of `key`, without counting one.
    pub async fn hits(&self, key: &Key, window_secs: i64) -> anyhow::Result<u64> {
        Ok(match &self.backend {
            Backend::Memory(m) => m.hits(&self.full(key), window_secs),
            Backend::Redis(r) => r.hits(&self.full(key), window_secs).await?,
        })
    }

    /// Count one more event in the fixed window `window_secs` for `key`; returns the count.
    pub async fn hit(&self, key: &Key, window_secs: i64) -> anyhow::Result<u64> {
        Ok(match &self.backend {
            Backend::Memory(m) => m.hit(&self.full(key), window_secs),
            Backend::Redis(r) => r.hit(&self.full(key), window_secs).await?,
        })
    }

    pub async fn put_json<T: serde::Serialize>(&self, key: &Key, value: &T, ttl_secs: i64) -> anyhow::Result<()> {
        self.put(key, serde_json::to_string(value)?, ttl_secs).await
    }

    pub async fn put_json_as<T: serde::Serialize>(
        &self,
        class: Class,
        key: &Key,
        value: &T,
        ttl_secs: i64,
    ) -> anyhow::Result<()> {
        self.put_as(class, key, serde_json::to_string(value)?, ttl_secs).await
    }

    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, key: &Key) -> anyhow::Result<Option<T>> {
        Ok(match self.get(key).await? {
            Some(s) => Some(serde_json::from_str(&s)?),
            None => None,
        })
    }

    pub async fn take_json<T: serde::de::DeserializeOwned>(&self, key: &Key) -> anyhow::Result<Option<T>> {
        Ok(match self.take(key).await? {
            Some(s) => Some(serde_json::from_str(&s)?),
            None => None,
        })
    }
}
