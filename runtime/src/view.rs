//! The fast event representation: one validating pass over the bytes that picks out the fields
//! the rules read, and decodes them only when read, without allocating.
//!
//! Owns [`FieldTable`] (the key paths the rules read, as a trie of keys), the per-thread
//! [`Scratch`] reused from event to event, and [`View`], which implements [`Event`] over what
//! the pass found. During the pass each member's key is matched against the trie: exact key
//! first, else the first key equal ignoring ASCII case; a repeated key keeps its last value,
//! exactly as the `serde_json::Value` path does (the tests compare the two).
//! Objects and arrays a rule reads as a whole (list comprehensions, `[*]`, alert context) are
//! read in place ([`Val::Raw`]), or parsed into a `serde_json::Value` on demand when they hold
//! escapes, as are paths no rule declared.
//! Must not: evaluate conditions (see `value`) or choose rules (see `engine`).

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::ops::Range;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

use serde_json::{Map, Value};

use crate::event::{Event, Path, Seg, walk};
use crate::json::{self, EVENT, Fill, Kind};
use crate::value::Val;
use crate::words::{Ends, WHOLE};

#[inline]
fn address_hash(path: &Path) -> usize {
    ((path as *const Path as usize as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize
}

/// One key of a declared path: a node of the trie.
#[derive(Debug)]
struct Node {
    key: &'static str,
    /// The key's words, to compare a member's key without a call to `memcmp`.
    ends: Ends,
    /// [`NO_NODE`] at the top.
    parent: u32,
    children: Vec<u32>,
}

const NO_NODE: u32 = u32::MAX;

/// The nodes one member of an object may feed: the keys equal ignoring ASCII case at one place
/// in the trie (`userIdentity` and `useridentity` are two nodes, since exact keys win, but one
/// group). Group 0 is the event itself.
#[derive(Debug, Default)]
struct Group {
    /// The first key (they are all equal ignoring case).
    key: &'static str,
    nodes: Vec<u32>,
    /// The groups one level down.
    children: Vec<u32>,
}

/// Where a group's children are in [`FieldTable::entries`]: a small open-addressing table whose
/// multiplier was chosen for no collisions at all where one was found (then a member's key is
/// settled by its home slot alone), else for fewest. Also what [`Fill::value`] needs of the
/// group, so that the pass's targets are group numbers and one load serves both.
#[derive(Clone, Copy, Debug)]
struct Index {
    seed: u64,
    shift: u32,
    start: u32,
    /// A power of two (the groups without children share one table of empty slots).
    len: u32,
    /// Whether no two children share a home slot.
    perfect: bool,
    /// The group's only node, or [`NO_NODE`] when it has several spellings.
    node: u32,
}

/// A slot of a group's index: what the pass needs to settle a member, in one place.
#[derive(Clone, Copy, Debug)]
struct Entry {
    ends: Ends,
    /// The key's length when its [`Ends`] are all of it (up to [`WHOLE`] bytes), else
    /// [`EMPTY`]: one compare with the member's length, then its words, settles an exact key.
    whole_len: u32,
    /// The key's length, or [`EMPTY`].
    len: u32,
    group: u32,
    /// The group's only node, or [`NO_NODE`] when it has several spellings.
    node: u32,
    /// The node's parent when the pass must check that the member being read is that parent's
    /// (it is implied when the parent's group has one node: the pass entered this object only
    /// because that node took it), else [`NO_NODE`].
    check_parent: u32,
    /// Whether some node of the group has children: then an object value is entered.
    descend: bool,
}

const EMPTY: u32 = u32::MAX;

/// Every byte's 0x20 bit: keys equal ignoring ASCII case differ in these bits only.
const CASE_BITS: u64 = 0x2020_2020_2020_2020;

impl Index {
    #[inline]
    fn home(self, ends: Ends, len: usize) -> usize {
        // Case-folded (the 0x20 bits set), so that spellings equal ignoring case share a home.
        let mixed = (ends.head | CASE_BITS)
            ^ (ends.tail | CASE_BITS).rotate_left(29)
            ^ (ends.mid | CASE_BITS).rotate_left(43)
            ^ len as u64;
        (mixed.wrapping_mul(self.seed) >> self.shift) as usize
    }
}

impl Entry {
    /// Whether `key` (of `ends`) may equal this entry's key ignoring ASCII case: same length,
    /// and its words differ at most in the 0x20 bits (a necessary condition only).
    #[inline]
    fn may_fold(&self, ends: Ends, len: usize) -> bool {
        self.len as usize == len
            && ((self.ends.head ^ ends.head) | (self.ends.tail ^ ends.tail) | (self.ends.mid ^ ends.mid))
                & !CASE_BITS
                == 0
    }
}

/// The key paths some rules read, as a trie of keys grouped by case-folded key, with a flat
/// index from (group, member key) to the next group, and a table from path to the node of its
/// longest all-keys prefix.
#[derive(Debug)]
pub struct FieldTable {
    nodes: Vec<Node>,
    groups: Vec<Group>,
    /// Per group: where its children are in `entries`.
    indexes: Vec<Index>,
    entries: Vec<Entry>,
    /// Every declared path by its address (generated paths are statics), then by its keys:
    /// (path, node, how many leading segments the node covers). Open addressing.
    by_address: Vec<Option<(&'static Path, u32, u32)>>,
    by_segs: Vec<Option<(&'static Path, u32, u32)>>,
    /// This table's number, unique in the process, under which a [`Path`] remembers its node
    /// here (its memo); [`UNNUMBERED`] when the numbers ran out.
    id: u32,
}

/// The id of tables that leave paths' memos alone (once 2³² − 2 tables were made): no memo ever
/// holds it, and no path's initial memo (0) matches a table.
const UNNUMBERED: u32 = u32::MAX;

/// The next table's id: from 1, so that a memo of 0 is no table's.
static NEXT_TABLE: AtomicU32 = AtomicU32::new(1);

impl FieldTable {
    pub fn new(paths: impl IntoIterator<Item = &'static Path>) -> FieldTable {
        let mut table = FieldTable {
            nodes: Vec::new(),
            groups: vec![Group::default()],
            indexes: Vec::new(),
            entries: Vec::new(),
            by_address: Vec::new(),
            by_segs: Vec::new(),
            id: NEXT_TABLE
                .fetch_update(Relaxed, Relaxed, |n| n.checked_add(1).filter(|&next| next <= UNNUMBERED))
                .unwrap_or(UNNUMBERED),
        };
        let mut declared = Vec::new();
        for path in paths {
            let (mut group, mut parent) = (0, NO_NODE);
            let mut covered = 0;
            for seg in path.segs {
                let Seg::Key(key) = seg else { break };
                group = table.group_below(group, key);
                parent = table.node_in(group, parent, key);
                covered += 1;
            }
            if parent != NO_NODE {
                declared.push((path, parent, covered));
            }
        }
        table.index_groups();
        let capacity = (declared.len() * 2).next_power_of_two().max(8);
        table.by_address = vec![None; capacity];
        table.by_segs = vec![None; capacity];
        for (path, node, covered) in declared {
            let entry = Some((path, node, covered));
            let mut i = address_hash(path) & (capacity - 1);
            while let Some((other, ..)) = table.by_address[i] {
                if std::ptr::eq(other, path) {
                    break;
                }
                i = (i + 1) & (capacity - 1);
            }
            table.by_address[i] = entry;
            let mut i = path.hash as usize & (capacity - 1);
            while let Some((other, ..)) = table.by_segs[i] {
                if other.segs == path.segs {
                    break;
                }
                i = (i + 1) & (capacity - 1);
            }
            table.by_segs[i] = entry;
            if covered as usize == path.segs.len() {
                table.remember(path, node);
            }
        }
        table
    }

    /// Makes `path` remember that its node in this table is `node` (a path of keys only).
    #[inline]
    fn remember(&self, path: &Path, node: u32) {
        if self.id != UNNUMBERED {
            path.memo.store(u64::from(self.id) << 32 | u64::from(node), Relaxed);
        }
    }

    /// The group for `key` one level below `group`, created if new.
    fn group_below(&mut self, group: usize, key: &'static str) -> usize {
        let groups = &self.groups;
        let existing =
            groups[group].children.iter().find(|&&g| groups[g as usize].key.eq_ignore_ascii_case(key));
        if let Some(&g) = existing {
            return g as usize;
        }
        let g = self.groups.len();
        self.groups.push(Group { key, ..Group::default() });
        self.groups[group].children.push(g as u32);
        g
    }

    /// The node of `group` with exactly `key` under `parent`, created if new.
    fn node_in(&mut self, group: usize, parent: u32, key: &'static str) -> u32 {
        let nodes = &self.nodes;
        let existing = self.groups[group]
            .nodes
            .iter()
            .find(|&&n| nodes[n as usize].parent == parent && nodes[n as usize].key == key);
        if let Some(&n) = existing {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.nodes.push(Node { key, ends: Ends::of(key.as_bytes()), parent, children: Vec::new() });
        self.groups[group].nodes.push(n);
        if parent != NO_NODE {
            self.nodes[parent as usize].children.push(n);
        }
        n
    }

    /// Builds every group's index of its children: collision-free where one of 64 multipliers
    /// at one of up to three table sizes gives one, else with fewest collisions (linear probing).
    fn index_groups(&mut self) {
        let empty = Entry {
            ends: Ends::default(),
            whole_len: EMPTY,
            len: EMPTY,
            group: 0,
            node: NO_NODE,
            check_parent: NO_NODE,
            descend: false,
        };
        // The groups without children share a table of empty slots: no special case in the pass.
        const MIN_BITS: u32 = 3;
        self.entries = vec![empty; 1 << MIN_BITS];
        let mut seeds = [0_u64; 64];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for seed in &mut seeds {
            // SplitMix64: odd multipliers with well-mixed high bits.
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *seed = (z ^ (z >> 31)) | 1;
        }
        for g in 0..self.groups.len() {
            let node = match self.groups[g].nodes[..] {
                [n] => n,
                _ => NO_NODE,
            };
            let children: Vec<Entry> = self.groups[g].children.iter().map(|&c| self.entry(g, c)).collect();
            if children.is_empty() {
                let shift = 64 - MIN_BITS;
                self.indexes.push(Index {
                    seed: 1,
                    shift,
                    start: 0,
                    len: 1 << MIN_BITS,
                    perfect: true,
                    node,
                });
                continue;
            }
            let least = (children.len() * 4).next_power_of_two().trailing_zeros().max(MIN_BITS);
            let mut best: Option<(usize, Index, Vec<Entry>)> = None;
            // Larger tables only for small levels (up to 1,024 slots), so as not to spread a
            // level's keys over many cache lines.
            let most = if least >= 10 { least } else { (least + 2).min(10) };
            'sizes: for bits in least..=most {
                for &seed in &seeds {
                    let start = self.entries.len() as u32;
                    let index = Index { seed, shift: 64 - bits, start, len: 1 << bits, perfect: false, node };
                    let mut slots = vec![empty; 1 << bits];
                    let mut collisions = 0;
                    for child in &children {
                        let mut i = index.home(child.ends, child.len as usize);
                        while slots[i].len != EMPTY {
                            collisions += 1;
                            i = (i + 1) & (slots.len() - 1);
                        }
                        slots[i] = *child;
                    }
                    // Among tables with collisions, the smallest table with fewest.
                    if best.as_ref().is_none_or(|(c, ..)| collisions < *c) {
                        best = Some((collisions, Index { perfect: collisions == 0, ..index }, slots));
                    }
                    if collisions == 0 {
                        break 'sizes;
                    }
                }
            }
            let (_, index, slots) = best.expect("seeds were tried");
            self.indexes.push(index);
            self.entries.extend(slots);
        }
    }

    /// The entry for `group`, a child of `above`.
    fn entry(&self, above: usize, group: u32) -> Entry {
        let g = &self.groups[group as usize];
        let (node, check_parent) = match g.nodes[..] {
            [n] => {
                // The node's parent is one of `above`'s nodes (none at the top).
                let implied = above == 0 || self.groups[above].nodes.len() == 1;
                (n, if implied { NO_NODE } else { self.nodes[n as usize].parent })
            }
            _ => (NO_NODE, NO_NODE),
        };
        let len = g.key.len();
        Entry {
            ends: Ends::of(g.key.as_bytes()),
            whole_len: if len <= WHOLE { len as u32 } else { EMPTY },
            len: len as u32,
            group,
            node,
            check_parent,
            descend: !g.children.is_empty(),
        }
    }

    /// The entry of the group one level below `group` whose key equals `key` ignoring ASCII
    /// case, and whether `key` is spelt exactly as the group's first key: the general probe,
    /// for what the home slot alone does not settle (see [`Pass::member`]).
    #[inline(never)]
    fn child(&self, group: u32, key: &[u8]) -> Option<(u32, bool)> {
        let index = self.indexes[group as usize];
        let ends = Ends::of(key);
        let mask = index.len as usize - 1;
        let mut i = index.home(ends, key.len());
        let slots = &self.entries[index.start as usize..][..index.len as usize];
        loop {
            let entry = &slots[i & mask];
            if entry.len == EMPTY {
                return None;
            }
            let at = index.start + (i & mask) as u32;
            if entry.whole_len as usize == key.len() && entry.ends == ends {
                return Some((at, true));
            }
            if entry.may_fold(ends, key.len())
                && let Some(exact) = self.same_key(entry, key)
            {
                return Some((at, exact));
            }
            i += 1;
        }
    }

    /// Whether `key` is the entry's group's key (`Some(true)`), or equal to it ignoring ASCII
    /// case (`Some(false)`).
    fn same_key(&self, entry: &Entry, key: &[u8]) -> Option<bool> {
        let first = self.groups[entry.group as usize].key.as_bytes();
        if key == first {
            Some(true)
        } else if key.eq_ignore_ascii_case(first) {
            Some(false)
        } else {
            None
        }
    }

    /// The node for `path`'s longest all-keys prefix, and how many segments it covers. A
    /// declared path is found by its address, without comparing keys; an equal path from
    /// elsewhere, by its keys.
    #[inline]
    fn lookup(&self, path: &Path) -> Option<(u32, usize)> {
        let mask = self.by_address.len() - 1;
        let mut i = address_hash(path) & mask;
        while let Some((known, node, covered)) = self.by_address[i] {
            if std::ptr::eq(known, path) {
                return Some((node, covered as usize));
            }
            i = (i + 1) & mask;
        }
        let mut i = path.hash as usize & mask;
        loop {
            let (known, node, covered) = self.by_segs[i]?;
            if known.hash == path.hash && known.segs == path.segs {
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

/// A node's value in the text (quotes included).
#[derive(Clone, Copy, Debug)]
struct Slot {
    kind: Kind,
    start: u32,
    end: u32,
}

/// The member the pass chose for a node so far: its key, and whether it equals the node's
/// exactly or only ignoring case.
#[derive(Clone, Copy, Debug)]
struct Pick {
    key: (u32, u32),
    key_escaped: bool,
    exact: bool,
}

/// A node's state in one event; stale (from an earlier event) unless `generation` is current.
#[derive(Clone, Copy, Debug)]
struct Found {
    generation: u32,
    pick: Pick,
    slot: Option<Slot>,
    /// Whether the member being read is this node's (its value is being scanned, or was last).
    chose_last: bool,
}

impl Found {
    fn picked(generation: u32, pick: Pick) -> Found {
        Found { generation, pick, slot: None, chose_last: true }
    }
}

/// Buffers a thread reuses from event to event, so that evaluating an event allocates nothing
/// (unless a rule reads an escaped string, a whole object or list, or a path no rule declared).
#[derive(Default)]
pub struct Scratch {
    found: Vec<Found>,
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

    /// Validates `bytes` (one JSON object) and finds the fields of `table` in one pass.
    pub fn read<'a>(
        &'a mut self,
        bytes: &'a [u8],
        table: &'a FieldTable,
    ) -> Result<View<'a>, json::DocumentError> {
        let n = table.len();
        // A new generation makes every node stale at once.
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 || self.found.len() < n {
            self.generation = 1;
            self.found.clear();
            self.found.resize(n, Found::picked(0, Pick { key: (0, 0), key_escaped: false, exact: false }));
        }
        for i in self.touched.get_mut().drain(..) {
            drop(self.strings.get_mut(i as usize).and_then(OnceCell::take));
            drop(self.values.get_mut(i as usize).and_then(OnceCell::take));
        }
        if self.strings.len() < n {
            self.strings.resize_with(n, OnceCell::new);
            self.values.resize_with(n, OnceCell::new);
        }
        drop(self.whole.take());
        let mut pass = Pass { table, found: &mut self.found, generation: self.generation };
        let text = json::document(bytes, &mut pass)?;
        Ok(View { text, table, scratch: self })
    }
}

/// The matching of keys against the trie during the pass. The targets it hands the scanner are
/// group numbers (the scanner's [`EVENT`] is group 0).
struct Pass<'a> {
    table: &'a FieldTable,
    found: &'a mut [Found],
    generation: u32,
}

impl Pass<'_> {
    /// Forgets what was found under `node`: a later member replaces the one it came from.
    fn forget_below(&mut self, node: u32) {
        for &child in &self.table.nodes[node as usize].children {
            self.found[child as usize].generation = 0;
            self.forget_below(child);
        }
    }

    /// Whether the member being read is the one `parent`'s value came from.
    #[inline]
    fn inside(&self, parent: u32) -> bool {
        parent == NO_NODE || {
            let p = &self.found[parent as usize];
            p.generation == self.generation && p.chose_last
        }
    }

    /// Offers the member with `key` (at `span`) to every node of the entry's group: the general
    /// case, for groups with several spellings, keys not spelt as the group's first, repeated
    /// keys and escaped keys.
    fn offer(
        &mut self,
        text: &[u8],
        entry: u32,
        key: &[u8],
        span: (u32, u32),
        key_escaped: bool,
    ) -> Option<(u32, bool)> {
        let table = self.table;
        let entry = &table.entries[entry as usize];
        let ends = Ends::of(key);
        let mut chosen = false;
        for &node in &table.groups[entry.group as usize].nodes {
            if self.take(node, span, key_escaped, text, (key, ends)) {
                chosen = true;
            }
        }
        chosen.then_some((entry.group, entry.descend))
    }

    /// Whether `node` takes the member with `key` (at `span`), by Panther's lookup: the exact key
    /// wins (its last occurrence), else the first key equal ignoring case (its last occurrence).
    #[inline]
    fn take(
        &mut self,
        node: u32,
        span: (u32, u32),
        key_escaped: bool,
        text: &[u8],
        (key, ends): (&[u8], Ends),
    ) -> bool {
        let n = &self.table.nodes[node as usize];
        let exact = n.key.len() == key.len()
            && if key.len() <= WHOLE { n.ends == ends } else { *key == *n.key.as_bytes() };
        let inside = self.inside(n.parent);
        let found = &self.found[node as usize];
        let current = found.generation == self.generation;
        let takes = inside
            && (!current
                || exact
                || (!found.pick.exact && *name(text, found.pick.key, found.pick.key_escaped) == *key));
        if takes {
            if current {
                self.forget_below(node);
            }
            self.found[node as usize] =
                Found::picked(self.generation, Pick { key: span, key_escaped, exact });
        } else if current {
            self.found[node as usize].chose_last = false;
        }
        takes
    }

    /// Rare: a key with escapes, decoded (allocating) to compare.
    #[cold]
    fn escaped_member(&mut self, text: &[u8], group: u32, span: (u32, u32)) -> Option<(u32, bool)> {
        let key = name(text, span, true);
        let (entry, _) = self.table.child(group, &key)?;
        self.offer(text, entry, &key, span, true)
    }

    /// What the home slot did not settle: a probe past it, another spelling, a repeated key, a
    /// member of an object whose parent has several spellings.
    #[inline(never)]
    fn member_slow(&mut self, text: &[u8], group: u32, span: (u32, u32)) -> Option<(u32, bool)> {
        let key = &text[span.0 as usize..span.1 as usize];
        let (at, exact) = self.table.child(group, key)?;
        let entry = &self.table.entries[at as usize];
        let node = entry.node;
        if exact && node != NO_NODE && self.found[node as usize].generation != self.generation {
            if !self.inside(entry.check_parent) {
                return None;
            }
            let pick = Pick { key: span, key_escaped: false, exact: true };
            self.found[node as usize] = Found::picked(self.generation, pick);
            return Some((entry.group, entry.descend));
        }
        self.offer(text, at, key, span, false)
    }
}

fn name<'t>(text: &'t [u8], key: (u32, u32), escaped: bool) -> Cow<'t, [u8]> {
    let raw = &text[key.0 as usize..key.1 as usize];
    if escaped {
        Cow::Owned(json::unescape(std::str::from_utf8(raw).unwrap_or_default()).into_bytes())
    } else {
        Cow::Borrowed(raw)
    }
}

impl Fill for Pass<'_> {
    /// The targets are group numbers (group 0 is the event).
    ///
    /// Every member of every object the rules read into comes here, so the common cases are
    /// settled by the key's home slot in a collision-free index: a key no rule reads (an empty
    /// slot, or another key there), and a key spelt as its group's only node, seen for the first
    /// time, which is recorded here. The rest goes out of line ([`Pass::member_slow`]).
    #[inline(always)]
    fn member(
        &mut self,
        text: &[u8],
        object: u32,
        key: Range<usize>,
        key_escaped: bool,
    ) -> Option<(u32, bool)> {
        let table = self.table;
        let group = if object == EVENT { 0 } else { object };
        let span = (key.start as u32, key.end as u32);
        if key_escaped {
            return self.escaped_member(text, group, span);
        }
        let key = &text[key];
        let index = table.indexes[group as usize];
        if index.perfect {
            let ends = Ends::of(key);
            let at = index.start as usize + index.home(ends, key.len());
            let entry = &table.entries[at];
            if entry.whole_len as usize == key.len() && entry.ends == ends {
                let node = entry.node;
                if node != NO_NODE
                    && self.found[node as usize].generation != self.generation
                    && self.inside(entry.check_parent)
                {
                    let pick = Pick { key: span, key_escaped: false, exact: true };
                    self.found[node as usize] = Found::picked(self.generation, pick);
                    return Some((entry.group, entry.descend));
                }
                // Several spellings, a repeated key, a member of a parent's other spelling.
                return self.offer(text, at as u32, key, span, false);
            }
            // Neither the key there nor another spelling of it: no rule's.
            if !entry.may_fold(ends, key.len()) {
                return None;
            }
        }
        self.member_slow(text, group, span)
    }

    #[inline(always)]
    fn value(&mut self, target: u32, value: Range<usize>, kind: Kind) {
        let slot = Slot { kind, start: value.start as u32, end: value.end as u32 };
        let table = self.table;
        let node = table.indexes[target as usize].node;
        if node != NO_NODE {
            self.found[node as usize].slot = Some(slot);
            return;
        }
        for &node in &table.groups[target as usize].nodes {
            let found = &mut self.found[node as usize];
            if found.generation == self.generation && found.chose_last {
                found.slot = Some(slot);
            }
        }
    }
}

impl<'a> View<'a> {
    /// [`Event::field`] without the memo: by the table's index of paths.
    #[inline(never)]
    fn field_looked_up(&self, path: &Path) -> Val<'a> {
        match self.table.lookup(path) {
            Some((node, covered)) if covered == path.segs.len() => {
                self.table.remember(path, node);
                self.val(node)
            }
            Some((node, covered)) => walk(self.val(node), &path.segs[covered..]),
            None => Val::from(self.value()).field(path),
        }
    }
}

/// One event's text and the fields the pass found in it.
pub struct View<'a> {
    text: &'a str,
    table: &'a FieldTable,
    scratch: &'a Scratch,
}

impl<'a> View<'a> {
    /// The text of the event.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The event as a `serde_json::Value` (parsed on first use).
    pub fn value(&self) -> &'a Value {
        self.scratch.whole.get_or_init(|| serde_json::from_str(self.text).expect("validated JSON"))
    }

    #[inline(always)]
    fn slot(&self, node: u32) -> Option<Slot> {
        let found = &self.scratch.found[node as usize];
        if found.generation == self.scratch.generation { found.slot } else { None }
    }

    /// The value of `node`: a string without escapes (what rules read most) or nothing here,
    /// the rest out of line.
    #[inline(always)]
    fn val(&self, node: u32) -> Val<'a> {
        match self.slot(node) {
            Some(Slot { kind: Kind::String { escaped: false }, start, end }) => {
                Val::Str(self.unquoted(start, end))
            }
            Some(Slot { kind, start, end }) => self.other(node, kind, start, end),
            None => Val::Missing,
        }
    }

    #[inline(never)]
    fn other(&self, node: u32, kind: Kind, start: u32, end: u32) -> Val<'a> {
        match kind {
            Kind::Null => Val::Null,
            Kind::Bool(b) => Val::Bool(b),
            _ => self.decoded(node, kind, &self.text[start as usize..end as usize]),
        }
    }

    /// The text between the quotes of the string at `start..end` of the event's text, which the
    /// pass over this text found (so both ends are quotes, and the range is in the text).
    #[inline]
    fn unquoted(&self, start: u32, end: u32) -> &'a str {
        let (start, end) = (start as usize + 1, end as usize - 1);
        let bytes = &self.text.as_bytes()[start..end];
        debug_assert!(self.text.as_bytes()[start - 1] == b'"' && self.text.as_bytes()[end] == b'"');
        // SAFETY: the text is a `str`, and a range that follows a quote and ends before one
        // starts and ends on character boundaries (a quote is one byte, never part of another
        // character's encoding). The checked slice above keeps it in bounds.
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(bytes)
        }
    }

    fn decoded(&self, node: u32, kind: Kind, text: &'a str) -> Val<'a> {
        match kind {
            Kind::Number => json::number(text).map_or(Val::Missing, Val::Num),
            Kind::String { .. } => {
                let cell = &self.scratch.strings[node as usize];
                if cell.get().is_none() {
                    self.scratch.touched.borrow_mut().push(node);
                }
                Val::Str(cell.get_or_init(|| json::unescape(&text[1..text.len() - 1])))
            }
            // Read in place unless a backslash means some string in it must be decoded.
            Kind::Object | Kind::Array if !text.contains('\\') => Val::Raw(text),
            _ => {
                let cell = &self.scratch.values[node as usize];
                if cell.get().is_none() {
                    self.scratch.touched.borrow_mut().push(node);
                }
                Val::from(cell.get_or_init(|| serde_json::from_str(text).expect("validated JSON")))
            }
        }
    }
}

impl Event for View<'_> {
    /// A declared path of keys that this view's table resolved last is one load of its memo;
    /// anything else is looked up (and remembered) out of line. Inlined into the rules, so that
    /// a test of the value found works on it directly.
    #[inline(always)]
    fn field(&self, path: &Path) -> Val<'_> {
        let memo = path.memo.load(Relaxed);
        if (memo >> 32) as u32 == self.table.id {
            return self.val(memo as u32);
        }
        self.field_looked_up(path)
    }

    fn object(&self) -> Option<&Map<String, Value>> {
        self.value().as_object()
    }

    fn members_with_prefix(&self, prefix: &str) -> Vec<(String, Value)> {
        if let Some(whole) = self.scratch.whole.get() {
            return whole.members_with_prefix(prefix);
        }
        let mut found: Vec<(String, Value)> = Vec::new();
        for (key, escaped, value, _) in json::members(self.text) {
            let key = &self.text[key];
            let key = if escaped { Cow::Owned(json::unescape(key)) } else { Cow::Borrowed(key) };
            if !key.starts_with(prefix) {
                continue;
            }
            let value: Value = serde_json::from_str(&self.text[value]).expect("validated JSON");
            // A repeated key keeps its first place and takes the later value, as the parsed map.
            match found.iter_mut().find(|(k, _)| *k == *key) {
                Some((_, v)) => *v = value,
                None => found.push((key.into_owned(), value)),
            }
        }
        found
    }
}

/// The engine's prefilter: which required fields (`Rule::required`) an event lacks, read from
/// what the pass found, without calling the rule.
impl FieldTable {
    /// The node of `path` when it is a declared path of keys only: an id for [`View::found`].
    pub fn key_node(&self, path: &Path) -> Option<u32> {
        match self.lookup(path) {
            Some((node, covered)) if covered == path.segs.len() => Some(node),
            _ => None,
        }
    }
}

impl<'a> View<'a> {
    /// Whether the pass found a value for `node` (from [`FieldTable::key_node`]); when it did
    /// not, the node's path reads as [`Val::Missing`].
    #[inline]
    pub fn found(&self, node: u32) -> bool {
        self.slot(node).is_some()
    }

    /// [`View::found`] for many nodes: what it reads, taken once (so that a loop that calls
    /// rules in between need not load it again).
    #[inline]
    pub fn presence(&self) -> Presence<'a> {
        Presence { found: &self.scratch.found, generation: self.scratch.generation }
    }
}

/// Which nodes the pass over an event found (see [`View::presence`]).
#[derive(Clone, Copy)]
pub struct Presence<'a> {
    found: &'a [Found],
    generation: u32,
}

impl Presence<'_> {
    /// [`View::found`].
    #[inline]
    pub fn has(self, node: u32) -> bool {
        let found = &self.found[node as usize];
        found.generation == self.generation && found.slot.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Seg::{Each, Index, Key};
    use serde_json::json;

    static PATHS: [Path; 7] = [
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
        let table = FieldTable::new(&PATHS);
        let mut scratch = Scratch::new();
        let view = scratch.read(text.as_bytes(), &table).expect("valid");
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
        agree(r#"{"eventN\u0061me": "escaped key", "eventName": "plain"}"#, &[]);
        agree(
            r#"{"n": -0, "eventName": null, "userIdentity": {"sessionContext": {"sessionIssuer": {"userName": "r"}}}}"#,
            &[],
        );
        agree(r#"{"n": 18446744073709551615}"#, &[]);
        // A later member replaces an earlier one with everything found below it.
        agree(
            r#"{"userIdentity": {"sessionContext": {"sessionIssuer": {"userName": "a"}}}, "userIdentity": {"type": "b"}}"#,
            &[],
        );
        agree(r#"{"userIdentity": {"type": "x"}, "USERIDENTITY": {"type": "y"}}"#, &[]);
        agree(
            r#"{"USERIDENTITY": {"type": "y"}, "useridentity": {"type": "z"}, "USERIDENTITY": {"TYPE": "w"}}"#,
            &[],
        );
        agree(r#"{"userIdentity": {"type": "x"}, "userIdentity": "now a string"}"#, &[]);
        agree(r#"{"userIdentity": {"Type": "folded", "type": "exact", "TYPE": "later"}}"#, &[]);
        agree(r#"{"eventNam\u0065": "escaped exact", "EVENTNAME": "folded"}"#, &[]);
        agree(r#"{"EVENTNAM\u0045": "escaped folded", "EVENTNAME": "same spelling, later"}"#, &[]);
        agree(r#"{"": 1, "n": {}, "items": []}"#, &[]);
        let undeclared = Path::new(&[Key("other"), Key("deep")]);
        agree(r#"{"other": {"deep": true}}"#, &[undeclared]);
    }

    /// Rules may spell one key differently: each spelling is looked up on its own.
    #[test]
    fn spellings_of_one_key_are_looked_up_separately() {
        static VARIANTS: [Path; 5] = [
            Path::new(&[Key("userIdentity"), Key("arn")]),
            Path::new(&[Key("useridentity"), Key("arn")]),
            Path::new(&[Key("USERIDENTITY"), Key("ARN")]),
            Path::new(&[Key("userIdentity")]),
            Path::new(&[Key("useridentity")]),
        ];
        let table = FieldTable::new(&VARIANTS);
        for text in [
            r#"{"useridentity": {"arn": "a"}}"#,
            r#"{"userIdentity": {"arn": "a"}, "useridentity": {"arn": "b", "ARN": "c"}}"#,
            r#"{"USERIDENTITY": {"Arn": "x"}, "userIdentity": {"aRN": "a"}, "UserIdentity": {"arn": "z"}}"#,
            r#"{"UserIdentity": {"arn": "1"}, "USERIDENTITY": {"arn": "2"}, "UserIdentity": {"ARN": "3"}}"#,
            r#"{"useridentity": 5, "userIdentity": {"arn": "a"}}"#,
        ] {
            let mut scratch = Scratch::new();
            let view = scratch.read(text.as_bytes(), &table).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            for path in &VARIANTS {
                assert_eq!(view.field(path), value.field(path), "{text}: {:?}", path.segs);
            }
        }
    }

    /// Objects and lists read in place behave as the same values parsed.
    #[test]
    fn containers_read_in_place_behave_as_parsed_ones() {
        static DEEP: [Path; 6] = [
            Path::new(&[Key("requestParameters"), Key("a"), Index(1), Key("b")]),
            Path::new(&[Key("requestParameters"), Key("a"), Index(-1)]),
            Path::new(&[Key("requestParameters"), Key("a"), Index(-9)]),
            Path::new(&[Key("requestParameters"), Key("A")]),
            Path::new(&[Key("requestParameters"), Key("m"), Key("K")]),
            Path::new(&[Key("requestParameters"), Key("l"), Each, Key("id")]),
        ];
        let texts = [
            r#"{"requestParameters": {"a": [1, {"b": null}, "x"], "A": {}, "m": {"k": 1, "K": 2, "k": 3}}}"#,
            r#"{"requestParameters": {"a": [], "A": [ ], "m": {"k": 1, "kk": 2, "k": [3]}, "l": [{"id": 1}, {"ID": 2}, 3]}}"#,
            r#"{"requestParameters": {"a": [{"b": "q"}, {"B": "r", "b": "s"}], "m": {"K ": 0}, "l": []}}"#,
            r#"{"requestParameters": {"A": [1], "a": {"1": 2}, "m": {"k": "esc\"aped"}}}"#,
        ];
        let table = FieldTable::new(PATHS.iter().chain(&DEEP));
        for text in texts {
            let mut scratch = Scratch::new();
            let view = scratch.read(text.as_bytes(), &table).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            for path in PATHS.iter().chain(&DEEP) {
                let (fast, slow) = (view.field(path), value.field(path));
                assert_eq!(fast, slow, "{text}: {:?}", path.segs);
                assert_eq!(fast.is_null_or_empty(), slow.is_null_or_empty(), "{text}: {:?}", path.segs);
                assert_eq!(fast.contains(1_i64), slow.contains(1_i64), "{text}: {:?}", path.segs);
                assert_eq!(fast.contains("x"), slow.contains("x"), "{text}: {:?}", path.segs);
                assert_eq!(fast.has("k"), slow.has("k"), "{text}: {:?}", path.segs);
                assert_eq!(fast.has(1_i64), slow.has(1_i64), "{text}: {:?}", path.segs);
                assert_eq!(fast.icontains("x"), slow.icontains("x"), "{text}: {:?}", path.segs);
                let is_q = |e: &Val| e.field(&Path::new(&[Key("b")])).equals("q");
                assert_eq!(fast.any_element(is_q), slow.any_element(is_q), "{text}: {:?}", path.segs);
                assert_eq!(fast.all_elements(is_q), slow.all_elements(is_q), "{text}: {:?}", path.segs);
                assert_eq!(fast.same_as(&slow), slow.same_as(&slow), "{text}: {:?}", path.segs);
                assert_eq!(fast.to_string(), slow.to_string(), "{text}: {:?}", path.segs);
            }
        }
    }

    /// The `p_any_*` members as the parsed object has them: a repeated key keeps its first place
    /// and its last value, escaped keys are decoded; read from the text or from the parsed event.
    #[test]
    fn members_with_a_prefix_are_those_of_the_parsed_object() {
        let table = FieldTable::new(&PATHS);
        for text in [
            r#"{"p_any_ips": ["1.2.3.4"], "eventName": "x", "p_any_users": {"a": 1}, "p_any_ips": [5], "p_anyx": 1}"#,
            r#"{"p_\u0061ny_ips": [1], "p_any_ips": [2], "P_ANY_IPS": [3], "p_any_": null, "n": {"p_any_deep": [1]}}"#,
            r#"{}"#,
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let expected = value.members_with_prefix("p_any_");
            let mut scratch = Scratch::new();
            let view = scratch.read(text.as_bytes(), &table).unwrap();
            assert_eq!(view.members_with_prefix("p_any_"), expected, "{text}");
            view.value();
            assert_eq!(view.members_with_prefix("p_any_"), expected, "{text} (parsed)");
        }
    }

    /// A path remembers its node in the table that resolved it last; read through another
    /// table (another engine's), it is looked up there and still reads its own field.
    #[test]
    fn paths_read_alike_through_tables_that_number_them_differently() {
        static NAME: Path = Path::new(&[Key("eventName")]);
        static TYPE: Path = Path::new(&[Key("userIdentity"), Key("type")]);
        static ITEMS: Path = Path::new(&[Key("items"), Each, Key("id")]);
        let first = FieldTable::new([&NAME, &TYPE, &ITEMS]);
        let second = FieldTable::new([&ITEMS, &TYPE, &NAME]);
        assert_ne!(first.key_node(&NAME), second.key_node(&NAME));
        let only_type = FieldTable::new([&TYPE]);
        let text = r#"{"eventName": "n", "userIdentity": {"type": "t"}, "items": [{"id": 1}]}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let (mut a, mut b, mut c) = (Scratch::new(), Scratch::new(), Scratch::new());
        let (a, b, c) = (
            a.read(text.as_bytes(), &first).unwrap(),
            b.read(text.as_bytes(), &second).unwrap(),
            c.read(text.as_bytes(), &only_type).unwrap(),
        );
        let equal = Path::new(&[Key("userIdentity"), Key("type")]);
        for _ in 0..3 {
            for view in [&a, &b, &c, &b, &a] {
                for path in [&NAME, &TYPE, &ITEMS, &equal] {
                    assert_eq!(view.field(path), value.field(path), "{:?}", path.segs);
                }
            }
        }
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        let mut scratch = Scratch::new();
        let table = FieldTable::new(&PATHS);
        assert!(scratch.read(br#"{"a": 1,}"#, &table).is_err());
        assert!(matches!(scratch.read(b"[1]", &table), Err(json::DocumentError::NotAnObject(Kind::Array))));
    }

    #[test]
    fn long_keys_that_share_their_ends_are_compared_in_full() {
        // 20-byte keys with the same first and last eight bytes (so the same hash):
        // only the full comparison tells them apart; spellings equal ignoring case still match.
        static LONG: [Path; 3] = [
            Path::new(&[Key("abcdefghMIDDstuvwxyz")]),
            Path::new(&[Key("abcdefghMIDEstuvwxyz")]),
            Path::new(&[Key("ABCDEFGHmidfSTUVWXYZ")]),
        ];
        let table = FieldTable::new(&LONG);
        for text in [
            r#"{"abcdefghMIDDstuvwxyz": 1, "abcdefghMIDEstuvwxyz": 2, "abcdefghMIDFstuvwxyz": 3}"#,
            r#"{"abcdefghMIDXstuvwxyz": 1, "abcdefghmidestuvwxyz": 2, "ABCDEFGHmidfSTUVWXYZ": 3}"#,
            r#"{"ABCDEFGHMIDDSTUVWXYZ": 1, "abcdefghMIDDstuvwxyz": 4, "abcdefghmiddstuvwxyz": 5}"#,
            r#"{"abcdefghMID\u0044stuvwxyz": 1, "abcdefghMIDEstuvwxyZ": 2}"#,
        ] {
            let mut scratch = Scratch::new();
            let view = scratch.read(text.as_bytes(), &table).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            for path in &LONG {
                assert_eq!(view.field(path), value.field(path), "{text}: {:?}", path.segs);
            }
        }
    }

    #[test]
    fn keys_over_the_whole_words_are_compared_in_full() {
        // 17 to 24 bytes are held whole by three words; from 25 bytes, keys equal in their
        // first 16 and last 8 bytes differ in the bytes between, which only the full comparison sees.
        static KEYS: [Path; 4] = [
            Path::new(&[Key("abcdefgh01234567XYZtuvwxyz")]),
            Path::new(&[Key("abcdefgh01234567QRStuvwxyz")]),
            Path::new(&[Key("abcdefgh01234567Xtuvwxyz")]),
            Path::new(&[Key("abcdefgh01234568Xtuvwxyz")]),
        ];
        let table = FieldTable::new(&KEYS);
        for text in [
            r#"{"abcdefgh01234567XYZtuvwxyz": 1, "abcdefgh01234567QRStuvwxyz": 2, "abcdefgh01234567Xtuvwxyz": 3}"#,
            r#"{"abcdefgh01234567ABCtuvwxyz": 1, "ABCDEFGH01234567qrsTUVWXYZ": 2, "abcdefgh01234569Xtuvwxyz": 3}"#,
            r#"{"abcdefgh01234568Xtuvwxyz": 4, "ABCDEFGH01234568XTUVWXYZ": 5, "abcdefgh01234567xtuvwxyz": 6}"#,
        ] {
            let mut scratch = Scratch::new();
            let view = scratch.read(text.as_bytes(), &table).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            for path in &KEYS {
                assert_eq!(view.field(path), value.field(path), "{text}: {:?}", path.segs);
            }
        }
    }

    #[test]
    fn small_levels_are_indexed_without_collisions() {
        // The home-slot path (collision-free levels) and the probing fallback both run in these
        // tests: the small tables here are collision-free, the 300 keys of one object are not.
        let table = FieldTable::new(&PATHS);
        assert!(table.indexes.iter().all(|index| index.perfect));
        let keys: Vec<String> = (0..300).map(|i| format!("key{i}")).collect();
        let paths: Vec<&'static Path> = keys
            .iter()
            .map(|k| &*Box::leak(Box::new(Path::new(Box::leak(Box::new([Key(k.clone().leak())]))))))
            .collect();
        let table = FieldTable::new(paths.iter().copied());
        assert!(!table.indexes[0].perfect);
    }

    #[test]
    fn many_keys_in_one_object_are_found() {
        // Enough keys for probes to collide, and members of every length around the word sizes.
        let keys: Vec<String> = (0..300).map(|i| format!("{}{i}", "k".repeat(i % 19))).collect();
        let paths: Vec<&'static Path> = keys
            .iter()
            .map(|k| {
                &*Box::leak(Box::new(Path::new(Box::leak(Box::new([Key(Box::leak(
                    k.clone().into_boxed_str(),
                ))])))))
            })
            .collect();
        let table = FieldTable::new(paths.iter().copied());
        let members: Vec<String> = keys.iter().step_by(2).map(|k| format!("\"{k}\":\"v{k}\"")).collect();
        let text = format!("{{{},\"other\":1,\"K0\":2}}", members.join(","));
        let mut scratch = Scratch::new();
        let view = scratch.read(text.as_bytes(), &table).expect("valid");
        for (i, (key, path)) in keys.iter().zip(&paths).enumerate() {
            let want = format!("v{key}");
            match view.field(path) {
                Val::Str(s) if i % 2 == 0 => assert_eq!(s, want),
                Val::Missing if i % 2 == 1 => {}
                other => panic!("{key}: {other:?}"),
            }
        }
    }

    #[test]
    fn scratch_is_reused_between_events() {
        let table = FieldTable::new(&PATHS);
        let mut scratch = Scratch::new();
        for name in ["a", "b", "c", "d\\n"] {
            let text = format!(
                r#"{{"eventName": "{name}", "requestParameters": {{"k": "{name}"}}, "userIdentity": {{"type": "{name}"}}}}"#
            );
            let view = scratch.read(text.as_bytes(), &table).unwrap();
            let expected: Value = serde_json::from_str(&format!(r#""{name}""#)).unwrap();
            assert_eq!(view.field(&PATHS[0]).to_json(), expected);
            assert_eq!(view.field(&PATHS[1]).to_json(), expected);
            assert_eq!(view.field(&PATHS[5]).to_json(), json!({"k": expected}));
        }
    }
}
