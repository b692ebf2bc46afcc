//! In-process ephemeral store: a mutex-guarded map with expiry on the store's clock, bounded
//! in entries and bytes so anonymous requests cannot grow memory without limit.
//!
//! Expired entries are swept on every write (an expiry index makes that cost only the
//! entries that expired). When a write would pass a bound, the store evicts by class, oldest
//! first: pending authorization requests (anyone can create them), then other expiring
//! values (ceremonies, pending sign-ins), and rate-limit counters last, because dropping a
//! counter quietly lifts a limit.

use super::Class;
use crate::clock::SharedClock;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// What one entry costs beyond its key and value: the map slot, two index nodes and the
/// shared key's header, rounded up. The byte bound counts `key + value + ENTRY_OVERHEAD`.
pub const ENTRY_OVERHEAD: usize = 192;

/// How many entries and bytes the store holds at most.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// How full the store is, as the bounds count it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub entries: usize,
    pub bytes: usize,
    /// Entries evicted before they expired, since start.
    pub evicted: u64,
}

enum Value {
    Text(String),
    Count(u64),
}

struct Entry {
    value: Value,
    expires_at: i64,
    class: Class,
    seq: u64,
}

fn cost(key: &str, value: &Value) -> usize {
    let value_len = match value {
        Value::Text(s) => s.len(),
        Value::Count(_) => 8,
    };
    key.len() + value_len + ENTRY_OVERHEAD
}

#[derive(Default)]
struct Inner {
    map: HashMap<Arc<str>, Entry>,
    /// Per class, oldest first: what eviction picks.
    by_age: [BTreeMap<u64, Arc<str>>; Class::ALL.len()],
    /// Soonest expiry first: what the sweep removes.
    by_expiry: BTreeMap<(i64, u64), Arc<str>>,
    bytes: usize,
    next_seq: u64,
    evicted: u64,
}

impl Inner {
    fn remove(&mut self, key: &str) -> Option<Entry> {
        let (k, e) = self.map.remove_entry(key)?;
        self.by_age[e.class as usize].remove(&e.seq);
        self.by_expiry.remove(&(e.expires_at, e.seq));
        self.bytes -= cost(&k, &e.value);
        Some(e)
    }

    fn sweep(&mut self, now: i64) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.remove(&key);
        }
    }

    /// Evict the oldest entry of the most expendable class present; false if empty.
    fn evict_one(&mut self) -> bool {
        let Some(class) = Class::ALL.into_iter().find(|c| !self.by_age[*c as usize].is_empty()) else {
            return false;
        };
        let Some((_, key)) = self.by_age[class as usize].pop_first() else { return false };
        self.remove(&key);
        self.evicted += 1;
        if self.evicted % 10_000 == 1 {
            tracing::warn!(
                ?class,
                evicted = self.evicted,
                "ephemeral store is full: evicting before expiry (raise ephemeral_max_entries / _bytes?)"
            );
        }
        true
    }

    fn insert(&mut self, bounds: Bounds, key: &str, value: Value, expires_at: i64, class: Class, now: i64) -> bool {
        self.remove(key);
        self.sweep(now);
        let needed = cost(key, &value);
        if needed > bounds.max_bytes {
            return false;
        }
        while self.map.len() >= bounds.max_entries || self.bytes + needed > bounds.max_bytes {
            if !self.evict_one() {
                break;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let key: Arc<str> = Arc::from(key);
        self.by_age[class as usize].insert(seq, key.clone());
        self.by_expiry.insert((expires_at, seq), key.clone());
        self.bytes += needed;
        self.map.insert(key, Entry { value, expires_at, class, seq });
        true
    }
}

pub struct MemoryEphemeral {
    clock: SharedClock,
    bounds: Bounds,
    inner: Mutex<Inner>,
}

impl MemoryEphemeral {
    pub fn new(clock: SharedClock, bounds: Bounds) -> Self {
        Self { clock, bounds, inner: Mutex::new(Inner::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every method leaves the indexes consistent before it can panic (no user code runs
        // under the lock), so a poisoned lock still guards a consistent store.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Store `value` for `ttl_secs`; false when the value alone is larger than the store.
    pub fn put(&self, key: &str, mut value: String, ttl_secs: i64, class: Class) -> bool {
        // A serialised value can hold up to twice its length in spare capacity; keep only
        // what the byte bound counts.
        value.shrink_to_fit();
        let now = self.clock.now_ms();
        self.lock().insert(self.bounds, key, Value::Text(value), now + ttl_secs * 1000, class, now)
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let now = self.clock.now_ms();
        let inner = self.lock();
        let e = inner.map.get(key).filter(|e| e.expires_at > now)?;
        Some(match &e.value {
            Value::Text(s) => s.clone(),
            Value::Count(n) => n.to_string(),
        })
    }

    pub fn take(&self, key: &str) -> Option<String> {
        let now = self.clock.now_ms();
        let e = self.lock().remove(key).filter(|e| e.expires_at > now)?;
        Some(match e.value {
            Value::Text(s) => s,
            Value::Count(n) => n.to_string(),
        })
    }

    /// Replace (or with `None` remove) the value at `key` only if it is still `expected`:
    /// read-modify-write of one record, atomic under the lock. Keeps the entry's class.
    pub fn compare_and_swap(&self, key: &str, expected: &str, new: Option<String>, ttl_secs: i64) -> bool {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let class = match inner.map.get(key) {
            Some(Entry { value: Value::Text(v), expires_at, class, .. }) if *expires_at > now && v == expected => {
                *class
            }
            _ => return false,
        };
        match new {
            Some(mut v) => {
                v.shrink_to_fit();
                inner.insert(self.bounds, key, Value::Text(v), now + ttl_secs * 1000, class, now)
            }
            None => inner.remove(key).is_some(),
        }
    }

    /// The count `hit` would have reached in this window, without counting.
    pub fn hits(&self, key: &str, window_secs: i64) -> u64 {
        let now = self.clock.now_ms();
        let key = format!("{key}@{}", now / (window_secs * 1000));
        match self.lock().map.get(key.as_str()) {
            Some(Entry { value: Value::Count(n), expires_at, .. }) if *expires_at > now => *n,
            _ => 0,
        }
    }

    pub fn hit(&self, key: &str, window_secs: i64) -> u64 {
        let now = self.clock.now_ms();
        let window = now / (window_secs * 1000);
        let key = format!("{key}@{window}");
        let mut inner = self.lock();
        if let Some(Entry { value: Value::Count(n), expires_at, .. }) = inner.map.get_mut(key.as_str())
            && *expires_at > now
        {
            *n += 1;
            return *n;
        }
        inner.insert(self.bounds, &key, Value::Count(1), (window + 1) * window_secs * 1000, Class::Counter, now);
        1
    }

    pub fn usage(&self) -> Usage {
        let inner = self.lock();
        Usage { entries: inner.map.len(), bytes: inner.bytes, evicted: inner.evicted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const ROOMY: Bounds = Bounds { max_entries: 1000, max_bytes: 1 << 20 };

    #[test]
    fn values_expire_and_take_is_once() {
        let clock = Arc::new(ManualClock::starting_now());
        let m = MemoryEphemeral::new(clock.clone(), ROOMY);
        m.put("a", "1".into(), 10, Class::Expiring);
        assert_eq!(m.get("a").as_deref(), Some("1"));
        assert_eq!(m.take("a").as_deref(), Some("1"));
        assert_eq!(m.take("a"), None);
        m.put("b", "2".into(), 10, Class::Expiring);
        clock.advance_secs(11);
        assert_eq!(m.get("b"), None);
    }

    #[test]
    fn compare_and_swap_changes_only_the_expected_value() {
        let clock = Arc::new(ManualClock::starting_now());
        let m = MemoryEphemeral::new(clock.clone(), ROOMY);
        assert!(!m.compare_and_swap("a", "1", Some("2".into()), 10), "nothing to swap");
        m.put("a", "1".into(), 10, Class::Expiring);
        assert!(!m.compare_and_swap("a", "0", Some("2".into()), 10));
        assert!(m.compare_and_swap("a", "1", Some("2".into()), 10));
        assert!(!m.compare_and_swap("a", "1", Some("3".into()), 10), "a stale read loses");
        assert!(m.compare_and_swap("a", "2", None, 10));
        assert_eq!(m.get("a"), None);
        m.put("b", "1".into(), 10, Class::Expiring);
        clock.advance_secs(11);
        assert!(!m.compare_and_swap("b", "1", Some("2".into()), 10), "expired values are gone");
    }

    #[test]
    fn hits_count_per_window() {
        let clock = Arc::new(ManualClock::starting_now());
        let m = MemoryEphemeral::new(clock.clone(), ROOMY);
        assert_eq!(m.hits("k", 60), 0);
        assert_eq!(m.hit("k", 60), 1);
        assert_eq!(m.hit("k", 60), 2);
        assert_eq!(m.hits("k", 60), 2);
        clock.advance_secs(61);
        assert_eq!(m.hits("k", 60), 0);
        assert_eq!(m.hit("k", 60), 1);
    }

    #[test]
    fn expired_entries_are_swept_on_write() {
        let clock = Arc::new(ManualClock::starting_now());
        let m = MemoryEphemeral::new(clock.clone(), ROOMY);
        for i in 0..100 {
            m.put(&format!("k{i}"), "v".into(), 10, Class::Expiring);
        }
        assert_eq!(m.usage().entries, 100);
        clock.advance_secs(11);
        m.put("fresh", "v".into(), 10, Class::Expiring);
        let usage = m.usage();
        assert_eq!((usage.entries, usage.bytes, usage.evicted), (1, cost("fresh", &Value::Text("v".into())), 0));
    }

    #[test]
    fn bounds_hold_and_eviction_goes_by_class_then_age() {
        let clock = Arc::new(ManualClock::starting_now());
        let m = MemoryEphemeral::new(clock.clone(), Bounds { max_entries: 4, max_bytes: 1 << 20 });
        m.hit("counter", 60);
        m.put("ceremony", "c".into(), 60, Class::Expiring);
        m.put("authz:old", "a".into(), 60, Class::PendingAuthorization);
        m.put("authz:new", "b".into(), 60, Class::PendingAuthorization);
        m.put("authz:newest", "c".into(), 60, Class::PendingAuthorization);
        assert_eq!(m.get("authz:old"), None, "the oldest pending authorization goes first");
        assert!(m.get("authz:new").is_some() && m.get("ceremony").is_some());
        for i in 0..3 {
            m.put(&format!("other{i}"), "o".into(), 60, Class::Expiring);
        }
        assert_eq!(m.usage().entries, 4);
        assert!(m.get("authz:new").is_none() && m.get("authz:newest").is_none(), "authorizations before others");
        assert_eq!(m.get("ceremony"), None, "then the oldest other value");
        assert_eq!(m.hit("counter", 60), 2, "the counter survived them all");
        // Bytes bind too: one large value pushes out what it must, and no more.
        let m = MemoryEphemeral::new(clock, Bounds { max_entries: 100, max_bytes: 3 * (ENTRY_OVERHEAD + 12) });
        for i in 0..3 {
            m.put(&format!("k{i}"), "0123456789".into(), 60, Class::Expiring);
        }
        assert!(m.usage().bytes <= 3 * (ENTRY_OVERHEAD + 12));
        assert!(m.put("big", "x".repeat(ENTRY_OVERHEAD), 60, Class::Expiring));
        assert!(m.usage().bytes <= 3 * (ENTRY_OVERHEAD + 12), "{:?}", m.usage());
        assert!(m.get("k2").is_some() && m.get("k0").is_none());
        assert!(!m.put("huge", "x".repeat(4 * ENTRY_OVERHEAD), 60, Class::Expiring), "larger than the store");
    }
}
