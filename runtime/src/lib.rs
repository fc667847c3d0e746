//! The runtime of Panther detection rules compiled to Rust by `codegen`: what the generated code
//! calls, and what a program that runs the compiled rules uses.
//!
//! A crate of rules depends on this crate and builds its rules with `codegen::Builder` in its
//! `build.rs` (see the `codegen` crate); the generated modules import [`prelude`], and their
//! registry, `rules::by_log_type::ALL`, is what an [`Engine`] runs. This crate holds no rules.
//!
//! # What users use
//!
//! | item | what |
//! |---|---|
//! | [`Engine`], [`Selection`], [`Scanned`], [`Evaluated`], [`Match`], [`EventError`] | choose rules (ids, tags, log types, minimum severity, disabled ones) and evaluate events given as bytes ([`Engine::scan_bytes`], [`Engine::evaluate_bytes`], [`Engine::matching`]) or as a parsed `serde_json::Value` ([`Engine::evaluate`]); an event that is not one JSON object, or whose log type no rule sees, is an [`EventError`] |
//! | [`Alerter`], [`Alert`], [`FirstEvent`], [`Kind`] | matches grouped into alerts (or signals) by rule and dedup string in each rule's dedup window, on event time, with its threshold |
//! | [`time`] | event time: [`time::event_time`] (`p_event_time`, else the log type's time field), RFC 3339 parsing and formatting |
//! | [`Rule`], [`RuleMeta`], [`LogType`], [`Outputs`], [`Severity`], [`Context`] | a compiled rule: its metadata (id, severity, log types, tags, dedup period, threshold, source file…), its compiled functions, and the alert outputs of a match (title, dedup string, context, severity) |
//! | [`StateStore`], [`MemoryStore`], [`NoStore`], [`Item`], [`StoreError`] | the key-value store of Panther's caching helpers (`get_string_set`, `put_dictionary`, `increment_counter`, … with their expiry): an engine has an in-memory one by default; [`Engine::with_store`] plugs another (see [`store`]) |
//! | [`Event`], [`Path`], [`Seg`] | reading a field of an event, whatever holds it (a `serde_json::Value` or the fast path's [`view::View`]) |
//! | [`Val`], [`Lit`], [`Num`] | the value found at a path, and the conditions of the rule format on it |
//!
//! For the generated code (stable, but not meant to be called by hand):
//!
//! | item | what |
//! |---|---|
//! | [`prelude`] | what every generated rule module imports (`use ::detections_runtime::prelude::*`) |
//! | [`testing`] | [`testing::Case`], the runner each generated `#[test]` calls: it checks the verdict and outputs on both paths, and reports a failure with the YAML file and line of the test case |
//! | [`py`] | the Python runtime of rules compiled from Python: CPython's values, operators, `str`/`repr`, methods, builtins, `re`/`json`/`ipaddress`/`fnmatch`, Panther's event and data models |
//! | [`filter`] | an `InlineFilters` leaf |
//!
//! Lower level, public for tests, fuzzing and benchmarks: [`json`] (the one-pass JSON scanner),
//! [`view`] (the event view over the bytes it builds), [`value`], [`event`], [`ip`] (addresses
//! and networks), [`rule`], [`serde_form`] (whether a JSON text is already in `serde_json`'s form).
//! Private: `words` (a short string as machine words, for the view's key tables and the
//! engine's dispatch).
//!
//! # Example
//!
//! ```
//! use detections_runtime::{Alert, Alerter, Engine, LogType, Selection};
//!
//! /// The alerts of `lines` (one JSON event each, of `log_type`) under the enabled rules of
//! /// `rules` (a compiled crate's `rules::by_log_type::ALL`), and how many lines were rejected.
//! fn alerts(rules: &[&'static LogType], log_type: &str, lines: &[&str]) -> (Vec<Alert>, usize) {
//!     // `Send + Sync`: build it once, share `&engine` across threads.
//!     let engine = Engine::new(rules, &Selection::default());
//!     let mut alerter = Alerter::new(); // one per stream
//!     let (mut alerts, mut rejected) = (Vec::new(), 0);
//!     for line in lines {
//!         match engine.scan_bytes(line.as_bytes(), Some(log_type)) {
//!             Ok(ev) => {
//!                 // Outputs and event time come from the one pass over the bytes; the event is
//!                 // not parsed into a `serde_json::Value`, and its text is copied only when a
//!                 // match opens an alert window.
//!                 for m in ev.matches {
//!                     alerts.extend(alerter.observe_text(m, ev.time, line, ev.log_type));
//!                 }
//!             }
//!             Err(_) => rejected += 1, // not JSON, not an object, or a log type no rule sees
//!         }
//!     }
//!     alerts.extend(alerter.flush()); // end of input: close every window
//!     (alerts, rejected)
//! }
//!
//! // Without rules, no log type is known: the line is rejected.
//! let (found, rejected) = alerts(&[], "AWS.CloudTrail", &[r#"{"eventName": "StopInstances"}"#]);
//! assert!(found.is_empty());
//! assert_eq!(rejected, 1);
//! ```
//!
//! The `detections` crate of this repository runs the same loop over the shipped rules, in its
//! crate documentation.

pub mod alerts;
pub mod engine;
pub mod event;
pub mod ip;
pub mod json;
pub mod py;
pub mod rule;
pub mod serde_form;
pub mod store;
pub mod testing;
pub mod time;
pub mod value;
pub mod view;
mod words;

pub use alerts::{Alert, Alerter, FirstEvent, Kind};
pub use engine::{Engine, Evaluated, EventError, Match, Scanned, Selection};
pub use event::{Event, Path, Seg};
pub use rule::{Context, LogType, Outputs, Rule, RuleMeta, Severity};
pub use store::{Item, MemoryStore, NoStore, StateStore, StoreError};
pub use value::{Items, Lit, Num, Val};

/// What generated rule modules import.
pub mod prelude {
    pub use crate::event::Seg::{Each, Index, Key};
    pub use crate::event::{Event, Path};
    pub use crate::filter;
    pub use crate::ip::Cidr;
    pub use crate::rule::{
        Context, Discriminator, LogType, Rule, RuleMeta, Severity, context, deep_walk, deep_walk_type,
        json_constant, pantherflow_investigation, raised_context,
    };
    pub use crate::value::{Items, Lit, Num, Val, exactly_one, split_pieces};
    pub use serde_json::Value as Json;
    pub use std::cmp::Ordering;
}

/// An `InlineFilters` leaf (rule-format.md §4.3): a missing field passes; a `null` field fails
/// a positive condition and passes a negated one; otherwise `holds` (the positive condition)
/// decides, inverted when `negated`.
pub fn filter(value: Val<'_>, negated: bool, holds: impl FnOnce(&Val<'_>) -> bool) -> bool {
    match value {
        Val::Missing => true,
        Val::Null => negated,
        v => holds(&v) != negated,
    }
}
