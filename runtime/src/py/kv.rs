//! `panther_detection_helpers.caching` (version 1.0.2), the key-value store helpers, over a
//! [`StateStore`]: each function reads and writes the store as its DynamoDB calls read and
//! write Panther's table, raises what it raises (in the same order: argument checks, then the
//! table, then the values it sends), and returns the Python value it returns.
//!
//! Owns which store compiled code reaches: the one the engine evaluating on this thread
//! installed ([`enter`]), or none at all while a test case runs ([`without_store`]), where
//! every call that reaches the table raises `NoRegionError`, as under `pat test` (which has no
//! AWS region, hence no DynamoDB). Must not: keep state of its own; expiry follows
//! `crate::store` (an item at or past its `expiresAt` on the store's clock is gone).
//!
//! Two results are `decimal.Decimal` in Panther (`get_counter` and `increment_counter` once the
//! counter exists): the compiler accepts these two only where their value is not used.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

use super::{Exc, Obj, R};
use crate::store::{Item, MemoryStore, StateStore};

/// The default TTL of the helpers: 90 days.
const DEFAULT_TTL: i64 = 90 * 24 * 60 * 60;
/// DynamoDB's largest item, in bytes.
const MAX_ITEM_BYTES: usize = 400 * 1024;

#[derive(Clone)]
enum Backend {
    Store(Arc<dyn StateStore>),
    /// `pat test`: no region, so no table.
    Unreachable,
}

thread_local! {
    static CURRENT: RefCell<Option<Backend>> = const { RefCell::new(None) };
}

/// The store of code that runs outside an engine and outside a test case.
static DEFAULT: LazyLock<Arc<dyn StateStore>> = LazyLock::new(|| Arc::new(MemoryStore::new()));

/// Makes `store` the one compiled rules on this thread reach (the engine calls it before each
/// event; it costs a comparison when the store is already in place).
pub fn enter(store: &Arc<dyn StateStore>) {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if let Some(Backend::Store(s)) = &*current
            && std::ptr::addr_eq(Arc::as_ptr(s), Arc::as_ptr(store))
        {
            return;
        }
        *current = Some(Backend::Store(store.clone()));
    });
}

/// Runs `f` as `pat test` runs a test case: no store is reachable, so a helper that reaches
/// the table raises `NoRegionError: You must specify a region.` (catchable, as in Python).
pub fn without_store<T>(f: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|c| c.replace(Some(Backend::Unreachable)));
    let out = f();
    CURRENT.with(|c| *c.borrow_mut() = previous);
    out
}

/// `kv_table()`: the store, or what boto3 raises without a region.
fn table() -> R<Arc<dyn StateStore>> {
    match CURRENT.with(|c| c.borrow().clone()) {
        Some(Backend::Store(s)) if s.reachable() => Ok(s),
        None => Ok(DEFAULT.clone()),
        Some(Backend::Store(_) | Backend::Unreachable) => {
            Err(Exc::new("NoRegionError", "You must specify a region."))
        }
    }
}

/// A store failure: the rule errors (nothing in the rule may catch it and go on differently).
fn failed(e: crate::store::StoreError) -> Exc {
    Exc { internal: true, ..Exc::new("StoreError", format!("the key-value store failed: {e}")) }
}

/// What DynamoDB would refuse (the rule would get a `ClientError` in Panther): raised as an
/// error no `except` catches, never a different answer.
fn refused(what: &str) -> Exc {
    Exc::unsupported(format!("the key-value store refuses {what}"))
}

/// The table's key: DynamoDB's key attribute is a non-empty string.
fn key_of(key: &Obj<'_>) -> R<String> {
    match key {
        Obj::Str(s) if !s.as_str().is_empty() => Ok(s.as_str().to_string()),
        Obj::Str(_) => Err(refused("an empty key")),
        other => Err(refused(&format!("a key of type '{}'", other.type_name()))),
    }
}

/// The item under `key` unless it has expired on the store's clock.
fn live(store: &dyn StateStore, key: &str) -> R<Option<Item>> {
    let now = store.now();
    Ok(store.get(key).map_err(failed)?.filter(|i| !i.expired(now)))
}

/// Reads and rewrites the live item under `key` (an expired one reads as absent).
fn update(store: &dyn StateStore, key: &str, mut f: impl FnMut(Option<Item>) -> Item) -> R<()> {
    let now = store.now();
    store
        .update(key, &mut |current| {
            let item = f(current.filter(|i| !i.expired(now)));
            // An item left without columns or expiry reads as absent everywhere: drop it.
            (!item.is_empty() || item.expires_at.is_some()).then_some(item)
        })
        .map_err(failed)
}

/// `int(datetime.now().timestamp())`.
fn now_seconds(store: &dyn StateStore) -> i64 {
    store.now().trunc() as i64
}

/// `_finalize_epoch_seconds(epoch_seconds)`: a string is read as a float, a float truncated,
/// anything else but an integer means 90 days from now, and a value below 1,000,000,000 is
/// relative to now. Needs the clock only, not the table (so it can run before `kv_table()`).
fn finalize(epoch: &Obj<'_>, now: impl Fn() -> i64) -> R<i64> {
    let mut e = epoch.clone();
    if matches!(e, Obj::Str(_)) {
        e = super::float(&e)?;
    }
    if matches!(e, Obj::Float(_)) {
        e = super::int(&e, None)?;
    }
    let seconds = match e {
        Obj::Int(i) => i,
        Obj::Bool(b) => i64::from(b),
        _ => return Ok(now() + DEFAULT_TTL),
    };
    Ok(if seconds < 1_000_000_000 { now() + seconds } else { seconds })
}

/// The clock of the store compiled code reaches (the wall clock in a test case, where
/// `_finalize_epoch_seconds` runs before the table is reached).
fn clock() -> i64 {
    match CURRENT.with(|c| c.borrow().clone()) {
        Some(Backend::Store(s)) => now_seconds(&*s),
        None => now_seconds(&**DEFAULT),
        Some(Backend::Unreachable) => crate::store::wall_clock().trunc() as i64,
    }
}

/// `set(val)`: its members in first-seen order (CPython's `TypeError`s for what is not
/// iterable or not hashable).
fn members<'e>(val: &Obj<'e>) -> R<Vec<Obj<'e>>> {
    let mut out: Vec<Obj<'e>> = Vec::new();
    for x in super::iter(val)? {
        super::hashable(&x)?;
        if !out.iter().any(|o| super::eq(o, &x)) {
            out.push(x);
        }
    }
    Ok(out)
}

/// The members of a string set as DynamoDB takes them (strings only), checked when the
/// request is made, after the table is reached.
fn strings(members: &[Obj<'_>]) -> R<Vec<String>> {
    members
        .iter()
        .map(|m| match m {
            Obj::Str(s) => Ok(s.as_str().to_string()),
            other => Err(refused(&format!("a set member of type '{}'", other.type_name()))),
        })
        .collect()
}

fn set_of<'e>(members: Vec<String>) -> Obj<'e> {
    Obj::Set(std::rc::Rc::new(RefCell::new(members.into_iter().map(Obj::string).collect())))
}

/// `{val} if isinstance(val, str) else set(val)`, as `add_to_string_set` and
/// `remove_from_string_set` take it (before anything else).
fn one_or_many<'e>(val: &Obj<'e>) -> R<Vec<Obj<'e>>> {
    match val {
        Obj::Str(_) => Ok(vec![val.clone()]),
        other => members(other),
    }
}

/// Whether DynamoDB's `Attr("expiresAt").gte(int(now))` holds for the live item.
fn ttl_condition(item: &Option<Item>, now: i64) -> bool {
    item.as_ref().and_then(|i| i.expires_at).is_some_and(|e| e >= now)
}

/// `get_string_set(key, force_ttl_check=False)`: the set, or an empty one.
pub fn get_string_set<'e>(key: &Obj<'e>, _force_ttl_check: &Obj<'e>) -> R<Obj<'e>> {
    let store = table()?;
    let key = key_of(key)?;
    let item = live(&*store, &key)?;
    Ok(set_of(item.and_then(|i| i.string_set).unwrap_or_default()))
}

/// `put_string_set(key, val, epoch_seconds=None)`: replaces the item (an empty `val` removes
/// the set instead, as `reset_string_set`).
pub fn put_string_set<'e>(key: &Obj<'e>, val: &Obj<'e>, epoch_seconds: &Obj<'e>) -> R<Obj<'e>> {
    if !super::truthy(val) {
        return reset_string_set(key);
    }
    let store = table()?;
    let members = members(val)?;
    let expires = finalize(epoch_seconds, || now_seconds(&*store))?;
    let key = key_of(key)?;
    let members = strings(&members)?;
    update(&*store, &key, |_| Item {
        string_set: Some(members.clone()),
        expires_at: Some(expires),
        ..Item::default()
    })?;
    Ok(Obj::None)
}

/// `reset_string_set(key)`: removes the set (the item's other columns stay).
pub fn reset_string_set<'e>(key: &Obj<'e>) -> R<Obj<'e>> {
    let store = table()?;
    let key = key_of(key)?;
    update(&*store, &key, |item| Item { string_set: None, ..item.unwrap_or_default() })?;
    Ok(Obj::None)
}

/// `add_to_string_set(key, val, epoch_seconds=90 days)`: the set after adding.
pub fn add_to_string_set<'e>(key: &Obj<'e>, val: &Obj<'e>, epoch_seconds: &Obj<'e>) -> R<Obj<'e>> {
    let added = one_or_many(val)?;
    if added.is_empty() {
        return get_string_set(key, &Obj::Bool(true));
    }
    let expires = match epoch_seconds {
        Obj::None => None,
        e => Some(finalize(e, clock)?),
    };
    let store = table()?;
    let key = key_of(key)?;
    let added = strings(&added)?;
    // Both of the helper's updates (with the TTL condition, then without) add the members and
    // set the TTL when one is given; they differ in nothing the helper returns.
    let mut result = Vec::new();
    update(&*store, &key, |item| {
        let mut item = item.unwrap_or_default();
        let mut set = item.string_set.take().unwrap_or_default();
        for m in &added {
            if !set.contains(m) {
                set.push(m.clone());
            }
        }
        result = set.clone();
        item.string_set = Some(set);
        if expires.is_some() {
            item.expires_at = expires;
        }
        item
    })?;
    Ok(set_of(result))
}

/// `remove_from_string_set(key, val, epoch_seconds=90 days)`: the set after removing; when the
/// item has no live TTL, the helper resets the set instead and returns an empty one.
pub fn remove_from_string_set<'e>(key: &Obj<'e>, val: &Obj<'e>, epoch_seconds: &Obj<'e>) -> R<Obj<'e>> {
    let removed = one_or_many(val)?;
    if removed.is_empty() {
        return get_string_set(key, &Obj::Bool(true));
    }
    if !epoch_seconds.is_none() {
        finalize(epoch_seconds, clock)?;
    }
    let store = table()?;
    // The conditional update sets the TTL from `epoch_seconds` even when it is None (then 90
    // days from now): the helper passes it to `_finalize_epoch_seconds` unconditionally.
    let expires = finalize(epoch_seconds, || now_seconds(&*store))?;
    let now = now_seconds(&*store);
    let key = key_of(key)?;
    let removed = strings(&removed)?;
    let mut result = Vec::new();
    update(&*store, &key, |item| {
        let conditional = ttl_condition(&item, now);
        let mut item = item.unwrap_or_default();
        if conditional {
            let set: Vec<String> = item
                .string_set
                .take()
                .unwrap_or_default()
                .into_iter()
                .filter(|m| !removed.contains(m))
                .collect();
            result = set.clone();
            item.string_set = (!set.is_empty()).then_some(set);
            item.expires_at = Some(expires);
        } else {
            result.clear();
            item.string_set = None;
        }
        item
    })?;
    Ok(set_of(result))
}

/// `get_dictionary(key, force_ttl_check=False)`: the dictionary, or `{}`.
pub fn get_dictionary<'e>(key: &Obj<'e>, _force_ttl_check: &Obj<'e>) -> R<Obj<'e>> {
    let store = table()?;
    let key = key_of(key)?;
    let text = live(&*store, &key)?.and_then(|i| i.dictionary).unwrap_or_default();
    if text.is_empty() {
        return Obj::dict(Vec::new());
    }
    super::stdlib::json_loads(&[Obj::string(text)]).map_err(|e| match e.kind {
        "json.JSONDecodeError" => Exc::value_error(
            "panther_oss_helpers.get_dictionary: Data found in DynamoDB could not be decoded into JSON",
        ),
        _ => e,
    })
}

/// `put_dictionary(key, val, epoch_seconds=None)`: replaces the item with `json.dumps(val)`.
pub fn put_dictionary<'e>(key: &Obj<'e>, val: &Obj<'e>, epoch_seconds: &Obj<'e>) -> R<Obj<'e>> {
    if super::ops::kind(val) != super::ops::Kind::Dict {
        return Err(Exc::type_error("panther_oss_helpers.put_dictionary: value is not a dictionary"));
    }
    let data = match super::stdlib::json_dumps(val) {
        Ok(Obj::Str(s)) => s.as_str().to_string(),
        Ok(_) => unreachable!("json.dumps gives a string"),
        Err(e) if e.kind == "TypeError" => {
            return Err(Exc::value_error(
                "panther_oss_helpers.put_dictionary: value is a dictionary, but it is not JSON serializable",
            ));
        }
        Err(e) => return Err(e),
    };
    let store = table()?;
    let expires = finalize(epoch_seconds, || now_seconds(&*store))?;
    let key = key_of(key)?;
    if data.len() + key.len() > MAX_ITEM_BYTES {
        return Err(refused("an item larger than 400 KB"));
    }
    update(&*store, &key, |_| Item {
        dictionary: Some(data.clone()),
        expires_at: Some(expires),
        ..Item::default()
    })?;
    Ok(Obj::None)
}

/// `increment_counter(key, val=1, epoch_seconds=90 days)`: the counter after adding `val`.
/// (Panther returns `val` itself when the item had no live TTL, else the new count as a
/// `decimal.Decimal`; compiled code may only discard it.)
pub fn increment_counter(key: &Obj<'_>, val: &Obj<'_>, epoch_seconds: &Obj<'_>) -> R<i64> {
    if !epoch_seconds.is_none() {
        finalize(epoch_seconds, clock)?;
    }
    let store = table()?;
    let Obj::Int(by) = *val else {
        return Err(refused(&format!("a counter increment of type '{}'", val.type_name())));
    };
    let expires_conditional = finalize(epoch_seconds, || now_seconds(&*store))?;
    let expires = match epoch_seconds {
        Obj::None => None,
        e => Some(finalize(e, || now_seconds(&*store))?),
    };
    let now = now_seconds(&*store);
    let key = key_of(key)?;
    let mut result = by;
    let mut overflow = false;
    update(&*store, &key, |item| {
        let conditional = ttl_condition(&item, now);
        let mut item = item.unwrap_or_default();
        let Some(count) = item.count.unwrap_or(0).checked_add(by) else {
            overflow = true;
            return item;
        };
        item.count = Some(count);
        if conditional {
            result = count;
            item.expires_at = Some(expires_conditional);
        } else {
            result = by;
            if expires.is_some() {
                item.expires_at = expires;
            }
        }
        item
    })?;
    if overflow {
        return Err(Exc::overflow());
    }
    Ok(result)
}

/// `get_counter(key, force_ttl_check=False)`: the count, 0 when there is none (Panther
/// returns the stored count as a `decimal.Decimal`; compiled code may only discard it).
pub fn get_counter(key: &Obj<'_>, _force_ttl_check: &Obj<'_>) -> R<i64> {
    let store = table()?;
    let key = key_of(key)?;
    Ok(live(&*store, &key)?.and_then(|i| i.count).unwrap_or(0))
}

/// `reset_counter(key)`: removes the counter (the item's other columns stay).
pub fn reset_counter<'e>(key: &Obj<'e>) -> R<Obj<'e>> {
    let store = table()?;
    let key = key_of(key)?;
    update(&*store, &key, |item| Item { count: None, ..item.unwrap_or_default() })?;
    Ok(Obj::None)
}

/// `set_key_expiration(key, epoch_seconds)`: sets the item's TTL (creating an empty item).
pub fn set_key_expiration<'e>(key: &Obj<'e>, epoch_seconds: &Obj<'e>) -> R<Obj<'e>> {
    let store = table()?;
    let expires = finalize(epoch_seconds, || now_seconds(&*store))?;
    let key = key_of(key)?;
    update(&*store, &key, |item| Item { expires_at: Some(expires), ..item.unwrap_or_default() })?;
    Ok(Obj::None)
}

/// `evaluate_threshold(key, threshold=10, expiry_seconds=3600)`: counts one more; at the
/// threshold, resets the counter and returns `True`.
pub fn evaluate_threshold<'e>(key: &Obj<'e>, threshold: &Obj<'e>, expiry_seconds: &Obj<'e>) -> R<Obj<'e>> {
    let count = increment_counter(key, &Obj::Int(1), expiry_seconds)?;
    // `Decimal >= x` (or `int >= x`) for the numbers; other thresholds are not modelled.
    if !matches!(threshold, Obj::Int(_) | Obj::Float(_) | Obj::Bool(_)) {
        return Err(Exc::unsupported(format!(
            "evaluate_threshold with a threshold of type '{}'",
            threshold.type_name()
        )));
    }
    if super::ge(&Obj::Int(count), threshold)? {
        reset_counter(key)?;
        return Ok(Obj::Bool(true));
    }
    Ok(Obj::Bool(false))
}

/// `check_account_age(key)`: whether a non-empty string set is stored under a non-empty
/// string key (what the indicator rules write for new accounts and users).
pub fn check_account_age<'e>(key: &Obj<'e>) -> R<Obj<'e>> {
    match key {
        Obj::Str(s) if !s.as_str().is_empty() => {
            let set = get_string_set(key, &Obj::Bool(true))?;
            Ok(Obj::Bool(super::truthy(&set)))
        }
        _ => Ok(Obj::Bool(false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &'static str) -> Obj<'static> {
        Obj::str(x)
    }

    fn with_clock<T>(clock: fn() -> f64, f: impl FnOnce(&Arc<dyn StateStore>) -> T) -> T {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::with_clock(clock));
        enter(&store);
        let out = f(&store);
        CURRENT.with(|c| *c.borrow_mut() = None);
        out
    }

    fn t0() -> f64 {
        1_700_000_000.5
    }

    #[test]
    fn string_sets_round_trip_and_expire() {
        with_clock(t0, |store| {
            assert_eq!(super::super::repr(&get_string_set(&s("k"), &Obj::Bool(false)).unwrap()), "set()");
            let val = Obj::list(vec![s("b"), s("a"), s("b")]);
            put_string_set(&s("k"), &val, &Obj::Int(3600)).unwrap();
            let got = get_string_set(&s("k"), &Obj::Bool(false)).unwrap();
            assert_eq!(super::super::repr(&got), "{'b', 'a'}");
            let item = store.get("k").unwrap().unwrap();
            assert_eq!(item.expires_at, Some(1_700_000_000 + 3600), "relative to int(now)");
            assert_eq!(check_account_age(&s("k")).unwrap().as_str(), None);
            assert!(matches!(check_account_age(&s("k")).unwrap(), Obj::Bool(true)));
            assert!(matches!(check_account_age(&s("")).unwrap(), Obj::Bool(false)));
            assert!(matches!(check_account_age(&Obj::Int(1)).unwrap(), Obj::Bool(false)));
            // An absolute expiry in the past: gone at once.
            put_string_set(&s("old"), &Obj::list(vec![s("x")]), &s("1600000000")).unwrap();
            assert!(matches!(check_account_age(&s("old")).unwrap(), Obj::Bool(false)));
            // An empty value removes the set.
            put_string_set(&s("k"), &Obj::list(vec![]), &Obj::None).unwrap();
            assert_eq!(super::super::repr(&get_string_set(&s("k"), &Obj::Bool(true)).unwrap()), "set()");
        });
    }

    #[test]
    fn add_and_remove_follow_the_ttl_condition() {
        with_clock(t0, |_| {
            let added = add_to_string_set(&s("k"), &s("a"), &Obj::Int(DEFAULT_TTL)).unwrap();
            assert_eq!(super::super::repr(&added), "{'a'}");
            let added = add_to_string_set(&s("k"), &Obj::list(vec![s("b")]), &Obj::None).unwrap();
            assert_eq!(super::super::repr(&added), "{'a', 'b'}");
            let left = remove_from_string_set(&s("k"), &s("a"), &Obj::Int(60)).unwrap();
            assert_eq!(super::super::repr(&left), "{'b'}");
            // Without a live TTL the helper resets the set and returns an empty one.
            put_dictionary(&s("d"), &Obj::dict(vec![]).unwrap(), &Obj::None).unwrap();
            add_to_string_set(&s("nottl"), &s("a"), &Obj::None).unwrap();
            let left = remove_from_string_set(&s("nottl"), &s("zzz"), &Obj::None).unwrap();
            assert_eq!(super::super::repr(&left), "set()");
            assert_eq!(super::super::repr(&get_string_set(&s("nottl"), &Obj::Bool(true)).unwrap()), "set()");
        });
    }

    #[test]
    fn dictionaries_are_json_text() {
        with_clock(t0, |_| {
            let d = Obj::dict(vec![(s("city"), Obj::Int(3)), (s("f"), Obj::Float(1.5))]).unwrap();
            put_dictionary(&s("d"), &d, &Obj::None).unwrap();
            let got = get_dictionary(&s("d"), &Obj::Bool(false)).unwrap();
            assert_eq!(super::super::repr(&got), "{'city': 3, 'f': 1.5}");
            assert_eq!(super::super::repr(&get_dictionary(&s("none"), &Obj::Bool(false)).unwrap()), "{}");
            let e = put_dictionary(&s("d"), &Obj::list(vec![]), &Obj::None).unwrap_err();
            assert_eq!(
                e.to_string(),
                "TypeError: panther_oss_helpers.put_dictionary: value is not a dictionary"
            );
            let bad = Obj::dict(vec![(s("s"), Obj::set(vec![s("x")]).unwrap())]).unwrap();
            let e = put_dictionary(&s("d"), &bad, &Obj::None).unwrap_err();
            assert_eq!(e.kind, "ValueError");
        });
    }

    #[test]
    fn counters_return_val_until_the_ttl_exists() {
        with_clock(t0, |_| {
            assert_eq!(get_counter(&s("c"), &Obj::Bool(false)).unwrap(), 0);
            assert_eq!(increment_counter(&s("c"), &Obj::Int(1), &Obj::Int(DEFAULT_TTL)).unwrap(), 1);
            assert_eq!(increment_counter(&s("c"), &Obj::Int(2), &Obj::Int(DEFAULT_TTL)).unwrap(), 3);
            assert_eq!(get_counter(&s("c"), &Obj::Bool(false)).unwrap(), 3);
            // Without a TTL the helper's conditional update fails: it returns `val`.
            assert_eq!(increment_counter(&s("n"), &Obj::Int(5), &Obj::None).unwrap(), 5);
            assert_eq!(increment_counter(&s("n"), &Obj::Int(5), &Obj::None).unwrap(), 5);
            assert_eq!(get_counter(&s("n"), &Obj::Bool(false)).unwrap(), 10);
            for _ in 0..2 {
                assert!(matches!(
                    evaluate_threshold(&s("t"), &Obj::Int(3), &Obj::Int(3600)).unwrap(),
                    Obj::Bool(false)
                ));
            }
            assert!(matches!(
                evaluate_threshold(&s("t"), &Obj::Int(3), &Obj::Int(3600)).unwrap(),
                Obj::Bool(true)
            ));
            assert!(matches!(
                evaluate_threshold(&s("t"), &Obj::Int(3), &Obj::Int(3600)).unwrap(),
                Obj::Bool(false)
            ));
            reset_counter(&s("c")).unwrap();
            assert_eq!(get_counter(&s("c"), &Obj::Bool(false)).unwrap(), 0);
        });
    }

    #[test]
    fn epoch_seconds_as_panther_finalizes_them() {
        let now = || 1_700_000_000;
        assert_eq!(finalize(&Obj::None, now).unwrap(), 1_700_000_000 + DEFAULT_TTL);
        assert_eq!(finalize(&Obj::Int(60), now).unwrap(), 1_700_000_060);
        assert_eq!(finalize(&Obj::Bool(true), now).unwrap(), 1_700_000_001);
        assert_eq!(finalize(&s("1800000000.9"), now).unwrap(), 1_800_000_000);
        assert_eq!(finalize(&Obj::Float(12.7), now).unwrap(), 1_700_000_012);
        assert_eq!(finalize(&Obj::list(vec![]), now).unwrap(), 1_700_000_000 + DEFAULT_TTL);
        assert_eq!(finalize(&s("soon"), now).unwrap_err().kind, "ValueError");
    }

    #[test]
    fn pat_test_has_no_table() {
        without_store(|| {
            let e = get_string_set(&s("k"), &Obj::Bool(false)).unwrap_err();
            assert_eq!(e.to_string(), "NoRegionError: You must specify a region.");
            assert!(e.is_instance(&["Exception"]));
            // Checks that come before the table still come first.
            assert!(matches!(check_account_age(&s("")).unwrap(), Obj::Bool(false)));
            assert_eq!(put_dictionary(&s("k"), &Obj::Int(1), &Obj::None).unwrap_err().kind, "TypeError");
            assert_eq!(increment_counter(&s("k"), &Obj::Int(1), &s("x")).unwrap_err().kind, "ValueError");
            assert_eq!(add_to_string_set(&s("k"), &Obj::Int(1), &Obj::None).unwrap_err().kind, "TypeError");
        });
        // An engine given `NoStore` behaves alike.
        let none: Arc<dyn StateStore> = Arc::new(crate::store::NoStore);
        enter(&none);
        let e = put_string_set(&s("k"), &s("v"), &Obj::None).unwrap_err();
        assert_eq!(e.to_string(), "NoRegionError: You must specify a region.");
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}
