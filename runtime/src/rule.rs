//! A compiled rule: its metadata and its compiled functions, and the alert outputs of a match
//! with Panther's defaults and limits (rule-format.md §4.4).
//!
//! Owns the [`Rule`] type the generated modules instantiate, [`Severity`], and how the title,
//! dedup string, context and severity of a match are completed when the YAML leaves them out.
//! Must not: hold state across events (alert grouping belongs to the engine).

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::event::{Event, Path};
use crate::value::Val;
use crate::view::View;

/// The alert context: `KeyName` to the value found (`null` when missing).
pub type Context = Map<String, Value>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    /// Accepts `Info` and `INFO` (and any other case).
    fn from_str(s: &str) -> Result<Severity, String> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown severity `{s}` (expected Info, Low, Medium, High or Critical)"))
    }
}

/// What a rule file says about the rule, apart from its logic.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: &'static str,
    pub display_name: Option<&'static str>,
    /// The YAML file, relative to the workspace root.
    pub source: &'static str,
    pub enabled: bool,
    /// A `scheduled_rule`: it sees the rows of `log_types` (its `ScheduledQueries`).
    pub scheduled: bool,
    pub log_types: &'static [&'static str],
    pub severity: Severity,
    /// `false` makes the rule a signal: matches are recorded, no alert is raised.
    pub create_alert: bool,
    pub dedup_period_minutes: u32,
    pub threshold: u32,
    pub tags: &'static [&'static str],
    pub reports: &'static [(&'static str, &'static [&'static str])],
    pub description: Option<&'static str>,
    pub reference: Option<&'static str>,
    pub runbook: Option<&'static str>,
    pub summary_attributes: &'static [&'static str],
    pub output_ids: &'static [&'static str],
    /// The `AlertTitle` template, as written.
    pub alert_title: Option<&'static str>,
}

/// A compiled rule. Generated code builds one `static RULE: Rule` per rule file; the functions
/// are the generated ones, instantiated for `dyn Event`.
pub struct Rule {
    pub meta: RuleMeta,
    /// Every field the rule reads (conditions and outputs): what an event view prepares.
    pub fields: &'static [&'static Path],
    /// Fields the rule cannot match without (a subset of `fields`, all paths of keys): on an
    /// event where one of them is missing, `decide` fails, so the engine need not call it.
    pub required: &'static [&'static Path],
    /// `None` when the event matches, else the YAML line of the first top-level expression of
    /// `InlineFilters` or `Detection` that does not hold.
    pub decide: fn(&dyn Event) -> Option<u32>,
    /// The same, compiled for the fast event view (no dynamic dispatch per field).
    pub decide_view: for<'v> fn(&View<'v>) -> Option<u32>,
    /// `AlertTitle`, when the rule has one.
    pub title: Option<fn(&dyn Event) -> String>,
    /// `GroupBy`, when the rule has one.
    pub group_by: Option<fn(&dyn Event) -> String>,
    /// `AlertContext`, when the rule has one.
    pub context: Option<fn(&dyn Event) -> Context>,
    /// `DynamicSeverities`, when the rule has them.
    pub severity: Option<fn(&dyn Event) -> Severity>,
    /// A rule compiled from Python: its functions, which give the verdict and the outputs.
    pub python: Option<&'static crate::py::Python>,
}

/// Rules are identified by their `RuleID` (unique across a rule set).
impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.meta.id == other.meta.id
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule").field("meta", &self.meta).finish_non_exhaustive()
    }
}

/// The rules of one log type, and which of them an event can match (generated per log type).
pub struct LogType {
    pub name: &'static str,
    /// Every rule that sees this log type.
    pub rules: &'static [&'static Rule],
    /// Fields whose values narrow the rules (for CloudTrail, `eventName` first): each rule is
    /// dispatched on one of them, or is in `always`.
    pub dispatch: &'static [Discriminator],
    /// The rules that run on every event of the log type.
    pub always: &'static [&'static Rule],
}

/// A field, and by value the rules dispatched on it that can match an event where the field is
/// that string (any other value rules them out).
#[derive(Debug)]
pub struct Discriminator {
    /// A `static` (a path remembers where it was found, which a constant cannot).
    pub field: &'static Path,
    pub values: &'static [(&'static str, &'static [&'static Rule])],
}

impl fmt::Debug for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogType")
            .field("name", &self.name)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// Longest title and dedup string; longer ones are cut and marked, as Panther does.
pub const MAX_OUTPUT_CHARS: usize = 1000;
const TRUNCATED: &str = "... (truncated)";

/// The outputs of a match (rule-format.md §4.4).
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs {
    pub title: String,
    pub dedup: String,
    pub context: Context,
    pub severity: Severity,
}

impl Rule {
    pub fn matches(&self, event: &dyn Event) -> bool {
        (self.decide)(event).is_none()
    }

    /// `AlertTitle` rendered; without one (or when it renders empty) the `DisplayName`, else the
    /// `RuleID`.
    pub fn title(&self, event: &dyn Event) -> String {
        if let Some(py) = self.python {
            return py.outputs(event, &self.meta).title;
        }
        let rendered = self.title.map(|f| f(event)).filter(|t| !t.is_empty());
        truncate(rendered.unwrap_or_else(|| self.meta.display_name.unwrap_or(self.meta.id).to_string()))
    }

    /// The `GroupBy` values joined with `:`; else the title when the rule has an `AlertTitle`;
    /// else `defaultDedupString:<RuleID>`. An empty result also falls back to the default.
    pub fn dedup(&self, event: &dyn Event) -> String {
        if let Some(py) = self.python {
            return py.outputs(event, &self.meta).dedup;
        }
        let key = match (self.group_by, self.title) {
            (Some(group_by), _) => group_by(event),
            (None, Some(title)) => title(event),
            (None, None) => String::new(),
        };
        if key.is_empty() { format!("defaultDedupString:{}", self.meta.id) } else { truncate(key) }
    }

    pub fn context(&self, event: &dyn Event) -> Context {
        if let Some(py) = self.python {
            return py.outputs(event, &self.meta).context;
        }
        self.context.map(|f| f(event)).unwrap_or_default()
    }

    /// The first `DynamicSeverities` entry whose conditions hold, else `Severity`.
    pub fn severity(&self, event: &dyn Event) -> Severity {
        if let Some(py) = self.python {
            return py.outputs(event, &self.meta).severity;
        }
        self.severity.map_or(self.meta.severity, |f| f(event))
    }

    pub fn outputs(&self, event: &dyn Event) -> Outputs {
        if let Some(py) = self.python {
            return py.outputs(event, &self.meta);
        }
        // The title is rendered once: without `GroupBy` it is the dedup string too.
        let rendered = self.title.map(|f| f(event)).filter(|t| !t.is_empty());
        let (title, dedup) = match (rendered, self.group_by) {
            (Some(rendered), None) => {
                let title = truncate(rendered);
                (title.clone(), title)
            }
            (rendered, _) => {
                let title = truncate(
                    rendered.unwrap_or_else(|| self.meta.display_name.unwrap_or(self.meta.id).to_string()),
                );
                (title, self.dedup(event))
            }
        };
        Outputs { title, dedup, context: self.context(event), severity: self.severity(event) }
    }
}

fn truncate(text: String) -> String {
    // No more bytes than the limit: no more characters either, without counting them.
    if text.len() <= MAX_OUTPUT_CHARS || text.chars().count() <= MAX_OUTPUT_CHARS {
        return text;
    }
    let keep: String = text.chars().take(MAX_OUTPUT_CHARS - TRUNCATED.chars().count()).collect();
    keep + TRUNCATED
}

/// Panther's `pantherflow_investigation(event)` (panther_base_helpers), which ends the
/// `aws_rule_context` preset: a PantherFlow query for the signals and logs of this event's log
/// type within 30 minutes of its `p_event_time` that share one of its `p_any_*` indicators.
/// `Err` is the `repr` of what the helper raises (on a `p_log_type` that is not a string, or a
/// `p_any_*` value that is not a list or object).
pub fn pantherflow_investigation<E: Event + ?Sized>(event: &E) -> Result<Value, String> {
    use crate::event::Seg;
    const LOG_TYPE: Path = Path::new(&[Seg::Key("p_log_type")]);
    const EVENT_TIME: Path = Path::new(&[Seg::Key("p_event_time")]);
    const INTERVAL: &str = "30m";
    // `event.get("p_log_type", "").lower().replace(".", "_")`
    let log_type = match event.field(&LOG_TYPE) {
        Val::Missing => String::new(),
        Val::Str(s) => crate::value::lower(s).replace('.', "_"),
        other => return Err(other.py_attribute_error("lower")),
    };
    let timestamp = match event.field(&EVENT_TIME) {
        Val::Missing => String::new(),
        other => other.py_str(),
    };
    let mut query = format!(
        "union panther_signals.public.correlation_signals\n    , panther_logs.public.{log_type}\n\
         | where p_event_time between time.parse_timestamp('{timestamp}') - time.parse_timespan('{INTERVAL}') \
         .. time.parse_timestamp('{timestamp}') + time.parse_timespan('{INTERVAL}')\n"
    );
    let mut first = true;
    // The `p_any_*` members only: an event view reads them without building the event.
    for (key, value) in event.members_with_prefix("p_any_") {
        if key != "p_any_aws_account_ids" {
            // `value.copy()`: a plain list (or dict) of the raw values.
            if !(value.is_array() || value.is_object()) {
                return Err(Val::from(&value).py_attribute_error("copy"));
            }
            let lead = if first { "| where" } else { "     or" };
            query.push_str(&format!("{lead} arrays.overlap({key}, {})\n", crate::py::json_repr(&value)));
            first = false;
        }
    }
    query.push_str("| sort p_event_time");
    Ok(Value::String(query))
}

/// A template's `{deep_walk('k1', 'k2', …, default='D', return_val='all')}`: Python's `str()` of
/// Panther's `event.deep_walk(*keys, default=D, return_val=…)` (`default` is `None` when the
/// template gives none), as an f-string prints it: the only value found bare, several as a
/// Python list (`['a', 'b']`), nothing found as the default (`None`). `Err` is the `repr` of
/// what Python raises: a value found that is not hashable (`TypeError("unhashable type:
/// 'dict'")`); or of the `OverflowError` of an integer beyond 64 bits where it walks, which the
/// runtime's Python values do not hold.
pub fn deep_walk<E: Event + ?Sized>(
    event: &E,
    keys: &[&str],
    default: Option<&str>,
    return_val: &str,
) -> Result<String, String> {
    walked(event, keys, default, return_val, crate::py::str_of)
}

/// `{deep_walk(…) !type}`: the name of the Python type of what [`deep_walk`] prints (`str`,
/// `list`, `NoneType`, `int`, `dict`, …).
pub fn deep_walk_type<E: Event + ?Sized>(
    event: &E,
    keys: &[&str],
    default: Option<&str>,
    return_val: &str,
) -> Result<&'static str, String> {
    walked(event, keys, default, return_val, |found| found.type_name())
}

/// Panther's `deep_walk` (the Python runtime's, which compiled Python rules call) over the event,
/// and `out` of its result.
fn walked<E: Event + ?Sized, T>(
    event: &E,
    keys: &[&str],
    default: Option<&str>,
    return_val: &str,
    out: impl FnOnce(&crate::py::Obj<'_>) -> T,
) -> Result<T, String> {
    use crate::py::Obj;
    let no_fields = Map::new();
    let object = event.object().unwrap_or(&no_fields);
    let keys: Vec<Obj<'_>> = keys.iter().map(|k| Obj::str(k)).collect();
    let default = default.map_or(Obj::None, Obj::str);
    match crate::py::raw_deep_walk(object, &keys, default, return_val) {
        Ok(found) => Ok(out(&found)),
        Err(raised) => Err(raised.python_repr()),
    }
}

/// The alert context of a rule whose `AlertContext` raised, as Panther gives it:
/// `{"_error": repr(exception)}`.
pub fn raised_context(repr: String) -> Context {
    Context::from_iter([("_error".to_string(), Value::String(repr))])
}

/// A constant list or mapping of an alert context (`KeyData`), from the JSON text the compiler
/// wrote.
pub fn json_constant(text: &str) -> Value {
    serde_json::from_str(text).expect("the compiler writes valid JSON")
}

/// Builds an alert context from its entries, in order.
pub fn context<const N: usize>(entries: [(&str, Value); N]) -> Context {
    entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Path, Seg};
    use serde_json::json;

    const USER: Path = Path::new(&[Seg::Key("user")]);

    fn rule(title: Option<fn(&dyn Event) -> String>, group_by: Option<fn(&dyn Event) -> String>) -> Rule {
        Rule {
            meta: RuleMeta {
                id: "Test.Rule",
                display_name: Some("Test rule"),
                source: "rules/test.yml",
                enabled: true,
                scheduled: false,
                log_types: &["Test.Log"],
                severity: Severity::High,
                create_alert: true,
                dedup_period_minutes: 60,
                threshold: 1,
                tags: &[],
                reports: &[],
                description: None,
                reference: None,
                runbook: None,
                summary_attributes: &[],
                output_ids: &[],
                alert_title: None,
            },
            fields: &[],
            required: &[],
            decide: |_| None,
            decide_view: |_| None,
            title,
            group_by,
            context: None,
            severity: None,
            python: None,
        }
    }

    #[test]
    fn defaults() {
        let ev = json!({"user": "alice"});
        let r = rule(None, None);
        assert_eq!(r.title(&ev), "Test rule");
        assert_eq!(r.dedup(&ev), "defaultDedupString:Test.Rule");
        assert_eq!(r.severity(&ev), Severity::High);
        assert!(r.context(&ev).is_empty());
    }

    #[test]
    fn title_is_the_dedup_without_group_by() {
        let ev = json!({"user": "alice"});
        let r = rule(Some(|e| format!("user {}", e.field(&USER))), None);
        assert_eq!(r.title(&ev), "user alice");
        assert_eq!(r.dedup(&ev), "user alice");
        let r = rule(Some(|e| format!("user {}", e.field(&USER))), Some(|e| e.field(&USER).to_string()));
        assert_eq!(r.dedup(&ev), "alice");
    }

    #[test]
    fn empty_outputs_fall_back() {
        let ev = json!({});
        let r = rule(Some(|e| e.field(&USER).to_string()), Some(|e| e.field(&USER).to_string()));
        assert_eq!(r.title(&ev), "Test rule");
        assert_eq!(r.dedup(&ev), "defaultDedupString:Test.Rule");
    }

    #[test]
    fn long_outputs_are_truncated_like_panther() {
        let ev = json!({"user": "é".repeat(1500)});
        let r = rule(Some(|e| e.field(&USER).to_string()), None);
        let title = r.title(&ev);
        assert_eq!(title.chars().count(), MAX_OUTPUT_CHARS);
        assert!(title.ends_with("é... (truncated)"));
    }

    #[test]
    fn severities_parse_in_any_case() {
        assert_eq!("CRITICAL".parse::<Severity>(), Ok(Severity::Critical));
        assert_eq!("info".parse::<Severity>(), Ok(Severity::Info));
        assert!("Severe".parse::<Severity>().is_err());
    }
}
