//! The event as Python rules see it: Panther's `PantherEvent`, an immutable case-insensitive
//! dictionary with `get`, `deep_get`, `deep_walk` and `udm` (data models).

use serde_json::{Map, Value};

use super::{Exc, Obj, R, eq, ops::Kind, ops::kind};

/// The event a rule function receives (Panther's `PantherEvent`), with the data model of its
/// log type; or, when `model` is `None` and `plain` is true, the same event as the plain
/// case-insensitive dictionary a data model's method receives (which has no `udm`).
#[derive(Debug)]
pub struct Event<'e> {
    pub value: &'e Map<String, Value>,
    pub model: Option<&'static DataModel>,
    /// The event as a data model method sees it.
    pub as_dict: Option<&'e Event<'e>>,
    /// Values Panther wraps as immutable during this evaluation (a data model method's
    /// dictionary), kept for as long as the event.
    arena: Arena,
}

/// An append-only store of JSON values that hands out references living as long as itself.
#[derive(Debug, Default)]
struct Arena(std::cell::RefCell<Vec<Box<Value>>>);

impl Arena {
    fn alloc(&self, v: Value) -> &Value {
        let boxed = Box::new(v);
        let at: *const Value = &*boxed;
        self.0.borrow_mut().push(boxed);
        // SAFETY: the box's contents never move and are never dropped or mutated while
        // `self` lives: the vector only grows, and only the boxes' pointers move with it.
        unsafe { &*at }
    }
}

/// A data model (`AnalysisType: datamodel`): for `event.udm(name)`, each name's mapping.
pub struct DataModel {
    pub id: &'static str,
    pub mappings: &'static [(&'static str, Mapping)],
}

/// How a data model resolves one name.
#[derive(Clone, Copy)]
pub enum Mapping {
    /// A JSONPath of plain fields (`$.a.b`, or a bare `field`): exact keys of the raw event.
    Path(&'static [&'static str]),
    /// A function of the model's `.py`, called with the event as a dictionary.
    Method(for<'e> fn(Obj<'e>) -> R<Obj<'e>>),
}

impl std::fmt::Debug for DataModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataModel").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Key lookup in an event object as Panther's `ImmutableCaseInsensitiveDict` does it: the
/// exact key, else the first key (in document order) whose `str.lower()` equals the key's.
pub(crate) fn lookup<'e>(map: &'e Map<String, Value>, key: &str) -> Option<&'e Value> {
    if let Some(v) = map.get(key) {
        return Some(v);
    }
    if key.is_ascii() {
        // An ASCII key equals another's lower-casing only if that one lower-cases to ASCII too;
        // `str.lower` maps few non-ASCII characters to ASCII (the Kelvin sign to `k`).
        let fast = map.iter().find(|(k, _)| k.len() == key.len() && k.eq_ignore_ascii_case(key));
        if map.keys().all(|k| k.is_ascii()) {
            return fast.map(|(_, v)| v);
        }
    }
    let wanted = key.to_lowercase();
    map.iter().find(|(k, _)| k.to_lowercase() == wanted).map(|(_, v)| v)
}

impl<'e> Event<'e> {
    /// The event as Panther's `PantherEvent`; `dict` is [`Event::dict`] of the same object.
    pub fn new(
        value: &'e Map<String, Value>,
        model: Option<&'static DataModel>,
        dict: &'e Event<'e>,
    ) -> Event<'e> {
        Event { value, model, as_dict: Some(dict), arena: Arena::default() }
    }

    /// The event as a plain `ImmutableCaseInsensitiveDict`.
    pub fn dict(value: &'e Map<String, Value>) -> Event<'e> {
        Event { value, model: None, as_dict: None, arena: Arena::default() }
    }

    /// `_ensure_immutable` of a data model method's result: a dictionary or list becomes
    /// Panther's immutable wrapper (kept in the event's arena); scalars stay as they are.
    fn immutable(&'e self, v: Obj<'e>) -> R<Obj<'e>> {
        match v {
            Obj::Dict(_) | Obj::List(_) => Ok(Obj::Json(self.arena.alloc(plain_json(&v)?))),
            Obj::Set(_) => Err(Exc::unsupported("a data model method returning a set")),
            v => Ok(v),
        }
    }

    /// Whether this is the `PantherEvent` (with `udm` and `deep_walk`), not the plain view.
    pub fn is_event(&self) -> bool {
        self.as_dict.is_some()
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

/// Whether `x` is a list holding only lists that are empty in the same sense (deep_walk's
/// `_empty_list`).
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

/// `event.deep_walk(*keys, default=None, return_val="all")`, Panther's method: it walks the
/// raw event, so keys match exactly and the values found are plain (a dictionary found is
/// unhashable, as in CPython).
pub fn raw_deep_walk<'e>(
    event: &'e Map<String, Value>,
    keys: &[Obj<'e>],
    default: Obj<'e>,
    return_val: &str,
) -> R<Obj<'e>> {
    raw_walk(&RawObj::Map(event), keys, &default, return_val)
}

enum RawObj<'a, 'e> {
    Map(&'e Map<String, Value>),
    Obj(&'a Obj<'e>),
}

fn raw_walk<'e>(obj: &RawObj<'_, 'e>, keys: &[Obj<'e>], default: &Obj<'e>, return_val: &str) -> R<Obj<'e>> {
    let plain = |x: &Obj<'e>| -> R<Obj<'e>> {
        match x {
            Obj::Json(v) => super::raw(v),
            other => Ok(other.clone()),
        }
    };
    let Some((key, rest)) = keys.split_first() else {
        let value = match obj {
            RawObj::Map(m) => return super::raw_map(m),
            RawObj::Obj(o) => *o,
        };
        return if value.is_none() || empty_list(value)? { Ok(default.clone()) } else { plain(value) };
    };
    let exact = |m: &'e Map<String, Value>| -> R<Obj<'e>> {
        match key {
            Obj::Str(k) => m.get(k.as_str()).map_or(Ok(default.clone()), Obj::from_json),
            _ => Ok(default.clone()),
        }
    };
    let value = match obj {
        RawObj::Map(m) => Some(exact(m)?),
        RawObj::Obj(Obj::Json(Value::Object(m))) => Some(exact(m)?),
        RawObj::Obj(Obj::Event(e)) => Some(exact(e.value)?),
        RawObj::Obj(o) if kind(o) == Kind::Dict => Some(mapping_get(o, key, default.clone())?),
        _ => None,
    };
    if let Some(next) = value {
        return raw_walk(&RawObj::Obj(&next), rest, default, return_val);
    }
    let mut found: Vec<Obj<'e>> = Vec::new();
    if let RawObj::Obj(o) = obj
        && matches!(kind(o), Kind::List | Kind::Tuple)
    {
        for item in super::items(o)? {
            let value = raw_walk(&RawObj::Obj(&item), keys, default, return_val)?;
            if value.is_none() {
                continue;
            }
            let values = if matches!(kind(&value), Kind::List | Kind::Tuple) {
                super::items(&value)?
            } else {
                vec![value]
            };
            for v in values {
                let v = plain(&v)?;
                super::hashable(&v)?;
                if !found.iter().any(|f| eq(f, &v)) {
                    found.push(v);
                }
            }
        }
    }
    if found.is_empty() {
        return Ok(default.clone());
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
    /// `event.udm(*keys, default=None)`, as Panther resolves it: with one key and a data model,
    /// the key's `Path` (one match, whatever its value; several raise), else its `Method`, else
    /// (when the model maps the name at all) `default`; otherwise `p_udm.<keys>` if truthy, else
    /// the event's own `deep_get(*keys)` if truthy, else `default`.
    pub fn udm(&'e self, this: &Obj<'e>, keys: &[Obj<'e>], default: Obj<'e>) -> R<Obj<'e>> {
        if let (Some(model), [Obj::Str(name)]) = (self.model, keys) {
            if let Some((_, mapping)) = model.mappings.iter().find(|(n, _)| *n == name.as_str()) {
                match mapping {
                    Mapping::Path(path) => {
                        let mut cur: Option<&'e Value> = None;
                        let mut map = Some(self.value);
                        for key in *path {
                            cur = map.and_then(|m| m.get(*key));
                            map = cur.and_then(Value::as_object);
                        }
                        if let Some(v) = cur {
                            return Obj::from_json(v);
                        }
                    }
                    Mapping::Method(f) => {
                        let dict = self.as_dict.map_or(this.clone(), Obj::Event);
                        return self.immutable(f(dict)?);
                    }
                }
                // Several mappings may share a name: Panther tries the path, then the method.
                if let Some((_, Mapping::Method(f))) = model
                    .mappings
                    .iter()
                    .find(|(n, m)| *n == name.as_str() && matches!(m, Mapping::Method(_)))
                {
                    let dict = self.as_dict.map_or(this.clone(), Obj::Event);
                    return self.immutable(f(dict)?);
                }
                return Ok(default);
            }
        }
        if keys.is_empty() {
            return Ok(default);
        }
        let mut in_udm = vec![Obj::str("p_udm")];
        in_udm.extend(keys.iter().cloned());
        let mut result = deep_get(this, &in_udm, Obj::None)?;
        if !super::truthy(&result) {
            result = deep_get(this, keys, Obj::None)?;
        }
        Ok(if super::truthy(&result) { result } else { default })
    }
}

/// A dictionary or list of plain JSON values as JSON; anything JSON cannot hold exactly
/// (tuples, sets, other objects, non-string keys, NaN) is an error, not an approximation.
fn plain_json(x: &Obj<'_>) -> R<Value> {
    use super::ops::{Kind, kind};
    let unsupported = || Exc::unsupported(format!("a data model method result holding a {}", x.type_name()));
    Ok(match x {
        Obj::None => Value::Null,
        Obj::Bool(b) => Value::Bool(*b),
        Obj::Int(i) => Value::from(*i),
        Obj::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).ok_or_else(unsupported)?,
        Obj::Str(s) => Value::String(s.as_str().to_string()),
        Obj::Json(v) => (*v).clone(),
        Obj::List(_) | Obj::Const(super::Const::List(_)) => {
            Value::Array(super::items(x)?.iter().map(plain_json).collect::<R<_>>()?)
        }
        _ if kind(x) == Kind::Dict && !matches!(x, Obj::Event(_)) => {
            let mut m = Map::new();
            for (k, v) in super::dict_items(x)? {
                let Obj::Str(k) = k else { return Err(unsupported()) };
                m.insert(k.as_str().to_string(), plain_json(&v)?);
            }
            Value::Object(m)
        }
        _ => return Err(unsupported()),
    })
}
