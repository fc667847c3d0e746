//! The key-value store behind Panther's caching helpers (`panther_detection_helpers.caching`:
//! `get_string_set`, `put_string_set`, `increment_counter`, `get_dictionary`, …): the
//! [`StateStore`] trait a pipeline implements, and [`MemoryStore`], the in-memory default.
//!
//! Owns the shape of what is stored: one [`Item`] per key, with the columns of Panther's
//! DynamoDB table (`intCount`, `stringSet`, `dictionary`, `expiresAt`), and the clock the
//! helpers read. Must not: know Python, or decide what a helper returns (that is `py::kv`,
//! which reads and writes items through this trait exactly as the helpers' DynamoDB calls do).
//!
//! # Expiry
//!
//! Every helper that writes sets `expiresAt` (epoch seconds; 90 days from now by default), as
//! Panther's do. Panther compares it with the **wall clock** (`datetime.now()`), not with the
//! event's time, and so do the helpers here, through [`StateStore::now`] (a store may override
//! it, e.g. to replay old logs on their own time). An item whose `expiresAt` is at or before
//! `now` is gone for the helpers, whether or not the store has dropped it yet: DynamoDB deletes
//! expired items some time after they expire (within days), so Panther may still read one that
//! `force_ttl_check=False` does not filter; the helpers here behave as if the deletion were
//! immediate, which is what DynamoDB converges to and what `force_ttl_check=True` gives.
//!
//! # Plugging a store
//!
//! [`Engine::with_store`](crate::Engine::with_store) gives an engine another store (a shared
//! one, such as a NATS JetStream key-value bucket, for runners that share alerting state):
//! implement [`StateStore::get`] and [`StateStore::update`] (an atomic read-modify-write of
//! one key; a compare-and-set loop on a revision does it). Items serialise as JSON with
//! [`Item::to_json`] / [`Item::from_json`] where a store holds bytes.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

/// What the store holds under one key: the columns of Panther's DynamoDB key-value table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item {
    /// `intCount`: the counter of `increment_counter`.
    pub count: Option<i64>,
    /// `stringSet`: the string set of `put_string_set` / `add_to_string_set` (never empty:
    /// DynamoDB drops an attribute whose set becomes empty), in insertion order.
    pub string_set: Option<Vec<String>>,
    /// `dictionary`: the JSON text `put_dictionary` wrote.
    pub dictionary: Option<String>,
    /// `expiresAt`: epoch seconds at and after which the item is gone.
    pub expires_at: Option<i64>,
}

impl Item {
    /// Whether the item is gone at `now` (epoch seconds): Panther's `ttl_expired`.
    pub fn expired(&self, now: f64) -> bool {
        self.expires_at.is_some_and(|e| e != 0 && (e as f64) <= now)
    }

    /// Whether every column is empty (DynamoDB keeps such an item; nothing reads it).
    pub fn is_empty(&self) -> bool {
        self.count.is_none() && self.string_set.is_none() && self.dictionary.is_none()
    }

    /// The item as a JSON object (`{"intCount": 3, "stringSet": [...], "expiresAt": …}`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(c) = self.count {
            m.insert("intCount".into(), c.into());
        }
        if let Some(s) = &self.string_set {
            m.insert("stringSet".into(), s.clone().into());
        }
        if let Some(d) = &self.dictionary {
            m.insert("dictionary".into(), d.clone().into());
        }
        if let Some(e) = self.expires_at {
            m.insert("expiresAt".into(), e.into());
        }
        Value::Object(m)
    }

    /// The item [`Item::to_json`] wrote, or `None` for anything else.
    pub fn from_json(value: &Value) -> Option<Item> {
        let m = value.as_object()?;
        let strings = |v: &Value| -> Option<Vec<String>> {
            v.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
        };
        Some(Item {
            count: match m.get("intCount") {
                Some(v) => Some(v.as_i64()?),
                None => None,
            },
            string_set: match m.get("stringSet") {
                Some(v) => Some(strings(v)?),
                None => None,
            },
            dictionary: match m.get("dictionary") {
                Some(v) => Some(v.as_str()?.to_string()),
                None => None,
            },
            expires_at: match m.get("expiresAt") {
                Some(v) => Some(v.as_i64()?),
                None => None,
            },
        })
    }
}

/// Why the store could not be read or written (the helper raises; the rule errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    pub message: String,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// A key-value store of [`Item`]s, shared by every thread that evaluates events (hence
/// `Send + Sync`). Expiry is the helpers' business (see the module documentation): a store
/// returns what it holds, expired or not, and may drop expired items whenever it likes.
pub trait StateStore: Send + Sync {
    /// The item under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Item>, StoreError>;

    /// Replaces the item under `key` with `f(current item)` (`None`: delete it), atomically:
    /// no other write to `key` comes between the read and the write. `f` may be called more
    /// than once (a compare-and-set store retries it) and must not have side effects.
    fn update(&self, key: &str, f: &mut dyn FnMut(Option<Item>) -> Option<Item>) -> Result<(), StoreError>;

    /// The time the helpers compare expiry with, in epoch seconds: the wall clock, as
    /// Panther's `datetime.now().timestamp()`.
    fn now(&self) -> f64 {
        wall_clock()
    }

    /// Whether there is a store at all: `false` makes every helper that reaches the table raise
    /// `NoRegionError`, as `panther_detection_helpers` does where no AWS region is configured
    /// (see [`NoStore`]).
    fn reachable(&self) -> bool {
        true
    }
}

/// No store, as CPython has outside Panther (`pat test`, or a comparison run): a helper that
/// reaches the table raises `NoRegionError: You must specify a region.` (catchable, as in
/// Python); the checks a helper makes before that still come first.
#[derive(Debug, Default)]
pub struct NoStore;

impl StateStore for NoStore {
    fn get(&self, _key: &str) -> Result<Option<Item>, StoreError> {
        Err(StoreError { message: "no key-value store".into() })
    }

    fn update(&self, _key: &str, _f: &mut dyn FnMut(Option<Item>) -> Option<Item>) -> Result<(), StoreError> {
        Err(StoreError { message: "no key-value store".into() })
    }

    fn reachable(&self) -> bool {
        false
    }
}

/// Seconds since the Unix epoch, now.
pub fn wall_clock() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The default store: a map in memory, private to the engine that owns it (so runners in
/// different processes do not share it). Expired items are dropped as writes go by, so the
/// map holds at most the live items and those that expired since the last sweep.
pub struct MemoryStore {
    items: Mutex<Memory>,
    clock: Option<fn() -> f64>,
}

#[derive(Default)]
struct Memory {
    map: HashMap<String, Item>,
    /// Writes since the last sweep of expired items.
    writes: usize,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore { items: Mutex::new(Memory::default()), clock: None }
    }

    /// A store whose [`StateStore::now`] is `clock` (for tests, or to replay logs on their time).
    pub fn with_clock(clock: fn() -> f64) -> MemoryStore {
        MemoryStore { items: Mutex::new(Memory::default()), clock: Some(clock) }
    }

    /// How many items the store holds (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic while holding the lock leaves a consistent map (updates are single inserts).
        self.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("items", &self.len()).finish()
    }
}

impl StateStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Item>, StoreError> {
        Ok(self.lock().map.get(key).cloned())
    }

    fn update(&self, key: &str, f: &mut dyn FnMut(Option<Item>) -> Option<Item>) -> Result<(), StoreError> {
        let now = self.now();
        let mut memory = self.lock();
        let current = memory.map.remove(key);
        if let Some(new) = f(current) {
            memory.map.insert(key.to_string(), new);
        }
        // Sweep expired items after writes as many as half the items (at least 1,024), so the
        // cost per write stays constant.
        memory.writes += 1;
        if memory.writes >= (memory.map.len() / 2).max(1024) {
            memory.writes = 0;
            memory.map.retain(|_, item| !item.expired(now));
        }
        Ok(())
    }

    fn now(&self) -> f64 {
        self.clock.map_or_else(wall_clock, |c| c())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_through_json() {
        let item = Item {
            count: Some(3),
            string_set: Some(vec!["a".into(), "b".into()]),
            dictionary: Some("{\"k\": 1}".into()),
            expires_at: Some(1_700_000_000),
        };
        assert_eq!(Item::from_json(&item.to_json()), Some(item));
        assert_eq!(Item::from_json(&Value::Object(Map::new())), Some(Item::default()));
        assert_eq!(Item::from_json(&serde_json::json!({"intCount": "3"})), None);
    }

    #[test]
    fn expiry_is_at_or_before_now() {
        let item = Item { expires_at: Some(100), ..Item::default() };
        assert!(!item.expired(99.5));
        assert!(item.expired(100.0));
        assert!(!Item::default().expired(1e12), "no expiry, never expired");
    }

    #[test]
    fn memory_store_updates_and_sweeps() {
        fn clock() -> f64 {
            2_000_000_000.0
        }
        let store = MemoryStore::with_clock(clock);
        store.update("live", &mut |_| Some(Item { count: Some(1), ..Item::default() })).unwrap();
        for i in 0..2000 {
            let item = Item { count: Some(i), expires_at: Some(1_000_000_000), ..Item::default() };
            store.update(&format!("old{i}"), &mut |_| Some(item.clone())).unwrap();
        }
        assert!(store.len() < 2001, "expired items were swept");
        assert_eq!(store.get("live").unwrap().and_then(|i| i.count), Some(1));
        store.update("live", &mut |_| None).unwrap();
        assert_eq!(store.get("live").unwrap(), None);
    }
}
