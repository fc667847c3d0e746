//! Python's built-in functions that compiled rules call (`len`, `str`, `int`, `sorted`,
//! `isinstance`, …), with CPython's results and exceptions.

use super::ops::{Kind, kind, order};
use super::{Const, Exc, Obj, R, dict_items, items, iter, truthy};

/// `str(x)`.
pub fn str<'e>(x: &Obj<'e>) -> Obj<'e> {
    super::fmt::str_obj(x)
}

/// `repr(x)`.
pub fn repr_obj<'e>(x: &Obj<'e>) -> Obj<'e> {
    Obj::string(super::repr(x))
}

/// `bool(x)`.
pub fn bool<'e>(x: &Obj<'e>) -> Obj<'e> {
    Obj::Bool(truthy(x))
}

/// `len(x)` as a value.
pub fn len_obj<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    super::len(x).map(Obj::Int)
}

/// `int(x)` (and `int(x, base)`).
pub fn int<'e>(x: &Obj<'e>, base: Option<&Obj<'e>>) -> R<Obj<'e>> {
    let base = match base {
        None => None,
        Some(Obj::Int(b)) if *b == 0 || (2..=36).contains(b) => Some(*b as u32),
        Some(_) => return Err(Exc::value_error("int() base must be >= 2 and <= 36, or 0")),
    };
    match (x, base) {
        (Obj::Int(i), None) => Ok(Obj::Int(*i)),
        (Obj::Native(n), None) if matches!(**n, super::stdlib::Native::MagicMock(_)) => Ok(Obj::Int(1)),
        (Obj::Native(n), _) if matches!(**n, super::stdlib::Native::Bytes(_)) => {
            Err(super::stdlib::bytes::unmodelled("int()"))
        }
        (Obj::Bool(b), None) => Ok(Obj::Int(i64::from(*b))),
        (Obj::Float(f), None) => {
            if f.is_nan() {
                return Err(Exc::value_error("cannot convert float NaN to integer"));
            }
            if f.is_infinite() {
                return Err(Exc::new("OverflowError", "cannot convert float infinity to integer"));
            }
            let t = f.trunc();
            if t.abs() >= 9.223_372_036_854_776e18 {
                return Err(Exc::overflow());
            }
            Ok(Obj::Int(t as i64))
        }
        (Obj::Str(s), base) => {
            let text = s.as_str();
            let bad = || {
                Exc::value_error(format!(
                    "invalid literal for int() with base {}: {}",
                    base.unwrap_or(10),
                    super::repr(x)
                ))
            };
            let t = text.trim_matches(|c: char| c.is_whitespace());
            let (neg, digits) = match t.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            let mut radix = base.unwrap_or(10);
            let mut digits = digits;
            let lower = digits.to_ascii_lowercase();
            for (prefix, r) in [("0x", 16), ("0o", 8), ("0b", 2)] {
                if lower.starts_with(prefix) && (radix == r || radix == 0) {
                    radix = r;
                    digits = &digits[2..];
                    digits = digits.strip_prefix('_').unwrap_or(digits);
                }
            }
            if radix == 0 {
                radix = 10;
            }
            if digits.is_empty()
                || digits.starts_with('_')
                || digits.ends_with('_')
                || digits.contains("__")
                || !digits.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
            {
                return Err(bad());
            }
            let clean: String = digits.chars().filter(|&c| c != '_').collect();
            match i64::from_str_radix(&clean, radix) {
                Ok(v) => Ok(Obj::Int(if neg { -v } else { v })),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                    ) =>
                {
                    Err(Exc::overflow())
                }
                Err(_) => Err(bad()),
            }
        }
        (Obj::None | Obj::List(_) | Obj::Dict(_) | Obj::Json(_), None) => Err(Exc::type_error(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            x.type_name()
        ))),
        _ => Err(Exc::type_error(format!("int() can't convert non-string with explicit base"))),
    }
}

/// `float(x)`.
pub fn float<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    match x {
        Obj::Int(i) => Ok(Obj::Float(*i as f64)),
        Obj::Bool(b) => Ok(Obj::Float(f64::from(u8::from(*b)))),
        Obj::Float(f) => Ok(Obj::Float(*f)),
        Obj::Native(n) if matches!(**n, super::stdlib::Native::MagicMock(_)) => Ok(Obj::Float(1.0)),
        Obj::Native(n) if matches!(**n, super::stdlib::Native::Bytes(_)) => {
            Err(super::stdlib::bytes::unmodelled("float()"))
        }
        Obj::Str(s) => {
            let t = s.as_str().trim();
            let lower = t.to_ascii_lowercase();
            let unsigned = lower.trim_start_matches(['+', '-']);
            let special = matches!(unsigned, "inf" | "infinity" | "nan");
            let valid = special
                || (!t.is_empty()
                    && t.chars().all(|c| c.is_ascii_digit() || "+-.eE_".contains(c))
                    && t.chars().any(|c| c.is_ascii_digit()));
            let parsed = if valid { t.replace('_', "").parse::<f64>().ok() } else { None };
            parsed.map(Obj::Float).ok_or_else(|| {
                Exc::value_error(format!("could not convert string to float: {}", super::repr(x)))
            })
        }
        _ => Err(Exc::type_error(format!(
            "float() argument must be a string or a real number, not '{}'",
            x.type_name()
        ))),
    }
}

/// `list(x)`, `tuple(x)`, `set(x)`, `frozenset(x)`.
pub fn list<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    Ok(Obj::list(iter(x)?))
}
pub fn tuple<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    Ok(Obj::tuple(iter(x)?))
}
pub fn set<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    Obj::set(iter(x)?)
}

/// `dict(x)` of a mapping or of pairs; `dict()` is `Obj::dict(vec![])`.
pub fn dict<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    if kind(x) == Kind::Dict {
        return Obj::dict(dict_items(x)?);
    }
    let mut pairs = Vec::new();
    for item in iter(x)? {
        let kv = items(&item)?;
        if kv.len() != 2 {
            return Err(Exc::value_error(format!(
                "dictionary update sequence element #{} has length {}; 2 is required",
                pairs.len(),
                kv.len()
            )));
        }
        pairs.push((kv[0].clone(), kv[1].clone()));
    }
    Obj::dict(pairs)
}

/// `any(xs)` and `all(xs)` over an iterable already evaluated.
pub fn any<'e>(x: &Obj<'e>) -> R<bool> {
    Ok(iter(x)?.iter().any(truthy))
}
pub fn all<'e>(x: &Obj<'e>) -> R<bool> {
    Ok(iter(x)?.iter().all(truthy))
}

/// `abs(x)`.
pub fn abs<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    match x {
        Obj::Int(i) => i.checked_abs().map(Obj::Int).ok_or_else(Exc::overflow),
        Obj::Bool(b) => Ok(Obj::Int(i64::from(*b))),
        Obj::Float(f) => Ok(Obj::Float(f.abs())),
        _ => Err(Exc::type_error(format!("bad operand type for abs(): '{}'", x.type_name()))),
    }
}

/// `round(x, ndigits=None)`: banker's rounding, as CPython.
pub fn round<'e>(x: &Obj<'e>, ndigits: &Obj<'e>) -> R<Obj<'e>> {
    match (x, ndigits) {
        (Obj::Int(_) | Obj::Bool(_), Obj::None) => super::builtins::int(x, None),
        (Obj::Float(f), Obj::None) => {
            if !f.is_finite() {
                return Err(Exc::value_error("cannot round a non-finite float"));
            }
            int(&Obj::Float(f.round_ties_even()), None)
        }
        (Obj::Float(f), Obj::Int(n)) => {
            // Exact decimal rounding as CPython's: through the shortest repr's digits.
            let s = format!("{:.*}", (*n).clamp(0, 300) as usize, f);
            let v: f64 = s.parse().unwrap_or(*f);
            if *n < 0 {
                return Err(Exc::unsupported("round() with negative ndigits"));
            }
            Ok(Obj::Float(v))
        }
        (Obj::Int(i), Obj::Int(n)) if *n >= 0 => Ok(Obj::Int(*i)),
        _ => Err(Exc::unsupported(format!("round() of {}", x.type_name()))),
    }
}

/// `sum(xs, start=0)`.
pub fn sum<'e>(x: &Obj<'e>, start: Obj<'e>) -> R<Obj<'e>> {
    let mut acc = start;
    for item in iter(x)? {
        acc = super::add(&acc, &item)?;
    }
    Ok(acc)
}

/// The sort key of each item (`key=None` is the item itself).
fn keyed<'e>(xs: Vec<Obj<'e>>, key: &Obj<'e>) -> R<Vec<(Obj<'e>, Obj<'e>)>> {
    xs.into_iter()
        .map(|x| {
            let k = match key {
                Obj::None => x.clone(),
                Obj::Func(f) => f.call(std::slice::from_ref(&x))?,
                other => {
                    return Err(Exc::type_error(format!("'{}' object is not callable", other.type_name())));
                }
            };
            Ok((k, x))
        })
        .collect()
}

/// `sorted(xs, key=None, reverse=False)`: stable; mixed types raise `TypeError` as in CPython.
pub fn sorted<'e>(x: &Obj<'e>, key: &Obj<'e>, reverse: &Obj<'e>) -> R<Obj<'e>> {
    let mut pairs = keyed(iter(x)?, key)?;
    let mut error = None;
    let rev = truthy(reverse);
    pairs.sort_by(|(a, _), (b, _)| {
        let o = if rev { order(b, a, "<") } else { order(a, b, "<") };
        match o {
            Ok(Some(o)) => o,
            Ok(None) => std::cmp::Ordering::Equal,
            Err(e) => {
                error.get_or_insert(e);
                std::cmp::Ordering::Equal
            }
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    Ok(Obj::list(pairs.into_iter().map(|(_, x)| x).collect()))
}

/// `min`/`max` of an iterable (`args` of one) or of the arguments, with `key` and `default`.
fn extreme<'e>(
    args: &[Obj<'e>],
    key: &Obj<'e>,
    default: Option<Obj<'e>>,
    name: &str,
    want: std::cmp::Ordering,
) -> R<Obj<'e>> {
    let xs = if args.len() == 1 { iter(&args[0])? } else { args.to_vec() };
    let pairs = keyed(xs, key)?;
    let mut best: Option<(Obj<'e>, Obj<'e>)> = None;
    for (k, x) in pairs {
        best = match best {
            None => Some((k, x)),
            Some((bk, bx)) => {
                if order(&k, &bk, if want == std::cmp::Ordering::Less { "<" } else { ">" })? == Some(want) {
                    Some((k, x))
                } else {
                    Some((bk, bx))
                }
            }
        };
    }
    match (best, default) {
        (Some((_, x)), _) => Ok(x),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(Exc::value_error(format!("{name}() arg is an empty sequence"))),
    }
}

pub fn min<'e>(args: &[Obj<'e>], key: &Obj<'e>, default: Option<Obj<'e>>) -> R<Obj<'e>> {
    extreme(args, key, default, "min", std::cmp::Ordering::Less)
}
pub fn max<'e>(args: &[Obj<'e>], key: &Obj<'e>, default: Option<Obj<'e>>) -> R<Obj<'e>> {
    extreme(args, key, default, "max", std::cmp::Ordering::Greater)
}

/// `enumerate(xs, start=0)` as a list of pairs.
pub fn enumerate<'e>(x: &Obj<'e>, start: i64) -> R<Vec<Obj<'e>>> {
    Ok(iter(x)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| Obj::tuple(vec![Obj::Int(start + i as i64), v]))
        .collect())
}

/// `zip(a, b, …)` as a list of tuples.
pub fn zip<'e>(xs: &[Obj<'e>]) -> R<Vec<Obj<'e>>> {
    let lists: Vec<Vec<Obj<'e>>> = xs.iter().map(iter).collect::<R<_>>()?;
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok((0..n).map(|i| Obj::tuple(lists.iter().map(|l| l[i].clone()).collect())).collect())
}

/// `range(…)` as a list.
pub fn range<'e>(args: &[Obj<'e>]) -> R<Vec<Obj<'e>>> {
    let int = |x: &Obj<'e>| match x {
        Obj::Int(i) => Ok(*i),
        Obj::Bool(b) => Ok(i64::from(*b)),
        other => Err(Exc::type_error(format!(
            "'{}' object cannot be interpreted as an integer",
            other.type_name()
        ))),
    };
    let (start, stop, step) = match args {
        [stop] => (0, int(stop)?, 1),
        [start, stop] => (int(start)?, int(stop)?, 1),
        [start, stop, step] => (int(start)?, int(stop)?, int(step)?),
        _ => return Err(Exc::type_error("range expected at most 3 arguments")),
    };
    if step == 0 {
        return Err(Exc::value_error("range() arg 3 must not be zero"));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        if out.len() >= 10_000_000 {
            return Err(Exc::new("MemoryError", "range too large for a compiled rule"));
        }
        out.push(Obj::Int(i));
        i += step;
    }
    Ok(out)
}

/// `reversed(xs)` as a list.
pub fn reversed<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    let mut v = items(x)?;
    v.reverse();
    Ok(Obj::list(v))
}

/// `ord(c)` and `chr(i)`.
pub fn ord<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    match x {
        Obj::Str(s) if s.as_str().chars().count() == 1 => {
            Ok(Obj::Int(s.as_str().chars().next().expect("one") as i64))
        }
        _ if super::stdlib::bytes::as_bytes(x).is_some() => Err(super::stdlib::bytes::unmodelled("ord()")),
        _ => Err(Exc::type_error("ord() expected a character")),
    }
}
pub fn chr<'e>(x: &Obj<'e>) -> R<Obj<'e>> {
    match x {
        Obj::Int(i) => u32::try_from(*i)
            .ok()
            .and_then(char::from_u32)
            .map(|c| Obj::string(c.to_string()))
            .ok_or_else(|| Exc::value_error("chr() arg not in range(0x110000)")),
        _ => Err(Exc::type_error("an integer is required")),
    }
}

/// A type `isinstance` can test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Str,
    Int,
    Float,
    Bool,
    Dict,
    List,
    Tuple,
    Set,
    NoneType,
    /// `collections.abc.Mapping`.
    Mapping,
    /// `collections.abc.Sequence` (lists, tuples, strings).
    Sequence,
    /// `collections.abc.Iterable`.
    Iterable,
    /// `bytes` (`str.encode`, `base64.b64decode`).
    Bytes,
    /// `unittest.mock.MagicMock`: what a test case's `Mocks:` puts in a module variable.
    MagicMock,
    /// `panther_core.immutable.ImmutableList`: an array of the event.
    ImmutableList,
    /// `panther_core.immutable.ImmutableCaseInsensitiveDict`: an object of the event, or the
    /// event itself (`PantherEvent` is one).
    ImmutableDict,
}

/// `isinstance(x, (T, …))`.
pub fn isinstance(x: &Obj<'_>, types: &[Type]) -> bool {
    types.iter().any(|t| match t {
        Type::Str => matches!(x, Obj::Str(_)),
        Type::Int => matches!(x, Obj::Int(_) | Obj::Bool(_)),
        Type::Float => matches!(x, Obj::Float(_)),
        Type::Bool => matches!(x, Obj::Bool(_)),
        Type::NoneType => x.is_none(),
        // Panther's wrappers are `Mapping`s but not `dict`s, and its list a `Sequence`.
        Type::Dict => matches!(x, Obj::Dict(_) | Obj::Const(Const::Dict(_))),
        Type::List => matches!(x, Obj::List(_) | Obj::Const(Const::List(_))),
        // Named tuples (`urlparse`'s result, policyuniverse's conditions) are tuples.
        Type::Tuple => kind(x) == Kind::Tuple,
        Type::Set => matches!(x, Obj::Set(_) | Obj::Const(Const::Set(_))),
        Type::Mapping => kind(x) == Kind::Dict,
        Type::Sequence | Type::Iterable if super::stdlib::bytes::as_bytes(x).is_some() => true,
        Type::Sequence => matches!(kind(x), Kind::List | Kind::Tuple) || matches!(x, Obj::Str(_)),
        Type::Iterable => !matches!(kind(x), Kind::Scalar | Kind::Other) || matches!(x, Obj::Str(_)),
        Type::Bytes => super::stdlib::bytes::as_bytes(x).is_some(),
        Type::MagicMock => matches!(x, Obj::Native(n) if matches!(**n, super::stdlib::Native::MagicMock(_))),
        Type::ImmutableList => matches!(x, Obj::Json(serde_json::Value::Array(_))),
        Type::ImmutableDict => matches!(x, Obj::Json(serde_json::Value::Object(_)) | Obj::Event(_)),
    })
}
