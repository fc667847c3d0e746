//! The fast event representation: one validating pass over the bytes, and only the fields rules
//! ask for decoded, lazily, without allocating.
//!
//! Owns [`FieldTable`] (the key paths the rules of a log type read, as a trie of keys), the
//! per-thread [`Scratch`] that is reused from event to event, and [`View`], which implements
//! [`Event`] by finding a field in the raw text the first time it is read: members are matched
//! exact key first, then ASCII case-insensitively in document order, and a repeated key keeps its
//! last value, exactly as the `serde_json::Value` path does (the tests compare the two).
//! Objects and arrays a rule reads as a whole (list comprehensions, `[*]`, alert context) are
//! parsed into a `serde_json::Value` on demand, as are paths no rule declared.
//! Must not: evaluate conditions (see `value`) or choose rules (see `engine`).

use std::cell::{Cell, OnceCell};
use std::ops::Range;

use serde_json::Value;

use crate::event::{Event, Path, Seg, walk};
use crate::json::{self, Kind};
use crate::value::{Num, Val};

/// A node of the key trie: the value under `key` of its parent (`None`: the event itself).
#[derive(Debug)]
struct Node {
    parent: Option<u32>,
    key: &'static str,
}

/// The key paths a log type's rules read, as nodes of a trie, and a table from path hash to the
/// node of its longest all-keys prefix.
#[derive(Debug)]
pub struct FieldTable {
    nodes: Vec<Node>,
    /// Open addressing on the path hash: (hash, node, how many leading segments the node covers).
    slots: Vec<(u64, u32, u32)>,
}

const EMPTY: (u64, u32, u32) = (0, u32::MAX, 0);

impl FieldTable {
    pub fn new<'p>(paths: impl IntoIterator<Item = &'p Path>) -> FieldTable {
        let mut nodes: Vec<Node> = Vec::new();
        let mut entries = Vec::new();
        for path in paths {
            let mut parent: Option<u32> = None;
            let mut covered = 0;
            for seg in path.segs {
                let Seg::Key(key) = seg else { break };
                let existing = nodes.iter().position(|n| n.parent == parent && n.key == *key);
                let node = existing.unwrap_or_else(|| {
                    nodes.push(Node { parent, key });
                    nodes.len() - 1
                }) as u32;
                parent = Some(node);
                covered += 1;
            }
            if let Some(node) = parent {
                entries.push((path.hash, node, covered));
            }
        }
        let capacity = (entries.len() * 2).next_power_of_two().max(8);
        let mut slots = vec![EMPTY; capacity];
        for (hash, node, covered) in entries {
            let mut i = hash as usize & (capacity - 1);
            while slots[i].1 != u32::MAX && slots[i].0 != hash {
                i = (i + 1) & (capacity - 1);
            }
            slots[i] = (hash, node, covered);
        }
        FieldTable { nodes, slots }
    }

    /// The node for `path`'s longest all-keys prefix, and how many segments it covers.
    #[inline]
    fn lookup(&self, path: &Path) -> Option<(u32, usize)> {
        let mask = self.slots.len() - 1;
        let mut i = path.hash as usize & mask;
        loop {
            let (hash, node, covered) = self.slots[i];
            if node == u32::MAX {
                return None;
            }
            if hash == path.hash {
                return Some((node, covered as usize));
            }
            i = (i + 1) & mask;
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// A node's value, once found.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Unresolved,
    Missing,
    Null,
    Bool(bool),
    Num(Num),
    /// The inside of a string (without quotes).
    Str {
        start: u32,
        end: u32,
        escaped: bool,
    },
    Object {
        start: u32,
        end: u32,
    },
    Array {
        start: u32,
        end: u32,
    },
}

/// A top-level member of the event.
#[derive(Clone, Debug)]
struct Member {
    key: Range<usize>,
    key_escaped: bool,
    value: Range<usize>,
    kind: Kind,
}

/// Buffers a thread reuses from event to event, so that evaluating an event allocates nothing
/// (unless a rule reads an escaped string, a whole object or list, or a path no rule declared).
#[derive(Default)]
pub struct Scratch {
    members: Vec<Member>,
    slots: Vec<Cell<Slot>>,
    strings: Vec<OnceCell<String>>,
    values: Vec<OnceCell<Value>>,
    whole: OnceCell<Value>,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// Validates `text` (one JSON object) and records its top-level members: the first step of
    /// reading an event, before [`View::new`].
    pub fn scan(&mut self, text: &str) -> Result<(), json::DocumentError> {
        self.members.clear();
        let members = &mut self.members;
        json::top_level(text, |key, key_escaped, value, kind| {
            members.push(Member { key, key_escaped, value, kind })
        })
    }

    /// The string at a top-level key of the text last scanned (e.g. `p_log_type`).
    pub fn top_level_str<'t>(&self, text: &'t str, key: &str) -> Option<&'t str> {
        let members = self.members.iter().map(|m| (m.key.clone(), m.key_escaped, m));
        match choose(text, members, key)? {
            Member { value, kind: Kind::String { escaped: false }, .. } => {
                Some(&text[value.start + 1..value.end - 1])
            }
            _ => None,
        }
    }
}

/// One event's text, read through a [`FieldTable`].
pub struct View<'a> {
    text: &'a str,
    table: &'a FieldTable,
    members: &'a [Member],
    slots: &'a [Cell<Slot>],
    strings: &'a [OnceCell<String>],
    values: &'a [OnceCell<Value>],
    whole: &'a OnceCell<Value>,
}

impl<'a> View<'a> {
    /// A view of `text`, which was just [`Scratch::scan`]ned into `scratch`.
    pub fn new(text: &'a str, table: &'a FieldTable, scratch: &'a mut Scratch) -> View<'a> {
        let n = table.len();
        scratch.slots.clear();
        scratch.slots.resize_with(n, || Cell::new(Slot::Unresolved));
        scratch.strings.iter_mut().for_each(|c| drop(c.take()));
        scratch.strings.resize_with(n, OnceCell::new);
        scratch.values.iter_mut().for_each(|c| drop(c.take()));
        scratch.values.resize_with(n, OnceCell::new);
        drop(scratch.whole.take());
        View {
            text,
            table,
            members: &scratch.members,
            slots: &scratch.slots,
            strings: &scratch.strings,
            values: &scratch.values,
            whole: &scratch.whole,
        }
    }

    /// The text of the event.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The event as a `serde_json::Value` (parsed on first use).
    pub fn value(&self) -> &'a Value {
        self.whole.get_or_init(|| serde_json::from_str(self.text).expect("validated JSON"))
    }

    fn resolve(&self, node: u32) -> Slot {
        let cell = &self.slots[node as usize];
        if let Slot::Unresolved = cell.get() {
            let n = &self.table.nodes[node as usize];
            let found = match n.parent {
                None => choose(
                    self.text,
                    self.members.iter().map(|m| (m.key.clone(), m.key_escaped, (m.value.clone(), m.kind))),
                    n.key,
                )
                .map(|(v, k)| slot(self.text, v, k)),
                Some(parent) => match self.resolve(parent) {
                    Slot::Object { start, end } => {
                        let mut members = Vec::new();
                        json::members(self.text, start as usize..end as usize, |key, esc, value, kind| {
                            members.push((key, esc, (value, kind)));
                        });
                        choose(self.text, members.iter().cloned(), n.key).map(|(v, k)| slot(self.text, v, k))
                    }
                    _ => None,
                },
            };
            cell.set(found.unwrap_or(Slot::Missing));
        }
        cell.get()
    }

    fn val(&self, node: u32) -> Val<'a> {
        match self.resolve(node) {
            Slot::Unresolved | Slot::Missing => Val::Missing,
            Slot::Null => Val::Null,
            Slot::Bool(b) => Val::Bool(b),
            Slot::Num(n) => Val::Num(n),
            Slot::Str { start, end, escaped: false } => Val::Str(&self.text[start as usize..end as usize]),
            Slot::Str { start, end, escaped: true } => Val::Str(
                self.strings[node as usize]
                    .get_or_init(|| json::unescape(&self.text[start as usize..end as usize])),
            ),
            Slot::Object { start, end } | Slot::Array { start, end } => {
                let value = self.values[node as usize].get_or_init(|| {
                    serde_json::from_str(&self.text[start as usize..end as usize]).expect("validated JSON")
                });
                Val::from(value)
            }
        }
    }
}

/// The member named `key`: the exact key (its last occurrence), else the first key equal to it
/// ignoring ASCII case (with that key's last occurrence), as a `serde_json` map looks it up.
fn choose<T>(text: &str, members: impl Iterator<Item = (Range<usize>, bool, T)>, key: &str) -> Option<T> {
    let mut exact = None;
    let mut folded: Option<(Range<usize>, T)> = None;
    for (range, escaped, value) in members {
        let name: std::borrow::Cow<str> =
            if escaped { json::unescape(&text[range.clone()]).into() } else { text[range.clone()].into() };
        if name.len() != key.len() {
            continue;
        }
        if *name == *key {
            exact = Some(value);
        } else if exact.is_none() && name.eq_ignore_ascii_case(key) {
            match &folded {
                None => folded = Some((range, value)),
                Some((first, _)) if text[first.clone()] == text[range.clone()] => {
                    folded = Some((range, value))
                }
                Some(_) => {}
            }
        }
    }
    exact.or(folded.map(|(_, v)| v))
}

fn slot(text: &str, value: Range<usize>, kind: Kind) -> Slot {
    let (start, end) = (value.start as u32, value.end as u32);
    match kind {
        Kind::Null => Slot::Null,
        Kind::Bool(b) => Slot::Bool(b),
        Kind::Number => json::number(&text[value]).map_or(Slot::Missing, Slot::Num),
        Kind::String { escaped } => Slot::Str { start: start + 1, end: end - 1, escaped },
        Kind::Object => Slot::Object { start, end },
        Kind::Array => Slot::Array { start, end },
    }
}

impl Event for View<'_> {
    #[inline]
    fn field(&self, path: &Path) -> Val<'_> {
        match self.table.lookup(path) {
            Some((node, covered)) if covered == path.segs.len() => self.val(node),
            Some((node, covered)) => walk(self.val(node), &path.segs[covered..]),
            None => Val::from(self.value()).field(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Seg::{Each, Index, Key};
    use serde_json::json;

    const PATHS: &[Path] = &[
        Path::new(&[Key("eventName")]),
        Path::new(&[Key("userIdentity"), Key("type")]),
        Path::new(&[Key("userIdentity"), Key("sessionContext"), Key("sessionIssuer"), Key("userName")]),
        Path::new(&[Key("items"), Each, Key("id")]),
        Path::new(&[Key("items"), Index(-1)]),
        Path::new(&[Key("requestParameters")]),
        Path::new(&[Key("n")]),
    ];

    /// Every path reads the same through the view as through `serde_json::Value`.
    fn agree(text: &str, extra: &[Path]) {
        let table = FieldTable::new(PATHS);
        let mut scratch = Scratch::new();
        scratch.scan(text).expect("valid");
        let view = View::new(text, &table, &mut scratch);
        let value: Value = serde_json::from_str(text).unwrap();
        for path in PATHS.iter().chain(extra) {
            assert_eq!(view.field(path), value.field(path), "{text}: {:?}", path.segs);
        }
    }

    #[test]
    fn reads_like_serde_json_values() {
        agree(r#"{"eventName": "StopInstances", "userIdentity": {"type": "IAMUser"}, "n": 1.5}"#, &[]);
        agree(r#"{"EVENTNAME": "a", "eventname": "b"}"#, &[]);
        agree(r#"{"EventName": "a", "eventName": "exact", "EVENTNAME": "c"}"#, &[]);
        agree(r#"{"EventName": "a", "EVENTNAME": "b", "EventName": "c"}"#, &[]);
        agree(r#"{"eventName": "first", "eventName": "last"}"#, &[]);
        agree(r#"{"userIdentity": {"type": "x"}, "userIdentity": {"arn": "y"}}"#, &[]);
        agree(r#"{"userIdentity": "not an object", "items": {"id": 1}}"#, &[]);
        agree(
            r#"{"items": [{"id": 1}, {"x": 2}, {"ID": "three"}], "requestParameters": {"a": [1, {"b": null}]}}"#,
            &[],
        );
        agree(r#"{"eventName": "esc\"aped\u00e9", "us\u0065rIdentity": {"type": "e"}}"#, &[]);
        agree(
            r#"{"n": -0, "eventName": null, "userIdentity": {"sessionContext": {"sessionIssuer": {"userName": "r"}}}}"#,
            &[],
        );
        agree(r#"{"n": 18446744073709551615}"#, &[]);
        let undeclared = Path::new(&[Key("other"), Key("deep")]);
        agree(r#"{"other": {"deep": true}}"#, &[undeclared]);
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        let mut scratch = Scratch::new();
        assert!(scratch.scan(r#"{"a": 1,}"#).is_err());
        assert!(matches!(scratch.scan("[1]"), Err(json::DocumentError::NotAnObject(Kind::Array))));
        scratch.scan(r#"{"p_log_type": "AWS.CloudTrail", "P_LOG_TYPE": "x"}"#).unwrap();
        assert_eq!(
            scratch.top_level_str(r#"{"p_log_type": "AWS.CloudTrail", "P_LOG_TYPE": "x"}"#, "p_log_type"),
            Some("AWS.CloudTrail")
        );
    }

    #[test]
    fn scratch_is_reused_between_events() {
        let table = FieldTable::new(PATHS);
        let mut scratch = Scratch::new();
        for name in ["a", "b", "c"] {
            let text = format!(r#"{{"eventName": "{name}", "requestParameters": {{"k": "{name}"}}}}"#);
            scratch.scan(&text).unwrap();
            let view = View::new(&text, &table, &mut scratch);
            assert_eq!(view.field(&PATHS[0]), Val::Str(name));
            assert_eq!(view.field(&PATHS[5]).to_json(), json!({"k": name}));
        }
    }
}
