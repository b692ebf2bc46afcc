//! The ephemeral store's contract, run against both backends: the in-process store and Redis
//! at TESSERA_TEST_REDIS_URL (default redis://127.0.0.1:6379). The Redis half FAILS when
//! Redis is unreachable: CI must not pass by skipping it. Each test uses its own random
//! prefix, so tests sharing one Redis never see each other's values.

use crate::support::{random_prefix, test_redis_url};
use std::sync::Arc;
use tessera::clock::{Clock, ManualClock};
use tessera::ephemeral::{Backend, Bounds, Class, Ephemeral, MemoryEphemeral, RedisEphemeral, Space};

const BOUNDS: Bounds = Bounds { max_entries: 10_000, max_bytes: 1 << 20 };

async fn store(redis: bool, clock: Arc<ManualClock>, prefix: &str) -> Ephemeral {
    let backend = if redis {
        let url = test_redis_url();
        Backend::Redis(
            RedisEphemeral::connect(&url, clock, BOUNDS)
                .await
                .unwrap_or_else(|e| panic!("Redis must be reachable at {url} (TESSERA_TEST_REDIS_URL): {e:#}")),
        )
    } else {
        Backend::Memory(MemoryEphemeral::new(clock, BOUNDS))
    };
    Ephemeral::new(backend, prefix)
}

/// One behaviour, as a test per backend: `<name>::memory` and `<name>::redis`.
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn memory() {
                super::$name(false).await
            }
            #[tokio::test]
            async fn redis() {
                super::$name(true).await
            }
        }
    };
}

contract!(values_expire_on_the_application_clock);
async fn values_expire_on_the_application_clock(redis: bool) {
    let clock = Arc::new(ManualClock::starting_now());
    let s = store(redis, clock.clone(), &random_prefix()).await;
    let key = Space::EmailSignIn.key("a");
    assert_eq!(s.get(&key).await.unwrap(), None);
    s.put(&key, "one".into(), 10).await.unwrap();
    assert_eq!(s.get(&key).await.unwrap().as_deref(), Some("one"));
    s.put(&key, "two|with a bar".into(), 10).await.unwrap();
    assert_eq!(s.get(&key).await.unwrap().as_deref(), Some("two|with a bar"), "a put replaces");
    clock.advance_secs(9);
    assert!(s.get(&key).await.unwrap().is_some());
    clock.advance_secs(2);
    assert_eq!(s.get(&key).await.unwrap(), None, "gone after its TTL on the clock");
    assert_eq!(s.take(&key).await.unwrap(), None, "an expired value cannot be taken either");
    s.put_as(Class::PendingAuthorization, &key, "three".into(), 10).await.unwrap();
    s.delete(&key).await.unwrap();
    assert_eq!(s.get(&key).await.unwrap(), None, "deleted");
    s.delete(&key).await.unwrap();
}

contract!(take_gives_a_one_time_value_once);
async fn take_gives_a_one_time_value_once(redis: bool) {
    let clock = Arc::new(ManualClock::starting_now());
    let s = Arc::new(store(redis, clock, &random_prefix()).await);
    let key = Space::AuthorizationCode.key("hash");
    s.put(&key, "code".into(), 60).await.unwrap();
    assert_eq!(s.take(&key).await.unwrap().as_deref(), Some("code"));
    assert_eq!(s.take(&key).await.unwrap(), None);
    // Many takers at once (as many nodes redeeming one code): exactly one gets it.
    s.put(&key, "code".into(), 60).await.unwrap();
    let takers: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            let key = key.clone();
            tokio::spawn(async move { s.take(&key).await.unwrap() })
        })
        .collect();
    let mut got = 0;
    for t in takers {
        got += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(got, 1, "one taker, not {got}");
}

contract!(compare_and_swap_changes_only_the_expected_value);
async fn compare_and_swap_changes_only_the_expected_value(redis: bool) {
    let clock = Arc::new(ManualClock::starting_now());
    let s = store(redis, clock.clone(), &random_prefix()).await;
    let key = Space::EmailSignIn.key("cas");
    assert!(!s.compare_and_swap(&key, "1", Some("2".into()), 10).await.unwrap(), "nothing to swap");
    s.put(&key, "1".into(), 10).await.unwrap();
    assert!(!s.compare_and_swap(&key, "0", Some("2".into()), 10).await.unwrap());
    assert!(s.compare_and_swap(&key, "1", Some("2".into()), 10).await.unwrap());
    assert!(!s.compare_and_swap(&key, "1", Some("3".into()), 10).await.unwrap(), "a stale read loses");
    assert_eq!(s.get(&key).await.unwrap().as_deref(), Some("2"));
    assert!(s.compare_and_swap(&key, "2", None, 10).await.unwrap());
    assert_eq!(s.get(&key).await.unwrap(), None, "swapped for nothing: removed");
    s.put(&key, "1".into(), 10).await.unwrap();
    clock.advance_secs(11);
    assert!(!s.compare_and_swap(&key, "1", Some("2".into()), 10).await.unwrap(), "expired values are gone");
    // The swapped value has the new TTL.
    s.put(&key, "a".into(), 10).await.unwrap();
    assert!(s.compare_and_swap(&key, "a", Some("b".into()), 100).await.unwrap());
    clock.advance_secs(50);
    assert_eq!(s.get(&key).await.unwrap().as_deref(), Some("b"));
}

contract!(concurrent_read_modify_writes_lose_no_update);
async fn concurrent_read_modify_writes_lose_no_update(redis: bool) {
    let clock = Arc::new(ManualClock::starting_now());
    let s = Arc::new(store(redis, clock, &random_prefix()).await);
    let key = Space::EmailSignIn.key("counter");
    s.put(&key, "0".into(), 60).await.unwrap();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (s, key) = (s.clone(), key.clone());
            tokio::spawn(async move {
                for _ in 0..5 {
                    loop {
                        let seen = s.get(&key).await.unwrap().unwrap();
                        let next = (seen.parse::<u32>().unwrap() + 1).to_string();
                        if s.compare_and_swap(&key, &seen, Some(next), 60).await.unwrap() {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(s.get(&key).await.unwrap().as_deref(), Some("40"));
}

contract!(hits_count_per_fixed_window);
async fn hits_count_per_fixed_window(redis: bool) {
    let clock = Arc::new(ManualClock::starting_now());
    let s = Arc::new(store(redis, clock.clone(), &random_prefix()).await);
    let key = Space::RateLimit.key("authorize:203.0.113.7");
    // Start at the beginning of a window, so that the steps below stay inside it.
    clock.advance_secs(60 - (clock.now_ms() / 1000) % 60);
    assert_eq!(s.hits(&key, 60).await.unwrap(), 0);
    assert_eq!(s.hit(&key, 60).await.unwrap(), 1);
    assert_eq!(s.hit(&key, 60).await.unwrap(), 2);
    assert_eq!(s.hits(&key, 60).await.unwrap(), 2, "hits does not count");
    let hitters: Vec<_> = (0..20)
        .map(|_| {
            let (s, key) = (s.clone(), key.clone());
            tokio::spawn(async move { s.hit(&key, 60).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for h in hitters {
        counts.push(h.await.unwrap());
    }
    counts.sort();
    assert_eq!(counts, (3..23).collect::<Vec<u64>>(), "every concurrent hit counted once");
    clock.advance_secs(59);
    assert_eq!(s.hits(&key, 60).await.unwrap(), 22, "still the same window");
    clock.advance_secs(1);
    assert_eq!(s.hits(&key, 60).await.unwrap(), 0, "a new window");
    assert_eq!(s.hit(&key, 60).await.unwrap(), 1);
    assert_eq!(s.hits(&Space::RateLimit.key("other"), 60).await.unwrap(), 0, "keys count apart");
}

contract!(deployments_with_other_prefixes_never_meet);
async fn deployments_with_other_prefixes_never_meet(redis: bool) {
    let clock = Arc::new(ManualClock::starting_now());
    let (a, b) = (random_prefix(), random_prefix());
    let (sa, sb) = (store(redis, clock.clone(), &a).await, store(redis, clock.clone(), &b).await);
    let also_a = store(redis, clock, &a).await;
    let key = Space::Authorization.key("same-id");
    sa.put(&key, "a".into(), 60).await.unwrap();
    assert_eq!(sb.get(&key).await.unwrap(), None);
    sb.put(&key, "b".into(), 60).await.unwrap();
    assert_eq!(sa.get(&key).await.unwrap().as_deref(), Some("a"));
    assert_eq!(sb.take(&key).await.unwrap().as_deref(), Some("b"));
    assert_eq!(sa.hit(&key, 60).await.unwrap(), 1);
    assert_eq!(sb.hits(&key, 60).await.unwrap(), 0);
    if redis {
        // Two stores with one prefix are two nodes of one deployment: they share values.
        assert_eq!(also_a.get(&key).await.unwrap().as_deref(), Some("a"));
        assert_eq!(also_a.hit(&key, 60).await.unwrap(), 2);
    }
}

contract!(json_values_round_trip_and_oversized_values_are_refused);
async fn json_values_round_trip_and_oversized_values_are_refused(redis: bool) {
    let clock = Arc::new(ManualClock::starting_now());
    let s = store(redis, clock, &random_prefix()).await;
    let key = Space::PasskeySignIn.key("ceremony");
    let value = serde_json::json!({ "challenge": "abc", "n": 3, "text": "ünï|cödé" });
    s.put_json(&key, &value, 60).await.unwrap();
    assert_eq!(s.get_json::<serde_json::Value>(&key).await.unwrap(), Some(value.clone()));
    assert_eq!(s.take_json::<serde_json::Value>(&key).await.unwrap(), Some(value));
    assert_eq!(s.take_json::<serde_json::Value>(&key).await.unwrap(), None);
    let huge = "x".repeat(BOUNDS.max_bytes);
    assert!(s.put(&key, huge, 60).await.is_err(), "larger than the store: refused, not stored");
    assert_eq!(s.get(&key).await.unwrap(), None);
    s.put(&key, "small".into(), 60).await.unwrap();
    assert!(s.usage().await.unwrap().entries >= 1, "usage counts what is stored");
}
