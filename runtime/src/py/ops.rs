//! Python's operators on [`Obj`]: `==`, ordering, `in`, arithmetic, indexing, slicing,
//! `len` and iteration, with CPython's results and exceptions.

use std::cmp::Ordering;

use serde_json::Value;

use super::event::lookup;
use super::{Const, Exc, Obj, R, hashable};

/// What a container holds, seen uniformly (event JSON, constants, run-time values).
pub(crate) enum Seq<'a, 'e> {
    Json(&'e [Value]),
    Const(&'static [Const]),
    Objs(&'a [Obj<'e>]),
}

/// `a == b`.
pub fn eq(a: &Obj<'_>, b: &Obj<'_>) -> bool {
    use Obj::*;
    match (a, b) {
        (None, None) => true,
        (Str(x), Str(y)) => x.as_str() == y.as_str(),
        (Bool(_) | Int(_) | Float(_), Bool(_) | Int(_) | Float(_)) => num_cmp(a, b) == Some(Ordering::Equal),
        _ => match (kind(a), kind(b)) {
            // Panther's immutable list equals a list or a tuple with the same items.
            (Kind::List, Kind::Tuple) | (Kind::Tuple, Kind::List)
                if matches!(a, Obj::Json(_)) || matches!(b, Obj::Json(_)) =>
            {
                match (items(a), items(b)) {
                    (Ok(x), Ok(y)) => x.len() == y.len() && x.iter().zip(&y).all(|(i, j)| eq(i, j)),
                    _ => false,
                }
            }
            (Kind::List, Kind::List) | (Kind::Tuple, Kind::Tuple) | (Kind::Set, Kind::Set) => {
                let (x, y) = (items(a), items(b));
                match (x, y) {
                    (Ok(x), Ok(y)) if kind(a) == Kind::Set => {
                        x.len() == y.len() && x.iter().all(|i| y.iter().any(|j| eq(i, j)))
                    }
                    (Ok(x), Ok(y)) => x.len() == y.len() && x.iter().zip(&y).all(|(i, j)| eq(i, j)),
                    _ => false,
                }
            }
            (Kind::Dict, Kind::Dict) => match (dict_items(a), dict_items(b)) {
                (Ok(x), Ok(y)) => {
                    x.len() == y.len()
                        && x.iter().all(|(k, v)| y.iter().any(|(k2, v2)| eq(k, k2) && eq(v, v2)))
                }
                _ => false,
            },
            _ => match (a, b) {
                (Regex(x), Regex(y)) => std::rc::Rc::ptr_eq(x, y) || x.source == y.source,
                (Native(x), Native(y)) => x.eq(y),
                (Instance(x), Instance(y)) => {
                    std::ptr::addr_eq(std::rc::Rc::as_ptr(x), std::rc::Rc::as_ptr(y))
                }
                _ => false,
            },
        },
    }
}

/// `a != b`.
pub fn ne(a: &Obj<'_>, b: &Obj<'_>) -> bool {
    !eq(a, b)
}

/// `a is b` for the singletons compiled code compares by identity (`None`, `True`, `False`).
pub fn is(a: &Obj<'_>, b: &Obj<'_>) -> bool {
    match (a, b) {
        (Obj::None, Obj::None) => true,
        (Obj::Bool(x), Obj::Bool(y)) => x == y,
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Scalar,
    List,
    Tuple,
    Dict,
    Set,
    Other,
}

/// Which Python container type a value is. Panther's immutable list is a list here (it also
/// equals tuples: see `eq`), its immutable dictionary a dictionary.
pub(crate) fn kind(x: &Obj<'_>) -> Kind {
    match x {
        Obj::None | Obj::Bool(_) | Obj::Int(_) | Obj::Float(_) | Obj::Str(_) => Kind::Scalar,
        Obj::Json(Value::Array(_)) | Obj::List(_) => Kind::List,
        Obj::Json(_) | Obj::Event(_) | Obj::Dict(_) => Kind::Dict,
        Obj::Const(Const::List(_)) => Kind::List,
        Obj::Const(Const::Tuple(_)) | Obj::Tuple(_) | Obj::NamedTuple(_) => Kind::Tuple,
        Obj::Const(Const::Dict(_)) => Kind::Dict,
        Obj::Const(Const::Set(_)) | Obj::Set(_) => Kind::Set,
        // A named tuple (`urlparse`'s result) is a tuple.
        Obj::Native(n) if matches!(**n, super::stdlib::Native::ParseResult(_)) => Kind::Tuple,
        _ => Kind::Other,
    }
}

fn num_cmp(a: &Obj<'_>, b: &Obj<'_>) -> Option<Ordering> {
    use crate::value::Num;
    let num = |x: &Obj<'_>| match x {
        Obj::Bool(b) => Some(Num::Int(i64::from(*b))),
        Obj::Int(i) => Some(Num::Int(*i)),
        Obj::Float(f) => Some(Num::Float(*f)),
        _ => None,
    };
    num(a)?.compare(num(b)?)
}

/// `a < b` and friends: numbers with numbers, strings with strings (by code point), lists and
/// tuples element by element; anything else is CPython's `TypeError`.
pub fn compare(a: &Obj<'_>, b: &Obj<'_>, op: &'static str) -> R<bool> {
    let ord = order(a, b, op)?;
    Ok(match (op, ord) {
        (_, None) => false, // NaN
        ("<", Some(o)) => o == Ordering::Less,
        ("<=", Some(o)) => o != Ordering::Greater,
        (">", Some(o)) => o == Ordering::Greater,
        (">=", Some(o)) => o != Ordering::Less,
        _ => unreachable!("comparison operator {op}"),
    })
}

pub fn lt(a: &Obj<'_>, b: &Obj<'_>) -> R<bool> {
    compare(a, b, "<")
}
pub fn le(a: &Obj<'_>, b: &Obj<'_>) -> R<bool> {
    compare(a, b, "<=")
}
pub fn gt(a: &Obj<'_>, b: &Obj<'_>) -> R<bool> {
    compare(a, b, ">")
}
pub fn ge(a: &Obj<'_>, b: &Obj<'_>) -> R<bool> {
    compare(a, b, ">=")
}

/// The ordering of two values (`None` for NaN), or CPython's `TypeError`.
pub(crate) fn order(a: &Obj<'_>, b: &Obj<'_>, op: &str) -> R<Option<Ordering>> {
    use Obj::*;
    match (a, b) {
        (Bool(_) | Int(_) | Float(_), Bool(_) | Int(_) | Float(_)) => Ok(num_cmp(a, b)),
        (Str(x), Str(y)) => Ok(Some(x.as_str().cmp(y.as_str()))),
        (Native(x), Native(y)) => x.order(y)?.map(Some).ok_or_else(|| unorderable(a, b, op)),
        _ => match (kind(a), kind(b)) {
            (Kind::List, Kind::List) | (Kind::Tuple, Kind::Tuple) => {
                let (x, y) = (items(a)?, items(b)?);
                for (i, j) in x.iter().zip(&y) {
                    if !eq(i, j) {
                        return order(i, j, op);
                    }
                }
                Ok(Some(x.len().cmp(&y.len())))
            }
            _ => Err(unorderable(a, b, op)),
        },
    }
}

fn unorderable(a: &Obj<'_>, b: &Obj<'_>, op: &str) -> Exc {
    Exc::type_error(format!(
        "'{op}' not supported between instances of '{}' and '{}'",
        a.type_name(),
        b.type_name()
    ))
}

/// `needle in haystack`.
pub fn contains(haystack: &Obj<'_>, needle: &Obj<'_>) -> R<bool> {
    match haystack {
        Obj::Str(h) => match needle {
            Obj::Str(n) => Ok(h.as_str().contains(n.as_str())),
            _ => Err(Exc::type_error(format!(
                "'in <string>' requires string as left operand, not {}",
                needle.type_name()
            ))),
        },
        Obj::Json(Value::Object(map)) => Ok(match needle {
            Obj::Str(k) => lookup(map, k.as_str()).is_some(),
            _ => false,
        }),
        Obj::Event(e) => Ok(match needle {
            Obj::Str(k) => lookup(e.value, k.as_str()).is_some(),
            _ => false,
        }),
        Obj::Dict(_) | Obj::Const(Const::Dict(_)) => {
            hashable(needle)?;
            Ok(dict_items(haystack)?.iter().any(|(k, _)| eq(k, needle)))
        }
        Obj::Set(_) | Obj::Const(Const::Set(_)) => {
            hashable(needle)?;
            Ok(items(haystack)?.iter().any(|i| eq(i, needle)))
        }
        Obj::Const(Const::List(_) | Const::Tuple(_))
        | Obj::List(_)
        | Obj::Tuple(_)
        | Obj::NamedTuple(_)
        | Obj::Json(_) => Ok(items(haystack)?.iter().any(|i| eq(i, needle))),
        Obj::Native(n) => n.contains(needle),
        _ => Err(Exc::type_error(format!("argument of type '{}' is not iterable", haystack.type_name()))),
    }
}

/// `needle not in haystack`.
pub fn not_contains(haystack: &Obj<'_>, needle: &Obj<'_>) -> R<bool> {
    contains(haystack, needle).map(|b| !b)
}

/// The elements of a list, tuple or set (or an iterable's items, see [`iter`]).
pub fn items<'e>(x: &Obj<'e>) -> R<Vec<Obj<'e>>> {
    match x {
        Obj::Json(Value::Array(a)) => a.iter().map(Obj::from_json).collect(),
        Obj::Const(Const::List(c) | Const::Tuple(c) | Const::Set(c)) => {
            Ok(c.iter().map(Obj::from_const).collect())
        }
        Obj::List(l) | Obj::Set(l) => Ok(l.borrow().clone()),
        Obj::Tuple(t) => Ok(t.to_vec()),
        Obj::NamedTuple(t) => Ok(t.items.to_vec()),
        _ => iter(x),
    }
}

/// The `(key, value)` pairs of a dictionary, in order.
pub fn dict_items<'e>(x: &Obj<'e>) -> R<Vec<(Obj<'e>, Obj<'e>)>> {
    match x {
        Obj::Json(Value::Object(m)) => m.iter().map(|(k, v)| Ok((Obj::str(k), Obj::from_json(v)?))).collect(),
        Obj::Event(e) => e.value.iter().map(|(k, v)| Ok((Obj::str(k), Obj::from_json(v)?))).collect(),
        Obj::Const(Const::Dict(d)) => {
            Ok(d.iter().map(|(k, v)| (Obj::from_const(k), Obj::from_const(v))).collect())
        }
        Obj::Dict(d) => Ok(d.borrow().entries.clone()),
        _ => Err(Exc::attribute_error(x, "items")),
    }
}

/// `{**x}`: the pairs of mapping `x`, or CPython's `TypeError`.
pub fn dict_unpack<'e>(x: &Obj<'e>) -> R<Vec<(Obj<'e>, Obj<'e>)>> {
    match x {
        Obj::Instance(_) => Err(Exc::unsupported("`**` of an object of a class in a dictionary display")),
        _ if kind(x) == Kind::Dict => dict_items(x),
        _ => Err(Exc::type_error(format!("'{}' object is not a mapping", x.type_name()))),
    }
}

/// `for x in obj`: the items Python's iteration yields (a dict's keys, a string's characters).
pub fn iter<'e>(x: &Obj<'e>) -> R<Vec<Obj<'e>>> {
    match x {
        Obj::Str(s) => Ok(s.as_str().chars().map(|c| Obj::string(c.to_string())).collect()),
        Obj::Json(Value::Object(m)) => Ok(m.keys().map(|k| Obj::str(k)).collect()),
        Obj::Event(e) => Ok(e.value.keys().map(|k| Obj::str(k)).collect()),
        Obj::Const(Const::Dict(d)) => Ok(d.iter().map(|(k, _)| Obj::from_const(k)).collect()),
        Obj::Dict(d) => Ok(d.borrow().entries.iter().map(|(k, _)| k.clone()).collect()),
        Obj::Json(Value::Array(_))
        | Obj::Const(_)
        | Obj::List(_)
        | Obj::Set(_)
        | Obj::Tuple(_)
        | Obj::NamedTuple(_) => items(x),
        Obj::Native(n) => n.iter(),
        _ => Err(Exc::type_error(format!("'{}' object is not iterable", x.type_name()))),
    }
}

/// A view of a sequence's elements without copying, for indexing and slicing.
fn with_seq<'e, T>(x: &Obj<'e>, f: impl FnOnce(Seq<'_, 'e>) -> R<T>) -> Option<R<T>> {
    match x {
        Obj::Json(Value::Array(a)) => Some(f(Seq::Json(a))),
        Obj::Const(Const::List(c) | Const::Tuple(c)) => Some(f(Seq::Const(c))),
        Obj::List(l) => Some(f(Seq::Objs(&l.borrow()))),
        Obj::Tuple(t) => Some(f(Seq::Objs(t))),
        Obj::NamedTuple(t) => Some(f(Seq::Objs(&t.items))),
        _ => None,
    }
}

impl<'e> Seq<'_, 'e> {
    fn len(&self) -> usize {
        match self {
            Seq::Json(a) => a.len(),
            Seq::Const(c) => c.len(),
            Seq::Objs(o) => o.len(),
        }
    }
    fn get(&self, i: usize) -> R<Obj<'e>> {
        match self {
            Seq::Json(a) => Obj::from_json(&a[i]),
            Seq::Const(c) => Ok(Obj::from_const(&c[i])),
            Seq::Objs(o) => Ok(o[i].clone()),
        }
    }
}

/// `len(x)`.
pub fn len(x: &Obj<'_>) -> R<i64> {
    let n = match x {
        Obj::Str(s) => s.as_str().chars().count(),
        Obj::Json(Value::Object(m)) => m.len(),
        Obj::Json(Value::Array(a)) => a.len(),
        Obj::Event(e) => e.value.len(),
        Obj::Const(Const::List(c) | Const::Tuple(c) | Const::Set(c)) => c.len(),
        Obj::Const(Const::Dict(d)) => d.len(),
        Obj::List(l) | Obj::Set(l) => l.borrow().len(),
        Obj::Tuple(t) => t.len(),
        Obj::NamedTuple(t) => t.items.len(),
        Obj::Dict(d) => d.borrow().entries.len(),
        Obj::Native(n) if matches!(**n, super::stdlib::Native::MagicMock(_)) => 0,
        Obj::Native(n) if matches!(**n, super::stdlib::Native::ParseResult(_)) => 6,
        Obj::Native(n) if let super::stdlib::Native::Bytes(b) = &**n => b.len(),
        _ => return Err(Exc::type_error(format!("object of type '{}' has no len()", x.type_name()))),
    };
    Ok(n as i64)
}

fn index_of(len: usize, i: i64, what: &str) -> R<usize> {
    let j = if i < 0 { i + len as i64 } else { i };
    if j < 0 || j >= len as i64 {
        return Err(Exc::index_error(format!("{what} index out of range")));
    }
    Ok(j as usize)
}

fn int_index(key: &Obj<'_>, x: &Obj<'_>) -> R<i64> {
    match key {
        Obj::Int(i) => Ok(*i),
        Obj::Bool(b) => Ok(i64::from(*b)),
        _ => Err(Exc::type_error(format!(
            "{} indices must be integers or slices, not {}",
            x.type_name(),
            key.type_name()
        ))),
    }
}

/// `x[key]`.
pub fn getitem<'e>(x: &Obj<'e>, key: &Obj<'e>) -> R<Obj<'e>> {
    match x {
        Obj::Json(Value::Object(m)) => match key {
            Obj::Str(k) => {
                lookup(m, k.as_str()).map(Obj::from_json).unwrap_or_else(|| Err(Exc::key_error(key)))
            }
            _ => Err(Exc::key_error(key)),
        },
        Obj::Event(e) => match key {
            Obj::Str(k) => {
                lookup(e.value, k.as_str()).map(Obj::from_json).unwrap_or_else(|| Err(Exc::key_error(key)))
            }
            _ => Err(Exc::key_error(key)),
        },
        Obj::Dict(_) | Obj::Const(Const::Dict(_)) => {
            hashable(key)?;
            dict_items(x)?
                .into_iter()
                .find(|(k, _)| eq(k, key))
                .map(|(_, v)| v)
                .ok_or_else(|| Exc::key_error(key))
        }
        Obj::Str(s) => {
            let i = int_index(key, x)?;
            let n = s.as_str().chars().count();
            let j = index_of(n, i, "string")?;
            Ok(Obj::string(s.as_str().chars().nth(j).expect("in range").to_string()))
        }
        Obj::Match(m) => m.group(key),
        Obj::Native(n) if matches!(**n, super::stdlib::Native::ParseResult(_)) => {
            getitem(&Obj::tuple(n.iter()?), key)
        }
        Obj::Native(n) if let super::stdlib::Native::Bytes(b) = &**n => {
            let i = match key {
                Obj::Int(i) => *i,
                Obj::Bool(v) => i64::from(*v),
                _ => {
                    return Err(Exc::type_error(format!(
                        "byte indices must be integers or slices, not {}",
                        key.type_name()
                    )));
                }
            };
            let j = if i < 0 { i + b.len() as i64 } else { i };
            match usize::try_from(j).ok().and_then(|j| b.get(j)) {
                Some(&c) => Ok(Obj::Int(i64::from(c))),
                None => Err(Exc::index_error("index out of range")),
            }
        }
        _ => {
            let what = match kind(x) {
                Kind::Tuple => "tuple",
                _ => "list",
            };
            match with_seq(x, |seq| {
                let i = int_index(key, x)?;
                seq.get(index_of(seq.len(), i, what)?)
            }) {
                Some(r) => r,
                None => Err(Exc::type_error(format!("'{}' object is not subscriptable", x.type_name()))),
            }
        }
    }
}

/// `x[key] = value`.
pub fn setitem<'e>(x: &Obj<'e>, key: Obj<'e>, value: Obj<'e>) -> R<()> {
    match x {
        Obj::Dict(d) => d.borrow_mut().insert(key, value),
        Obj::List(l) => {
            let i = int_index(&key, x)?;
            let mut l = l.borrow_mut();
            let j = index_of(l.len(), i, "list assignment")?;
            l[j] = value;
            Ok(())
        }
        Obj::Const(_) => Err(Exc::unsupported("a module constant is modified at run time")),
        _ => Err(Exc::type_error(format!("'{}' object does not support item assignment", x.type_name()))),
    }
}

/// `del x[key]`.
pub fn delitem<'e>(x: &Obj<'e>, key: &Obj<'e>) -> R<()> {
    match x {
        Obj::Dict(d) => {
            let mut d = d.borrow_mut();
            match d.position(key)? {
                Some(i) => {
                    d.entries.remove(i);
                    Ok(())
                }
                None => Err(Exc::key_error(key)),
            }
        }
        Obj::List(l) => {
            let i = int_index(key, x)?;
            let mut l = l.borrow_mut();
            let j = index_of(l.len(), i, "list assignment")?;
            l.remove(j);
            Ok(())
        }
        _ => Err(Exc::type_error(format!("'{}' object doesn't support item deletion", x.type_name()))),
    }
}

/// The indices `start:stop:step` selects in a sequence of `len`, as `slice.indices` does.
fn slice_indices(len: usize, start: &Obj<'_>, stop: &Obj<'_>, step: &Obj<'_>) -> R<Vec<usize>> {
    let len = len as i64;
    let opt = |o: &Obj<'_>| -> R<Option<i64>> {
        match o {
            Obj::None => Ok(None),
            Obj::Int(i) => Ok(Some(*i)),
            Obj::Bool(b) => Ok(Some(i64::from(*b))),
            _ => Err(Exc::type_error("slice indices must be integers or None or have an __index__ method")),
        }
    };
    let step = opt(step)?.unwrap_or(1);
    if step == 0 {
        return Err(Exc::value_error("slice step cannot be zero"));
    }
    let clamp = |v: Option<i64>, default: i64, lo: i64, hi: i64| -> i64 {
        match v {
            None => default,
            Some(v) if v < 0 => (v + len).max(lo),
            Some(v) => v.min(hi),
        }
    };
    let (start, stop) = if step > 0 {
        (clamp(opt(start)?, 0, 0, len), clamp(opt(stop)?, len, 0, len))
    } else {
        (clamp(opt(start)?, len - 1, -1, len - 1), clamp(opt(stop)?, -1, -1, len - 1))
    };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    Ok(out)
}

/// `x[start:stop:step]` (`Obj::None` for an omitted bound).
pub fn slice<'e>(x: &Obj<'e>, start: &Obj<'e>, stop: &Obj<'e>, step: &Obj<'e>) -> R<Obj<'e>> {
    if super::stdlib::bytes::as_bytes(x).is_some() {
        return Err(super::stdlib::bytes::unmodelled("slicing"));
    }
    if let Obj::Str(s) = x {
        let s = s.as_str();
        if s.is_ascii() {
            let picked = slice_indices(s.len(), start, stop, step)?;
            let bytes: Vec<u8> = picked.into_iter().map(|i| s.as_bytes()[i]).collect();
            return Ok(Obj::string(String::from_utf8(bytes).expect("ASCII")));
        }
        let chars: Vec<char> = s.chars().collect();
        let picked = slice_indices(chars.len(), start, stop, step)?;
        return Ok(Obj::string(picked.into_iter().map(|i| chars[i]).collect()));
    }
    if let Obj::Json(Value::Array(a)) = x {
        // Panther's immutable list slices its raw tuple: plain values, not wrappers.
        let picked = slice_indices(a.len(), start, stop, step)?;
        return Ok(Obj::tuple(picked.into_iter().map(|i| raw(&a[i])).collect::<R<_>>()?));
    }
    let tuple = kind(x) == Kind::Tuple;
    match with_seq(x, |seq| {
        let picked = slice_indices(seq.len(), start, stop, step)?;
        picked.into_iter().map(|i| seq.get(i)).collect::<R<Vec<_>>>()
    }) {
        Some(r) => Ok(if tuple { Obj::tuple(r?) } else { Obj::list(r?) }),
        None => Err(Exc::type_error(format!("'{}' object is not subscriptable", x.type_name()))),
    }
}

fn checked<'e>(v: Option<i64>) -> R<Obj<'e>> {
    v.map(Obj::Int).ok_or_else(Exc::overflow)
}

fn as_f64(x: &Obj<'_>) -> Option<f64> {
    match x {
        Obj::Bool(b) => Some(f64::from(u8::from(*b))),
        Obj::Int(i) => Some(*i as f64),
        Obj::Float(f) => Some(*f),
        _ => None,
    }
}

fn as_int(x: &Obj<'_>) -> Option<i64> {
    match x {
        Obj::Bool(b) => Some(i64::from(*b)),
        Obj::Int(i) => Some(*i),
        _ => None,
    }
}

fn unsupported_operands(op: &str, a: &Obj<'_>, b: &Obj<'_>) -> Exc {
    Exc::type_error(format!(
        "unsupported operand type(s) for {op}: '{}' and '{}'",
        a.type_name(),
        b.type_name()
    ))
}

/// Bytes in `+`, `*` or `%`, whose bytes results compiled rules do not model.
fn bytes_operand(a: &Obj<'_>, b: &Obj<'_>, op: &str) -> R<()> {
    use super::stdlib::bytes::{as_bytes, unmodelled};
    if as_bytes(a).is_some() || as_bytes(b).is_some() {
        return Err(unmodelled(&format!("`{op}`")));
    }
    Ok(())
}

/// `a + b`.
pub fn add<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    bytes_operand(a, b, "+")?;
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        return checked(x.checked_add(y));
    }
    if let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) {
        return Ok(Obj::Float(x + y));
    }
    if matches!(a, Obj::Json(_) | Obj::Event(_)) || matches!(b, Obj::Json(_) | Obj::Event(_)) {
        return Err(unsupported_operands("+", a, b));
    }
    if let Some(r) = super::stdlib::datetime::add(a, b) {
        return r;
    }
    match (a, b) {
        (Obj::Str(x), Obj::Str(y)) => Ok(Obj::string([x.as_str(), y.as_str()].concat())),
        (Obj::Str(_), _) => {
            Err(Exc::type_error(format!("can only concatenate str (not \"{}\") to str", b.type_name())))
        }
        _ => match (kind(a), kind(b)) {
            (Kind::List, Kind::List) => {
                let mut out = items(a)?;
                out.extend(items(b)?);
                Ok(Obj::list(out))
            }
            (Kind::Tuple, Kind::Tuple) => {
                let mut out = items(a)?;
                out.extend(items(b)?);
                Ok(Obj::tuple(out))
            }
            (Kind::List, _) => {
                Err(Exc::type_error(format!("can only concatenate list (not \"{}\") to list", b.type_name())))
            }
            _ => Err(unsupported_operands("+", a, b)),
        },
    }
}

/// `a - b` (numbers, and set difference).
pub fn sub<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        return checked(x.checked_sub(y));
    }
    if let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) {
        return Ok(Obj::Float(x - y));
    }
    if kind(a) == Kind::Set && kind(b) == Kind::Set {
        let other = items(b)?;
        return Obj::set(items(a)?.into_iter().filter(|i| !other.iter().any(|j| eq(i, j))).collect());
    }
    if let Some(r) = super::stdlib::datetime::sub(a, b) {
        return r;
    }
    Err(unsupported_operands("-", a, b))
}

/// `a * b`.
pub fn mul<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    bytes_operand(a, b, "*")?;
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        return checked(x.checked_mul(y));
    }
    if let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) {
        return Ok(Obj::Float(x * y));
    }
    match (a, b) {
        (Obj::Str(s), n) | (n, Obj::Str(s)) if as_int(n).is_some() => {
            let n = as_int(n).unwrap_or(0).max(0) as usize;
            Ok(Obj::string(s.as_str().repeat(n)))
        }
        _ => Err(unsupported_operands("*", a, b)),
    }
}

/// `a / b`.
pub fn truediv<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    match (as_f64(a), as_f64(b)) {
        (Some(_), Some(y)) if y == 0.0 => Err(Exc::new("ZeroDivisionError", "division by zero")),
        (Some(x), Some(y)) => {
            // int / int is exact in CPython when both fit a float exactly.
            Ok(Obj::Float(x / y))
        }
        _ => Err(unsupported_operands("/", a, b)),
    }
}

/// `a // b`.
pub fn floordiv<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        if y == 0 {
            return Err(Exc::new("ZeroDivisionError", "integer division or modulo by zero"));
        }
        return checked(floor_div(x, y));
    }
    match (as_f64(a), as_f64(b)) {
        (Some(_), Some(y)) if y == 0.0 => Err(Exc::new("ZeroDivisionError", "float floor division by zero")),
        (Some(x), Some(y)) => Ok(Obj::Float((x / y).floor())),
        _ => Err(unsupported_operands("//", a, b)),
    }
}

fn floor_div(x: i64, y: i64) -> Option<i64> {
    let q = x.checked_div(y)?;
    if (x % y != 0) && ((x < 0) != (y < 0)) { q.checked_sub(1) } else { Some(q) }
}

/// `a % b` on numbers (string formatting with `%` is [`super::percent_format`]).
pub fn modulo<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    if super::stdlib::bytes::as_bytes(a).is_some() {
        return Err(super::stdlib::bytes::unmodelled("`%`"));
    }
    if let Obj::Str(_) = a {
        return super::percent_format(a, b);
    }
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        if y == 0 {
            return Err(Exc::new("ZeroDivisionError", "integer division or modulo by zero"));
        }
        let r = x.checked_rem(y).ok_or_else(Exc::overflow)?;
        return Ok(Obj::Int(if r != 0 && ((r < 0) != (y < 0)) { r + y } else { r }));
    }
    match (as_f64(a), as_f64(b)) {
        (Some(_), Some(y)) if y == 0.0 => Err(Exc::new("ZeroDivisionError", "float modulo")),
        (Some(x), Some(y)) => {
            let r = x % y;
            Ok(Obj::Float(if r != 0.0 && ((r < 0.0) != (y < 0.0)) { r + y } else { r }))
        }
        _ => Err(unsupported_operands("%", a, b)),
    }
}

/// `a ** b`.
pub fn pow<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        if y >= 0 {
            let e = u32::try_from(y).map_err(|_| Exc::overflow())?;
            return checked(x.checked_pow(e));
        }
        if x == 0 {
            return Err(Exc::new("ZeroDivisionError", "0.0 cannot be raised to a negative power"));
        }
        return Ok(Obj::Float((x as f64).powf(y as f64)));
    }
    match (as_f64(a), as_f64(b)) {
        (Some(x), Some(_)) if x == 0.0 && as_f64(b).is_some_and(|y| y < 0.0) => {
            Err(Exc::new("ZeroDivisionError", "0.0 cannot be raised to a negative power"))
        }
        (Some(x), Some(y)) if x < 0.0 && y.fract() != 0.0 => {
            Err(Exc::unsupported("a complex result of `**`"))
        }
        (Some(x), Some(y)) => Ok(Obj::Float(x.powf(y))),
        _ => Err(unsupported_operands("** or pow()", a, b)),
    }
}

/// `-a`.
pub fn neg<'e>(a: &Obj<'e>) -> R<Obj<'e>> {
    match a {
        Obj::Bool(b) => Ok(Obj::Int(-i64::from(*b))),
        Obj::Int(i) => checked(i.checked_neg()),
        Obj::Float(f) => Ok(Obj::Float(-f)),
        _ => super::stdlib::datetime::neg(a).unwrap_or_else(|| {
            Err(Exc::type_error(format!("bad operand type for unary -: '{}'", a.type_name())))
        }),
    }
}

/// `a | b` (sets and dicts) and `a & b` (sets), and on integers.
pub fn bitor<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    if let (Obj::Int(x), Obj::Int(y)) = (a, b) {
        return Ok(Obj::Int(x | y));
    }
    match (kind(a), kind(b)) {
        (Kind::Set, Kind::Set) => {
            let mut out = items(a)?;
            out.extend(items(b)?);
            Obj::set(out)
        }
        (Kind::Dict, Kind::Dict)
            if !matches!(a, Obj::Json(_) | Obj::Event(_)) && !matches!(b, Obj::Json(_) | Obj::Event(_)) =>
        {
            let mut out = dict_items(a)?;
            out.extend(dict_items(b)?);
            Obj::dict(out)
        }
        _ => Err(unsupported_operands("|", a, b)),
    }
}

pub fn bitand<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    if let (Obj::Int(x), Obj::Int(y)) = (a, b) {
        return Ok(Obj::Int(x & y));
    }
    if kind(a) == Kind::Set && kind(b) == Kind::Set {
        let other = items(b)?;
        return Obj::set(items(a)?.into_iter().filter(|i| other.iter().any(|j| eq(i, j))).collect());
    }
    Err(unsupported_operands("&", a, b))
}

/// `not x`.
pub fn not(x: &Obj<'_>) -> bool {
    !super::truthy(x)
}

/// A JSON value as a plain Python value, deeply (what Panther's `copy()`, `to_dict()` and
/// slices give: dictionaries and lists of its own, case-sensitive).
pub fn raw<'e>(v: &'e Value) -> R<Obj<'e>> {
    Ok(match v {
        Value::Object(m) => Obj::dict(m.iter().map(|(k, v)| Ok((Obj::str(k), raw(v)?))).collect::<R<_>>()?)?,
        Value::Array(a) => Obj::list(a.iter().map(raw).collect::<R<_>>()?),
        scalar => Obj::from_json(scalar)?,
    })
}

/// A raw JSON object as a plain dictionary ([`raw`]).
pub fn raw_map<'e>(m: &'e serde_json::Map<String, Value>) -> R<Obj<'e>> {
    Obj::dict(m.iter().map(|(k, v)| Ok((Obj::str(k), raw(v)?))).collect::<R<_>>()?)
}
