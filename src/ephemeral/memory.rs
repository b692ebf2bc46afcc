//! In-process ephemeral store: a mutex-guarded map with expiry on the store's clock.

use crate::clock::SharedClock;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct MemoryEphemeral {
    clock: SharedClock,
    map: Mutex<HashMap<String, (String, i64)>>,
}

impl MemoryEphemeral {
    pub fn new(clock: SharedClock) -> Self {
        Self { clock, map: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, i64)>> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts).
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn put(&self, key: &str, value: String, ttl_secs: i64) {
        let now = self.clock.now_ms();
        let mut map = self.lock();
        if map.len() % 1024 == 1023 {
            map.retain(|_, (_, exp)| *exp > now);
        }
        map.insert(key.to_string(), (value, now + ttl_secs * 1000));
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let now = self.clock.now_ms();
        self.lock().get(key).filter(|(_, exp)| *exp > now).map(|(v, _)| v.clone())
    }

    pub fn take(&self, key: &str) -> Option<String> {
        let now = self.clock.now_ms();
        self.lock().remove(key).filter(|(_, exp)| *exp > now).map(|(v, _)| v)
    }

    pub fn compare_and_swap(&self, key: &str, expected: &str, new: Option<String>, ttl_secs: i64) -> bool {
        let now = self.clock.now_ms();
        let mut map = self.lock();
        if !map.get(key).is_some_and(|(v, exp)| *exp > now && v == expected) {
            return false;
        }
        match new {
            Some(v) => map.insert(key.to_string(), (v, now + ttl_secs * 1000)),
            None => map.remove(key),
        };
        true
    }

    pub fn hits(&self, key: &str, window_secs: i64) -> u64 {
        let now = self.clock.now_ms();
        let key = format!("{key}@{}", now / (window_secs * 1000));
        self.lock().get(&key).filter(|(_, exp)| *exp > now).and_then(|(v, _)| v.parse().ok()).unwrap_or(0)
    }

    pub fn hit(&self, key: &str, window_secs: i64) -> u64 {
        let now = self.clock.now_ms();
        let window = now / (window_secs * 1000);
        let key = format!("{key}@{window}");
        let mut map = self.lock();
        let entry = map.entry(key).or_insert_with(|| ("0".into(), (window + 1) * window_secs * 1000));
        let n = entry.0.parse::<u64>().unwrap_or(0) + 1;
        entry.0 = n.to_string();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn values_expire_and_take_is_once() {
        let clock = Arc::new(ManualClock::starting_now());
        let m = MemoryEphemeral::new(clock.clone());
        m.put("a", "1".into(), 10);
        assert_eq!(m.get("a").as_deref(), Some("1"));
        assert_eq!(m.take("a").as_deref(), Some("1"));
        assert_eq!(m.take("a"), None);
        m.put("b", "2".into(), 10);
        clock.advance_secs(11);
        assert_eq!(m.get("b"), None);
    }

    #[test]
    fn compare_and_swap_changes_only_the_expected_value() {
        let clock = Arc::new(ManualClock::starting_now());
        let m = MemoryEphemeral::new(clock.clone());
        assert!(!m.compare_and_swap("a", "1", Some("2".into()), 10), "nothing to swap");
        m.put("a", "1".into(), 10);
        assert!(!m.compare_and_swap("a", "0", Some("2".into()), 10));
        assert!(m.compare_and_swap("a", "1", Some("2".into()), 10));
        assert!(!m.compare_and_swap("a", "1", Some("3".into()), 10), "a stale read loses");
        assert!(m.compare_and_swap("a", "2", None, 10));
        assert_eq!(m.get("a"), None);
        m.put("b", "1".into(), 10);
        clock.advance_secs(11);
        assert!(!m.compare_and_swap("b", "1", Some("2".into()), 10), "expired values are gone");
    }

    #[test]
    fn hits_count_per_window() {
        let clock = Arc::new(ManualClock::starting_now());
        let m = MemoryEphemeral::new(clock.clone());
        assert_eq!(m.hits("k", 60), 0);
        assert_eq!(m.hit("k", 60), 1);
        assert_eq!(m.hit("k", 60), 2);
        assert_eq!(m.hits("k", 60), 2);
        clock.advance_secs(61);
        assert_eq!(m.hits("k", 60), 0);
        assert_eq!(m.hit("k", 60), 1);
    }
}
