//! How compiled rules read events: the [`Event`] trait, key [`Path`]s, and the lookup rules of
//! rule-format.md §2 (exact key first, then ASCII case-insensitive in document order; `[n]`
//! indexes, negative from the end; `[*]` projects).
//!
//! Generated matchers read fields only through [`Event::field`], so a faster event representation
//! can implement it without any change to the generated code.
//! Must not: evaluate conditions (see `value`).

use std::fmt;
use std::sync::atomic::AtomicU64;

use serde_json::{Map, Value};

use crate::json;
use crate::value::Val;

/// One step of a key path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A map key: exact match first, else the first key equal ignoring ASCII case.
    Key(&'static str),
    /// A list index; negative counts from the end.
    Index(i64),
    /// `[*]`: the rest of the path under every element of a list.
    Each,
}

/// A key path, as compiled from `Key`, `DeepKey`, `KeyPath` or `Enrichment`, with a hash of its
/// segments (computed at compile time) by which event views find their slot for it.
///
/// Generated paths are `static`s, so each also remembers where it was last found: the field
/// table that resolved it and its node there (see [`crate::view`]). A rule's read of a declared
/// path is then one load of that memo, not a hashed probe; a path read through another table
/// (several engines with different rules in one process) is probed and remembered anew.
pub struct Path {
    pub segs: &'static [Seg],
    pub hash: u64,
    /// `(table id << 32) | node`, or 0 before any table resolved it (no table has id 0).
    pub(crate) memo: AtomicU64,
}

/// Paths are their segments: the memo is a cache.
impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        self.segs == other.segs
    }
}

impl Eq for Path {}

impl std::hash::Hash for Path {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.segs.hash(state)
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Path").field("segs", &self.segs).finish_non_exhaustive()
    }
}

impl Path {
    pub const fn new(segs: &'static [Seg]) -> Path {
        // FNV-1a over the segments, each tagged, keys terminated.
        const PRIME: u64 = 0x0000_0100_0000_01B3;
        let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
        let mut i = 0;
        while i < segs.len() {
            let (tag, bytes): (u8, &[u8]) = match &segs[i] {
                Seg::Key(k) => (1, k.as_bytes()),
                Seg::Index(_) => (2, &[]),
                Seg::Each => (3, &[]),
            };
            hash = (hash ^ tag as u64).wrapping_mul(PRIME);
            let mut j = 0;
            while j < bytes.len() {
                hash = (hash ^ bytes[j] as u64).wrapping_mul(PRIME);
                j += 1;
            }
            if let Seg::Index(n) = segs[i] {
                let le = n.to_le_bytes();
                let mut j = 0;
                while j < 8 {
                    hash = (hash ^ le[j] as u64).wrapping_mul(PRIME);
                    j += 1;
                }
            }
            hash = (hash ^ 0xFF).wrapping_mul(PRIME);
            i += 1;
        }
        Path { segs, hash, memo: AtomicU64::new(0) }
    }
}

/// Anything compiled rules can read fields from.
pub trait Event {
    /// The value at `path`, or [`Val::Missing`].
    fn field(&self, path: &Path) -> Val<'_>;

    /// The whole event as a parsed JSON object, for rules compiled from Python (which may read
    /// any key). `None` when the event is not an object.
    fn object(&self) -> Option<&Map<String, Value>>;

    /// The top-level members whose key starts with `prefix`, as the parsed object holds them:
    /// each key once, in the order of its first occurrence, with its last value. An event view
    /// reads them from its text without building the rest of the event.
    fn members_with_prefix(&self, prefix: &str) -> Vec<(String, Value)> {
        self.object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl Event for Value {
    fn field(&self, path: &Path) -> Val<'_> {
        Val::from(self).field(path)
    }

    fn object(&self) -> Option<&Map<String, Value>> {
        self.as_object()
    }
}

impl Event for Map<String, Value> {
    fn field(&self, path: &Path) -> Val<'_> {
        Val::Map(self).field(path)
    }

    fn object(&self) -> Option<&Map<String, Value>> {
        Some(self)
    }
}

impl Event for Val<'_> {
    fn field(&self, path: &Path) -> Val<'_> {
        Val::field(self, path)
    }

    fn object(&self) -> Option<&Map<String, Value>> {
        match self {
            Val::Map(m) => Some(m),
            _ => None,
        }
    }
}

impl<'a> Val<'a> {
    /// The value at `path` below this one (list comprehensions read element fields this way).
    pub fn field(&self, path: &Path) -> Val<'a> {
        walk(self.clone(), path.segs)
    }
}

/// The value at `segs` below `value`.
pub(crate) fn walk<'a>(mut value: Val<'a>, segs: &[Seg]) -> Val<'a> {
    for (i, seg) in segs.iter().enumerate() {
        value = match (seg, &value) {
            (Seg::Key(key), Val::Map(map)) => lookup(map, key).map_or(Val::Missing, Val::from),
            (Seg::Key(key), Val::Raw(text)) => raw_lookup(text, key),
            (Seg::Index(n), Val::List(items)) => {
                index(items.len(), *n).map_or(Val::Missing, |i| Val::from(&items[i]))
            }
            (Seg::Index(n), Val::Raw(text)) if text.trim_start().starts_with('[') => {
                let len = if *n < 0 { json::elements(text).count() } else { usize::MAX };
                match index(len, *n).and_then(|i| json::elements(text).nth(i)) {
                    Some((range, kind)) => Val::in_text(&text[range], kind),
                    None => Val::Missing,
                }
            }
            (Seg::Index(n), Val::Each(items)) => {
                index(items.len(), *n).map_or(Val::Missing, |i| items[i].clone())
            }
            (Seg::Each, _) => {
                let rest = &segs[i + 1..];
                return match value.elements() {
                    Some(elements) => Val::Each(
                        elements.map(|e| walk(e, rest)).filter(|v| !matches!(v, Val::Missing)).collect(),
                    ),
                    None => Val::Missing,
                };
            }
            _ => Val::Missing,
        };
        if matches!(value, Val::Missing) {
            break;
        }
    }
    value
}

fn index(len: usize, n: i64) -> Option<usize> {
    let i = if n < 0 { i64::try_from(len).ok()? + n } else { n };
    usize::try_from(i).ok().filter(|&i| i < len)
}

/// Looks `key` up as Panther does: the exact key first, then the first key (in document order)
/// that equals it ignoring ASCII case.
pub fn lookup<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    // Events' objects are small: one pass over the keys beats hashing the key.
    if map.len() > 16 {
        return map
            .get(key)
            .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v));
    }
    let mut folded = None;
    for (k, v) in map {
        if k.len() == key.len() {
            if k == key {
                return Some(v);
            }
            if folded.is_none() && k.eq_ignore_ascii_case(key) {
                folded = Some(v);
            }
        }
    }
    folded
}

/// [`lookup`] in an object still in the text (validated, without backslashes): the exact key
/// (its last occurrence), else the first key equal ignoring ASCII case (its last occurrence).
pub(crate) fn raw_lookup<'a>(text: &'a str, key: &str) -> Val<'a> {
    if text.trim_start().starts_with('[') {
        return Val::Missing;
    }
    let (mut exact, mut folded): (Option<_>, Option<(&str, _)>) = (None, None);
    for (k, _, value, kind) in json::members(text) {
        let k = &text[k];
        if k == key {
            exact = Some((value, kind));
        } else if exact.is_none() && k.eq_ignore_ascii_case(key) {
            match folded {
                Some((first, _)) if first != k => {}
                _ => folded = Some((k, (value, kind))),
            }
        }
    }
    match exact.or(folded.map(|(_, v)| v)) {
        Some((range, kind)) => Val::in_text(&text[range], kind),
        None => Val::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Num;
    use serde_json::json;

    const EVENT_NAME: Path = Path::new(&[Seg::Key("eventName")]);
    const ITEMS_IDS: Path = Path::new(&[Seg::Key("items"), Seg::Each, Seg::Key("id")]);

    #[test]
    fn keys_are_case_insensitive_exact_first() {
        let ev = json!({"EVENTNAME": "upper", "eventname": "lower"});
        assert_eq!(ev.field(&EVENT_NAME), Val::Str("upper"));
        let ev = json!({"EVENTNAME": "upper", "eventName": "exact"});
        assert_eq!(ev.field(&EVENT_NAME), Val::Str("exact"));
        let ev = json!({"other": 1});
        assert_eq!(ev.field(&EVENT_NAME), Val::Missing);
    }

    #[test]
    fn null_is_present() {
        let ev = json!({"eventName": null});
        assert_eq!(ev.field(&EVENT_NAME), Val::Null);
    }

    #[test]
    fn indexes_and_projections() {
        let ev = json!({"items": [{"id": 1}, {"name": "x"}, {"id": null}, {"ID": 4}], "l": [10, 20, 30]});
        assert_eq!(
            ev.field(&ITEMS_IDS),
            Val::Each(vec![Val::Num(Num::Int(1)), Val::Null, Val::Num(Num::Int(4))].into())
        );
        let last = Path::new(&[Seg::Key("l"), Seg::Index(-1)]);
        assert_eq!(ev.field(&last), Val::Num(Num::Int(30)));
        let out = Path::new(&[Seg::Key("l"), Seg::Index(3)]);
        assert_eq!(ev.field(&out), Val::Missing);
        let too_negative = Path::new(&[Seg::Key("l"), Seg::Index(-4)]);
        assert_eq!(ev.field(&too_negative), Val::Missing);
        // A projection that finds nothing is an empty list; one over a non-list is missing.
        assert_eq!(json!({"items": [{"a": 1}]}).field(&ITEMS_IDS), Val::Each(vec![].into()));
        assert_eq!(json!({"items": {"id": 1}}).field(&ITEMS_IDS), Val::Missing);
        assert_eq!(json!({}).field(&ITEMS_IDS), Val::Missing);
    }

    #[test]
    fn nested_projections_nest() {
        let ev = json!({"a": [{"b": [1, 2]}, {"b": [3]}, {"c": 0}]});
        let path = Path::new(&[Seg::Key("a"), Seg::Each, Seg::Key("b"), Seg::Each]);
        let one = |i| Val::Num(Num::Int(i));
        assert_eq!(
            ev.field(&path),
            Val::Each(vec![Val::Each(vec![one(1), one(2)].into()), Val::Each(vec![one(3)].into())].into())
        );
    }

    #[test]
    fn scalars_have_no_fields() {
        let ev = json!({"eventName": "x"});
        let deeper = Path::new(&[Seg::Key("eventName"), Seg::Key("y")]);
        assert_eq!(ev.field(&deeper), Val::Missing);
        let idx = Path::new(&[Seg::Key("eventName"), Seg::Index(0)]);
        assert_eq!(ev.field(&idx), Val::Missing);
    }
}
