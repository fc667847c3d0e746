//! Values read from events, and every condition of rule-format.md §3.1 as a method on them.
//!
//! Owns the semantics the compiled matchers share (§4.1): Python-style numeric equality
//! (`1 == 1.0`, exact between integers and floats), strings never equal numbers, booleans equal
//! only booleans, structural equality of lists and maps, Unicode-aware case-insensitive matching,
//! and how a value renders into a title.
//! Must not: know where a value came from (see `event`) or which rule asked.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::mem::ManuallyDrop;

use serde_json::{Map, Value};

use crate::json::{self, Kind};

/// A value found in an event (or not found). Borrows from the event; cheap to clone except for
/// the result of a `[*]` projection.
#[derive(Clone, Debug, Default)]
pub enum Val<'a> {
    /// The path does not resolve.
    #[default]
    Missing,
    Null,
    Bool(bool),
    Num(Num),
    Str(&'a str),
    List(&'a [Value]),
    Map(&'a Map<String, Value>),
    /// An array or object still in an event's text, read without building it: validated JSON
    /// holding no backslash (so that every string in it is its own text).
    Raw(&'a str),
    /// What a `[*]` projection found: one value per element that has the rest of the path.
    Each(Items<'a>),
}

/// The values of a `[*]` projection: a list that frees itself out of line, so that dropping a
/// [`Val`] of any other kind (what rules read nearly always) is a comparison, not a call into
/// the recursive drop of lists of values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Items<'a>(ManuallyDrop<Vec<Val<'a>>>);

impl Drop for Items<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.0.capacity() != 0 {
            free(std::mem::take(&mut *self.0));
        }
    }
}

#[inline(never)]
fn free(items: Vec<Val<'_>>) {
    drop(items)
}

impl<'a> Items<'a> {
    pub fn new() -> Items<'a> {
        Items::default()
    }
}

impl<'a> From<Vec<Val<'a>>> for Items<'a> {
    fn from(items: Vec<Val<'a>>) -> Items<'a> {
        Items(ManuallyDrop::new(items))
    }
}

impl<'a> FromIterator<Val<'a>> for Items<'a> {
    fn from_iter<I: IntoIterator<Item = Val<'a>>>(iter: I) -> Items<'a> {
        Items::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> std::ops::Deref for Items<'a> {
    type Target = [Val<'a>];

    fn deref(&self) -> &[Val<'a>] {
        &self.0
    }
}

/// A JSON number, kept as exact as it was parsed.
#[derive(Clone, Copy, Debug)]
pub enum Num {
    Int(i64),
    UInt(u64),
    Float(f64),
}

/// A constant from a rule, with the type the rule wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lit<'l> {
    Str(&'l str),
    Num(Num),
    Bool(bool),
}

impl<'l> From<&'l str> for Lit<'l> {
    fn from(s: &'l str) -> Self {
        Lit::Str(s)
    }
}
impl From<bool> for Lit<'_> {
    fn from(b: bool) -> Self {
        Lit::Bool(b)
    }
}
impl<T: Into<Num>> From<T> for Lit<'_> {
    fn from(n: T) -> Self {
        Lit::Num(n.into())
    }
}
impl From<i64> for Num {
    fn from(i: i64) -> Self {
        Num::Int(i)
    }
}
impl From<u64> for Num {
    fn from(u: u64) -> Self {
        Num::UInt(u)
    }
}
impl From<f64> for Num {
    fn from(f: f64) -> Self {
        Num::Float(f)
    }
}

impl Num {
    /// Exact comparison, as Python compares `int` with `float`: no rounding of large integers.
    /// `None` when a NaN is involved.
    pub fn compare(self, other: Num) -> Option<Ordering> {
        match (self.as_int(), other.as_int()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            (Some(a), None) => int_float(a, other.float()),
            (None, Some(b)) => int_float(b, self.float()).map(Ordering::reverse),
            (None, None) => self.float().partial_cmp(&other.float()),
        }
    }

    fn as_int(self) -> Option<i128> {
        match self {
            Num::Int(i) => Some(i.into()),
            Num::UInt(u) => Some(u.into()),
            Num::Float(_) => None,
        }
    }

    /// As `serde_json::Number::as_f64` gives it.
    pub fn as_f64(self) -> f64 {
        self.float()
    }

    fn float(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::UInt(u) => u as f64,
            Num::Float(f) => f,
        }
    }

    fn to_json(self) -> Value {
        match self {
            Num::Int(i) => i.into(),
            Num::UInt(u) => u.into(),
            Num::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        }
    }
}

impl PartialEq for Num {
    fn eq(&self, other: &Num) -> bool {
        self.compare(*other) == Some(Ordering::Equal)
    }
}

/// `i` compared with `f`, exactly.
fn int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^127: every float at or beyond it is larger than any i128 (and the same below).
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i128)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - whole)),
        unequal => Some(unequal),
    }
}

impl<'a> From<&'a Value> for Val<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(if let Some(i) = n.as_i64() {
                Num::Int(i)
            } else if let Some(u) = n.as_u64() {
                Num::UInt(u)
            } else {
                Num::Float(n.as_f64().unwrap_or(f64::NAN))
            }),
            Value::String(s) => Val::Str(s),
            Value::Array(items) => Val::List(items),
            Value::Object(map) => Val::Map(map),
        }
    }
}

/// The same value, however it is held (an object in the text equals the same object parsed).
impl PartialEq for Val<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Val::Raw(_), _) | (_, Val::Raw(_)) => {
                !matches!(self, Val::Missing)
                    && !matches!(other, Val::Missing)
                    && self.to_json() == other.to_json()
            }
            (Val::Missing, Val::Missing) | (Val::Null, Val::Null) => true,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            (Val::Num(a), Val::Num(b)) => a == b,
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::List(a), Val::List(b)) => a == b,
            (Val::Map(a), Val::Map(b)) => a == b,
            (Val::Each(a), Val::Each(b)) => a == b,
            _ => false,
        }
    }
}

/// The elements of a list value: a JSON array, one in the text, or a projection.
pub enum Elements<'v, 'a> {
    Json(std::slice::Iter<'a, Value>),
    Raw(&'a str, json::Elements<'a>),
    Each(std::slice::Iter<'v, Val<'a>>),
}

impl<'a> Iterator for Elements<'_, 'a> {
    type Item = Val<'a>;

    fn next(&mut self) -> Option<Val<'a>> {
        match self {
            Elements::Json(it) => it.next().map(Val::from),
            Elements::Raw(text, it) => it.next().map(|(range, kind)| Val::in_text(&text[range], kind)),
            Elements::Each(it) => it.next().cloned(),
        }
    }
}

impl<'a> Val<'a> {
    /// The value of `kind` that is all of `text`, validated JSON without backslashes.
    pub(crate) fn in_text(text: &'a str, kind: Kind) -> Val<'a> {
        match kind {
            Kind::Null => Val::Null,
            Kind::Bool(b) => Val::Bool(b),
            Kind::Number => json::number(text).map_or(Val::Missing, Val::Num),
            Kind::String { .. } => Val::Str(&text[1..text.len() - 1]),
            Kind::Array | Kind::Object => Val::Raw(text),
        }
    }

    /// The elements, if this is a list.
    pub fn elements(&self) -> Option<Elements<'_, 'a>> {
        match self {
            Val::List(items) => Some(Elements::Json(items.iter())),
            Val::Raw(text) if raw_array(text) => Some(Elements::Raw(text, json::elements(text))),
            Val::Each(items) => Some(Elements::Each(items.iter())),
            _ => None,
        }
    }

    /// Whether this is a list of any kind.
    fn is_list(&self) -> bool {
        match self {
            Val::List(_) | Val::Each(_) => true,
            Val::Raw(text) => raw_array(text),
            _ => false,
        }
    }

    // ----- existence -----

    /// `Exists`: the path resolves; a `null` counts as existing.
    pub fn exists(&self) -> bool {
        !matches!(self, Val::Missing)
    }

    /// `IsNull`: missing, or `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Missing | Val::Null)
    }

    /// `IsNullOrEmpty`: missing, or a value Python treats as false.
    #[inline]
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Val::Missing | Val::Null => true,
            Val::Str(s) => s.is_empty(),
            other => other.is_empty_value(),
        }
    }

    /// [`Val::is_null_or_empty`] of the rarer kinds.
    fn is_empty_value(&self) -> bool {
        match self {
            Val::Missing | Val::Null => true,
            Val::Bool(b) => !b,
            Val::Num(n) => *n == Num::Int(0),
            Val::Str(s) => s.is_empty(),
            Val::List(items) => items.is_empty(),
            Val::Map(map) => map.is_empty(),
            // `[]` or `{}`, perhaps with blanks inside.
            Val::Raw(text) => text.trim_start()[1..].trim_start().starts_with([']', '}']),
            Val::Each(items) => items.is_empty(),
        }
    }

    // ----- equality -----

    /// `Equals`: same type and value; numbers by value (`1 == 1.0`).
    #[inline]
    pub fn equals<'l>(&self, lit: impl Into<Lit<'l>>) -> bool {
        match (self, lit.into()) {
            (Val::Str(s), Lit::Str(l)) => *s == l,
            (Val::Num(n), Lit::Num(l)) => *n == l,
            (Val::Bool(b), Lit::Bool(l)) => *b == l,
            _ => false,
        }
    }

    /// `IsIn`: equals one of `set`.
    #[inline]
    pub fn is_in<'l, T: Copy + Into<Lit<'l>>>(&self, set: &[T]) -> bool {
        set.iter().any(|&l| self.equals(l))
    }

    /// `IsIn` of many strings, `sorted` (as the generator emits them): a binary search.
    pub fn is_in_sorted(&self, sorted: &[&str]) -> bool {
        match self {
            Val::Str(s) => sorted.binary_search(s).is_ok(),
            other => other.is_in(sorted),
        }
    }

    /// `IEquals`: strings equal after lower-casing; `lower` is already lower-case.
    pub fn iequals(&self, lower: &str) -> bool {
        self.str_lower(|s| s.eq_ignore_ascii_case(lower.as_bytes()), |s| s == lower)
    }

    /// Multi-key `Equals`: JSON equality of two event values. A missing value equals nothing.
    pub fn same_as(&self, other: &Val<'_>) -> bool {
        match (self, other) {
            (Val::Missing, _) | (_, Val::Missing) => false,
            (Val::Null, Val::Null) => true,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            (Val::Num(a), Val::Num(b)) => a == b,
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::Map(a), Val::Map(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| Val::from(v).same_as(&Val::from(w))))
            }
            (Val::Raw(_), _) | (_, Val::Raw(_)) => {
                // Rare (a multi-key `Equals` of whole objects or lists): build them.
                let (a, b) = (self.to_json(), other.to_json());
                Val::from(&a).same_as(&Val::from(&b))
            }
            (a, b) => match (a.elements(), b.elements()) {
                (Some(xs), Some(ys)) => {
                    let (xs, ys): (Vec<Val>, Vec<Val>) = (xs.collect(), ys.collect());
                    xs.len() == ys.len() && xs.iter().zip(&ys).all(|(x, y)| x.same_as(y))
                }
                _ => false,
            },
        }
    }

    // ----- strings -----

    /// `StartsWith`: a string field with this prefix (inlined: a constant prefix is compared
    /// word by word, without a call to `memcmp`).
    #[inline]
    pub fn starts_with(&self, prefix: &str) -> bool {
        matches!(self, Val::Str(s) if s.starts_with(prefix))
    }

    /// `EndsWith`: a string field with this suffix.
    #[inline]
    pub fn ends_with(&self, suffix: &str) -> bool {
        matches!(self, Val::Str(s) if s.ends_with(suffix))
    }

    /// `IStartsWith`; `lower` is already lower-case.
    pub fn istarts_with(&self, lower: &str) -> bool {
        let n = lower.len();
        self.str_lower(
            |s| s.get(..n).is_some_and(|head| head.eq_ignore_ascii_case(lower.as_bytes())),
            |s| s.starts_with(lower),
        )
    }

    /// `IEndsWith`; `lower` is already lower-case.
    pub fn iends_with(&self, lower: &str) -> bool {
        let n = lower.len();
        self.str_lower(
            |s| s.len() >= n && s[s.len() - n..].eq_ignore_ascii_case(lower.as_bytes()),
            |s| s.ends_with(lower),
        )
    }

    /// `Contains`: a string field containing `Value`, or a list with an element equal to
    /// `Value` or (for a string `Value`) a string element containing it.
    pub fn contains<'l>(&self, lit: impl Into<Lit<'l>>) -> bool {
        let lit = lit.into();
        match (self, lit) {
            (Val::Str(s), Lit::Str(l)) => s.contains(l),
            (list, _) if list.is_list() => self.elements().into_iter().flatten().any(|e| match (&e, lit) {
                (Val::Str(s), Lit::Str(l)) => s.contains(l),
                _ => e.equals(lit),
            }),
            _ => false,
        }
    }

    /// `IContains`: as `Contains`, case-insensitively; `lower` is already lower-case.
    pub fn icontains(&self, lower: &str) -> bool {
        match self {
            Val::Str(_) => {
                self.str_lower(|s| contains_ascii_folded(s, lower.as_bytes()), |s| s.contains(lower))
            }
            list if list.is_list() => {
                self.elements().into_iter().flatten().any(|e| {
                    e.str_lower(|s| contains_ascii_folded(s, lower.as_bytes()), |s| s.contains(lower))
                })
            }
            _ => false,
        }
    }

    /// `Has`: Python's `Value in field`: a list element equal to it, a substring of a string,
    /// a key of a map (looked up as event keys are: exact, then case-insensitive).
    pub fn has<'l>(&self, lit: impl Into<Lit<'l>>) -> bool {
        let lit = lit.into();
        match (self, lit) {
            (Val::Str(s), Lit::Str(l)) => s.contains(l),
            (Val::Map(m), Lit::Str(l)) => crate::event::lookup(m, l).is_some(),
            (Val::Raw(text), Lit::Str(l)) if !raw_array(text) => crate::event::raw_lookup(text, l).exists(),
            (list, _) if list.is_list() => self.elements().into_iter().flatten().any(|e| e.equals(lit)),
            _ => false,
        }
    }

    /// `MatchesGlob` (an extension): a string field that one of `globs` matches whole, with
    /// Python's `fnmatch` rules: `*` any run, `?` any character, `[seq]`, `[!seq]`; case-sensitive.
    pub fn matches_glob(&self, globs: &[&str]) -> bool {
        matches!(self, Val::Str(s) if globs.iter().any(|g| glob_match(g, s)))
    }

    /// A placeholder's `|`: this value unless it is missing or null, else `other`.
    pub fn or(self, other: Val<'a>) -> Val<'a> {
        if self.is_null() { other } else { self }
    }

    /// A placeholder's `||` (Python's `or`): this value unless Python treats it as false.
    pub fn or_truthy(self, other: Val<'a>) -> Val<'a> {
        if self.is_null_or_empty() { other } else { self }
    }

    /// A placeholder's `??` (Python's `event.get(key, default)`): this value unless missing.
    pub fn or_present(self, other: Val<'a>) -> Val<'a> {
        if self.exists() { self } else { other }
    }

    /// Tests the lower-cased string; false for anything that is not a string. ASCII text is
    /// not lower-cased at all: `ascii` compares it ignoring ASCII case (which is what Python's
    /// `lower` does to ASCII), against a constant that is already lower-case.
    fn str_lower(&self, ascii: impl FnOnce(&[u8]) -> bool, unicode: impl FnOnce(&str) -> bool) -> bool {
        match self {
            Val::Str(s) if s.is_ascii() => ascii(s.as_bytes()),
            Val::Str(s) => unicode(&lower(s)),
            _ => false,
        }
    }

    // ----- numbers -----

    /// `IsGreaterThan` and friends: both numbers, compared exactly; anything else is false.
    pub fn compare(&self, other: impl Into<Num>) -> Option<Ordering> {
        match self {
            Val::Num(n) => n.compare(other.into()),
            _ => None,
        }
    }

    pub fn greater_than(&self, n: impl Into<Num>) -> bool {
        self.compare(n) == Some(Ordering::Greater)
    }

    pub fn at_least(&self, n: impl Into<Num>) -> bool {
        matches!(self.compare(n), Some(Ordering::Greater | Ordering::Equal))
    }

    pub fn less_than(&self, n: impl Into<Num>) -> bool {
        self.compare(n) == Some(Ordering::Less)
    }

    pub fn at_most(&self, n: impl Into<Num>) -> bool {
        matches!(self.compare(n), Some(Ordering::Less | Ordering::Equal))
    }

    /// Multi-key ordering: both numbers, compared exactly.
    pub fn compare_with(&self, other: &Val<'_>) -> Option<Ordering> {
        match other {
            Val::Num(n) => self.compare(*n),
            _ => None,
        }
    }

    // ----- multi-key: the second field's value in place of `Value` -----
    //
    // Each holds only when the second field has a value of the type the condition's `Value`
    // takes (a string; for `Contains` and `Has` a string, number or boolean; for `IsIn` a list):
    // a missing, `null` or other second field makes it false. The negated forms are their NOT.

    /// The value as a rule constant could be written: a string, number or boolean.
    fn as_lit(&self) -> Option<Lit<'a>> {
        match *self {
            Val::Str(s) => Some(Lit::Str(s)),
            Val::Num(n) => Some(Lit::Num(n)),
            Val::Bool(b) => Some(Lit::Bool(b)),
            _ => None,
        }
    }

    /// Multi-key `IEquals`: both strings, equal once both are lower-cased.
    pub fn iequals_field(&self, other: &Val<'_>) -> bool {
        matches!(other, Val::Str(s) if self.iequals(&lower(s)))
    }

    /// Multi-key `StartsWith`: both strings, the second a prefix of the first.
    pub fn starts_with_field(&self, other: &Val<'_>) -> bool {
        matches!(other, Val::Str(s) if self.starts_with(s))
    }

    /// Multi-key `IStartsWith`: as `StartsWith`, both lower-cased.
    pub fn istarts_with_field(&self, other: &Val<'_>) -> bool {
        matches!(other, Val::Str(s) if self.istarts_with(&lower(s)))
    }

    /// Multi-key `EndsWith`: both strings, the second a suffix of the first.
    pub fn ends_with_field(&self, other: &Val<'_>) -> bool {
        matches!(other, Val::Str(s) if self.ends_with(s))
    }

    /// Multi-key `IEndsWith`: as `EndsWith`, both lower-cased.
    pub fn iends_with_field(&self, other: &Val<'_>) -> bool {
        matches!(other, Val::Str(s) if self.iends_with(&lower(s)))
    }

    /// Multi-key `Contains`: `Contains` with the second field's string, number or boolean.
    pub fn contains_field(&self, other: &Val<'_>) -> bool {
        other.as_lit().is_some_and(|lit| self.contains(lit))
    }

    /// Multi-key `IContains`: `IContains` with the second field's string, lower-cased.
    pub fn icontains_field(&self, other: &Val<'_>) -> bool {
        matches!(other, Val::Str(s) if self.icontains(&lower(s)))
    }

    /// Multi-key `Has`: `Has` with the second field's string, number or boolean.
    pub fn has_field(&self, other: &Val<'_>) -> bool {
        other.as_lit().is_some_and(|lit| self.has(lit))
    }

    /// Multi-key `IsIn`: the second field is a list with an element equal to the first field
    /// (JSON equality, as multi-key `Equals`).
    pub fn is_in_field(&self, other: &Val<'_>) -> bool {
        other.elements().is_some_and(|mut elements| elements.any(|e| self.same_as(&e)))
    }

    /// Multi-key `MatchesGlob`: both strings, the second a glob the first matches.
    pub fn matches_glob_field(&self, other: &Val<'_>) -> bool {
        matches!((self, other), (Val::Str(s), Val::Str(glob)) if glob_match(glob, s))
    }

    // ----- list comprehensions -----

    /// `AnyElement`: a list with an element for which `test` holds.
    pub fn any_element(&self, mut test: impl FnMut(&Val<'a>) -> bool) -> bool {
        self.elements().is_some_and(|mut it| it.any(|e| test(&e)))
    }

    /// `AllElements`: a list (possibly empty) whose every element passes `test`.
    pub fn all_elements(&self, mut test: impl FnMut(&Val<'a>) -> bool) -> bool {
        self.elements().is_some_and(|mut it| it.all(|e| test(&e)))
    }

    /// `NoElement`: no element passes `test`; true for anything that is not a list.
    pub fn no_element(&self, test: impl FnMut(&Val<'a>) -> bool) -> bool {
        !self.any_element(test)
    }

    /// `OnlyOneElement`: a list with exactly one element passing `test`.
    pub fn only_one_element(&self, mut test: impl FnMut(&Val<'a>) -> bool) -> bool {
        self.elements().is_some_and(|it| it.filter(|e| test(e)).take(2).count() == 1)
    }

    // ----- output -----

    /// The value as JSON, for the alert context; missing becomes `null`.
    pub fn to_json(&self) -> Value {
        match self {
            Val::Missing | Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(n) => n.to_json(),
            Val::Str(s) => Value::String((*s).to_string()),
            Val::List(items) => Value::Array(items.to_vec()),
            Val::Map(map) => Value::Object((*map).clone()),
            Val::Raw(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            Val::Each(items) => Value::Array(items.iter().map(Val::to_json).collect()),
        }
    }
}

impl Val<'_> {
    /// Python's `str()` of the value as Panther's event hands it to a rule (`event.get`,
    /// `deep_get`), for a placeholder's `!s`: missing and null are `None`, booleans `True` and
    /// `False`, numbers as Python prints them, objects and arrays as Panther's immutable
    /// wrappers print; a `[*]` projection is a plain list, as a comprehension builds it.
    pub fn py_str(&self) -> String {
        match self {
            Val::Str(s) => (*s).to_string(),
            Val::Each(items) => {
                let items: Vec<String> = items.iter().map(Val::py_repr).collect();
                format!("[{}]", items.join(", "))
            }
            other => other.py_repr(),
        }
    }

    /// The `repr` of the `AttributeError` Python raises on `value.name` for a value that is not
    /// a string, as Panther's event hands the value out.
    pub fn py_attribute_error(&self, name: &str) -> String {
        format!("AttributeError(\"'{}' object has no attribute '{name}'\")", self.py_type_name())
    }

    /// The name of the value's Python type as Panther's event hands it out (a placeholder's
    /// `!type`).
    pub fn py_type_name(&self) -> &'static str {
        match self {
            Val::Missing | Val::Null => "NoneType",
            Val::Bool(_) => "bool",
            Val::Num(Num::Float(_)) => "float",
            Val::Num(_) => "int",
            Val::Str(_) => "str",
            Val::Each(_) => "list",
            Val::List(_) => "ImmutableList",
            Val::Raw(text) if raw_array(text) => "ImmutableList",
            Val::Map(_) | Val::Raw(_) => "ImmutableCaseInsensitiveDict",
        }
    }

    /// Python's `repr()`, as [`Val::py_str`] prints it.
    fn py_repr(&self) -> String {
        use crate::py::{self, Obj};
        match self {
            Val::Missing | Val::Null => "None".into(),
            Val::Bool(b) => (if *b { "True" } else { "False" }).into(),
            Val::Num(Num::Int(i)) => i.to_string(),
            Val::Num(Num::UInt(u)) => u.to_string(),
            Val::Num(Num::Float(f)) => py::float_repr(*f),
            Val::Str(s) => py::repr_string(s),
            Val::Each(_) => self.py_str(),
            Val::List(_) | Val::Map(_) | Val::Raw(_) => py::repr(&Obj::Json(&self.to_json())),
        }
    }
}

/// A placeholder's `!split('SEP')[N]`s: Python's `value.split(SEP)[N]`, each on the piece
/// before. `Err` is the `repr` of the exception Python raises: the value is not a string
/// (`AttributeError`), or there is no piece `N` (`IndexError`).
pub fn split_pieces(value: &Val<'_>, splits: &[(&str, i64)]) -> Result<String, String> {
    let mut text = match value {
        Val::Str(s) => (*s).to_string(),
        other => return Err(other.py_attribute_error("split")),
    };
    for (sep, n) in splits {
        let pieces: Vec<&str> = text.split(sep).collect();
        let i = if *n < 0 { pieces.len() as i64 + n } else { *n };
        let piece = usize::try_from(i).ok().and_then(|i| pieces.get(i));
        text = piece.ok_or("IndexError('list index out of range')")?.to_string();
    }
    Ok(text)
}

/// How a value appears in a title or dedup string (rule-format.md §4.4): strings as they are,
/// missing and null as nothing, anything else as compact JSON.
impl fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Missing | Val::Null => Ok(()),
            Val::Str(s) => f.write_str(s),
            other => write!(f, "{}", other.to_json()),
        }
    }
}

/// Whether raw JSON `text` is an array (else it is an object).
fn raw_array(text: &str) -> bool {
    text.trim_start().starts_with('[')
}

/// Whether ASCII `text`, lower-cased, contains `lower` (already lower-case).
///
/// `IContains` on long fields (`userAgent`) is among the costliest conditions, so candidates for
/// the first byte are found eight bytes at a time: for a letter `c`, `b | 0x20 == c` holds for
/// exactly `c` and its upper case.
fn contains_ascii_folded(text: &[u8], lower: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let Some((&first, rest)) = lower.split_first() else { return true };
    if text.len() < lower.len() {
        return false;
    }
    let fold = if first.is_ascii_lowercase() { 0x20 } else { 0 };
    let found_at =
        |i: usize| text[i] | fold == first && text[i + 1..i + lower.len()].eq_ignore_ascii_case(rest);
    let last = text.len() - lower.len(); // the last place a match can start
    let mut i = 0;
    while i + 8 <= last + 1 {
        let chunk = u64::from_ne_bytes(text[i..i + 8].try_into().expect("eight bytes"));
        let x = (chunk | (ONES * u64::from(fold))) ^ (ONES * u64::from(first));
        // Some byte of `x` is zero (a candidate) iff this is non-zero.
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 && (i..i + 8).any(found_at) {
            return true;
        }
        i += 8;
    }
    (i..=last).any(found_at)
}

/// Lower-cases as Python's `str.lower` does; borrows when there is nothing to change.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Whether `glob` matches all of `text` (Python's `fnmatch.fnmatchcase`).
pub(crate) fn glob_match(glob: &str, text: &str) -> bool {
    let p: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index it stands for).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => match class(&p, pi, t[ti]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // No closing `]`: a literal `[`.
                None => (t[ti] == '[').then_some(pi + 1),
            },
            Some(&c) => (c == t[ti]).then_some(pi + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                pi = next;
                ti += 1;
            }
            (None, Some((after_star, from))) => {
                pi = after_star;
                ti = from + 1;
                star = Some((after_star, from + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The `[...]` at `p[open]` tested against `c`: whether it matches, and the index after it;
/// `None` when there is no closing `]`.
fn class(p: &[char], open: usize, c: char) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negated = p.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let first = i;
    let mut matched = false;
    while i < p.len() && (p[i] != ']' || i == first) {
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negated, i + 1))
}

/// `OnlyOne`: exactly one of the conditions holds.
pub fn exactly_one<const N: usize>(conditions: [bool; N]) -> bool {
    conditions.iter().filter(|&&c| c).count() == 1
}

#[cfg(test)]
mod tests {
    #[test]
    fn folded_contains_agrees_with_the_plain_search() {
        let plain = |text: &[u8], lower: &[u8]| {
            lower.is_empty() || text.to_ascii_lowercase().windows(lower.len()).any(|w| w == lower)
        };
        let texts: [&[u8]; 6] = [
            b"Mozilla/5.0 (S3Browser 9.5.5) aws-sdk-java",
            b"S3BROWSER",
            b"xxxxxxxs3browser",
            b"@[`{ AZaz@@",
            b"",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
        ];
        let needles: [&[u8]; 9] =
            [b"s3browser", b"s", b"", b"@[", b"`{", b"az", b"ab", b"aab", b"r 9.5.5) aws-sdk-javaX"];
        for text in texts {
            for needle in needles {
                for start in 0..=text.len().min(8) {
                    let t = &text[start..];
                    assert_eq!(contains_ascii_folded(t, needle), plain(t, needle), "{t:?} {needle:?}");
                }
            }
        }
    }

    use super::*;
    use serde_json::json;

    fn with<R>(v: Value, f: impl FnOnce(Val) -> R) -> R {
        f(Val::from(&v))
    }

    /// The binary search of a long `IsIn` agrees with the scan.
    #[test]
    fn sorted_sets_agree_with_scans() {
        let set = ["", "a", "ab", "b", "ba", "z", "é"]; // byte order, as the generator sorts
        let values = [
            Val::Str("ab"),
            Val::Str("x"),
            Val::Str(""),
            Val::Str("é"),
            Val::Null,
            Val::Missing,
            Val::Num(Num::Int(1)),
        ];
        for v in values {
            assert_eq!(v.is_in_sorted(&set), v.is_in(&set), "{v:?}");
        }
    }

    /// The ASCII fast paths of the `I…` conditions agree with lower-casing first.
    #[test]
    fn case_insensitive_conditions_without_lowercasing() {
        let texts =
            ["TruffleHog/3.1", "trufflehog", "xTRUFFLEHOGx", "", "a", "ÀB", "Kelvin \u{212A}", "AB_ab[]{}@`"];
        let needles = ["trufflehog", "", "a", "ab", "_ab[", "ab_ab[]{}@`", "k", "àb", "x"];
        for text in texts {
            let folded = lower(text);
            for needle in needles {
                let v = Val::Str(text);
                assert_eq!(v.icontains(needle), folded.contains(needle), "{text:?} icontains {needle:?}");
                assert_eq!(v.istarts_with(needle), folded.starts_with(needle), "{text:?} istarts {needle:?}");
                assert_eq!(v.iends_with(needle), folded.ends_with(needle), "{text:?} iends {needle:?}");
                assert_eq!(v.iequals(needle), *folded == *needle, "{text:?} iequals {needle:?}");
            }
        }
    }

    #[test]
    fn numbers_compare_exactly_across_int_and_float() {
        assert_eq!(Num::Int(1), Num::Float(1.0));
        assert_ne!(Num::Int(1), Num::Float(1.5));
        // 2^53 + 1 is not representable as f64: Python says 9007199254740993 != 9007199254740992.0.
        assert_ne!(Num::Int(9_007_199_254_740_993), Num::Float(9_007_199_254_740_992.0));
        assert_eq!(Num::Int(9_007_199_254_740_992), Num::Float(9_007_199_254_740_992.0));
        assert_eq!(Num::UInt(u64::MAX), Num::UInt(u64::MAX));
        assert_ne!(Num::UInt(u64::MAX), Num::Int(-1));
        assert_eq!(Num::Int(-3).compare(Num::Float(-2.5)), Some(Ordering::Less));
        assert_eq!(Num::Int(-2).compare(Num::Float(-2.5)), Some(Ordering::Greater));
        assert_eq!(Num::Int(5).compare(Num::Float(f64::INFINITY)), Some(Ordering::Less));
        assert_eq!(Num::Int(5).compare(Num::Float(f64::NAN)), None);
        assert_eq!(Num::Float(1e300).compare(Num::UInt(u64::MAX)), Some(Ordering::Greater));
    }

    #[test]
    fn equality_keeps_types_apart() {
        with(json!(443), |v| {
            assert!(v.equals(443i64));
            assert!(v.equals(443.0f64));
            assert!(!v.equals("443"));
        });
        with(json!("443"), |v| {
            assert!(v.equals("443"));
            assert!(!v.equals(443i64));
        });
        with(json!(true), |v| {
            assert!(v.equals(true));
            assert!(!v.equals(1i64));
        });
        with(json!(1), |v| assert!(!v.equals(true)));
        with(json!(null), |v| assert!(!v.equals("null")));
        assert!(!Val::Missing.equals(""));
        with(json!(["a"]), |v| assert!(!v.equals("a")));
    }

    #[test]
    fn existence_and_emptiness() {
        assert!(!Val::Missing.exists());
        assert!(Val::Null.exists());
        assert!(Val::Missing.is_null() && Val::Null.is_null());
        for empty in [json!(null), json!(false), json!(0), json!(0.0), json!(""), json!([]), json!({})] {
            with(empty.clone(), |v| assert!(v.is_null_or_empty(), "{empty}"));
        }
        for full in [json!(true), json!(1), json!(-0.5), json!(" "), json!([0]), json!({"a": null})] {
            with(full.clone(), |v| assert!(!v.is_null_or_empty(), "{full}"));
        }
        assert!(Val::Missing.is_null_or_empty());
        assert!(Val::Each(vec![].into()).is_null_or_empty());
    }

    #[test]
    fn strings_and_lists() {
        with(json!("arn:aws:iam::123:root"), |v| {
            assert!(v.starts_with("arn:"));
            assert!(v.ends_with(":root"));
            assert!(v.contains("iam"));
            assert!(!v.contains(true));
            assert!(v.has("iam"));
        });
        with(json!(["alpha", "beta", 7, true]), |v| {
            assert!(v.contains("alp"));
            assert!(v.contains(7i64));
            assert!(v.contains(7.0f64));
            assert!(v.contains(true));
            assert!(!v.contains(false));
            assert!(v.has("alpha"));
            assert!(!v.has("alp"));
            assert!(!v.starts_with("alpha"));
        });
        with(json!({"Admin": 1}), |v| {
            assert!(v.has("Admin"));
            assert!(v.has("admin"));
            assert!(!v.has("adm"));
            assert!(!v.contains("Admin"));
        });
        with(json!(42), |v| assert!(!v.contains("4") && !v.starts_with("4")));
    }

    #[test]
    fn case_insensitive_is_unicode_aware() {
        with(json!("ÄDMIN User"), |v| {
            assert!(v.iequals("ädmin user"));
            assert!(v.istarts_with("ädmin"));
            assert!(v.iends_with("user"));
            assert!(v.icontains("n u"));
        });
        // Python: 'ΟΔΟΣ'.lower() == 'οδος' with a final sigma.
        with(json!("\u{39f}\u{394}\u{39f}\u{3a3}"), |v| assert!(v.iequals("\u{3bf}\u{3b4}\u{3bf}\u{3c2}")));
        with(json!(["StopInstances", 1]), |v| assert!(v.icontains("stop")));
        with(json!(1), |v| assert!(!v.iequals("1")));
        assert_eq!(lower("İ"), "i\u{307}");
    }

    #[test]
    fn comparisons() {
        with(json!(10), |v| {
            assert!(v.greater_than(9i64) && !v.greater_than(10i64));
            assert!(v.at_least(10i64) && v.at_least(9.5f64));
            assert!(v.less_than(10.5f64) && v.at_most(10i64));
        });
        with(json!("10"), |v| assert!(!v.greater_than(1i64) && !v.less_than(100i64)));
        with(json!(true), |v| assert!(!v.greater_than(0i64)));
        assert!(!Val::Missing.less_than(0i64));
    }

    #[test]
    fn membership() {
        with(json!("b"), |v| {
            assert!(v.is_in(&["a", "b"]));
            assert!(!v.is_in(&["A", "B"]));
        });
        with(json!(2), |v| {
            assert!(v.is_in(&[1i64, 2i64]));
            assert!(v.is_in(&[Lit::Str("2"), Lit::Num(Num::Float(2.0))]));
            assert!(!v.is_in(&["2"]));
        });
    }

    #[test]
    fn comprehensions_on_missing_and_empty_lists() {
        let always = |_: &Val| true;
        assert!(!Val::Missing.any_element(always));
        assert!(!Val::Missing.all_elements(always));
        assert!(Val::Missing.no_element(always));
        assert!(!Val::Missing.only_one_element(always));
        assert!(!Val::Null.all_elements(always));
        with(json!([]), |v| {
            assert!(!v.any_element(always));
            assert!(v.all_elements(always));
            assert!(v.no_element(always));
            assert!(!v.only_one_element(always));
        });
        with(json!([1, 2, 3]), |v| {
            assert!(v.any_element(|e| e.equals(2i64)));
            assert!(v.all_elements(|e| e.greater_than(0i64)));
            assert!(v.no_element(|e| e.equals(4i64)));
            assert!(v.only_one_element(|e| e.equals(3i64)));
            assert!(!v.only_one_element(|e| e.greater_than(1i64)));
        });
        with(json!("abc"), |v| assert!(!v.any_element(always)));
    }

    #[test]
    fn multi_key_equality_is_structural() {
        let a = json!({"x": [1, {"y": "z"}], "n": 1});
        let b = json!({"n": 1.0, "x": [1.0, {"y": "z"}]});
        assert!(Val::from(&a).same_as(&Val::from(&b)));
        assert!(!Val::from(&json!([1, 2])).same_as(&Val::from(&json!([2, 1]))));
        assert!(!Val::Missing.same_as(&Val::Missing));
        assert!(Val::Null.same_as(&Val::Null));
        assert!(!Val::from(&json!("1")).same_as(&Val::from(&json!(1))));
        let proj = Val::Each(vec![Val::Num(Num::Int(1)), Val::Num(Num::Int(2))].into());
        assert!(proj.same_as(&Val::from(&json!([1, 2]))));
        assert_eq!(Val::from(&json!(3)).compare_with(&Val::from(&json!(2.5))), Some(Ordering::Greater));
        assert_eq!(Val::from(&json!("3")).compare_with(&Val::from(&json!(2))), None);
    }

    #[test]
    fn multi_key_conditions_take_the_second_fields_value() {
        let s = Val::Str;
        assert!(s("arn:aws:iam::1:root").starts_with_field(&s("arn:aws:")));
        assert!(!s("arn").starts_with_field(&Val::Missing) && !s("arn").starts_with_field(&Val::Null));
        assert!(!s("123").starts_with_field(&Val::Num(Num::Int(1))));
        assert!(s("setup.exe").ends_with_field(&s(".exe")) && !s("setup.exe").ends_with_field(&s(".EXE")));
        // Both sides lower-cased, as Python's `str.lower`.
        assert!(s("ÄDMIN-user").istarts_with_field(&s("äDMIN")));
        assert!(s("ok").iends_with_field(&s("\u{212A}")), "the Kelvin sign lower-cases to k");
        assert!(s("ΟΔΟΣ").iequals_field(&s("οδος")) && !s("Straße").iequals_field(&s("STRASSE")));
        assert!(!Val::Null.iequals_field(&Val::Null));
        assert!(s("Mozilla S3Browser").icontains_field(&s("s3BROWSER")));
        with(json!(["alpha", 2, true]), |v| {
            assert!(v.contains_field(&s("lph")) && v.contains_field(&Val::Num(Num::Float(2.0))));
            assert!(v.contains_field(&Val::Bool(true)) && !v.contains_field(&Val::Null));
            assert!(v.has_field(&s("alpha")) && !v.has_field(&s("lph")));
            assert!(!v.contains_field(&v.clone()), "a list is no `Value`");
        });
        with(json!({"Admin": 1}), |v| {
            assert!(v.has_field(&s("admin")) && !v.has_field(&Val::Num(Num::Int(1))))
        });
        with(json!([null, {"x": 1}]), |list| {
            assert!(Val::Null.is_in_field(&list));
            with(json!({"x": 1.0}), |o| assert!(o.is_in_field(&list)));
            assert!(!Val::Missing.is_in_field(&list) && !s("x").is_in_field(&list));
        });
        assert!(!s("x").is_in_field(&s("xyz")), "a string is not a list");
        assert!(s("b").is_in_field(&Val::Each(vec![s("a"), s("b")].into())));
        assert!(
            s("setup.exe").matches_glob_field(&s("*.exe")) && !s("setup.EXE").matches_glob_field(&s("*.exe"))
        );
        assert!(!s("1").matches_glob_field(&Val::Num(Num::Int(1))));
    }

    #[test]
    fn display_for_titles() {
        assert_eq!(Val::Missing.to_string(), "");
        assert_eq!(Val::Null.to_string(), "");
        assert_eq!(Val::Str("x y").to_string(), "x y");
        with(json!(1.5), |v| assert_eq!(v.to_string(), "1.5"));
        with(json!(false), |v| assert_eq!(v.to_string(), "false"));
        with(json!({"b": 1, "a": [true, null]}), |v| assert_eq!(v.to_string(), r#"{"b":1,"a":[true,null]}"#));
        let proj = Val::Each(vec![Val::Str("i-1"), Val::Str("i-2")].into());
        assert_eq!(proj.to_string(), r#"["i-1","i-2"]"#);
    }

    #[test]
    fn globs_follow_fnmatch() {
        let m = |g: &str, t: &str| glob_match(g, t);
        assert!(m("arn:aws:iam::*:role/Admin*", "arn:aws:iam::123:role/AdminRole"));
        assert!(!m("arn:aws:iam::*:role/Admin*", "arn:aws:iam::123:role/admin"));
        assert!(m("*", "") && m("*", "anything/at:all"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("[abc]x", "bx") && !m("[abc]x", "dx"));
        assert!(m("[!abc]x", "dx") && !m("[!abc]x", "ax"));
        assert!(m("[a-c]", "b") && !m("[a-c]", "d"));
        assert!(m("[]]", "]") && m("[!]]", "a"));
        assert!(m("[a", "[a"), "an unclosed class is a literal");
        assert!(m("*.exe", "setup.exe") && !m("*.exe", "setup.exe.txt"));
        assert!(m("a*b*c", "aXXbYYc") && !m("a*b*c", "aXXbYY"));
        assert!(m("ü*", "über"));
        with(json!("x.exe"), |v| assert!(v.matches_glob(&["*.dll", "*.exe"])));
        with(json!(["x.exe"]), |v| assert!(!v.matches_glob(&["*"])));
    }

    #[test]
    fn fallbacks() {
        assert_eq!(Val::Missing.or(Val::Str("b")), Val::Str("b"));
        assert_eq!(Val::Null.or(Val::Str("b")), Val::Str("b"));
        assert_eq!(Val::Str("").or(Val::Str("b")), Val::Str(""));
    }

    #[test]
    fn only_one() {
        assert!(exactly_one([false, true, false]));
        assert!(!exactly_one([true, true]));
        assert!(!exactly_one([]));
    }
}
