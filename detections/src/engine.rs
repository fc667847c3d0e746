//! The engine: which compiled rules see an event, and what matched.
//!
//! Owns the selection of rules (enabled ones by default; narrowed by rule id, tag, log type or
//! minimum severity), dispatch by log type (given by the caller or read from `p_log_type`),
//! and the typed errors of malformed input. An [`Engine`] is immutable, `Send + Sync`, and
//! cheap to share across threads by reference.
//! Must not: keep state across events (see `alerts`), or print.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::event::Event;
use crate::rule::{Outputs, Rule, Severity};

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
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::InvalidUtf8 { valid_up_to } => write!(f, "invalid UTF-8 after byte {valid_up_to}"),
            EventError::InvalidJson { message } => write!(f, "invalid JSON: {message}"),
            EventError::NotAnObject { found } => write!(f, "not a JSON object (found {found})"),
            EventError::NoLogType => f.write_str("no log type: give one, or set `p_log_type` in the event"),
            EventError::UnknownLogType { log_type } => write!(f, "no rule for log type `{log_type}`"),
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

/// An event parsed from bytes, its log type, and the rules it matched.
#[derive(Clone, Debug)]
pub struct Evaluated {
    pub event: Value,
    pub log_type: String,
    pub matches: Vec<Match>,
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
#[derive(Debug)]
pub struct Engine {
    rules: Vec<&'static Rule>,
    by_log_type: BTreeMap<&'static str, Vec<&'static Rule>>,
}

impl Default for Engine {
    /// Every enabled rule of the registry.
    fn default() -> Engine {
        Engine::new(crate::rules::ALL, &Selection::default())
    }
}

impl Engine {
    /// The rules of `registry` that `selection` admits.
    pub fn new(registry: &[&'static Rule], selection: &Selection) -> Engine {
        let rules: Vec<&'static Rule> = registry.iter().copied().filter(|r| selection.admits(r)).collect();
        let mut by_log_type: BTreeMap<&'static str, Vec<&'static Rule>> = BTreeMap::new();
        for rule in &rules {
            for log_type in rule.meta.log_types {
                by_log_type.entry(log_type).or_default().push(rule);
            }
        }
        Engine { rules, by_log_type }
    }

    /// The selected rules, in registry order.
    pub fn rules(&self) -> &[&'static Rule] {
        &self.rules
    }

    /// The log types some selected rule sees.
    pub fn log_types(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_log_type.keys().copied()
    }

    /// The rules that see `log_type`.
    pub fn rules_for(&self, log_type: &str) -> &[&'static Rule] {
        self.by_log_type.get(log_type).map_or(&[], Vec::as_slice)
    }

    /// Runs every rule of the event's log type (`log_type`, else the event's `p_log_type`) on
    /// an already parsed event; returns the matches with their alert outputs.
    pub fn evaluate(&self, event: &Value, log_type: Option<&str>) -> Result<Vec<Match>, EventError> {
        let Value::Object(_) = event else {
            return Err(EventError::NotAnObject { found: kind(event) });
        };
        let log_type = resolve_log_type(event, log_type)?;
        let rules = self
            .by_log_type
            .get(log_type)
            .ok_or_else(|| EventError::UnknownLogType { log_type: log_type.to_string() })?;
        Ok(matches(rules, event))
    }

    /// Parses `bytes` (one JSON object) and evaluates it.
    pub fn evaluate_bytes(&self, bytes: &[u8], log_type: Option<&str>) -> Result<Evaluated, EventError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| EventError::InvalidUtf8 { valid_up_to: e.valid_up_to() })?;
        let event: Value =
            serde_json::from_str(text).map_err(|e| EventError::InvalidJson { message: e.to_string() })?;
        let matches = self.evaluate(&event, log_type)?;
        let log_type = resolve_log_type(&event, log_type)?.to_string();
        Ok(Evaluated { event, log_type, matches })
    }
}

fn matches(rules: &[&'static Rule], event: &dyn Event) -> Vec<Match> {
    rules
        .iter()
        .filter(|rule| rule.matches(event))
        .map(|rule| Match { rule, outputs: rule.outputs(event) })
        .collect()
}

fn resolve_log_type<'a>(event: &'a Value, given: Option<&'a str>) -> Result<&'a str, EventError> {
    given.or_else(|| event.get("p_log_type").and_then(Value::as_str)).ok_or(EventError::NoLogType)
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

    #[test]
    fn dispatches_by_given_or_embedded_log_type() {
        let engine = Engine::default();
        let event = json!({"eventName": "StopInstances", "p_log_type": "AWS.CloudTrail"});
        let found = engine.evaluate(&event, None).unwrap();
        assert_eq!(found.iter().map(|m| m.rule.meta.id).collect::<Vec<_>>(), ["AWS.EC2.StopInstances"]);
        let bare = json!({"eventName": "StopInstances"});
        assert_eq!(engine.evaluate(&bare, Some("AWS.CloudTrail")).unwrap().len(), 1);
        assert_eq!(engine.evaluate(&bare, None), Err(EventError::NoLogType));
        assert_eq!(
            engine.evaluate(&bare, Some("Nope.Log")),
            Err(EventError::UnknownLogType { log_type: "Nope.Log".into() })
        );
    }

    #[test]
    fn malformed_bytes_are_typed_errors() {
        let engine = Engine::default();
        let err = |b: &[u8]| engine.evaluate_bytes(b, Some("AWS.CloudTrail")).unwrap_err();
        assert!(matches!(err(b"{\"a\": \xff}"), EventError::InvalidUtf8 { valid_up_to: 6 }));
        assert!(matches!(err(b"{\"a\": "), EventError::InvalidJson { .. }));
        assert_eq!(err(b"[1, 2]"), EventError::NotAnObject { found: "an array" });
        assert!(matches!(err(b""), EventError::InvalidJson { .. }));
        let ok = engine.evaluate_bytes(br#"{"eventName": "StopInstances"}"#, Some("AWS.CloudTrail")).unwrap();
        assert_eq!(ok.matches.len(), 1);
        assert_eq!(ok.log_type, "AWS.CloudTrail");
    }

    #[test]
    fn selections_narrow_the_rules() {
        let all = crate::rules::ALL;
        let select = |s: Selection| Engine::new(all, &s).rules().to_vec();
        let one = select(Selection { rule_ids: vec!["AWS.EC2.StopInstances".into()], ..Default::default() });
        assert_eq!(one.iter().map(|r| r.meta.id).collect::<Vec<_>>(), ["AWS.EC2.StopInstances"]);
        let high = select(Selection { min_severity: Some(Severity::High), ..Default::default() });
        assert!(!high.is_empty() && high.iter().all(|r| r.meta.severity >= Severity::High && r.meta.enabled));
        let netskope = select(Selection { log_types: vec!["Netskope.Audit".into()], ..Default::default() });
        assert!(
            !netskope.is_empty() && netskope.iter().all(|r| r.meta.log_types.contains(&"Netskope.Audit"))
        );
        let tagged = select(Selection { tags: vec!["PANTHER-SIGNAL".into()], ..Default::default() });
        assert!(tagged.iter().any(|r| r.meta.id == "AWS.EC2.StopInstances"));
        assert!(tagged.iter().all(|r| r.meta.tags.iter().any(|t| t.eq_ignore_ascii_case("panther-signal"))));
        let enabled = select(Selection::default());
        let everything = select(Selection { include_disabled: true, ..Default::default() });
        assert_eq!(everything.len(), all.len());
        assert!(enabled.iter().all(|r| r.meta.enabled));
        let selection = Selection { rule_ids: vec!["No.Such.Rule".into()], ..Default::default() };
        assert_eq!(selection.unknown_ids(all), ["No.Such.Rule"]);
    }
}
