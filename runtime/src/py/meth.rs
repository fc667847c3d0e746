//! The methods of Python's built-in types that compiled rules call, one function per method
//! name, each dispatching on the receiver's type as CPython's attribute lookup would
//! (`x.get(…)` on the event, a dictionary or a constant; `x.count(…)` on a string or a list).
//!
//! Every function takes the receiver and the positional arguments (the compiler maps keyword
//! arguments to positions and checks arity at build time); a receiver of a type without the
//! method raises `AttributeError`, as in CPython.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;

use super::event::{deep_get as deep_get_fn, mapping_get};
use super::ops::{Kind, kind};
use super::{Const, Exc, Obj, R, dict_items, eq, items, iter};

/// `args[i]`, or `None` when it was not given.
fn arg<'e>(args: &[Obj<'e>], i: usize) -> Obj<'e> {
    args.get(i).cloned().unwrap_or(Obj::None)
}

fn text<'a>(recv: &'a Obj<'_>, method: &str) -> R<&'a str> {
    match recv {
        Obj::Str(s) => Ok(s.as_str()),
        _ => Err(Exc::attribute_error(recv, method)),
    }
}

fn str_arg<'a>(x: &'a Obj<'_>, method: &str, what: &str) -> R<&'a str> {
    match x {
        Obj::Str(s) => Ok(s.as_str()),
        _ => Err(Exc::type_error(format!("{method}() argument{what} must be str, not {}", x.type_name()))),
    }
}

/// Python's whitespace (`str.split()` and `str.strip()` without arguments).
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

pub fn lower<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "lower")?;
    Ok(if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        Obj::string(crate::value::lower(s).into_owned())
    } else {
        recv.clone()
    })
}

pub fn upper<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    Ok(Obj::string(text(recv, "upper")?.to_uppercase()))
}

/// `network.subnet_of(other)`.
pub fn subnet_of<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    network_method(recv, args, "subnet_of")?;
    super::stdlib::ipaddress::is_subnet_of(recv, &arg(args, 0))
}

/// `network.supernet_of(other)`.
pub fn supernet_of<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    network_method(recv, args, "supernet_of")?;
    super::stdlib::ipaddress::is_subnet_of(&arg(args, 0), recv)
}

/// The `AttributeError` of a network method on anything else.
fn network_method(recv: &Obj<'_>, args: &[Obj<'_>], name: &str) -> R<()> {
    match recv {
        Obj::Native(n) if matches!(**n, super::stdlib::Native::Net { .. }) => match args.len() {
            1 => Ok(()),
            0 => Err(Exc::type_error(format!("{name}() missing 1 required positional argument: 'other'"))),
            n => Err(Exc::type_error(format!(
                "{name}() takes 2 positional arguments but {} were given",
                n + 1
            ))),
        },
        _ => Err(Exc::attribute_error(recv, name)),
    }
}

pub fn casefold<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    lower(recv, args)
}

fn strip_with<'e>(recv: &Obj<'e>, args: &[Obj<'e>], name: &str, left: bool, right: bool) -> R<Obj<'e>> {
    let s = text(recv, name)?;
    let chars = arg(args, 0);
    let out = match &chars {
        Obj::None => {
            let s = if left { s.trim_start_matches(is_space) } else { s };
            if right { s.trim_end_matches(is_space) } else { s }
        }
        Obj::Str(c) => {
            let set: Vec<char> = c.as_str().chars().collect();
            let s = if left { s.trim_start_matches(set.as_slice()) } else { s };
            if right { s.trim_end_matches(set.as_slice()) } else { s }
        }
        other => {
            return Err(Exc::type_error(format!(
                "{name} arg must be None or str, not {}",
                other.type_name()
            )));
        }
    };
    Ok(if out.len() == s.len() { recv.clone() } else { Obj::string(out.to_string()) })
}

pub fn strip<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    strip_with(recv, args, "strip", true, true)
}
pub fn lstrip<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    strip_with(recv, args, "lstrip", true, false)
}
pub fn rstrip<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    strip_with(recv, args, "rstrip", false, true)
}

/// `startswith`/`endswith` with a string or a tuple of strings.
fn affix<'e>(recv: &Obj<'e>, args: &[Obj<'e>], name: &str, test: fn(&str, &str) -> bool) -> R<Obj<'e>> {
    let s = text(recv, name)?;
    if args.len() > 1 {
        return Err(Exc::unsupported(format!("{name}() with start/end positions")));
    }
    let found = match &arg(args, 0) {
        Obj::Str(p) => test(s, p.as_str()),
        t @ (Obj::Tuple(_) | Obj::NamedTuple(_) | Obj::Const(Const::Tuple(_))) => {
            let mut any = false;
            for p in items(t)? {
                match p {
                    Obj::Str(p) => any |= test(s, p.as_str()),
                    other => {
                        return Err(Exc::type_error(format!(
                            "tuple for {name} must only contain str, not {}",
                            other.type_name()
                        )));
                    }
                }
            }
            any
        }
        other => {
            return Err(Exc::type_error(format!(
                "{name} first arg must be str or a tuple of str, not {}",
                other.type_name()
            )));
        }
    };
    Ok(Obj::Bool(found))
}

pub fn startswith<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    affix(recv, args, "startswith", |s, p| s.starts_with(p))
}
pub fn endswith<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    affix(recv, args, "endswith", |s, p| s.ends_with(p))
}

fn maxsplit(args: &[Obj<'_>]) -> R<Option<usize>> {
    match arg(args, 1) {
        Obj::None => Ok(None),
        Obj::Int(n) if n < 0 => Ok(None),
        Obj::Int(n) => Ok(Some(n as usize)),
        other => Err(Exc::type_error(format!(
            "'{}' object cannot be interpreted as an integer",
            other.type_name()
        ))),
    }
}

/// `split(sep=None, maxsplit=-1)`.
pub fn split<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "split")?;
    let max = maxsplit(args)?;
    let parts: Vec<String> = match &arg(args, 0) {
        Obj::None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start_matches(is_space);
            while !rest.is_empty() {
                if max.is_some_and(|m| out.len() == m) {
                    out.push(rest.to_string());
                    break;
                }
                let end = rest.find(is_space).unwrap_or(rest.len());
                out.push(rest[..end].to_string());
                rest = rest[end..].trim_start_matches(is_space);
            }
            out
        }
        Obj::Str(sep) if sep.as_str().is_empty() => return Err(Exc::value_error("empty separator")),
        Obj::Str(sep) => match max {
            Some(m) => s.splitn(m + 1, sep.as_str()).map(str::to_string).collect(),
            None => s.split(sep.as_str()).map(str::to_string).collect(),
        },
        other => return Err(Exc::type_error(format!("must be str or None, not {}", other.type_name()))),
    };
    Ok(Obj::list(parts.into_iter().map(Obj::string).collect()))
}

/// `rsplit(sep=None, maxsplit=-1)`.
pub fn rsplit<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "rsplit")?;
    let max = maxsplit(args)?;
    match (&arg(args, 0), max) {
        (_, None) => split(recv, args),
        (Obj::Str(sep), Some(m)) if !sep.as_str().is_empty() => {
            let mut parts: Vec<Obj<'e>> =
                s.rsplitn(m + 1, sep.as_str()).map(|p| Obj::string(p.to_string())).collect();
            parts.reverse();
            Ok(Obj::list(parts))
        }
        (Obj::Str(_), _) => Err(Exc::value_error("empty separator")),
        _ => Err(Exc::unsupported("rsplit() on whitespace with maxsplit")),
    }
}

pub fn splitlines<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "splitlines")?;
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let breaks = matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if breaks {
            out.push(Obj::string(s[start..at].to_string()));
            let mut next = at + c.len_utf8();
            if c == '\r' && chars.get(i + 1).is_some_and(|&(_, d)| d == '\n') {
                next += 1;
                i += 1;
            }
            start = next;
        }
        i += 1;
    }
    if start < s.len() {
        out.push(Obj::string(s[start..].to_string()));
    }
    Ok(Obj::list(out))
}

pub fn join<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let sep = text(recv, "join")?;
    let mut out = String::new();
    for (i, item) in iter(&arg(args, 0))?.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match item {
            Obj::Str(s) => out.push_str(s.as_str()),
            other => {
                return Err(Exc::type_error(format!(
                    "sequence item {i}: expected str instance, {} found",
                    other.type_name()
                )));
            }
        }
    }
    Ok(Obj::string(out))
}

pub fn replace<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "replace")?;
    let (old, new) = (args.first().cloned().unwrap_or_default(), arg(args, 1));
    let old = str_arg(&old, "replace", " 1")?;
    let new = str_arg(&new, "replace", " 2")?;
    let out = match arg(args, 2) {
        Obj::None => s.replace(old, new),
        Obj::Int(n) if n < 0 => s.replace(old, new),
        Obj::Int(n) => s.replacen(old, new, n as usize),
        other => {
            return Err(Exc::type_error(format!(
                "'{}' object cannot be interpreted as an integer",
                other.type_name()
            )));
        }
    };
    Ok(Obj::string(out))
}

fn char_index(s: &str, byte: usize) -> i64 {
    s[..byte].chars().count() as i64
}

pub fn find<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "find")?;
    let needle = arg(args, 0);
    let n = str_arg(&needle, "find", "")?;
    if args.len() > 1 {
        return Err(Exc::unsupported("find() with start/end positions"));
    }
    Ok(Obj::Int(s.find(n).map_or(-1, |b| char_index(s, b))))
}

pub fn rfind<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "rfind")?;
    let needle = arg(args, 0);
    let n = str_arg(&needle, "rfind", "")?;
    if args.len() > 1 {
        return Err(Exc::unsupported("rfind() with start/end positions"));
    }
    Ok(Obj::Int(s.rfind(n).map_or(-1, |b| char_index(s, b))))
}

/// `index` of a string or of a sequence.
pub fn index<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    if let Obj::Str(_) = recv {
        return match find(recv, args)? {
            Obj::Int(-1) => Err(Exc::value_error("substring not found")),
            found => Ok(found),
        };
    }
    if !matches!(kind(recv), Kind::List | Kind::Tuple) {
        return Err(Exc::attribute_error(recv, "index"));
    }
    let needle = arg(args, 0);
    items(recv)?
        .iter()
        .position(|x| eq(x, &needle))
        .map(|i| Obj::Int(i as i64))
        .ok_or_else(|| Exc::value_error(format!("{} is not in list", super::repr(&needle))))
}

/// `count` of a string or of a sequence.
pub fn count<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let needle = arg(args, 0);
    match recv {
        Obj::Str(s) => {
            let n = str_arg(&needle, "count", "")?;
            let s = s.as_str();
            let c = if n.is_empty() { s.chars().count() + 1 } else { s.matches(n).count() };
            Ok(Obj::Int(c as i64))
        }
        _ if matches!(kind(recv), Kind::List | Kind::Tuple) => {
            Ok(Obj::Int(items(recv)?.iter().filter(|x| eq(x, &needle)).count() as i64))
        }
        _ => Err(Exc::attribute_error(recv, "count")),
    }
}

fn str_test<'e>(recv: &Obj<'e>, name: &str, test: impl Fn(char) -> bool) -> R<Obj<'e>> {
    let s = text(recv, name)?;
    Ok(Obj::Bool(!s.is_empty() && s.chars().all(test)))
}

pub fn isdigit<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "isdigit")?;
    if !s.is_ascii() {
        return Err(Exc::unsupported("isdigit() on non-ASCII text"));
    }
    str_test(recv, "isdigit", |c| c.is_ascii_digit())
}
pub fn isnumeric<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    isdigit(recv, args)
}
pub fn isdecimal<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    isdigit(recv, args)
}
pub fn isalpha<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    str_test(recv, "isalpha", char::is_alphabetic)
}
pub fn isalnum<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    str_test(recv, "isalnum", char::is_alphanumeric)
}
pub fn isspace<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    str_test(recv, "isspace", is_space)
}
pub fn islower<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "islower")?;
    Ok(Obj::Bool(s.chars().any(char::is_lowercase) && !s.chars().any(|c| c.is_uppercase())))
}
pub fn isupper<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "isupper")?;
    Ok(Obj::Bool(s.chars().any(char::is_uppercase) && !s.chars().any(|c| c.is_lowercase())))
}

pub fn title<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "title")?;
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for c in s.chars() {
        if prev_cased {
            out.extend(c.to_lowercase())
        } else {
            out.extend(c.to_uppercase())
        }
        prev_cased = c.is_alphabetic();
    }
    Ok(Obj::string(out))
}

pub fn capitalize<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "capitalize")?;
    let mut chars = s.chars();
    let out = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    };
    Ok(Obj::string(out))
}

pub fn swapcase<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "swapcase")?;
    Ok(Obj::string(
        s.chars()
            .flat_map(|c| -> Vec<char> {
                if c.is_uppercase() { c.to_lowercase().collect() } else { c.to_uppercase().collect() }
            })
            .collect(),
    ))
}

fn partition_with<'e>(recv: &Obj<'e>, args: &[Obj<'e>], name: &str, right: bool) -> R<Obj<'e>> {
    let s = text(recv, name)?;
    let sep = arg(args, 0);
    let sep = str_arg(&sep, name, "")?;
    if sep.is_empty() {
        return Err(Exc::value_error("empty separator"));
    }
    let found = if right { s.rfind(sep) } else { s.find(sep) };
    let parts = match found {
        Some(i) => [&s[..i], sep, &s[i + sep.len()..]],
        None if right => ["", "", s],
        None => [s, "", ""],
    };
    Ok(Obj::tuple(parts.iter().map(|p| Obj::string(p.to_string())).collect()))
}

pub fn partition<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    partition_with(recv, args, "partition", false)
}
pub fn rpartition<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    partition_with(recv, args, "rpartition", true)
}

pub fn removeprefix<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "removeprefix")?;
    let p = arg(args, 0);
    let p = str_arg(&p, "removeprefix", "")?;
    Ok(Obj::string(s.strip_prefix(p).unwrap_or(s).to_string()))
}

pub fn removesuffix<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "removesuffix")?;
    let p = arg(args, 0);
    let p = str_arg(&p, "removesuffix", "")?;
    Ok(Obj::string(s.strip_suffix(p).unwrap_or(s).to_string()))
}

pub fn zfill<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "zfill")?;
    let Obj::Int(width) = arg(args, 0) else { return Err(Exc::type_error("zfill() needs an integer")) };
    let len = s.chars().count() as i64;
    if width <= len {
        return Ok(recv.clone());
    }
    let zeros = "0".repeat((width - len) as usize);
    Ok(Obj::string(match s.strip_prefix(['-', '+']) {
        Some(rest) => format!("{}{zeros}{rest}", &s[..1]),
        None => format!("{zeros}{s}"),
    }))
}

/// `str.format(*args)` (keyword arguments arrive through [`super::str_format`]).
pub fn format<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    super::fmt::str_format(text(recv, "format")?, args, &[])
}

// Mappings.

/// `get(key, default=None)` on the event, its objects, dictionaries and constants.
pub fn get<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    mapping_get(recv, &arg(args, 0), arg(args, 1))
}

/// `keys()`: of Panther's wrappers, a view that tests membership as the mapping does
/// (ignoring case), which the mapping itself does too; of other dictionaries, the keys.
pub fn keys<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    match recv {
        Obj::Json(Value::Object(_)) | Obj::Event(_) => Ok(recv.clone()),
        _ if kind(recv) == Kind::Dict => Ok(Obj::list(iter(recv)?)),
        _ => Err(Exc::attribute_error(recv, "keys")),
    }
}

pub fn values<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    if kind(recv) != Kind::Dict {
        return Err(Exc::attribute_error(recv, "values"));
    }
    Ok(Obj::list(dict_items(recv)?.into_iter().map(|(_, v)| v).collect()))
}

pub fn items_of<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    if kind(recv) != Kind::Dict {
        return Err(Exc::attribute_error(recv, "items"));
    }
    Ok(Obj::list(dict_items(recv)?.into_iter().map(|(k, v)| Obj::tuple(vec![k, v])).collect()))
}

fn owned_dict<'a, 'e>(recv: &'a Obj<'e>, name: &str) -> R<&'a Rc<RefCell<super::Dict<'e>>>> {
    match recv {
        Obj::Dict(d) => Ok(d),
        Obj::Const(Const::Dict(_)) => Err(Exc::unsupported("a module constant is modified at run time")),
        _ => Err(Exc::attribute_error(recv, name)),
    }
}

pub fn setdefault<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let d = owned_dict(recv, "setdefault")?;
    let key = arg(args, 0);
    let found = d.borrow().get(&key)?;
    match found {
        Some(v) => Ok(v),
        None => {
            let v = arg(args, 1);
            d.borrow_mut().insert(key, v.clone())?;
            Ok(v)
        }
    }
}

/// `update` of a dictionary (with a mapping) or a set (with an iterable).
pub fn update<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    if let Obj::Set(s) = recv {
        for x in iter(&arg(args, 0))? {
            add(&Obj::Set(s.clone()), &[x])?;
        }
        return Ok(Obj::None);
    }
    let d = owned_dict(recv, "update")?;
    let other = arg(args, 0);
    let pairs = if kind(&other) == Kind::Dict {
        dict_items(&other)?
    } else {
        let mut pairs = Vec::new();
        for item in iter(&other)? {
            let kv = items(&item)?;
            if kv.len() != 2 {
                return Err(Exc::value_error("dictionary update sequence element has the wrong length"));
            }
            pairs.push((kv[0].clone(), kv[1].clone()));
        }
        pairs
    };
    for (k, v) in pairs {
        d.borrow_mut().insert(k, v)?;
    }
    Ok(Obj::None)
}

/// `pop` of a dictionary (`key[, default]`) or a list (`[index]`).
pub fn pop<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    match recv {
        Obj::List(l) => {
            let mut l = l.borrow_mut();
            if l.is_empty() {
                return Err(Exc::index_error("pop from empty list"));
            }
            let i = match arg(args, 0) {
                Obj::None => l.len() as i64 - 1,
                Obj::Int(i) if i < 0 => i + l.len() as i64,
                Obj::Int(i) => i,
                other => {
                    return Err(Exc::type_error(format!(
                        "'{}' object cannot be interpreted as an integer",
                        other.type_name()
                    )));
                }
            };
            if i < 0 || i as usize >= l.len() {
                return Err(Exc::index_error("pop index out of range"));
            }
            Ok(l.remove(i as usize))
        }
        _ => {
            let d = owned_dict(recv, "pop")?;
            let key = arg(args, 0);
            let at = d.borrow().position(&key)?;
            match at {
                Some(i) => Ok(d.borrow_mut().entries.remove(i).1),
                None if args.len() > 1 => Ok(arg(args, 1)),
                None => Err(Exc::key_error(&key)),
            }
        }
    }
}

/// `copy` of a dictionary or a list (shallow); Panther's wrappers and the event deep-copy
/// their raw container into plain values.
pub fn copy<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    match recv {
        Obj::Json(v) => return super::raw(v),
        Obj::Event(e) => {
            return Obj::dict(
                e.value.iter().map(|(k, v)| Ok((Obj::str(k), super::raw(v)?))).collect::<R<_>>()?,
            );
        }
        _ => {}
    }
    match kind(recv) {
        Kind::Dict => Obj::dict(dict_items(recv)?),
        Kind::List => Ok(Obj::list(items(recv)?)),
        Kind::Set => Obj::set(items(recv)?),
        _ => Err(Exc::attribute_error(recv, "copy")),
    }
}

/// `to_dict()` (and `as_list()`) of the event or its wrappers: `copy()`.
pub fn to_dict<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    match recv {
        Obj::Event(_) | Obj::Json(_) => copy(recv, args),
        _ => Err(Exc::attribute_error(recv, "to_dict")),
    }
}

/// `as_list()` of a wrapped list.
pub fn as_list<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    match recv {
        Obj::Json(Value::Array(_)) => copy(recv, args),
        _ => Err(Exc::attribute_error(recv, "as_list")),
    }
}

/// `event.deep_get(*keys, default=None)` (also a method of Panther's wrapped dictionaries).
pub fn deep_get<'e>(recv: &Obj<'e>, keys: &[Obj<'e>], default: Obj<'e>) -> R<Obj<'e>> {
    match recv {
        Obj::Event(_) | Obj::Json(Value::Object(_)) => deep_get_fn(recv, keys, default),
        _ => Err(Exc::attribute_error(recv, "deep_get")),
    }
}

/// `event.deep_walk(*keys, default=None, return_val="all")`: Panther's method walks the raw
/// event (keys matched exactly, values plain).
pub fn deep_walk<'e>(recv: &Obj<'e>, keys: &[Obj<'e>], default: Obj<'e>, return_val: &Obj<'e>) -> R<Obj<'e>> {
    match (recv, return_val) {
        (Obj::Event(e), Obj::Str(r)) if e.is_event() => {
            super::event::raw_deep_walk(e.value, keys, default, r.as_str())
        }
        (Obj::Event(_), _) => Err(Exc::type_error("return_val must be a string")),
        _ => Err(Exc::attribute_error(recv, "deep_walk")),
    }
}

/// `event.udm(*keys, default=None)`.
pub fn udm<'e>(recv: &Obj<'e>, keys: &[Obj<'e>], default: Obj<'e>) -> R<Obj<'e>> {
    match recv {
        Obj::Event(e) if e.is_event() => e.udm(recv, keys, default),
        _ => Err(Exc::attribute_error(recv, "udm")),
    }
}

// Lists and sets.

fn owned_list<'a, 'e>(recv: &'a Obj<'e>, name: &str) -> R<&'a Rc<RefCell<Vec<Obj<'e>>>>> {
    match recv {
        Obj::List(l) => Ok(l),
        Obj::Const(Const::List(_)) => Err(Exc::unsupported("a module constant is modified at run time")),
        _ => Err(Exc::attribute_error(recv, name)),
    }
}

pub fn append<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    owned_list(recv, "append")?.borrow_mut().push(arg(args, 0));
    Ok(Obj::None)
}

pub fn extend<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let more = iter(&arg(args, 0))?;
    owned_list(recv, "extend")?.borrow_mut().extend(more);
    Ok(Obj::None)
}

pub fn insert<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let l = owned_list(recv, "insert")?;
    let mut l = l.borrow_mut();
    let Obj::Int(i) = arg(args, 0) else { return Err(Exc::type_error("insert() index must be an integer")) };
    let n = l.len() as i64;
    let at = if i < 0 { (i + n).max(0) } else { i.min(n) };
    l.insert(at as usize, arg(args, 1));
    Ok(Obj::None)
}

/// `remove` from a list (the first equal element) or a set.
pub fn remove<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let x = arg(args, 0);
    match recv {
        Obj::Set(s) => {
            let mut s = s.borrow_mut();
            match s.iter().position(|i| eq(i, &x)) {
                Some(i) => {
                    s.remove(i);
                    Ok(Obj::None)
                }
                None => Err(Exc::key_error(&x)),
            }
        }
        _ => {
            let l = owned_list(recv, "remove")?;
            let mut l = l.borrow_mut();
            match l.iter().position(|i| eq(i, &x)) {
                Some(i) => {
                    l.remove(i);
                    Ok(Obj::None)
                }
                None => Err(Exc::value_error("list.remove(x): x not in list")),
            }
        }
    }
}

pub fn reverse<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    owned_list(recv, "reverse")?.borrow_mut().reverse();
    Ok(Obj::None)
}

/// `list.sort(key=None, reverse=False)`.
pub fn sort<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let l = owned_list(recv, "sort")?;
    let sorted = super::sorted(&Obj::list(l.borrow().clone()), &arg(args, 0), &arg(args, 1))?;
    *l.borrow_mut() = items(&sorted)?;
    Ok(Obj::None)
}

pub fn add<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let x = arg(args, 0);
    super::hashable(&x)?;
    match recv {
        Obj::Set(s) => {
            let mut s = s.borrow_mut();
            if !s.iter().any(|i| eq(i, &x)) {
                s.push(x);
            }
            Ok(Obj::None)
        }
        Obj::Const(Const::Set(_)) => Err(Exc::unsupported("a module constant is modified at run time")),
        _ => Err(Exc::attribute_error(recv, "add")),
    }
}

pub fn discard<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    match recv {
        Obj::Set(s) => {
            let x = arg(args, 0);
            s.borrow_mut().retain(|i| !eq(i, &x));
            Ok(Obj::None)
        }
        _ => Err(Exc::attribute_error(recv, "discard")),
    }
}

fn set_op<'e>(recv: &Obj<'e>, args: &[Obj<'e>], name: &str, keep: impl Fn(bool) -> bool) -> R<Obj<'e>> {
    if kind(recv) != Kind::Set {
        return Err(Exc::attribute_error(recv, name));
    }
    let mut out = items(recv)?;
    for other in args {
        let other = iter(other)?;
        out.retain(|i| keep(other.iter().any(|j| eq(i, j))));
    }
    Obj::set(out)
}

pub fn intersection<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    set_op(recv, args, "intersection", |found| found)
}
pub fn difference<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    set_op(recv, args, "difference", |found| !found)
}
pub fn union<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    if kind(recv) != Kind::Set {
        return Err(Exc::attribute_error(recv, "union"));
    }
    let mut out = items(recv)?;
    for other in args {
        out.extend(iter(other)?);
    }
    Obj::set(out)
}
pub fn issubset<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    if kind(recv) != Kind::Set {
        return Err(Exc::attribute_error(recv, "issubset"));
    }
    let other = iter(&arg(args, 0))?;
    Ok(Obj::Bool(items(recv)?.iter().all(|i| other.iter().any(|j| eq(i, j)))))
}
pub fn issuperset<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    if kind(recv) != Kind::Set {
        return Err(Exc::attribute_error(recv, "issuperset"));
    }
    let mine = items(recv)?;
    Ok(Obj::Bool(iter(&arg(args, 0))?.iter().all(|i| mine.iter().any(|j| eq(i, j)))))
}
pub fn isdisjoint<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    if kind(recv) != Kind::Set {
        return Err(Exc::attribute_error(recv, "isdisjoint"));
    }
    let mine = items(recv)?;
    Ok(Obj::Bool(!iter(&arg(args, 0))?.iter().any(|i| mine.iter().any(|j| eq(i, j)))))
}

/// `str.format(*args, **kwargs)`.
pub fn format_kw<'e>(recv: &Obj<'e>, args: &[Obj<'e>], kwargs: &[(&str, Obj<'e>)]) -> R<Obj<'e>> {
    super::fmt::str_format(text(recv, "format")?, args, kwargs)
}

/// The keyword arguments of `str.format(…)` when the call spreads a mapping (`**fields`),
/// merged as CPython merges them, in order: `**` needs a mapping, a name given twice is
/// `TypeError`. (`str.format` takes the merged dictionary as it is: a key that is not a
/// string is never a field name, so it is left out.)
#[derive(Default)]
pub struct FormatKwargs<'e> {
    entries: Vec<(Rc<str>, Obj<'e>)>,
}

impl<'e> FormatKwargs<'e> {
    /// `name=value`.
    pub fn named(mut self, name: &str, value: Obj<'e>) -> R<Self> {
        self.add(name.into(), value)?;
        Ok(self)
    }

    /// `**mapping`.
    pub fn spread(mut self, mapping: &Obj<'e>) -> R<Self> {
        if kind(mapping) != Kind::Dict {
            return Err(Exc::type_error(format!(
                "str.format() argument after ** must be a mapping, not {}",
                mapping.type_name()
            )));
        }
        for (k, v) in dict_items(mapping)? {
            if let Obj::Str(k) = k {
                self.add(k.as_str().into(), v)?;
            }
        }
        Ok(self)
    }

    fn add(&mut self, name: Rc<str>, value: Obj<'e>) -> R<()> {
        if self.entries.iter().any(|(n, _)| *n == name) {
            return Err(Exc::type_error(format!(
                "str.format() got multiple values for keyword argument '{name}'"
            )));
        }
        self.entries.push((name, value));
        Ok(())
    }

    /// `recv.format(*args, **self)`.
    pub fn format(&self, recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
        let pairs: Vec<(&str, Obj<'e>)> = self.entries.iter().map(|(n, v)| (&**n, v.clone())).collect();
        format_kw(recv, args, &pairs)
    }
}

// Regular expressions: patterns and matches.

fn pattern<'a>(recv: &'a Obj<'_>, name: &str) -> R<&'a Rc<super::stdlib::re::Pattern>> {
    match recv {
        Obj::Regex(p) => Ok(p),
        _ => Err(Exc::attribute_error(recv, name)),
    }
}

fn re_match<'a, 'e>(recv: &'a Obj<'e>, name: &str) -> R<&'a Rc<super::stdlib::re::Match<'e>>> {
    match recv {
        Obj::Match(m) => Ok(m),
        _ => Err(Exc::attribute_error(recv, name)),
    }
}

/// `pattern.match(s)`.
pub fn match_<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    pattern(recv, "match")?.find(&arg(args, 0), super::stdlib::re::How::Match)
}
pub fn search<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    pattern(recv, "search")?.find(&arg(args, 0), super::stdlib::re::How::Search)
}
pub fn fullmatch<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    pattern(recv, "fullmatch")?.find(&arg(args, 0), super::stdlib::re::How::Full)
}
pub fn findall<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    pattern(recv, "findall")?.findall(&arg(args, 0))
}

/// `m.group(i=0)`.
pub fn group<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let key = if args.is_empty() { Obj::Int(0) } else { arg(args, 0) };
    re_match(recv, "group")?.group(&key)
}
pub fn groups<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    Ok(re_match(recv, "groups")?.groups())
}
pub fn groupdict<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    re_match(recv, "groupdict")?.groupdict()
}

/// `datetime.timestamp()`.
pub fn timestamp<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    super::stdlib::datetime::method(recv, "timestamp", args)
}

/// `datetime.isoformat()`.
pub fn isoformat<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    super::stdlib::datetime::method(recv, "isoformat", args)
}

/// `datetime.strftime(format)`.
pub fn strftime<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    super::stdlib::datetime::method(recv, "strftime", args)
}

/// `timedelta.total_seconds()`.
pub fn total_seconds<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    super::stdlib::datetime::method(recv, "total_seconds", args)
}

/// `str.isprintable()`: ASCII from 0x20 to 0x7e, and the non-ASCII characters of `repr`'s
/// table (see `py::fmt`); true for the empty string.
pub fn isprintable<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "isprintable")?;
    Ok(Obj::Bool(
        s.chars().all(|c| if c.is_ascii() { (' '..='~').contains(&c) } else { super::fmt::printable(c) }),
    ))
}

/// `str.isascii()` (true for the empty string).
pub fn isascii<'e>(recv: &Obj<'e>, _: &[Obj<'e>]) -> R<Obj<'e>> {
    Ok(Obj::Bool(text(recv, "isascii")?.is_ascii()))
}

/// `str.ljust(width[, fillchar])`.
pub fn ljust<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "ljust")?;
    let width = match args.first() {
        Some(Obj::Int(w)) => *w,
        Some(Obj::Bool(b)) => i64::from(*b),
        Some(other) => {
            return Err(Exc::type_error(format!(
                "'{}' object cannot be interpreted as an integer",
                other.type_name()
            )));
        }
        None => return Err(Exc::type_error("ljust expected at least 1 argument, got 0")),
    };
    let fill = match arg(args, 1) {
        Obj::None if args.len() < 2 => ' ',
        Obj::Str(f) => {
            let mut cs = f.as_str().chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => c,
                _ => return Err(Exc::type_error("The fill character must be exactly one character long")),
            }
        }
        other => {
            return Err(Exc::type_error(format!(
                "The fill character must be a unicode character, not {}",
                other.type_name()
            )));
        }
    };
    let len = s.chars().count() as i64;
    if width <= len {
        return Ok(recv.clone());
    }
    let mut out = String::with_capacity(s.len() + (width - len) as usize);
    out.push_str(s);
    out.extend(std::iter::repeat_n(fill, (width - len) as usize));
    Ok(Obj::string(out))
}

/// `str.encode(encoding="utf-8", errors="strict")`.
pub fn encode<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let s = text(recv, "encode")?;
    super::stdlib::bytes::encode(s, &arg(args, 0), &arg(args, 1))
}

/// `bytes.decode(encoding="utf-8", errors="strict")`.
pub fn decode<'e>(recv: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    match super::stdlib::bytes::as_bytes(recv) {
        Some(b) => super::stdlib::bytes::decode(b, &arg(args, 0), &arg(args, 1)),
        None => Err(Exc::attribute_error(recv, "decode")),
    }
}
