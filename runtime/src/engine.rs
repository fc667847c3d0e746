//! The engine: which compiled rules see an event, and what matched.
//!
//! Owns the selection of rules (enabled ones by default; narrowed by rule id, tag, log type or
//! minimum severity), dispatch by log type (given by the caller or read from `p_log_type`),
//! and the typed errors of malformed input. An [`Engine`] is immutable, `Send + Sync`, and
//! cheap to share across threads by reference.
//! Must not: keep state across events (see `alerts`; the only state a rule keeps is what its
//! Python writes to the engine's [`StateStore`], as Panther's caching helpers do), or print.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::event::{Event, Path, Seg};
use crate::json::DocumentError;
use crate::rule::{Discriminator, LogType, Outputs, Rule, Severity};
use crate::store::{MemoryStore, StateStore};
use crate::value::Val;
use crate::view::{FieldTable, Presence, Scratch, View};
use crate::words::{Ends, WHOLE};

/// Why an event could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventError {
    /// Not valid UTF-8 (`valid_up_to` bytes are).
    InvalidUtf8 { valid_up_to: usize },
    /// Not JSON.
    InvalidJson { message: String },
    /// JSON, but not an object.
    NotAnObject { found: &'static str },
    /// No log type was given and the event has no string `p_log_type`.
    NoLogType,
    /// No selected rule handles this log type.
    UnknownLogType { log_type: String },
    /// 4 GiB or more: beyond what the event reader addresses.
    TooLarge { bytes: usize },
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::InvalidUtf8 { valid_up_to } => write!(f, "invalid UTF-8 after byte {valid_up_to}"),
            EventError::InvalidJson { message } => write!(f, "invalid JSON: {message}"),
            EventError::NotAnObject { found } => write!(f, "not a JSON object (found {found})"),
            EventError::NoLogType => f.write_str("no log type: give one, or set `p_log_type` in the event"),
            EventError::UnknownLogType { log_type } => write!(f, "no rule for log type `{log_type}`"),
            EventError::TooLarge { bytes } => {
                write!(f, "event of {bytes} bytes is too large (the limit is 4 GiB)")
            }
        }
    }
}

impl std::error::Error for EventError {}

/// A rule that matched an event, with its alert outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub rule: &'static Rule,
    pub outputs: Outputs,
}

/// What evaluating an event's bytes gave: its log type, the rules it matched with their
/// outputs, and (only when something matched) the event as a `serde_json::Value`.
#[derive(Clone, Debug)]
pub struct Evaluated {
    pub event: Option<Value>,
    pub log_type: String,
    pub matches: Vec<Match>,
    /// Rules compiled from Python whose `rule()` raised on this event: `(RuleID, exception)`
    /// (no match, as in Panther, which records a rule error).
    pub errors: Vec<(&'static str, String)>,
}

/// What evaluating an event's bytes gave, without the event: its log type, the rules it
/// matched with their outputs, and (when something matched) its time, all read from the view the
/// scan built. The caller keeps the bytes: an alert copies them once, when its window opens.
#[derive(Clone, Debug)]
pub struct Scanned {
    pub log_type: &'static str,
    /// The event time ([`crate::time::event_time`]) of a matched event; `None` without one, or
    /// when nothing matched.
    pub time: Option<crate::time::Millis>,
    pub matches: Vec<Match>,
    /// Rules compiled from Python whose `rule()` raised on this event: `(RuleID, exception)`.
    pub errors: Vec<(&'static str, String)>,
}

/// Which rules an engine runs. The default is every enabled rule.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Include disabled rules too.
    pub include_disabled: bool,
    /// Only these rule ids (all when empty).
    pub rule_ids: Vec<String>,
    /// Only rules with at least one of these tags (all when empty).
    pub tags: Vec<String>,
    /// Only rules for these log types (all when empty).
    pub log_types: Vec<String>,
    /// Only rules of at least this severity.
    pub min_severity: Option<Severity>,
}

impl Selection {
    fn admits(&self, rule: &Rule) -> bool {
        let m = &rule.meta;
        (self.include_disabled || m.enabled)
            && (self.rule_ids.is_empty() || self.rule_ids.iter().any(|id| id == m.id))
            && (self.tags.is_empty()
                || m.tags.iter().any(|t| self.tags.iter().any(|s| s.eq_ignore_ascii_case(t))))
            && (self.log_types.is_empty()
                || m.log_types.iter().any(|t| self.log_types.iter().any(|s| s == t)))
            && self.min_severity.is_none_or(|min| m.severity >= min)
    }

    /// Ids asked for that name no rule of `rules`, for a helpful error.
    pub fn unknown_ids(&self, rules: &[&Rule]) -> Vec<String> {
        let known: HashSet<&str> = rules.iter().map(|r| r.meta.id).collect();
        self.rule_ids.iter().filter(|id| !known.contains(id.as_str())).cloned().collect()
    }
}

/// Compiled rules, grouped by the log types they see.
pub struct Engine {
    rules: Vec<&'static Rule>,
    /// By log type, sorted by name: a few, compared by length first.
    by_log_type: Vec<(&'static str, Dispatch)>,
    /// Whether a selected rule is compiled from Python: only those reach the caching helpers'
    /// store and record rule errors (thread-local state, left alone without them).
    python: bool,
    /// The fields any selected rule reads, and `p_log_type`: what the pass over an event finds.
    table: FieldTable,
    /// What Python rules' caching helpers read and write (shared by every thread using this
    /// engine).
    store: Arc<dyn StateStore>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field("log_types", &self.log_types().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One log type's selected rules: those dispatched on a field's value, and the others.
#[derive(Debug)]
struct Dispatch {
    /// The log type's name, to find it by.
    name: Words,
    narrowings: Vec<Narrowing>,
    always: Vec<Candidate>,
}

/// How many of a rule's required fields the prefilter checks (those most likely absent first).
const CHECKED: usize = 3;
const NO_NODE: u32 = u32::MAX;

/// A rule to run, with the view nodes of up to [`CHECKED`] fields it cannot match without
/// (`Rule::required`): when the pass over an event found one of them missing, the rule cannot
/// match and is not called. One load per field from what the pass found, instead of a call
/// into the rule's code and a hashed lookup of its first field.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    rule: &'static Rule,
    /// Padded with [`NO_NODE`].
    required: [u32; CHECKED],
}

impl Candidate {
    /// `rule`'s candidate, leaving out the node of `dispatched_on` (which the dispatch already
    /// found).
    fn new(rule: &'static Rule, table: &FieldTable, dispatched_on: Option<&Path>) -> Candidate {
        let skip = dispatched_on.and_then(|p| table.key_node(p));
        let mut paths: Vec<&Path> = rule.required.to_vec();
        // Nested fields first: a field of a request is absent from more events than a
        // top-level one every event of the log type has.
        paths.sort_by_key(|p| std::cmp::Reverse(p.segs.len()));
        let mut required = [NO_NODE; CHECKED];
        let nodes = paths.into_iter().filter_map(|p| table.key_node(p)).filter(|&n| Some(n) != skip);
        let mut taken = 0;
        for node in nodes {
            if taken < CHECKED && !required[..taken].contains(&node) {
                required[taken] = node;
                taken += 1;
            }
        }
        Candidate { rule, required }
    }

    /// Whether the event has every checked field (else the rule cannot match it).
    #[inline]
    fn may_match(&self, present: Presence<'_>) -> bool {
        self.required.iter().all(|&node| node == NO_NODE || present.has(node))
    }
}

/// A discriminating field and, by its value, the selected rules that can match (the others
/// require another value): an open-addressing table of small slots (a part of the hash and
/// where the value is), so that an `eventName` costs one hash of its words and one compare.
#[derive(Debug)]
struct Narrowing {
    field: &'static Path,
    /// `0` when empty, else the hash's high half and one more than the value's place in
    /// `values`.
    slots: Vec<u64>,
    values: Vec<(Words, &'static str, Box<[Candidate]>)>,
}

const HIGH: u64 = 0xFFFF_FFFF_0000_0000;

impl Narrowing {
    fn new(
        discriminator: &'static Discriminator,
        admits: impl Fn(&Rule) -> bool,
        table: &FieldTable,
    ) -> Narrowing {
        let field = Some(discriminator.field);
        let values: Vec<_> = discriminator
            .values
            .iter()
            .map(|&(value, rules)| {
                let rules = rules.iter().copied().filter(|r| admits(r));
                (
                    Words::of(value),
                    value,
                    rules.map(|r| Candidate::new(r, table, field)).collect::<Box<[_]>>(),
                )
            })
            .filter(|(.., rules)| !rules.is_empty())
            .collect();
        let mut slots = vec![0; (values.len() * 2).next_power_of_two().max(8)];
        let mask = slots.len() - 1;
        for (at, (words, ..)) in values.iter().enumerate() {
            let hash = words.hash();
            let mut i = hash as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (hash & HIGH) | (at as u64 + 1);
        }
        Narrowing { field: discriminator.field, slots, values }
    }

    #[inline(always)]
    fn candidates(&self, value: &str) -> &[Candidate] {
        let words = Words::of(value);
        let hash = words.hash();
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return &[];
            }
            if (slot ^ hash) & HIGH == 0 {
                let (known, text, rules) = &self.values[(slot & !HIGH) as usize - 1];
                // Up to `WHOLE` bytes the words are the whole string.
                if *known == words && (value.len() <= WHOLE || *text == value) {
                    return rules;
                }
            }
            i = (i + 1) & mask;
        }
    }
}

/// A string's length and its words ([`Ends`]): equal `Words` mean equal strings up to
/// [`WHOLE`] bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Words {
    len: usize,
    ends: Ends,
}

impl Words {
    #[inline]
    fn of(text: &str) -> Words {
        Words { len: text.len(), ends: Ends::of(text.as_bytes()) }
    }

    #[inline]
    fn hash(&self) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let Ends { head, tail, mid } = self.ends;
        let h = (head ^ tail.rotate_left(29) ^ mid.rotate_left(43) ^ self.len as u64).wrapping_mul(K);
        h ^ (h >> 29)
    }
}

/// Where the log type is when the caller does not say.
static P_LOG_TYPE: Path = Path::new(&[Seg::Key("p_log_type")]);

impl Dispatch {
    /// Runs the rules that can match `event` (as `decide` says), pushing those that do.
    fn run<E: Event + ?Sized>(
        &self,
        event: &E,
        decide: impl Fn(&Candidate) -> bool,
        out: &mut Vec<&'static Rule>,
    ) {
        let start = out.len();
        for narrowing in &self.narrowings {
            let Val::Str(value) = event.field(narrowing.field) else { continue };
            for candidate in narrowing.candidates(value) {
                if decide(candidate) {
                    out.push(candidate.rule);
                }
            }
        }
        for candidate in &self.always {
            if decide(candidate) {
                out.push(candidate.rule);
            }
        }
        // In the order of the rule files, whichever list a rule came from.
        if out.len() - start > 1 {
            out[start..].sort_by_key(|r| r.meta.source);
        }
    }
}

thread_local! {
    /// Each thread's buffers for reading events, reused from event to event.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

impl Engine {
    /// The rules of `log_types` (a registry's `by_log_type::ALL`) that `selection` admits.
    pub fn new(log_types: &[&'static LogType], selection: &Selection) -> Engine {
        let mut rules: Vec<&'static Rule> = Vec::new();
        let mut selected: Vec<&'static LogType> = Vec::new();
        for &log_type in log_types {
            if !selection.log_types.is_empty() && !selection.log_types.iter().any(|t| t == log_type.name) {
                continue;
            }
            let admitted: Vec<&'static Rule> =
                log_type.rules.iter().copied().filter(|r| selection.admits(r)).collect();
            if admitted.is_empty() {
                continue;
            }
            for rule in &admitted {
                if !rules.iter().any(|r| r.meta.id == rule.meta.id) {
                    rules.push(rule);
                }
            }
            selected.push(log_type);
        }
        rules.sort_by_key(|r| r.meta.source);
        // A new engine imports the rules' modules anew: module state starts from the
        // module-level values (on this thread; other threads start there anyway).
        for py in rules.iter().filter_map(|r| r.python) {
            py.reset_state();
        }
        let discriminators = selected.iter().flat_map(|t| t.dispatch.iter().map(|d| d.field));
        // The event time of a match is read from the view too.
        let times = selected.iter().flat_map(|t| crate::time::time_paths(t.name));
        let table = FieldTable::new(
            rules
                .iter()
                .flat_map(|r| r.fields.iter().copied())
                .chain(discriminators)
                .chain([&P_LOG_TYPE])
                .chain(times),
        );
        // The prefilter's nodes are those of this table.
        let by_log_type: BTreeMap<_, _> = selected
            .into_iter()
            .map(|log_type| {
                let admits = |r: &Rule| selection.admits(r);
                let narrowings =
                    log_type.dispatch.iter().map(|d| Narrowing::new(d, admits, &table)).collect();
                let always = log_type
                    .always
                    .iter()
                    .filter(|r| admits(r))
                    .map(|&r| Candidate::new(r, &table, None))
                    .collect();
                (log_type.name, Dispatch { name: Words::of(log_type.name), narrowings, always })
            })
            .collect();
        let python = rules.iter().any(|r| r.python.is_some());
        let by_log_type = by_log_type.into_iter().collect();
        Engine { rules, by_log_type, python, table, store: Arc::new(MemoryStore::new()) }
    }

    /// This engine with `store` as the key-value store of the caching helpers
    /// (`panther_detection_helpers.caching`) that Python rules call, instead of its own
    /// in-memory [`MemoryStore`]; engines given the same store share what rules write.
    pub fn with_store(mut self, store: Arc<dyn StateStore>) -> Engine {
        self.store = store;
        self
    }

    /// The key-value store Python rules' caching helpers use.
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// The selected rules, in the order of their files.
    pub fn rules(&self) -> &[&'static Rule] {
        &self.rules
    }

    /// The log types some selected rule sees.
    pub fn log_types(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_log_type.iter().map(|(name, _)| *name)
    }

    #[inline(always)]
    fn dispatch(&self, log_type: &str) -> Result<(&'static str, &Dispatch), EventError> {
        let found = if self.by_log_type.len() <= 8 {
            let words = Words::of(log_type);
            self.by_log_type.iter().find(|(name, dispatch)| {
                dispatch.name == words && (log_type.len() <= WHOLE || *name == log_type)
            })
        } else {
            let at = self.by_log_type.binary_search_by(|(name, _)| (*name).cmp(log_type));
            at.ok().map(|i| &self.by_log_type[i])
        };
        match found {
            Some((name, dispatch)) => Ok((name, dispatch)),
            None => Err(unknown_log_type(log_type)),
        }
    }

    /// Makes this engine's store the one Python rules reach on this thread, if it has any.
    #[inline]
    fn enter_store(&self) {
        if self.python {
            crate::py::kv::enter(&self.store);
        }
    }

    /// Runs the rules of the event's log type (`log_type`, else the event's `p_log_type`) on
    /// an already parsed event; returns the matches with their alert outputs.
    pub fn evaluate(&self, event: &Value, log_type: Option<&str>) -> Result<Vec<Match>, EventError> {
        self.enter_store();
        let mut matched = Vec::new();
        self.decide_value(event, log_type, &mut matched)?;
        Ok(matched.into_iter().map(|rule| Match { rule, outputs: rule.outputs(event) }).collect())
    }

    /// The rules an already parsed event matches, pushed onto `out`: verdicts only, as
    /// [`Engine::matching`] gives for bytes.
    pub fn matching_value(
        &self,
        event: &Value,
        log_type: Option<&str>,
        out: &mut Vec<&'static Rule>,
    ) -> Result<(), EventError> {
        let start = out.len();
        self.decide_value(event, log_type, out)?;
        run_alert_functions(&out[start..], event);
        Ok(())
    }

    fn decide_value(
        &self,
        event: &Value,
        log_type: Option<&str>,
        out: &mut Vec<&'static Rule>,
    ) -> Result<(), EventError> {
        let Value::Object(_) = event else {
            return Err(EventError::NotAnObject { found: kind(event) });
        };
        let (_, dispatch) = self.dispatch(resolve_log_type(event, log_type)?)?;
        self.enter_store();
        dispatch.run(event, |candidate| candidate.rule.matches(event), out);
        Ok(())
    }

    /// Parses `bytes` (one JSON object) and evaluates it, giving the event as a
    /// `serde_json::Value` when something matched. [`Engine::scan_bytes`] is the same without
    /// that `Value`.
    pub fn evaluate_bytes(&self, bytes: &[u8], log_type: Option<&str>) -> Result<Evaluated, EventError> {
        let scanned = self.scan_bytes(bytes, log_type)?;
        let event = (!scanned.matches.is_empty())
            .then(|| serde_json::from_slice(bytes).expect("the scan validated the JSON"));
        Ok(Evaluated {
            event,
            log_type: scanned.log_type.to_string(),
            matches: scanned.matches,
            errors: scanned.errors,
        })
    }

    /// Parses `bytes` (one JSON object) and evaluates it: one pass over the bytes, and no
    /// allocation unless a rule matches. The outputs of a match and the event time are read
    /// from the view of that pass, without building the event.
    pub fn scan_bytes(&self, bytes: &[u8], log_type: Option<&str>) -> Result<Scanned, EventError> {
        self.scan_bytes_with(bytes, log_type, |_| true)
    }

    /// [`Engine::scan_bytes`], where the matches of rules for which `all_outputs` is false get
    /// only their dedup string (which groups them into windows) and their rule's severity: no
    /// title or context, for a caller that counts those matches without writing them (`detect
    /// scan` and the signals it does not show).
    pub fn scan_bytes_with(
        &self,
        bytes: &[u8],
        log_type: Option<&str>,
        all_outputs: impl Fn(&'static Rule) -> bool,
    ) -> Result<Scanned, EventError> {
        let mut scanned = None;
        self.with_view(bytes, log_type, |view, log_type, rules| {
            let outputs = |rule: &'static Rule| {
                if all_outputs(rule) {
                    rule.outputs(view)
                } else {
                    Outputs {
                        title: String::new(),
                        dedup: rule.dedup(view),
                        context: crate::rule::Context::new(),
                        severity: rule.meta.severity,
                    }
                }
            };
            let matches: Vec<Match> =
                rules.iter().map(|&rule| Match { rule, outputs: outputs(rule) }).collect();
            let time = if matches.is_empty() { None } else { crate::time::event_time(view, log_type) };
            let errors = if self.python { crate::py::rule::take_rule_errors() } else { Vec::new() };
            scanned = Some(Scanned { log_type, time, matches, errors });
        })?;
        Ok(scanned.expect("with_view calls back on success"))
    }

    /// The outputs of `rule`'s match of `bytes` (an event this engine evaluated), computed now
    /// from a new pass over the bytes: for a caller that had [`Engine::scan_bytes_with`] give
    /// the match its dedup string only and needs the rest later, once the match opens an alert
    /// window whose record is written. Only for a rule whose outputs are a function of the event
    /// alone: not one compiled from Python, whose functions may read and write state and so run
    /// when the event is evaluated.
    pub fn outputs_of(&self, rule: &'static Rule, bytes: &[u8]) -> Result<Outputs, EventError> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let view = scratch.read(bytes, &self.table).map_err(|e| read_error(bytes, e))?;
            Ok(rule.outputs(&view))
        })
    }

    /// The rules `bytes` (one JSON object) matches, pushed onto `out`: verdicts only, no
    /// outputs, and no allocation once `out` and the thread's buffers have grown.
    pub fn matching(
        &self,
        bytes: &[u8],
        log_type: Option<&str>,
        out: &mut Vec<&'static Rule>,
    ) -> Result<(), EventError> {
        self.with_view(bytes, log_type, |view, _, rules| {
            run_alert_functions(rules, view);
            out.extend_from_slice(rules)
        })
    }

    fn with_view(
        &self,
        bytes: &[u8],
        log_type: Option<&str>,
        then: impl FnOnce(&View<'_>, &'static str, &[&'static Rule]),
    ) -> Result<(), EventError> {
        if self.python {
            crate::py::rule::clear_rule_errors();
        }
        self.enter_store();
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let mut matched = std::mem::take(&mut scratch.matched);
            matched.clear();
            let view = scratch.read(bytes, &self.table).map_err(|e| read_error(bytes, e))?;
            let (log_type, dispatch) = self.dispatch(resolve_log_type(&view, log_type)?)?;
            let (present, view_ref) = (view.presence(), &view);
            dispatch.run(
                &view,
                move |candidate| {
                    candidate.may_match(present) && (candidate.rule.decide_view)(view_ref).is_none()
                },
                &mut matched,
            );
            then(&view, log_type, &matched);
            scratch.matched = matched;
            Ok(())
        })
    }
}

/// Verdicts only: the alert functions of matched rules with module state still run, as Panther
/// runs them on every match, since they may assign what the next events read.
fn run_alert_functions(matched: &[&'static Rule], event: &dyn crate::Event) {
    for rule in matched {
        if let Some(py) = rule.python
            && !py.state.is_empty()
        {
            let _ = rule.outputs(event);
        }
    }
}

#[cold]
fn unknown_log_type(log_type: &str) -> EventError {
    EventError::UnknownLogType { log_type: log_type.to_string() }
}

/// Why the pass over `bytes` failed.
fn read_error(bytes: &[u8], e: DocumentError) -> EventError {
    match e {
        DocumentError::Json(e) => EventError::InvalidJson { message: describe(bytes, &e) },
        DocumentError::InvalidUtf8 { valid_up_to } => EventError::InvalidUtf8 { valid_up_to },
        DocumentError::NotAnObject(k) => EventError::NotAnObject { found: json_kind(k) },
        DocumentError::TooLarge => EventError::TooLarge { bytes: bytes.len() },
    }
}

/// `serde_json`-style: the message, with the line and column.
fn describe(text: &[u8], e: &crate::json::Error) -> String {
    let before = &text[..e.offset.min(text.len())];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let column = before.len() - before.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1) + 1;
    format!("{} at line {line} column {column}", e.message)
}

fn json_kind(kind: crate::json::Kind) -> &'static str {
    use crate::json::Kind;
    match kind {
        Kind::Null => "null",
        Kind::Bool(_) => "a boolean",
        Kind::Number => "a number",
        Kind::String { .. } => "a string",
        Kind::Array => "an array",
        Kind::Object => "an object",
    }
}

/// The log type given, else the event's `p_log_type`, read as rules read fields (exact key
/// first, then ignoring ASCII case): one reading for both paths.
#[inline]
fn resolve_log_type<'a, E: Event + ?Sized>(
    event: &'a E,
    given: Option<&'a str>,
) -> Result<&'a str, EventError> {
    match given {
        Some(t) => Ok(t),
        None => match event.field(&P_LOG_TYPE) {
            Val::Str(t) => Ok(t),
            _ => Err(EventError::NoLogType),
        },
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engine_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<Engine>();
    }

    /// `p_log_type` is read as rules read fields, by both paths: exact key first, then ignoring
    /// ASCII case (found by fuzzing: the generic path once read it exactly only). The engine
    /// over compiled rules is tested where there are rules (`detections/tests/engine.rs`,
    /// `tests/tests/engine.rs`).
    #[test]
    fn both_paths_find_the_log_type_alike() {
        let table = FieldTable::new([&P_LOG_TYPE]);
        let mut scratch = Scratch::new();
        for (text, expected) in [
            (r#"{"P_LOG_TYPE": "x"}"#, Ok("x")),
            (r#"{"P_Log_Type": "AWS.CloudTrail"}"#, Ok("AWS.CloudTrail")),
            (r#"{"P_LOG_TYPE": "x", "p_log_type": "AWS.CloudTrail"}"#, Ok("AWS.CloudTrail")),
            (r#"{"p_log_type": 7}"#, Err(EventError::NoLogType)),
            (r#"{}"#, Err(EventError::NoLogType)),
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(resolve_log_type(&value, None), expected, "{text}");
            let view = scratch.read(text.as_bytes(), &table).unwrap();
            assert_eq!(resolve_log_type(&view, None), expected, "{text}");
        }
        assert_eq!(resolve_log_type(&json!({"p_log_type": "a"}), Some("given")), Ok("given"));
    }

    /// Up to 24 bytes, a string's words are the string: equal words, equal strings; beyond, the
    /// narrowing compares the strings too.
    #[test]
    fn words_tell_strings_apart_up_to_24_bytes() {
        let strings: Vec<String> = (0..=30)
            .flat_map(|n| {
                let base: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
                let mut variants = vec![base.clone()];
                for at in 0..n {
                    let mut other = base.clone().into_bytes();
                    other[at] = b'Z';
                    variants.push(String::from_utf8(other).unwrap());
                }
                variants.push(format!("{base}\0"));
                variants
            })
            .collect();
        for a in &strings {
            for b in &strings {
                let same = Words::of(a) == Words::of(b);
                if a.len() <= 24 || b.len() <= 24 {
                    assert_eq!(same, a == b, "{a:?} {b:?}");
                } else if a == b {
                    assert!(same);
                }
                if same {
                    assert_eq!(Words::of(a).hash(), Words::of(b).hash());
                }
            }
        }
    }

    #[test]
    fn no_rules_no_log_type() {
        let engine = Engine::new(&[], &Selection::default());
        assert!(engine.rules().is_empty());
        let unknown = EventError::UnknownLogType { log_type: "AWS.CloudTrail".into() };
        assert_eq!(engine.evaluate(&json!({}), Some("AWS.CloudTrail")), Err(unknown.clone()));
        assert_eq!(engine.evaluate_bytes(b"{}", Some("AWS.CloudTrail")).unwrap_err(), unknown);
        assert_eq!(
            engine.evaluate_bytes(b"[1]", None).unwrap_err(),
            EventError::NotAnObject { found: "an array" }
        );
    }
}
