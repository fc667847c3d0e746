//! A rule compiled from Python: its Panther functions, run as Panther runs them (the event as
//! `PantherEvent` with its log type's data model, `rule()`'s verdict, and the alert functions'
//! results turned into Panther's outputs with its defaults).

use serde_json::{Map, Value};

use super::{DataModel, Event, Exc, Obj, R};
use crate::rule::Severity;

/// A compiled Python function of the event.
pub type PyFn = for<'e> fn(Obj<'e>) -> R<Obj<'e>>;

/// The Panther functions a Python rule defines (`rule` always).
pub struct Python {
    /// The `RuleID` (Panther's messages name it).
    pub id: &'static str,
    /// The `.py` file, relative to the workspace root.
    pub source: &'static str,
    pub rule: PyFn,
    pub title: Option<PyFn>,
    pub dedup: Option<PyFn>,
    pub alert_context: Option<PyFn>,
    pub severity: Option<PyFn>,
    pub description: Option<PyFn>,
    pub reference: Option<PyFn>,
    pub runbook: Option<PyFn>,
    pub destinations: Option<PyFn>,
    /// The data model of each log type that has one (for `event.udm`).
    pub data_models: &'static [(&'static str, &'static DataModel)],
    /// Whether the rule has `InlineFilters` (the engine applies them; tests, like `pat test`,
    /// do not).
    pub inline_filters: bool,
    /// The module variables its functions assign (`global X`), kept from call to call as
    /// CPython keeps them: every function then runs when Panther runs it, in Panther's order.
    pub state: &'static [&'static super::Global],
}

impl std::fmt::Debug for Python {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Python").field("source", &self.source).finish_non_exhaustive()
    }
}

/// Longest alert context, in characters of its JSON (Panther's limit).
pub const MAX_CONTEXT_CHARS: usize = 200 * 1024;

/// What every function of a Python rule returned for one event, as `pat test` sees it: each
/// result, or the exception it raised (Panther's `FunctionReturnTypeError` for a result of the
/// wrong type). Strings are copied out of the event.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// `rule()`: a `bool`.
    pub rule: Option<R<bool>>,
    pub title: Option<R<String>>,
    pub dedup: Option<R<String>>,
    /// `alert_context()` as JSON.
    pub alert_context: Option<R<Map<String, Value>>>,
    /// `severity()`, upper-cased and checked; `Ok(None)` for `"DEFAULT"`.
    pub severity: Option<R<Option<Severity>>>,
    pub description: Option<R<String>>,
    pub reference: Option<R<String>>,
    pub runbook: Option<R<String>>,
    pub destinations: Option<R<()>>,
}

impl Results {
    /// The first exception of an alert function, with its function's name.
    pub fn first_error(&self) -> Option<(&'static str, &Exc)> {
        fn err<T>(r: &Option<R<T>>) -> Option<&Exc> {
            r.as_ref().and_then(|r| r.as_ref().err())
        }
        [
            ("title", err(&self.title)),
            ("description", err(&self.description)),
            ("reference", err(&self.reference)),
            ("severity", err(&self.severity)),
            ("runbook", err(&self.runbook)),
            ("destinations", err(&self.destinations)),
            ("dedup", err(&self.dedup)),
            ("alert_context", err(&self.alert_context)),
        ]
        .into_iter()
        .find_map(|(name, e)| e.map(|e| (name, e)))
    }
}

fn type_error(id: &str, function: &str, found: &Obj<'_>, expected: &str) -> Exc {
    Exc::new(
        "FunctionReturnTypeError",
        format!(
            "detection [{id}] function [{function}] returned [{}], expected [{expected}]",
            found.type_name()
        ),
    )
}

impl Python {
    fn model(&self, event: &Map<String, Value>) -> Option<&'static DataModel> {
        // Panther picks the data model by the event's own `p_log_type`.
        let Some(Value::String(log_type)) = event.get("p_log_type") else { return None };
        self.data_models.iter().find(|(t, _)| t == log_type).map(|(_, m)| *m)
    }

    fn with_event<T>(&self, event: &dyn crate::Event, f: impl FnOnce(Obj<'_>) -> R<T>) -> R<T> {
        let Some(map) = event.object() else {
            return Err(Exc::type_error("the event is not a JSON object"));
        };
        let dict = Event::dict(map);
        let ev = Event::new(map, self.model(map), &dict);
        f(Obj::Event(&ev))
    }

    /// `rule(event)`: it must return a `bool`.
    pub fn matches(&self, event: &dyn crate::Event) -> R<bool> {
        self.with_event(event, |e| match (self.rule)(e)? {
            Obj::Bool(b) => Ok(b),
            other => Err(type_error(self.id, "rule", &other, "bool")),
        })
    }

    /// A function that must return a `str`.
    fn text(&self, name: &str, f: PyFn, event: &dyn crate::Event) -> R<String> {
        self.with_event(event, |e| match f(e)? {
            Obj::Str(s) => Ok(truncate(s.as_str())),
            other => Err(type_error(self.id, name, &other, "str")),
        })
    }

    /// `alert_context(event)`: a mapping, as `json.dumps` writes it; one too large for Panther
    /// is replaced by Panther's `_error` object.
    fn context(&self, f: PyFn, event: &dyn crate::Event) -> R<Map<String, Value>> {
        self.with_event(event, |e| {
            let out = f(e)?;
            if super::ops::kind(&out) != super::ops::Kind::Dict {
                return Err(type_error(self.id, "alert_context", &out, "Mapping"));
            }
            let size = json_chars(&out)?;
            if size > MAX_CONTEXT_CHARS {
                let mut m = Map::new();
                m.insert(
                    "_error".into(),
                    Value::String(format!(
                        "alert_context size is [{size}] characters, bigger than maximum of [{MAX_CONTEXT_CHARS}] characters"
                    )),
                );
                return Ok(m);
            }
            match to_json(&out)? {
                Value::Object(m) => Ok(m),
                _ => unreachable!("a mapping converts to an object"),
            }
        })
    }

    fn severity_of(&self, f: PyFn, event: &dyn crate::Event) -> R<Option<Severity>> {
        let text = self.text("severity", f, event)?.to_uppercase();
        if text == "DEFAULT" {
            return Ok(None);
        }
        match text.parse::<Severity>() {
            Ok(s) if text == s.as_str().to_uppercase() => Ok(Some(s)),
            _ => Err(Exc::new(
                "AssertionError",
                format!(
                    "Expected severity to be any of the following: [['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']], got [{text}] instead."
                ),
            )),
        }
    }

    /// Every function the rule defines, as `pat test` runs them (all of them, whatever the
    /// verdict), in the order of `panther_core`'s `Rule.run`.
    pub fn run_all(&self, event: &dyn crate::Event) -> Results {
        let text = |name: &str, f: Option<PyFn>| f.map(|f| self.text(name, f, event));
        let rule = Some(self.matches(event));
        let title = text("title", self.title);
        let description = text("description", self.description);
        let reference = text("reference", self.reference);
        let severity = self.severity.map(|f| self.severity_of(f, event));
        let runbook = text("runbook", self.runbook);
        let destinations = self.destinations.map(|f| self.destinations_of(f, event));
        let dedup = text("dedup", self.dedup);
        let alert_context = self.alert_context.map(|f| self.context(f, event));
        Results { rule, title, dedup, alert_context, severity, description, reference, runbook, destinations }
    }

    fn destinations_of(&self, f: PyFn, event: &dyn crate::Event) -> R<()> {
        self.with_event(event, |e| match f(e)? {
            Obj::None => Ok(()),
            list if super::ops::kind(&list) == super::ops::Kind::List
                && super::items(&list)?.iter().all(|x| matches!(x, Obj::Str(_) | Obj::Bool(_))) =>
            {
                Ok(())
            }
            other => Err(type_error(self.id, "destinations", &other, "list")),
        })
    }

    /// Back to the state of a fresh import of the rule's module, on this thread.
    pub fn reset_state(&self) {
        super::state::reset(self.state);
    }

    /// The verdict as the engine's `decide` gives it: `None` for a match. An exception in
    /// `rule()` is no match, as in Panther (which records a rule error instead of an alert).
    pub fn decide(&self, event: &dyn crate::Event) -> Option<u32> {
        match self.matches(event) {
            Ok(true) => None,
            Ok(false) => Some(0),
            Err(e) => {
                RULE_ERRORS.with(|errors| errors.borrow_mut().push((self.id, e.to_string())));
                Some(0)
            }
        }
    }

    /// The alert outputs of a match as Panther computes them in production: a function that
    /// raises (or returns the wrong type) gives Panther's default instead. A title that is
    /// missing or empty shows the `DisplayName`, else the `RuleID`; the dedup string falls back
    /// on the title, then on `defaultDedupString:<RuleID>`.
    pub fn outputs(&self, event: &dyn crate::Event, meta: &crate::RuleMeta) -> crate::Outputs {
        // In the order of `panther_core`'s `Rule.run`. The functions whose results are not
        // outputs here run too: with module state they may assign what later ones read, and
        // any of them may write to the key-value store (`py::kv`), which later events read.
        let title = self.title.map(|f| self.text("title", f, event));
        let texts = [("description", self.description), ("reference", self.reference)];
        for (name, f) in texts {
            let _ = f.map(|f| self.text(name, f, event));
        }
        let severity = self.severity.map(|f| self.severity_of(f, event));
        let _ = self.runbook.map(|f| self.text("runbook", f, event));
        let _ = self.destinations.map(|f| self.destinations_of(f, event));
        let dedup = self.dedup.map(|f| self.text("dedup", f, event));
        let context = self.alert_context.map(|f| self.context(f, event));
        self.outputs_of(title, dedup, context, severity, meta)
    }

    /// The alert outputs from each function's result, with Panther's defaults for the
    /// functions that raised.
    pub fn outputs_of(
        &self,
        title: Option<R<String>>,
        dedup: Option<R<String>>,
        context: Option<R<Map<String, Value>>>,
        severity: Option<R<Option<Severity>>>,
        meta: &crate::RuleMeta,
    ) -> crate::Outputs {
        let default_dedup = || format!("defaultDedupString:{}", self.id);
        let title_output: Option<String> = title.map(|t| t.unwrap_or_else(|_| self.id.to_string()));
        let dedup = match dedup {
            Some(d) => match d {
                Ok(d) if !d.is_empty() => d,
                _ => default_dedup(),
            },
            None => match &title_output {
                Some(t) if !t.is_empty() => t.clone(),
                _ => default_dedup(),
            },
        };
        let title = match title_output {
            Some(t) if !t.is_empty() => t,
            _ => meta.display_name.unwrap_or(meta.id).to_string(),
        };
        let context = match context {
            None => Map::new(),
            Some(c) => c.unwrap_or_else(|e| {
                let mut m = Map::new();
                m.insert("_error".into(), Value::String(e.python_repr()));
                m
            }),
        };
        let severity = match severity {
            None => meta.severity,
            Some(s) => s.ok().flatten().unwrap_or(meta.severity),
        };
        crate::Outputs { title, dedup, context, severity }
    }
}

/// Panther's cut of a long output: 985 characters and `... (truncated)`.
fn truncate(s: &str) -> String {
    const MAX: usize = 1000;
    const MARK: &str = "... (truncated)";
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    s.chars().take(MAX - MARK.len()).collect::<String>() + MARK
}

/// The length in characters of `json.dumps(x)` (ASCII: non-ASCII characters are escaped).
fn json_chars(x: &Obj<'_>) -> R<usize> {
    match super::stdlib::json_dumps_panther(x)? {
        Obj::Str(s) => Ok(s.as_str().len()),
        _ => unreachable!("json.dumps gives a string"),
    }
}

/// A Python value as JSON, as `json.dumps(x, default=PantherEvent.json_encoder,
/// allow_nan=False)` writes it (Panther's wrappers as their raw container).
pub fn to_json(x: &Obj<'_>) -> R<Value> {
    use super::ops::{Kind, kind};
    Ok(match x {
        Obj::None => Value::Null,
        Obj::Bool(b) => Value::Bool(*b),
        Obj::Int(i) => Value::from(*i),
        Obj::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => return Err(Exc::value_error("Out of range float values are not JSON compliant")),
        },
        Obj::Str(s) => Value::String(s.as_str().to_string()),
        Obj::Json(v) => (*v).clone(),
        Obj::Event(e) => Value::Object(e.value.clone()),
        _ => match kind(x) {
            Kind::List | Kind::Tuple => Value::Array(super::items(x)?.iter().map(to_json).collect::<R<_>>()?),
            Kind::Dict => {
                let mut m = Map::new();
                for (k, v) in super::dict_items(x)? {
                    let key = match &k {
                        Obj::Str(s) => s.as_str().to_string(),
                        Obj::None => "null".into(),
                        Obj::Bool(b) => {
                            if *b {
                                "true".into()
                            } else {
                                "false".into()
                            }
                        }
                        Obj::Int(i) => i.to_string(),
                        Obj::Float(f) => super::fmt::float_repr(*f),
                        other => {
                            return Err(Exc::type_error(format!(
                                "keys must be str, int, float, bool or None, not {}",
                                other.type_name()
                            )));
                        }
                    };
                    m.insert(key, to_json(&v)?);
                }
                Value::Object(m)
            }
            _ => {
                return Err(Exc::type_error(format!(
                    "object of type <class '{}'> is not JSON serializable",
                    x.class_path()
                )));
            }
        },
    })
}

thread_local! {
    /// The exceptions `rule()` raised on this thread since the engine last took them (Panther
    /// records a rule error where the compiled rule reports no match).
    static RULE_ERRORS: std::cell::RefCell<Vec<(&'static str, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the rule errors recorded on this thread: `(RuleID, exception)`.
pub fn take_rule_errors() -> Vec<(&'static str, String)> {
    RULE_ERRORS.with(|errors| std::mem::take(&mut *errors.borrow_mut()))
}

/// Forgets the rule errors recorded on this thread (without freeing their buffer).
pub fn clear_rule_errors() {
    RULE_ERRORS.with(|errors| errors.borrow_mut().clear());
}
