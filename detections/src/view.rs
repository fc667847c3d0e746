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

use std::cell::{Cell, OnceCell, RefCell};
use std::ops::Range;

use serde_json::Value;

use crate::event::{Event, Path, Seg, walk};
use crate::json::{self, Kind};
use crate::value::Val;

/// Keys longer than this share one bucket (key lengths index the buckets).
const LONG_KEY: usize = 48;

/// The children of one object node (or of the event itself), by key length.
#[derive(Debug, Default)]
struct Children {
    nodes: Vec<u32>,
    by_len: Vec<Vec<u32>>,
}

impl Children {
    fn add(&mut self, node: u32, key: &str) {
        self.nodes.push(node);
        let len = key.len().min(LONG_KEY);
        if self.by_len.len() <= len {
            self.by_len.resize_with(len + 1, Vec::new);
        }
        self.by_len[len].push(node);
    }

    /// The child with exactly this key.
    #[inline]
    fn exact(&self, nodes: &[Node], key: &str) -> Option<u32> {
        let bucket = self.by_len.get(key.len().min(LONG_KEY))?;
        bucket.iter().copied().find(|&n| nodes[n as usize].key == key)
    }
}

#[derive(Debug)]
struct Node {
    key: &'static str,
    parent: Option<u32>,
    children: Children,
}

/// The key paths a log type's rules read, as a trie of keys, and a table from path hash to the
/// node of its longest all-keys prefix.
#[derive(Debug)]
pub struct FieldTable {
    nodes: Vec<Node>,
    root: Children,
    /// Open addressing on the path hash: (hash, node, how many leading segments the node covers).
    paths: Vec<(u64, u32, u32)>,
}

const NO_NODE: u32 = u32::MAX;

impl FieldTable {
    pub fn new<'p>(paths: impl IntoIterator<Item = &'p Path>) -> FieldTable {
        let mut table = FieldTable { nodes: Vec::new(), root: Children::default(), paths: Vec::new() };
        let mut entries = Vec::new();
        for path in paths {
            let mut parent: Option<u32> = None;
            let mut covered = 0;
            for seg in path.segs {
                let Seg::Key(key) = seg else { break };
                let siblings = match parent {
                    None => &table.root,
                    Some(p) => &table.nodes[p as usize].children,
                };
                let node = match siblings.exact(&table.nodes, key) {
                    Some(n) => n,
                    None => {
                        let n = table.nodes.len() as u32;
                        table.nodes.push(Node { key, parent, children: Children::default() });
                        match parent {
                            None => table.root.add(n, key),
                            Some(p) => table.nodes[p as usize].children.add(n, key),
                        }
                        n
                    }
                };
                parent = Some(node);
                covered += 1;
            }
            if let Some(node) = parent {
                entries.push((path.hash, node, covered));
            }
        }
        let capacity = (entries.len() * 2).next_power_of_two().max(8);
        table.paths = vec![(0, NO_NODE, 0); capacity];
        for (hash, node, covered) in entries {
            let mut i = hash as usize & (capacity - 1);
            while table.paths[i].1 != NO_NODE && table.paths[i].0 != hash {
                i = (i + 1) & (capacity - 1);
            }
            table.paths[i] = (hash, node, covered);
        }
        table
    }

    /// The node for `path`'s longest all-keys prefix, and how many segments it covers.
    #[inline]
    fn lookup(&self, path: &Path) -> Option<(u32, usize)> {
        let mask = self.paths.len() - 1;
        let mut i = path.hash as usize & mask;
        loop {
            let (hash, node, covered) = self.paths[i];
            if node == NO_NODE {
                return None;
            }
            if hash == path.hash {
                return Some((node, covered as usize));
            }
            i = (i + 1) & mask;
        }
    }

    /// The number of key nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// A node's value in the text, once found.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Unresolved,
    Missing,
    Null,
    Bool(bool),
    Number { start: u32, end: u32 },
    /// The inside of a string (without quotes).
    Str { start: u32, end: u32, escaped: bool },
    Object { start: u32, end: u32 },
    Array { start: u32, end: u32 },
}

/// A member of an object in the text.
#[derive(Clone, Debug)]
struct Member {
    key: Range<u32>,
    key_escaped: bool,
    value: Range<u32>,
    kind: Kind,
}

/// Buffers a thread reuses from event to event, so that evaluating an event allocates nothing
/// (unless a rule reads an escaped string, a whole object or list, or a path no rule declared).
#[derive(Default)]
pub struct Scratch {
    /// The event's members, then the members of each object node whose children were needed.
    members: RefCell<Vec<Member>>,
    top_members: usize,
    /// Per node: the generation its slot belongs to, and the slot.
    slots: Vec<Cell<(u32, Slot)>>,
    /// Per node: the generation in which its children were matched, and where its members are.
    scanned: Vec<Cell<(u32, u32, u32)>>,
    generation: u32,
    strings: Vec<OnceCell<String>>,
    values: Vec<OnceCell<Value>>,
    /// Which of `strings` and `values` hold something, to clear them for the next event.
    touched: RefCell<Vec<u32>>,
    whole: OnceCell<Value>,
    /// The rules an event matched: reused by the engine.
    pub(crate) matched: Vec<&'static crate::rule::Rule>,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// Validates `text` (one JSON object) and records its top-level members: the first step of
    /// reading an event, before [`View::new`].
    pub fn scan(&mut self, text: &str) -> Result<(), json::DocumentError> {
        let members = self.members.get_mut();
        members.clear();
        let result = json::top_level(text, |key, key_escaped, value, kind| {
            members.push(Member { key: narrow(key), key_escaped, value: narrow(value), kind });
        });
        self.top_members = members.len();
        result
    }

    /// The string at a top-level key of the text last scanned (e.g. `p_log_type`).
    pub fn top_level_str<'t>(&self, text: &'t str, key: &str) -> Option<&'t str> {
        let members = self.members.borrow();
        let m = choose(text, &members[..self.top_members], key)?;
        match m.kind {
            Kind::String { escaped: false } => Some(&text[m.value.start as usize + 1..m.value.end as usize - 1]),
            _ => None,
        }
    }
}

fn narrow(r: Range<usize>) -> Range<u32> {
    r.start as u32..r.end as u32
}

/// One event's text, read through a [`FieldTable`].
pub struct View<'a> {
    text: &'a str,
    table: &'a FieldTable,
    scratch: &'a Scratch,
    generation: u32,
}

impl<'a> View<'a> {
    /// A view of `text`, which was just [`Scratch::scan`]ned into `scratch`.
    pub fn new(text: &'a str, table: &'a FieldTable, scratch: &'a mut Scratch) -> View<'a> {
        assert!(text.len() < u32::MAX as usize, "events are smaller than 4 GiB");
        let n = table.len();
        // A new generation invalidates every slot at once.
        scratch.generation = scratch.generation.wrapping_add(1);
        if scratch.generation == 0 || scratch.slots.len() < n {
            scratch.generation = 1;
            scratch.slots.clear();
            scratch.slots.resize_with(n, || Cell::new((0, Slot::Unresolved)));
            scratch.scanned.clear();
            scratch.scanned.resize_with(n + 1, || Cell::new((0, 0, 0)));
        }
        for i in scratch.touched.get_mut().drain(..) {
            drop(scratch.strings.get_mut(i as usize).and_then(OnceCell::take));
            drop(scratch.values.get_mut(i as usize).and_then(OnceCell::take));
        }
        if scratch.strings.len() < n {
            scratch.strings.resize_with(n, OnceCell::new);
            scratch.values.resize_with(n, OnceCell::new);
        }
        drop(scratch.whole.take());
        let top = scratch.top_members;
        scratch.members.get_mut().truncate(top);
        View { text, table, generation: scratch.generation, scratch }
    }

    /// The text of the event.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The event as a `serde_json::Value` (parsed on first use).
    pub fn value(&self) -> &'a Value {
        self.scratch.whole.get_or_init(|| serde_json::from_str(self.text).expect("validated JSON"))
    }

    /// The members of the object at `node` (`None`: the event), scanned once per event.
    fn members_of(&self, node: Option<u32>) -> Option<Range<usize>> {
        let Some(node) = node else { return Some(0..self.scratch.top_members) };
        let cell = &self.scratch.scanned[node as usize];
        let (generation, start, end) = cell.get();
        if generation == self.generation {
            return Some(start as usize..end as usize);
        }
        let Slot::Object { start, end } = self.resolve(node) else { return None };
        let mut members = self.scratch.members.borrow_mut();
        let from = members.len();
        json::members(self.text, start as usize..end as usize, |key, key_escaped, value, kind| {
            members.push(Member { key: narrow(key), key_escaped, value: narrow(value), kind });
        });
        cell.set((self.generation, from as u32, members.len() as u32));
        Some(from..members.len())
    }

    fn resolve(&self, node: u32) -> Slot {
        let cell = &self.scratch.slots[node as usize];
        let (generation, known) = cell.get();
        if generation == self.generation {
            return known;
        }
        let n = &self.table.nodes[node as usize];
        let slot = match self.members_of(n.parent) {
            None => Slot::Missing,
            Some(range) => {
                let members = self.scratch.members.borrow();
                choose(self.text, &members[range], n.key).map_or(Slot::Missing, |m| slot_of(m.value.clone(), m.kind))
            }
        };
        cell.set((self.generation, slot));
        slot
    }

    fn val(&self, node: u32) -> Val<'a> {
        let range = |start: u32, end: u32| &self.text[start as usize..end as usize];
        match self.resolve(node) {
            Slot::Unresolved | Slot::Missing => Val::Missing,
            Slot::Null => Val::Null,
            Slot::Bool(b) => Val::Bool(b),
            Slot::Number { start, end } => json::number(range(start, end)).map_or(Val::Missing, Val::Num),
            Slot::Str { start, end, escaped: false } => Val::Str(range(start, end)),
            Slot::Str { start, end, escaped: true } => {
                let cell = &self.scratch.strings[node as usize];
                if cell.get().is_none() {
                    self.scratch.touched.borrow_mut().push(node);
                }
                Val::Str(cell.get_or_init(|| json::unescape(range(start, end))))
            }
            Slot::Object { start, end } | Slot::Array { start, end } => {
                let cell = &self.scratch.values[node as usize];
                if cell.get().is_none() {
                    self.scratch.touched.borrow_mut().push(node);
                }
                Val::from(cell.get_or_init(|| serde_json::from_str(range(start, end)).expect("validated JSON")))
            }
        }
    }
}

/// The member named `key`: the exact key (its last occurrence), else the first key equal to it
/// ignoring ASCII case (with that key's last occurrence), as a `serde_json` map looks it up.
fn choose<'m>(text: &str, members: &'m [Member], key: &str) -> Option<&'m Member> {
    let mut exact = None;
    let mut folded: Option<&Member> = None;
    for m in members {
        // Escapes make a key shorter, never longer: a longer key cannot be this one.
        let len = (m.key.end - m.key.start) as usize;
        if len < key.len() || (!m.key_escaped && len != key.len()) {
            continue;
        }
        let name = name_of(text, m);
        if *name == *key {
            exact = Some(m);
        } else if exact.is_none() && name.eq_ignore_ascii_case(key) {
            match folded {
                None => folded = Some(m),
                Some(first) if name == name_of(text, first) => folded = Some(m),
                Some(_) => {}
            }
        }
    }
    exact.or(folded)
}

fn name_of<'t>(text: &'t str, m: &Member) -> std::borrow::Cow<'t, str> {
    let raw = &text[m.key.start as usize..m.key.end as usize];
    if m.key_escaped { json::unescape(raw).into() } else { raw.into() }
}

fn slot_of(value: Range<u32>, kind: Kind) -> Slot {
    let (start, end) = (value.start, value.end);
    match kind {
        Kind::Null => Slot::Null,
        Kind::Bool(b) => Slot::Bool(b),
        Kind::Number => Slot::Number { start, end },
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
        agree(r#"{"items": [{"id": 1}, {"x": 2}, {"ID": "three"}], "requestParameters": {"a": [1, {"b": null}]}}"#, &[]);
        agree(r#"{"eventName": "esc\"aped\u00e9", "us\u0065rIdentity": {"type": "e"}}"#, &[]);
        agree(r#"{"eventN\u0061me": "escaped key", "eventName": "plain"}"#, &[]);
        agree(r#"{"n": -0, "eventName": null, "userIdentity": {"sessionContext": {"sessionIssuer": {"userName": "r"}}}}"#, &[]);
        agree(r#"{"n": 18446744073709551615}"#, &[]);
        let undeclared = Path::new(&[Key("other"), Key("deep")]);
        agree(r#"{"other": {"deep": true}}"#, &[undeclared]);
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        let mut scratch = Scratch::new();
        assert!(scratch.scan(r#"{"a": 1,}"#).is_err());
        assert!(matches!(scratch.scan("[1]"), Err(json::DocumentError::NotAnObject(Kind::Array))));
        let text = r#"{"p_log_type": "AWS.CloudTrail", "P_LOG_TYPE": "x"}"#;
        scratch.scan(text).unwrap();
        assert_eq!(scratch.top_level_str(text, "p_log_type"), Some("AWS.CloudTrail"));
    }

    #[test]
    fn scratch_is_reused_between_events() {
        let table = FieldTable::new(PATHS);
        let mut scratch = Scratch::new();
        for name in ["a", "b", "c", "d\\n"] {
            let text = format!(r#"{{"eventName": "{name}", "requestParameters": {{"k": "{name}"}}, "userIdentity": {{"type": "{name}"}}}}"#);
            scratch.scan(&text).unwrap();
            let view = View::new(&text, &table, &mut scratch);
            let expected: Value = serde_json::from_str(&format!(r#""{name}""#)).unwrap();
            assert_eq!(view.field(&PATHS[0]).to_json(), expected);
            assert_eq!(view.field(&PATHS[1]).to_json(), expected);
            assert_eq!(view.field(&PATHS[5]).to_json(), json!({"k": expected}));
        }
    }
}
