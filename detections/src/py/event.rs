//! The event as Python rules see it: Panther's `PantherEvent`, an immutable case-insensitive
//! dictionary with `get`, `deep_get`, `deep_walk` and `udm` (data models).

use serde_json::{Map, Value};

use super::{Exc, Obj, R, eq, ops::Kind, ops::kind};

/// The event a rule function receives, with the data model of its log type.
#[derive(Debug)]
pub struct Event<'e> {
    pub value: &'e Map<String, Value>,
    pub model: Option<&'static DataModel>,
}

/// A data model (`AnalysisType: datamodel`): for `event.udm(name)`, each name's compiled
/// mapping (a `Path` or a `Method` of the model's Python file).
pub struct DataModel {
    pub id: &'static str,
    pub mappings: &'static [(&'static str, Mapping)],
}

/// How a data model resolves one name.
pub type Mapping = for<'e> fn(&Obj<'e>) -> R<Obj<'e>>;

impl std::fmt::Debug for DataModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataModel").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Key lookup in an event object: the exact key, else the first key equal ignoring case.
pub(crate) fn lookup<'e>(map: &'e Map<String, Value>, key: &str) -> Option<&'e Value> {
    crate::event::lookup(map, key)
}

impl<'e> Event<'e> {
    pub fn new(value: &'e Map<String, Value>, model: Option<&'static DataModel>) -> Event<'e> {
        Event { value, model }
    }
}

/// `d.get(key, default)` on any mapping (the event, its objects, dictionaries).
pub fn mapping_get<'e>(d: &Obj<'e>, key: &Obj<'e>, default: Obj<'e>) -> R<Obj<'e>> {
    match d {
        Obj::Event(e) => match key {
            Obj::Str(k) => lookup(e.value, k.as_str()).map_or(Ok(default), Obj::from_json),
            _ => Ok(default),
        },
        Obj::Json(Value::Object(m)) => match key {
            Obj::Str(k) => lookup(m, k.as_str()).map_or(Ok(default), Obj::from_json),
            _ => Ok(default),
        },
        _ if kind(d) == Kind::Dict => match super::getitem(d, key) {
            Ok(v) => Ok(v),
            Err(e) if e.kind == "KeyError" => Ok(default),
            Err(e) => Err(e),
        },
        _ => Err(Exc::attribute_error(d, "get")),
    }
}

/// Whether `x` is a mapping (`isinstance(x, Mapping)`, and `dict` for Panther's wrappers).
pub fn is_mapping(x: &Obj<'_>) -> bool {
    kind(x) == Kind::Dict
}

/// `deep_get(obj, *keys, default=None)` as Panther's event method and base helper do it:
/// `get` through mappings, `default` as soon as a level is not a mapping, and `default` for a
/// final `None`.
pub fn deep_get<'e>(obj: &Obj<'e>, keys: &[Obj<'e>], default: Obj<'e>) -> R<Obj<'e>> {
    let mut cur = obj.clone();
    for key in keys {
        cur = if is_mapping(&cur) { mapping_get(&cur, key, default.clone())? } else { default.clone() };
    }
    Ok(if cur.is_none() { default } else { cur })
}

/// `deep_walk(obj, *keys, default=None, return_val="all")`: `deep_get` that also descends into
/// every element of lists, collecting distinct values (first seen first).
pub fn deep_walk<'e>(obj: &Obj<'e>, keys: &[Obj<'e>], default: Obj<'e>, return_val: &str) -> R<Obj<'e>> {
    fn empty_list(x: &Obj<'_>) -> R<bool> {
        if matches!(kind(x), Kind::List | Kind::Tuple) {
            for item in super::items(x)? {
                if !empty_list(&item)? {
                    return Ok(false);
                }
            }
            Ok(true)
        } else {
            Ok(false)
        }
    }
    let Some((key, rest)) = keys.split_first() else {
        return Ok(if empty_list(obj)? { default } else { obj.clone() });
    };
    if is_mapping(obj) {
        let next = mapping_get(obj, key, Obj::None)?;
        return if next.is_none() { Ok(default) } else { deep_walk(&next, rest, default, return_val) };
    }
    let mut found: Vec<Obj<'e>> = Vec::new();
    if matches!(kind(obj), Kind::List | Kind::Tuple) {
        for item in super::items(obj)? {
            let value = deep_walk(&item, keys, default.clone(), return_val)?;
            if value.is_none() {
                continue;
            }
            let values = if matches!(kind(&value), Kind::List | Kind::Tuple) { super::items(&value)? } else { vec![value] };
            for v in values {
                super::hashable(&v)?;
                if !found.iter().any(|f| eq(f, &v)) {
                    found.push(v);
                }
            }
        }
    }
    if found.is_empty() {
        return Ok(default);
    }
    Ok(match return_val {
        "first" => found.swap_remove(0),
        "last" => found.pop().expect("not empty"),
        "all" if found.len() == 1 => found.pop().expect("one"),
        "all" => Obj::list(found),
        _ => Obj::str("all"),
    })
}

impl<'e> Event<'e> {
    /// `event.udm(name, default=None)`: the data model's mapping of `name`, else `default`.
    pub fn udm(&self, this: &Obj<'e>, name: &Obj<'e>, default: Obj<'e>) -> R<Obj<'e>> {
        let Some(model) = self.model else {
            return Err(Exc::new("Exception", "a data model hasn't been specified for this log type"));
        };
        let Obj::Str(name) = name else { return Ok(default) };
        match model.mappings.iter().find(|(n, _)| *n == name.as_str()) {
            Some((_, f)) => {
                let v = f(this)?;
                Ok(if v.is_none() { default } else { v })
            }
            None => Ok(default),
        }
    }
}
