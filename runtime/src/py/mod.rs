//! Python values for rules compiled from Python: what CPython 3.11 does with them under
//! Panther's runtime, as Rust.
//!
//! Owns [`Obj`] (a Python value that borrows from the event and allocates only where Python
//! builds a new value), [`Exc`] (a Python exception as a `Result` error: compiled code uses `?`,
//! never panics), truthiness, `==`, ordering, `in`, arithmetic, indexing, iteration, `str()` and
//! `repr()` (f-strings of lists and dicts appear in real titles), the methods of `str`, `list`
//! and `dict`, the builtins, and the event object (`event.get`, `deep_get`, `udm`).
//! Must not: know which rule runs (rules reach this module only through generated code) or
//! interpret anything: every operation here is called directly by compiled code.
//!
//! Panther's event is an immutable, case-insensitive dictionary; its nested objects and arrays
//! are read in place from the parsed JSON ([`Obj::Json`]) and behave like Panther's wrappers.
//! Module-level constants of rules and helpers are [`Const`]s built at compile time.

mod attrs;
mod builtins;
mod event;
mod fmt;
pub mod instance;
pub mod kv;
pub mod meth;
mod ops;
pub mod rule;
pub mod state;
pub mod stdlib;

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;

pub use attrs::{attribute, getattr, hasattr};
pub use builtins::*;
pub use event::{DataModel, Event, Mapping, deep_get, raw_deep_walk};
pub use fmt::{FormatSpec, float_repr, format_spec, json_repr, percent_format, repr_string, str_format};
pub use ops::*;
pub use rule::{PyFn, Python};
pub use state::{Global, load, load_mocked, store, store_fresh, store_mocked};

/// The result of a Python operation: a value, or the exception CPython would raise.
pub type R<T> = Result<T, Exc>;

/// A Python exception: its class name and message, as CPython prints them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exc {
    pub kind: &'static str,
    pub message: String,
    /// Raised by this runtime for what it does not model (where CPython would go on): never
    /// caught by the rule's `except`, so that it cannot turn into a different answer.
    pub internal: bool,
}

impl Exc {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Exc {
        Exc { kind, message: message.into(), internal: false }
    }

    /// Whether an `except` clause naming `classes` catches this exception (CPython's class
    /// hierarchy of the exceptions compiled rules raise and catch).
    pub fn is_instance(&self, classes: &[&str]) -> bool {
        if self.internal {
            return false;
        }
        let parents: &[&str] = match self.kind {
            "KeyError" | "IndexError" => &["LookupError"],
            "ZeroDivisionError" | "OverflowError" => &["ArithmeticError"],
            "json.JSONDecodeError" | "ipaddress.AddressValueError" | "ipaddress.NetmaskValueError" => {
                &["ValueError"]
            }
            "UnicodeDecodeError" | "UnicodeEncodeError" => &["UnicodeError", "ValueError"],
            "binascii.Error" | "dateutil.parser.ParserError" => &["ValueError"],
            _ => &[],
        };
        classes.iter().any(|c| {
            *c == "BaseException"
                || (*c == "Exception" && self.kind != "SystemExit")
                || *c == self.kind
                || parents.contains(c)
        })
    }
    pub fn type_error(message: impl Into<String>) -> Exc {
        Exc::new("TypeError", message)
    }
    pub fn value_error(message: impl Into<String>) -> Exc {
        Exc::new("ValueError", message)
    }
    pub fn key_error(key: &Obj<'_>) -> Exc {
        Exc::new("KeyError", repr(key))
    }
    pub fn index_error(message: impl Into<String>) -> Exc {
        Exc::new("IndexError", message)
    }
    pub fn attribute_error(obj: &Obj<'_>, name: &str) -> Exc {
        // `bytes` has many of `str`'s methods, which compiled rules do not model on it.
        if stdlib::bytes::as_bytes(obj).is_some() {
            return stdlib::bytes::unmodelled(&format!("`.{name}`"));
        }
        Exc::new("AttributeError", format!("'{}' object has no attribute '{name}'", obj.type_name()))
    }
    /// What this runtime does not model: an error, never a silently different result.
    pub fn unsupported(message: impl Into<String>) -> Exc {
        Exc { internal: true, ..Exc::new("NotImplementedError", message) }
    }
    pub fn overflow() -> Exc {
        Exc {
            internal: true,
            ..Exc::new("OverflowError", "integers beyond 64 bits are not supported by compiled rules")
        }
    }
}

impl Exc {
    /// `repr()` of the exception, as Panther writes it into an `_error` context.
    pub fn python_repr(&self) -> String {
        // These keep their arguments' `repr` as the message.
        if matches!(self.kind, "KeyError" | "UnicodeDecodeError" | "UnicodeEncodeError") {
            return format!("{}({})", self.kind, self.message);
        }
        // CPython prints the class's own name, without its module (`binascii.Error`: `Error`).
        let name = self.kind.rsplit('.').next().unwrap_or(self.kind);
        format!("{name}({})", fmt::repr_string(&self.message))
    }
}

impl std::fmt::Display for Exc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.kind)
        } else {
            write!(f, "{}: {}", self.kind, self.message)
        }
    }
}

impl std::error::Error for Exc {}

/// A Python string: borrowed from the event or the program, or built at run time.
#[derive(Clone, Debug)]
pub enum Str<'e> {
    Borrowed(&'e str),
    Owned(Rc<str>),
}

impl Str<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Str::Borrowed(s) => s,
            Str::Owned(s) => s,
        }
    }
}

/// A Python value.
///
/// Containers built at run time are shared and mutable, as in Python (`Rc<RefCell<…>>`: an
/// alias sees a mutation). The event's own objects and arrays, and module constants, are
/// read in place and immutable.
#[derive(Clone, Debug, Default)]
pub enum Obj<'e> {
    #[default]
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Str<'e>),
    /// An object or array of the event (never a scalar: those are read as the types above).
    /// Objects behave as Panther's immutable case-insensitive dictionary, arrays as its
    /// immutable list.
    Json(&'e Value),
    /// The event itself: the top-level object, with `deep_get`, `deep_walk` and `udm`.
    Event(&'e Event<'e>),
    /// A module constant (`SEVERITIES = {"LOW": 1}`), built at compile time.
    Const(&'static Const),
    List(Rc<RefCell<Vec<Obj<'e>>>>),
    Tuple(Rc<[Obj<'e>]>),
    Dict(Rc<RefCell<Dict<'e>>>),
    Set(Rc<RefCell<Vec<Obj<'e>>>>),
    /// A compiled regular expression (`re.compile`), or a match of one.
    Regex(Rc<stdlib::re::Pattern>),
    Match(Rc<stdlib::re::Match<'e>>),
    /// Any other object of a supported standard-library type (addresses, networks, dates).
    Native(Rc<stdlib::Native>),
    /// A function value (a lambda, or a function passed as an argument).
    Func(Func<'e>),
    /// An object of a class the rule's Python defines.
    Instance(Rc<instance::Instance<'e>>),
    /// A named tuple of a library the runtime ports (`policyuniverse`'s `Condition`): a tuple
    /// whose items are also attributes.
    NamedTuple(Rc<NamedTuple<'e>>),
}

/// A `collections.namedtuple` value: its class (name and fields) and its items.
#[derive(Debug)]
pub struct NamedTuple<'e> {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    pub items: Box<[Obj<'e>]>,
}

impl<'e> NamedTuple<'e> {
    /// The item named `field`.
    pub fn field(&self, field: &str) -> Option<&Obj<'e>> {
        self.fields.iter().position(|f| *f == field).map(|i| &self.items[i])
    }
}

/// A function value: a lambda, or a function passed as an argument.
#[derive(Clone)]
pub struct Func<'e>(pub Rc<dyn Fn(&[Obj<'e>]) -> R<Obj<'e>> + 'e>);

impl std::fmt::Debug for Func<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<function>")
    }
}

impl<'e> Func<'e> {
    pub fn call(&self, args: &[Obj<'e>]) -> R<Obj<'e>> {
        (self.0)(args)
    }
}

/// A module constant, written out by the compiler as a Rust `static`.
#[derive(Debug)]
pub enum Const {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'static str),
    List(&'static [Const]),
    Tuple(&'static [Const]),
    /// In insertion order.
    Dict(&'static [(Const, Const)]),
    /// A set or frozenset, in the order written (CPython's order is its hash order).
    Set(&'static [Const]),
    /// `re.compile(source, flags)`.
    Regex(&'static str, i64),
    /// `ipaddress.ip_network(…)` of a literal: the network address and prefix length.
    Net(std::net::IpAddr, u8),
    /// `timedelta(…)` or `datetime(…)` of literals.
    Date(stdlib::datetime::DateConst),
}

/// A dictionary built at run time, in insertion order.
#[derive(Clone, Debug, Default)]
pub struct Dict<'e> {
    pub entries: Vec<(Obj<'e>, Obj<'e>)>,
}

impl<'e> Dict<'e> {
    pub fn position(&self, key: &Obj<'e>) -> R<Option<usize>> {
        hashable(key)?;
        Ok(self.entries.iter().position(|(k, _)| eq(k, key)))
    }

    pub fn get(&self, key: &Obj<'e>) -> R<Option<Obj<'e>>> {
        Ok(self.position(key)?.map(|i| self.entries[i].1.clone()))
    }

    pub fn insert(&mut self, key: Obj<'e>, value: Obj<'e>) -> R<()> {
        match self.position(&key)? {
            Some(i) => self.entries[i].1 = value,
            None => self.entries.push((key, value)),
        }
        Ok(())
    }
}

impl<'e> Obj<'e> {
    pub const fn str(s: &'e str) -> Obj<'e> {
        Obj::Str(Str::Borrowed(s))
    }

    pub fn string(s: String) -> Obj<'e> {
        Obj::Str(Str::Owned(s.into()))
    }

    pub fn list(items: Vec<Obj<'e>>) -> Obj<'e> {
        Obj::List(Rc::new(RefCell::new(items)))
    }

    pub fn tuple(items: Vec<Obj<'e>>) -> Obj<'e> {
        Obj::Tuple(items.into())
    }

    /// `{k: v, …}`: later duplicates replace earlier values, as in Python.
    pub fn dict(entries: Vec<(Obj<'e>, Obj<'e>)>) -> R<Obj<'e>> {
        let mut d = Dict::default();
        for (k, v) in entries {
            d.insert(k, v)?;
        }
        Ok(Obj::Dict(Rc::new(RefCell::new(d))))
    }

    pub fn set(items: Vec<Obj<'e>>) -> R<Obj<'e>> {
        let mut out: Vec<Obj<'e>> = Vec::with_capacity(items.len());
        for item in items {
            hashable(&item)?;
            if !out.iter().any(|o| eq(o, &item)) {
                out.push(item);
            }
        }
        Ok(Obj::Set(Rc::new(RefCell::new(out))))
    }

    pub fn func(f: impl Fn(&[Obj<'e>]) -> R<Obj<'e>> + 'e) -> Obj<'e> {
        Obj::Func(Func(Rc::new(f)))
    }

    /// A JSON value of the event as Python sees it: scalars become Python scalars, objects and
    /// arrays are read in place. Integers beyond 64 bits are an error (see [`Exc::overflow`]).
    pub fn from_json(value: &'e Value) -> R<Obj<'e>> {
        Ok(match value {
            Value::Null => Obj::None,
            Value::Bool(b) => Obj::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Obj::Int(i),
                (None, Some(f)) if n.is_f64() => Obj::Float(f),
                _ => return Err(Exc::overflow()),
            },
            Value::String(s) => Obj::str(s),
            Value::Array(_) | Value::Object(_) => Obj::Json(value),
        })
    }

    pub fn from_const(c: &'static Const) -> Obj<'e> {
        match c {
            Const::None => Obj::None,
            Const::Bool(b) => Obj::Bool(*b),
            Const::Int(i) => Obj::Int(*i),
            Const::Float(f) => Obj::Float(*f),
            Const::Str(s) => Obj::str(s),
            Const::Regex(source, flags) => Obj::Regex(stdlib::re::pattern(source, *flags)),
            Const::Net(addr, prefix) => {
                Obj::Native(Rc::new(stdlib::Native::Net { addr: *addr, prefix: *prefix }))
            }
            Const::Date(d) => stdlib::datetime::from_const(d),
            Const::List(_) | Const::Tuple(_) | Const::Dict(_) | Const::Set(_) => Obj::Const(c),
        }
    }

    /// Python's type name, as error messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Obj::None => "NoneType",
            Obj::Bool(_) => "bool",
            Obj::Int(_) => "int",
            Obj::Float(_) => "float",
            Obj::Str(_) => "str",
            Obj::Json(Value::Object(_)) => "ImmutableCaseInsensitiveDict",
            Obj::Json(_) => "ImmutableList",
            Obj::Event(e) if e.is_event() => "PantherEvent",
            Obj::Event(_) => "ImmutableCaseInsensitiveDict",
            Obj::Const(c) => match c {
                Const::List(_) => "list",
                Const::Tuple(_) => "tuple",
                Const::Dict(_) => "dict",
                Const::Set(_) => "set",
                Const::Regex(..) => "re.Pattern",
                _ => "object",
            },
            Obj::List(_) => "list",
            Obj::Tuple(_) => "tuple",
            Obj::Dict(_) => "dict",
            Obj::Set(_) => "set",
            Obj::Regex(_) => "re.Pattern",
            Obj::Match(_) => "re.Match",
            Obj::Native(n) => n.type_name(),
            Obj::Func(_) => "function",
            Obj::Instance(i) => i.class.name,
            Obj::NamedTuple(t) => t.name,
        }
    }

    /// The type as `<class '…'>` names it: a class of the rule's Python with its module.
    pub fn class_path(&self) -> String {
        match self {
            Obj::Instance(i) => format!("{}.{}", i.class.module, i.class.name),
            Obj::Native(n) if matches!(**n, stdlib::Native::DateTime(_) | stdlib::Native::TimeDelta(_)) => {
                format!("datetime.{}", self.type_name())
            }
            _ => self.type_name().to_string(),
        }
    }

    /// The string, if this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Obj::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Obj::None)
    }
}

/// Values that may be dictionary keys and set members (Python's hashable types).
pub fn hashable(key: &Obj<'_>) -> R<()> {
    match key {
        Obj::List(_) | Obj::Dict(_) | Obj::Set(_) | Obj::Json(_) | Obj::Event(_) => {
            Err(Exc::type_error(format!("unhashable type: '{}'", key.type_name())))
        }
        Obj::Const(Const::List(_) | Const::Dict(_) | Const::Set(_)) => {
            Err(Exc::type_error(format!("unhashable type: '{}'", key.type_name())))
        }
        Obj::Tuple(items) => items.iter().try_for_each(hashable),
        Obj::NamedTuple(t) => t.items.iter().try_for_each(hashable),
        _ => Ok(()),
    }
}

/// Python's truthiness (`if x:`, `not x`, `and`/`or`).
pub fn truthy(x: &Obj<'_>) -> bool {
    match x {
        Obj::None => false,
        Obj::Bool(b) => *b,
        Obj::Int(i) => *i != 0,
        Obj::Float(f) => *f != 0.0,
        Obj::Str(s) => !s.as_str().is_empty(),
        Obj::Json(Value::Object(m)) => !m.is_empty(),
        Obj::Json(Value::Array(a)) => !a.is_empty(),
        Obj::Json(_) => true,
        Obj::Event(e) => !e.value.is_empty(),
        Obj::Const(c) => match c {
            Const::List(x) | Const::Tuple(x) | Const::Set(x) => !x.is_empty(),
            Const::Dict(x) => !x.is_empty(),
            _ => true,
        },
        Obj::List(l) => !l.borrow().is_empty(),
        Obj::Tuple(t) => !t.is_empty(),
        Obj::NamedTuple(t) => !t.items.is_empty(),
        Obj::Dict(d) => !d.borrow().entries.is_empty(),
        Obj::Set(s) => !s.borrow().is_empty(),
        Obj::Regex(_) | Obj::Match(_) | Obj::Func(_) | Obj::Instance(_) => true,
        Obj::Native(n) => n.truthy(),
    }
}

/// `str(x)`.
pub fn str_of(x: &Obj<'_>) -> String {
    fmt::to_str(x)
}

/// `repr(x)`.
pub fn repr(x: &Obj<'_>) -> String {
    fmt::to_repr(x)
}

/// How a `try` body (compiled as a closure) ended.
pub enum Flow<'e> {
    Normal,
    Return(Obj<'e>),
    Break,
    Continue,
}

/// A local variable that may be unbound (assigned on some paths only): reading it unbound is
/// CPython's `UnboundLocalError`.
pub fn bound<'a, 'e>(local: &'a Option<Obj<'e>>, name: &str) -> R<&'a Obj<'e>> {
    local.as_ref().ok_or_else(|| {
        Exc::new(
            "UnboundLocalError",
            format!("cannot access local variable '{name}' where it is not associated with a value"),
        )
    })
}

/// The `i`th argument given to a function value (`None` when missing: lambdas are compiled
/// with their arity checked by the caller).
pub fn arg<'e>(args: &[Obj<'e>], i: usize) -> Obj<'e> {
    args.get(i).cloned().unwrap_or_default()
}

/// Calls a function value.
pub fn call<'e>(f: &Obj<'e>, args: &[Obj<'e>]) -> R<Obj<'e>> {
    match f {
        Obj::Func(f) => f.call(args),
        // `MagicMock(return_value=…)` returns its value whatever the arguments.
        Obj::Native(n) if let stdlib::Native::MagicMock(name) = **n => mocked(name).ok_or_else(|| {
            Exc::unsupported(format!("the MagicMock of `{name}` called after its test case ended"))
        }),
        other => Err(Exc::type_error(format!("'{}' object is not callable", other.type_name()))),
    }
}

/// `a, *rest, b = value` (`before` targets, the starred one, `after` targets): the items, with
/// the middle ones as one list, or CPython's `ValueError`.
pub fn unpack_star<'e>(value: &Obj<'e>, before: usize, after: usize) -> R<Vec<Obj<'e>>> {
    let mut items = iter(value)?;
    if items.len() < before + after {
        return Err(Exc::value_error(format!(
            "not enough values to unpack (expected at least {}, got {})",
            before + after,
            items.len()
        )));
    }
    let tail = items.split_off(items.len() - after);
    let middle = items.split_off(before);
    items.push(Obj::list(middle));
    items.extend(tail);
    Ok(items)
}

/// `a, b = value`: exactly `n` items, or CPython's `ValueError`.
pub fn unpack<'e>(value: &Obj<'e>, n: usize) -> R<Vec<Obj<'e>>> {
    let items = iter(value)?;
    match items.len().cmp(&n) {
        std::cmp::Ordering::Equal => Ok(items),
        std::cmp::Ordering::Less => {
            Err(Exc::value_error(format!("not enough values to unpack (expected {n}, got {})", items.len())))
        }
        std::cmp::Ordering::Greater => {
            Err(Exc::value_error(format!("too many values to unpack (expected {n})")))
        }
    }
}

/// `a += b`: lists extend in place (an alias sees it), everything else is `a + b`.
pub fn iadd<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    if let Obj::List(l) = a {
        let more = iter(b)?;
        l.borrow_mut().extend(more);
        return Ok(a.clone());
    }
    add(a, b)
}

/// `a |= b`: a dictionary or a set is updated in place (an alias sees it), anything else is
/// `a | b`.
pub fn ior<'e>(a: &Obj<'e>, b: &Obj<'e>) -> R<Obj<'e>> {
    let plain = !matches!(b, Obj::Json(_) | Obj::Event(_));
    match a {
        Obj::Dict(d) if plain && ops::kind(b) == ops::Kind::Dict => {
            let more = dict_items(b)?;
            let mut d = d.borrow_mut();
            for (k, v) in more {
                d.insert(k, v)?;
            }
            Ok(a.clone())
        }
        Obj::Set(s) if ops::kind(b) == ops::Kind::Set => {
            let more = items(b)?;
            let mut s = s.borrow_mut();
            for x in more {
                hashable(&x)?;
                if !s.iter().any(|y| eq(y, &x)) {
                    s.push(x);
                }
            }
            Ok(a.clone())
        }
        _ => bitor(a, b),
    }
}

/// `functools.reduce(f, xs[, initial])`.
pub fn reduce<'e>(f: &Obj<'e>, xs: &Obj<'e>, initial: Option<Obj<'e>>) -> R<Obj<'e>> {
    let mut items = iter(xs)?.into_iter();
    let mut acc = match initial {
        Some(i) => i,
        None => {
            items.next().ok_or_else(|| Exc::type_error("reduce() of empty iterable with no initial value"))?
        }
    };
    for x in items {
        acc = call(f, &[acc, x])?;
    }
    Ok(acc)
}

/// A test case's `Mocks:` value (Panther's schema allows a string or a boolean).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MockValue {
    Str(&'static str),
    Bool(bool),
}

thread_local! {
    /// The mocks of the test case running on this thread (none outside tests).
    static MOCKS: std::cell::Cell<&'static [(&'static str, MockValue)]> = const { std::cell::Cell::new(&[]) };
}

/// What a mocked function returns while a test case mocks it (`MagicMock(return_value=…)`
/// returns the value as written, whatever the arguments).
pub fn mocked<'e>(name: &str) -> Option<Obj<'e>> {
    MOCKS.with(|m| {
        m.get().iter().find(|(n, _)| *n == name).map(|(_, v)| match v {
            MockValue::Str(s) => Obj::str(s),
            MockValue::Bool(b) => Obj::Bool(*b),
        })
    })
}

/// The `MagicMock` that stands for the module variable `name` while a test case mocks it
/// (Panther's test runner patches every `Mocks:` entry with a `MagicMock`, whatever it
/// replaces: its `returnValue` is what calling it would return).
pub fn mocked_variable<'e>(name: &'static str) -> Option<Obj<'e>> {
    MOCKS.with(|m| {
        m.get().iter().any(|(n, _)| *n == name).then(|| Obj::Native(Rc::new(stdlib::Native::MagicMock(name))))
    })
}

/// Runs `f` with `mocks` active on this thread (the test runner's `patch.multiple`).
/// When `f` returns, what the case assigned to a mocked module variable is dropped and the
/// variable holds what it held before, as `patch.multiple` restores the original on exit.
/// The event the case runs on must outlive this call (see [`state::load_mocked`]).
pub fn with_mocks<T>(mocks: &'static [(&'static str, MockValue)], f: impl FnOnce() -> T) -> T {
    let previous = MOCKS.with(|m| m.replace(mocks));
    let patched = state::begin_patch();
    let out = f();
    state::end_patch(patched);
    MOCKS.with(|m| m.set(previous));
    out
}

/// Whether a test case on this thread mocks `name` now.
pub(crate) fn is_mocked(name: &str) -> bool {
    MOCKS.with(|m| m.get().iter().any(|(n, _)| *n == name))
}
