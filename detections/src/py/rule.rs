//! A rule compiled from Python: its Panther functions, run as Panther runs them (the event as
//! `PantherEvent` with its log type's data model, `rule()`'s verdict, and the alert functions'
//! results turned into Panther's outputs with its defaults).

use serde_json::{Map, Value};

use super::{DataModel, Event, Exc, Obj, R, truthy};
use crate::rule::{Context, Severity};

/// A compiled Python function of the event.
pub type PyFn = for<'e> fn(Obj<'e>) -> R<Obj<'e>>;

/// The Panther functions a Python rule defines (`rule` always).
pub struct Python {
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
    /// The rule's log types: the data model of the first is used when the event does not name
    /// its own (`p_log_type`).
    pub log_types: &'static [&'static str],
}

impl std::fmt::Debug for Python {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Python").field("source", &self.source).finish_non_exhaustive()
    }
}

impl Python {
    fn model(&self, event: &Map<String, Value>) -> Option<&'static DataModel> {
        let named = match crate::event::lookup(event, "p_log_type") {
            Some(Value::String(t)) => Some(t.as_str()),
            _ => None,
        };
        let log_type = named.filter(|t| self.log_types.contains(t)).or(self.log_types.first().copied())?;
        self.data_models.iter().find(|(t, _)| *t == log_type).map(|(_, m)| *m)
    }

    /// Runs `f` on the event as Python rules see it.
    pub fn call(&self, f: PyFn, event: &dyn crate::Event) -> R<Obj<'static>> {
        let Some(map) = event.object() else {
            return Err(Exc::type_error("the event is not a JSON object"));
        };
        let ev = Event::new(map, self.model(map));
        // Outputs are converted before the event is released: only owned values escape.
        f(Obj::Event(&ev)).map(|o| detach(&o))
    }

    /// `rule(event)`, as Panther reads it: the truth of the result.
    pub fn matches(&self, event: &dyn crate::Event) -> R<bool> {
        let Some(map) = event.object() else {
            return Err(Exc::type_error("the event is not a JSON object"));
        };
        let ev = Event::new(map, self.model(map));
        (self.rule)(Obj::Event(&ev)).map(|o| truthy(&o))
    }

    /// A string output (`title`, `dedup`, `description`, …): `str()` of the result, `None`
    /// when the function is absent or returns `None`.
    pub fn text(&self, f: Option<PyFn>, event: &dyn crate::Event) -> R<Option<String>> {
        let Some(f) = f else { return Ok(None) };
        let map = event.object().ok_or_else(|| Exc::type_error("the event is not a JSON object"))?;
        let ev = Event::new(map, self.model(map));
        let out = f(Obj::Event(&ev))?;
        Ok(if out.is_none() { None } else { Some(super::str_of(&out)) })
    }

    /// `alert_context(event)` as JSON: a dictionary, its values converted as `json.dumps`
    /// with `default=str` converts them.
    pub fn context(&self, event: &dyn crate::Event) -> R<Option<Context>> {
        let Some(f) = self.alert_context else { return Ok(None) };
        let map = event.object().ok_or_else(|| Exc::type_error("the event is not a JSON object"))?;
        let ev = Event::new(map, self.model(map));
        let out = f(Obj::Event(&ev))?;
        match to_json(&out)? {
            Value::Object(m) => Ok(Some(m)),
            _ => Err(Exc::type_error(format!("alert_context must return a dict, not {}", out.type_name()))),
        }
    }

    /// `severity(event)`: a severity name in any case, or `"DEFAULT"` for the rule's own.
    pub fn severity(&self, event: &dyn crate::Event, default: Severity) -> R<Severity> {
        let Some(text) = self.text(self.severity, event)? else { return Ok(default) };
        if text.eq_ignore_ascii_case("default") {
            return Ok(default);
        }
        text.parse::<Severity>().map_err(|_| Exc::value_error(format!("unknown severity `{text}`")))
    }
}

/// A value with no borrow of the event left (strings copied).
fn detach(x: &Obj<'_>) -> Obj<'static> {
    match x {
        Obj::None => Obj::None,
        Obj::Bool(b) => Obj::Bool(*b),
        Obj::Int(i) => Obj::Int(*i),
        Obj::Float(f) => Obj::Float(*f),
        other => Obj::string(super::str_of(other)),
    }
}

/// A Python value as JSON, as `json.dumps(x, default=str)` would write it.
pub fn to_json(x: &Obj<'_>) -> R<Value> {
    use super::ops::{Kind, kind};
    Ok(match x {
        Obj::None => Value::Null,
        Obj::Bool(b) => Value::Bool(*b),
        Obj::Int(i) => Value::from(*i),
        Obj::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Obj::Str(s) => Value::String(s.as_str().to_string()),
        Obj::Json(v) => (*v).clone(),
        Obj::Event(e) => Value::Object(e.value.clone()),
        _ => match kind(x) {
            Kind::List | Kind::Tuple | Kind::Set => {
                Value::Array(super::items(x)?.iter().map(to_json).collect::<R<_>>()?)
            }
            Kind::Dict => {
                let mut m = Map::new();
                for (k, v) in super::dict_items(x)? {
                    let key = match &k {
                        Obj::Str(s) => s.as_str().to_string(),
                        Obj::None => "null".into(),
                        Obj::Bool(b) => if *b { "true".into() } else { "false".into() },
                        other => super::str_of(other),
                    };
                    m.insert(key, to_json(&v)?);
                }
                Value::Object(m)
            }
            _ => Value::String(super::str_of(x)),
        },
    })
}

impl Python {
    /// The verdict as the engine's `decide` gives it: `None` for a match. An exception in
    /// `rule()` is no match, as in Panther (which records a rule error instead of an alert).
    pub fn decide(&self, event: &dyn crate::Event) -> Option<u32> {
        match self.matches(event) {
            Ok(true) => None,
            _ => Some(0),
        }
    }
}
