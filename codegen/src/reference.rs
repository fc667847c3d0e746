//! The reference interpreter: the checked IR evaluated directly against a JSON event, written
//! for clarity rather than speed, straight from rule-format.md.
//!
//! It serves two purposes. `codegen test` runs a rule's `Tests:` with it in milliseconds,
//! without building anything; and the differential tests compare it with the generated code on
//! many events, so it shares no code with the runtime (`detections-runtime`): a mistake would have to
//! be made twice, in two different ways, to go unnoticed.
//! Must not: be used on a hot path; it clones values freely.

use std::cmp::Ordering as Cmp;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::check::parse_cidr;
use crate::ir::{
    Cidr, CompareOp, ContextValue, Data, DeepWalk, Expr, IpKind, Lit, Num, Ordering, Placeholder, Quantifier,
    ReturnVal, Rule, Segment, Severity, Skip, Template, TemplatePart, Test, TestCase,
};

/// The value at `path`, or `None` when it does not resolve (§2).
pub fn resolve(event: &Value, path: &[Segment]) -> Option<Value> {
    let Some((first, rest)) = path.split_first() else { return Some(event.clone()) };
    match (first, event) {
        (Segment::Key(key), Value::Object(map)) => resolve(lookup(map, key)?, rest),
        (Segment::Index(i), Value::Array(items)) => {
            let len = items.len() as i64;
            let i = if *i < 0 { len + i } else { *i };
            if i < 0 || i >= len { None } else { resolve(&items[i as usize], rest) }
        }
        (Segment::Each, Value::Array(items)) => {
            Some(Value::Array(items.iter().filter_map(|item| resolve(item, rest)).collect()))
        }
        _ => None,
    }
}

/// The exact key, else the first key equal to it ignoring ASCII case.
fn lookup<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// `None` when `event` matches `rule`, else the YAML line of the first step that fails.
pub fn decide(rule: &Rule, event: &Value) -> Option<u32> {
    for step in &rule.filters {
        if !holds(&step.expr, event, true) {
            return Some(step.line);
        }
    }
    for step in &rule.detection {
        if !holds(&step.expr, event, false) {
            return Some(step.line);
        }
    }
    None
}

/// Whether `expr` holds for `subject`; `filter` applies the InlineFilters rules (§4.3).
pub fn holds(expr: &Expr, subject: &Value, filter: bool) -> bool {
    match expr {
        Expr::Always(b) => *b,
        Expr::All(xs) => xs.iter().all(|x| holds(x, subject, filter)),
        Expr::Any(xs) => xs.iter().any(|x| holds(x, subject, filter)),
        Expr::None(xs) => !xs.iter().any(|x| holds(x, subject, filter)),
        Expr::OnlyOne(xs) => xs.iter().filter(|x| holds(x, subject, filter)).count() == 1,
        Expr::Test { path, test, negated } => {
            let value = resolve(subject, &path.segments);
            if filter {
                match value {
                    None => return true,
                    Some(Value::Null) => return *negated,
                    Some(_) => {}
                }
            }
            test_holds(test, value.as_ref()) != *negated
        }
        Expr::Compare { left, op, right, negated } => {
            let (l, r) = (resolve(subject, &left.segments), resolve(subject, &right.segments));
            // A missing field, on either side, makes the positive form false.
            let result = match (l, r) {
                (Some(l), Some(r)) => compare_holds(*op, &l, &r),
                _ => false,
            };
            result != *negated
        }
        Expr::Elements { path, quantifier, body } => {
            let Some(Value::Array(items)) = resolve(subject, &path.segments) else {
                return *quantifier == Quantifier::None;
            };
            let passing = items.iter().filter(|item| body.iter().all(|x| holds(x, item, false))).count();
            match quantifier {
                Quantifier::Any => passing > 0,
                Quantifier::All => passing == items.len(),
                Quantifier::None => passing == 0,
                Quantifier::OnlyOne => passing == 1,
            }
        }
    }
}

/// The positive form of `test` on a value (`None`: missing).
fn test_holds(test: &Test, value: Option<&Value>) -> bool {
    match test {
        Test::Exists => value.is_some(),
        Test::IsNull => matches!(value, None | Some(Value::Null)),
        Test::IsNullOrEmpty => value.is_none_or(python_false),
        _ => match value {
            None => false,
            Some(v) => value_test_holds(test, v),
        },
    }
}

fn value_test_holds(test: &Test, v: &Value) -> bool {
    let text = v.as_str();
    let lower = text.map(str::to_lowercase);
    match test {
        Test::Equals(lit) => lit_equal(v, lit),
        Test::IsIn(set) => set.iter().any(|lit| lit_equal(v, lit)),
        Test::IEquals(s) => lower.is_some_and(|t| t == *s),
        Test::StartsWith(s) => text.is_some_and(|t| t.starts_with(s.as_str())),
        Test::IStartsWith(s) => lower.is_some_and(|t| t.starts_with(s.as_str())),
        Test::EndsWith(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
        Test::IEndsWith(s) => lower.is_some_and(|t| t.ends_with(s.as_str())),
        Test::Contains(lit) => match (v, lit) {
            (Value::String(t), Lit::Str(s)) => t.contains(s.as_str()),
            (Value::Array(items), Lit::Str(s)) => {
                items.iter().any(|e| e.as_str().is_some_and(|t| t.contains(s.as_str())))
            }
            (Value::Array(items), lit) => items.iter().any(|e| lit_equal(e, lit)),
            _ => false,
        },
        Test::IContains(s) => match v {
            Value::String(t) => t.to_lowercase().contains(s.as_str()),
            Value::Array(items) => {
                items.iter().any(|e| e.as_str().is_some_and(|t| t.to_lowercase().contains(s.as_str())))
            }
            _ => false,
        },
        Test::Has(lit) => match (v, lit) {
            (Value::Array(items), lit) => items.iter().any(|e| lit_equal(e, lit)),
            (Value::String(t), Lit::Str(s)) => t.contains(s.as_str()),
            (Value::Object(map), Lit::Str(s)) => lookup(map, s).is_some(),
            _ => false,
        },
        Test::Compare(o, n) => match v {
            Value::Number(x) => ordering_holds(*o, compare_numbers(&number(x), n)),
            _ => false,
        },
        Test::MatchesGlob(globs) => text.is_some_and(|t| globs.iter().any(|g| fnmatch(g, t))),
        Test::IsIp(kind) => text.and_then(|t| t.parse::<IpAddr>().ok()).is_some_and(|ip| match kind {
            IpKind::Any => true,
            IpKind::V4 => ip.is_ipv4(),
            IpKind::V6 => ip.is_ipv6(),
            IpKind::Public => is_global(ip),
            IpKind::Private => is_private(ip),
        }),
        Test::InCidr(cidrs) => {
            text.and_then(event_network).is_some_and(|net| cidrs.iter().any(|c| overlap(c, &net)))
        }
        Test::CidrContains(addrs) => text.and_then(event_network).is_some_and(|net| {
            addrs
                .iter()
                .any(|a| overlap(&net, &Cidr { addr: *a, prefix: if a.is_ipv4() { 32 } else { 128 } }))
        }),
        Test::Exists | Test::IsNull | Test::IsNullOrEmpty => unreachable!("handled before"),
    }
}

/// The positive form of a multi-key condition on two present values: `Equals` and the
/// orderings as they always were (JSON equality; both numbers), `IsIn` when `r` is a list with
/// an element equal to `l`, and every other condition as its single-field form with `r` as the
/// `Value`, when `r` is a value such a `Value` can be (a string; for `Contains` and `Has` also a
/// number or a boolean; for `IsIPAddressInCIDR` a CIDR, for `CIDRContainsIPAddresses` an
/// address). Any other `r` (null, list, map, the wrong type, text that does not parse): false.
fn compare_holds(op: CompareOp, l: &Value, r: &Value) -> bool {
    let as_constant = match r {
        Value::String(s) => Some(Lit::Str(s.clone())),
        Value::Number(n) => Some(Lit::Num(number(n))),
        Value::Bool(b) => Some(Lit::Bool(*b)),
        _ => None,
    };
    let text = r.as_str().map(str::to_string);
    let test = match op {
        CompareOp::Equals => return json_equal(l, r),
        CompareOp::IsIn => {
            return match r {
                Value::Array(items) => items.iter().any(|item| json_equal(l, item)),
                _ => false,
            };
        }
        CompareOp::Ordering(o) => {
            return match (l, r) {
                (Value::Number(x), Value::Number(y)) => {
                    ordering_holds(o, compare_numbers(&number(x), &number(y)))
                }
                _ => false,
            };
        }
        CompareOp::Contains => as_constant.map(Test::Contains),
        CompareOp::Has => as_constant.map(Test::Has),
        CompareOp::IEquals => text.map(|t| Test::IEquals(t.to_lowercase())),
        CompareOp::StartsWith => text.map(Test::StartsWith),
        CompareOp::IStartsWith => text.map(|t| Test::IStartsWith(t.to_lowercase())),
        CompareOp::EndsWith => text.map(Test::EndsWith),
        CompareOp::IEndsWith => text.map(|t| Test::IEndsWith(t.to_lowercase())),
        CompareOp::IContains => text.map(|t| Test::IContains(t.to_lowercase())),
        CompareOp::MatchesGlob => text.map(|t| Test::MatchesGlob(vec![t])),
        CompareOp::InCidr => text.and_then(|t| event_network(&t)).map(|c| Test::InCidr(vec![c])),
        CompareOp::CidrContains => {
            text.and_then(|t| t.parse::<IpAddr>().ok()).map(|a| Test::CidrContains(vec![a]))
        }
    };
    test.is_some_and(|test| value_test_holds(&test, l))
}

/// A network as an event writes it: `address` or `address/prefix`, nothing around them, the
/// prefix ASCII digits and at most the address's width (Python's `ip_network(text,
/// strict=False)`; an address alone is one host). Host bits stay: `overlap` masks them.
fn event_network(text: &str) -> Option<Cidr> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let width = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u8>().ok().filter(|n| *n <= width)?
        }
        Some(_) => return None,
    };
    Some(Cidr { addr, prefix })
}

/// Python's truth: `null`, `false`, `0`, `""`, `[]` and `{}` are false.
fn python_false(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn lit_equal(v: &Value, lit: &Lit) -> bool {
    match (v, lit) {
        (Value::String(s), Lit::Str(l)) => s == l,
        (Value::Bool(b), Lit::Bool(l)) => b == l,
        (Value::Number(n), Lit::Num(l)) => compare_numbers(&number(n), l) == Some(Cmp::Equal),
        _ => false,
    }
}

/// JSON equality with numbers by value (§4.1).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(&number(x), &number(y)) == Some(Cmp::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn number(n: &serde_json::Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i)
    } else if let Some(u) = n.as_u64() {
        Num::UInt(u)
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Exact numeric comparison, as Python compares ints and floats.
fn compare_numbers(a: &Num, b: &Num) -> Option<Cmp> {
    let int = |n: &Num| match n {
        Num::Int(i) => Some(i128::from(*i)),
        Num::UInt(u) => Some(i128::from(*u)),
        Num::Float(_) => None,
    };
    let float = |n: &Num| match n {
        Num::Int(i) => *i as f64,
        Num::UInt(u) => *u as f64,
        Num::Float(f) => *f,
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => int_vs_float(x, float(b)),
        (None, Some(y)) => int_vs_float(y, float(a)).map(Cmp::reverse),
        (None, None) => float(a).partial_cmp(&float(b)),
    }
}

fn int_vs_float(i: i128, f: f64) -> Option<Cmp> {
    if f.is_nan() {
        None
    } else if f.is_infinite() || f.abs() >= 1.0e38 {
        Some(if f > 0.0 { Cmp::Less } else { Cmp::Greater })
    } else {
        // Compare with the whole part exactly, then let the fraction decide a tie.
        let whole = f.trunc();
        Some(i.cmp(&(whole as i128)).then_with(|| 0.0f64.partial_cmp(&(f - whole)).unwrap_or(Cmp::Equal)))
    }
}

fn ordering_holds(o: Ordering, cmp: Option<Cmp>) -> bool {
    let Some(cmp) = cmp else { return false };
    match o {
        Ordering::Greater => cmp == Cmp::Greater,
        Ordering::GreaterOrEqual => cmp != Cmp::Less,
        Ordering::Less => cmp == Cmp::Less,
        Ordering::LessOrEqual => cmp != Cmp::Greater,
    }
}

/// Python's `fnmatch.fnmatchcase`, by recursion on the pattern.
fn fnmatch(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|skip| go(&p[1..], &t[skip..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('[') => {
                // Find the closing bracket; a `]` right after `[` or `[!` is a member.
                let start = if p.get(1) == Some(&'!') { 2 } else { 1 };
                let close = p.iter().skip(start + 1).position(|&c| c == ']').map(|i| i + start + 1);
                match (close, t.first()) {
                    (None, Some('[')) => go(&p[1..], &t[1..]),
                    (None, _) => false,
                    (Some(_), None) => false,
                    (Some(close), Some(&c)) => {
                        let members = &p[start..close];
                        let mut found = false;
                        let mut i = 0;
                        while i < members.len() {
                            if i + 2 < members.len() && members[i + 1] == '-' {
                                found |= members[i] <= c && c <= members[i + 2];
                                i += 3;
                            } else {
                                found |= members[i] == c;
                                i += 1;
                            }
                        }
                        found != (start == 2) && go(&p[close + 1..], &t[1..])
                    }
                }
            }
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

fn overlap(a: &Cidr, b: &Cidr) -> bool {
    let bits = |ip: IpAddr| match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)) << 96,
        IpAddr::V6(v) => u128::from(v),
    };
    if a.addr.is_ipv4() != b.addr.is_ipv4() {
        return false;
    }
    // Both addresses sit in the top bits, so the prefix counts from the top for either version.
    let prefix = u32::from(a.prefix.min(b.prefix));
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
    bits(a.addr) & mask == bits(b.addr) & mask
}

/// CPython 3.13 `ipaddress`: the networks `is_private` covers, and the exceptions.
const PRIVATE: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.0.170/31",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::1/128",
    "::/128",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "3fff::/20",
    "fc00::/7",
    "fe80::/10",
];
const NOT_PRIVATE: &[&str] = &[
    "192.0.0.9/32",
    "192.0.0.10/32",
    "2001:1::1/128",
    "2001:1::2/128",
    "2001:3::/32",
    "2001:4:112::/48",
    "2001:20::/28",
    "2001:30::/28",
];

fn in_any(ip: IpAddr, nets: &[&str]) -> bool {
    let host = Cidr { addr: ip, prefix: if ip.is_ipv4() { 32 } else { 128 } };
    nets.iter().any(|n| overlap(&parse_cidr(n).expect("valid table"), &host))
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
            is_private(IpAddr::V4(v6.to_ipv4_mapped().expect("mapped")))
        }
        _ => in_any(ip, PRIVATE) && !in_any(ip, NOT_PRIVATE),
    }
}

fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => !in_any(ip, &["100.64.0.0/10"]) && !is_private(ip),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_global(IpAddr::V4(v4)),
            None => !is_private(ip),
        },
    }
}

/// The alert outputs of a match (§4.4).
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs {
    pub title: String,
    pub dedup: String,
    pub context: Map<String, Value>,
    pub severity: Severity,
}

pub fn outputs(rule: &Rule, event: &Value) -> Outputs {
    // A template that raises (`!split`) gives Panther's fallback: the RuleID as title, the
    // default dedup string, `{"_error": ...}` as context.
    let rendered_title =
        rule.title.as_ref().map(|t| render(rule, t, event).unwrap_or_else(|_| rule.id.clone()));
    let title = truncate(match &rendered_title {
        Some(t) if !t.is_empty() => t.clone(),
        _ => rule.default_title().to_string(),
    });
    let dedup = if let Some(t) = &rule.dedup {
        render(rule, t, event).unwrap_or_default()
    } else if !rule.group_by.is_empty() {
        rule.group_by
            .iter()
            .map(|p| display(resolve(event, &p.segments).as_ref()))
            .collect::<Vec<_>>()
            .join(":")
    } else {
        rendered_title.unwrap_or_default()
    };
    let dedup = if dedup.is_empty() { format!("defaultDedupString:{}", rule.id) } else { truncate(dedup) };
    let context = context(rule, event)
        .unwrap_or_else(|error| Map::from_iter([("_error".to_string(), Value::String(error))]));
    let severity = rule
        .dynamic_severities
        .iter()
        .find(|d| d.conditions.iter().all(|c| holds(c, event, false)))
        .map_or(rule.severity, |d| d.severity);
    Outputs { title, dedup, context, severity }
}

/// The alert context; `Err` holds the `repr` of what a value raised.
fn context(rule: &Rule, event: &Value) -> Result<Map<String, Value>, String> {
    let mut context = Map::new();
    for c in &rule.context {
        if !c.conditions.iter().all(|e| holds(e, event, false)) {
            continue;
        }
        let value = match &c.value {
            ContextValue::Path(p) => resolve(event, &p.segments).unwrap_or(Value::Null),
            ContextValue::Template(t) => Value::String(render(rule, t, event)?),
            ContextValue::Choice(p) => choose(p, event).0.unwrap_or(Value::Null),
            ContextValue::Data(d) => data(d, event),
            ContextValue::PantherflowInvestigation => Value::String(pantherflow_investigation(event)?),
        };
        context.insert(c.name.clone(), value);
    }
    Ok(context)
}

fn data(d: &Data, event: &Value) -> Value {
    match d {
        Data::Constant(v) => v.clone(),
        Data::Choice(p) => choose(p, event).0.unwrap_or(Value::Null),
        Data::List(items) => Value::Array(items.iter().map(|i| data(i, event)).collect()),
        Data::Map(entries) => {
            Value::Object(entries.iter().map(|(k, v)| (k.clone(), data(v, event))).collect())
        }
    }
}

/// A template's text; `Err` holds the `repr` of what a placeholder raised.
fn render(rule: &Rule, template: &Template, event: &Value) -> Result<String, String> {
    let mut out = String::new();
    for part in &template.parts {
        match part {
            TemplatePart::Text(t) => out.push_str(t),
            TemplatePart::Field(p) => out.push_str(&placeholder(p, event)?),
            TemplatePart::Walk(w) => {
                let found = deep_walk(w, event)?;
                out.push_str(&if w.type_name { python_type(&found).to_string() } else { python_str(&found) });
            }
            TemplatePart::Value(name) => {
                let value = rule.template_values.iter().find(|v| v.name == *name).expect("checked");
                let case = value.cases.iter().find(|c| c.conditions.iter().all(|e| holds(e, event, false)));
                match case {
                    Some(c) if c.raises => return Err(render(rule, &c.template, event)?),
                    Some(c) => out.push_str(&render(rule, &c.template, event)?),
                    None => {}
                }
            }
        }
    }
    Ok(out)
}

/// The value a placeholder picks (`None`: missing), and whether it is the default.
fn choose(p: &Placeholder, event: &Value) -> (Option<Value>, bool) {
    let alternatives: Vec<Option<Value>> = p
        .paths
        .iter()
        .map(|path| resolve(event, &path.segments))
        .chain(p.default.iter().map(|d| Some(d.clone())))
        .collect();
    for (value, skip) in alternatives.iter().zip(&p.skips) {
        let passed_over = match skip {
            Skip::MissingOrNull => value.as_ref().is_none_or(Value::is_null),
            Skip::Falsy => value.as_ref().is_none_or(|v| !truthy(v)),
            Skip::Missing => value.is_none(),
        };
        if !passed_over {
            return (value.clone(), false);
        }
    }
    (alternatives.last().cloned().flatten(), p.default.is_some())
}

fn placeholder(p: &Placeholder, event: &Value) -> Result<String, String> {
    let (value, is_default) = choose(p, event);
    if p.type_name {
        let projected = p.paths.iter().any(|path| path.segments.contains(&Segment::Each));
        return Ok(match &value {
            None | Some(Value::Null) => "NoneType",
            Some(Value::Bool(_)) => "bool",
            Some(Value::Number(n)) if n.is_f64() => "float",
            Some(Value::Number(_)) => "int",
            Some(Value::String(_)) => "str",
            Some(Value::Array(_)) if is_default || projected => "list",
            Some(Value::Array(_)) => "ImmutableList",
            Some(Value::Object(_)) if is_default => "dict",
            Some(Value::Object(_)) => "ImmutableCaseInsensitiveDict",
        }
        .to_string());
    }
    if !p.splits.is_empty() {
        let mut text = match &value {
            Some(Value::String(s)) => s.clone(),
            other => {
                let projected = p.paths.iter().any(|path| path.segments.contains(&Segment::Each));
                let kind = match other {
                    None | Some(Value::Null) => "NoneType",
                    Some(Value::Bool(_)) => "bool",
                    Some(Value::Number(n)) if n.is_f64() => "float",
                    Some(Value::Number(_)) => "int",
                    Some(Value::Array(_)) if is_default || projected => "list",
                    Some(Value::Array(_)) => "ImmutableList",
                    Some(Value::Object(_)) if is_default => "dict",
                    _ => "ImmutableCaseInsensitiveDict",
                };
                return Err(format!("AttributeError(\"'{kind}' object has no attribute 'split'\")"));
            }
        };
        for (sep, n) in &p.splits {
            let pieces: Vec<&str> = text.split(sep.as_str()).collect();
            let i = if *n < 0 { pieces.len() as i64 + n } else { *n };
            if i < 0 || i >= pieces.len() as i64 {
                return Err("IndexError('list index out of range')".into());
            }
            text = pieces[i as usize].to_string();
        }
        return Ok(text);
    }
    Ok(if p.python {
        // A default is a plain Python value; a `[*]` projection a plain list (a comprehension),
        // one level per `[*]`; anything else as Panther's event hands it out.
        let plain = if is_default {
            usize::MAX
        } else {
            let chosen_path = p.paths.iter().find(|path| resolve(event, &path.segments) == value);
            chosen_path.map_or(0, |path| path.segments.iter().filter(|s| **s == Segment::Each).count())
        };
        match value {
            Some(Value::String(s)) => s,
            Some(v) if plain == usize::MAX => py_raw(&v),
            v => py_repr(v.as_ref().unwrap_or(&Value::Null), plain),
        }
    } else {
        display(value.as_ref())
    })
}

/// Panther's `event.deep_walk(*keys, default=…, return_val=…)`, as its Python reads (panther_core
/// `PantherEvent.deep_walk`), on the event as JSON: the result as a Python value written in JSON
/// (a list is a Python list, `null` is `None`). `Err` is the `repr` of what it raises.
fn deep_walk(w: &DeepWalk, event: &Value) -> Result<Value, String> {
    let no_fields = Value::Object(Map::new());
    let event = if event.is_object() { event } else { &no_fields };
    let default = w.default.clone().map_or(Value::Null, Value::String);
    walk(event, &w.keys, &default, w.return_val)
}

/// One call of `deep_walk` on `obj` (Panther wraps each level in a new event and calls it
/// again): it reads the raw values, so keys match exactly.
fn walk(obj: &Value, keys: &[String], default: &Value, return_val: ReturnVal) -> Result<Value, String> {
    let Some((key, _)) = keys.split_first() else {
        // No key left: the value reached, or the default for `None` and for a list of empty
        // lists (`_empty_list`).
        fits_compiled_int(obj, true)?;
        return Ok(if obj.is_null() || empty_list(obj) { default.clone() } else { obj.clone() });
    };
    match obj {
        // `obj.get(key, default)`, walked with the keys after it.
        Value::Object(map) => {
            let next = map.get(key).unwrap_or(default);
            fits_compiled_int(next, false)?;
            walk(next, &keys[1..], default, return_val)
        }
        // Each item walked with all the keys; every value that is not `None` kept once
        // (`found[value] = None` in an OrderedDict), a list's elements one by one.
        Value::Array(items) => {
            for item in items {
                fits_compiled_int(item, false)?;
            }
            let mut found: Vec<Value> = Vec::new();
            for item in items {
                let values = match walk(item, keys, default, return_val)? {
                    Value::Null => continue,
                    Value::Array(elements) => elements,
                    value => vec![value],
                };
                for value in values {
                    let kind = match value {
                        Value::Object(_) => "dict",
                        Value::Array(_) => "list",
                        _ => "",
                    };
                    if !kind.is_empty() {
                        return Err(format!("TypeError(\"unhashable type: '{kind}'\")"));
                    }
                    if !found.iter().any(|f| python_equal(f, &value)) {
                        found.push(value);
                    }
                }
            }
            Ok(match return_val {
                _ if found.is_empty() => default.clone(),
                ReturnVal::First => found.swap_remove(0),
                ReturnVal::Last => found.pop().expect("not empty"),
                ReturnVal::All if found.len() == 1 => found.pop().expect("one"),
                ReturnVal::All => Value::Array(found),
            })
        }
        // A string, number, boolean or `None`: nothing to walk into.
        _ => Ok(default.clone()),
    }
}

/// `_empty_list`: a list whose elements are all lists empty in this sense (`[]`, `[[], [[]]]`).
fn empty_list(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().all(empty_list),
        _ => false,
    }
}

/// Python's `==` between two hashable values of JSON: `1`, `1.0` and `True` are equal.
fn python_equal(a: &Value, b: &Value) -> bool {
    let numeric = |v: &Value| match v {
        Value::Bool(b) => Some(Num::Int(i64::from(*b))),
        Value::Number(n) => Some(number(n)),
        _ => None,
    };
    match (numeric(a), numeric(b)) {
        (Some(x), Some(y)) => compare_numbers(&x, &y) == Some(Cmp::Equal),
        _ => a == b,
    }
}

/// Compiled rules hold Python's integers in 64 bits: an integer beyond `i64` where Panther's
/// `deep_walk` reads it (a value at a key, the items of a list it walks, anything inside the
/// value it reaches: `deep`) is one they do not model, and they raise rather than print
/// something else (`serde_json` reads larger integers as floats, for both).
fn fits_compiled_int(v: &Value, deep: bool) -> Result<(), String> {
    let fits = match v {
        Value::Number(n) => n.as_u64().is_none() || n.as_i64().is_some(),
        Value::Array(items) if deep => items.iter().all(|i| fits_compiled_int(i, true).is_ok()),
        Value::Object(map) if deep => map.values().all(|i| fits_compiled_int(i, true).is_ok()),
        _ => true,
    };
    if fits {
        Ok(())
    } else {
        Err("OverflowError('integers beyond 64 bits are not supported by compiled rules')".into())
    }
}

/// Python's `str()` of a plain value: a string as it is, anything else as its `repr`.
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_raw(other),
    }
}

/// The name of a plain value's Python type.
fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's truth value of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// Python's `repr()` of a value as Panther's event hands it out: objects and arrays are its
/// immutable wrappers, except the outer `plain` levels of lists (what `[*]` builds).
fn py_repr(v: &Value, plain: usize) -> String {
    match v {
        Value::Array(items) if plain > 0 => {
            let items: Vec<String> = items.iter().map(|i| py_repr(i, plain - 1)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(py_raw).collect();
            let comma = if items.len() == 1 { "," } else { "" };
            format!("ImmutableList(({}{comma}))", items.join(", "))
        }
        Value::Object(_) => format!("ImmutableCaseInsensitiveDict({})", py_raw(v)),
        other => py_raw(other),
    }
}

/// Python's `repr()` of a plain value loaded from JSON.
fn py_raw(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => (if *b { "True" } else { "False" }).into(),
        Value::Number(n) if n.is_f64() => py_float(n.as_f64().expect("a float")),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str_repr(s),
        Value::Array(items) => format!("[{}]", items.iter().map(py_raw).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            let entries: Vec<String> =
                m.iter().map(|(k, v)| format!("{}: {}", py_str_repr(k), py_raw(v))).collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// `repr(float)`: the shortest digits that round-trip, in exponent form below 1e-4 and from 1e16.
fn py_float(f: f64) -> String {
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("an exponent");
    let exp: i32 = exp.parse().expect("a number");
    if (-4..16).contains(&exp) {
        let fixed = f.to_string();
        if fixed.contains('.') { fixed } else { fixed + ".0" }
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// `repr(str)`: single quotes unless the text holds one and no double quote.
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_ascii() || printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// `str.isprintable()` for a non-ASCII character: the table of the runtime's `repr`
/// (`runtime/src/py/fmt.rs`, copied: the interpreter shares no code with the runtime).
fn printable(c: char) -> bool {
    const NOT_PRINTABLE: &[(u32, u32)] = &[
        (0x80, 0xa0),
        (0xad, 0xad),
        (0x600, 0x605),
        (0x61c, 0x61c),
        (0x6dd, 0x6dd),
        (0x70f, 0x70f),
        (0x890, 0x891),
        (0x8e2, 0x8e2),
        (0x1680, 0x1680),
        (0x180e, 0x180e),
        (0x2000, 0x200f),
        (0x2028, 0x202f),
        (0x205f, 0x2064),
        (0x2066, 0x206f),
        (0x3000, 0x3000),
        (0xd800, 0xf8ff),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        (0xf0000, 0x10ffff),
    ];
    !NOT_PRINTABLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&(c as u32)))
}

/// Panther's `pantherflow_investigation(event)`; `Err` is the `repr` of what it raises.
fn pantherflow_investigation(event: &Value) -> Result<String, String> {
    let map = event.as_object().cloned().unwrap_or_default();
    let attribute_error = |v: &Value, name: &str| {
        let kind = match v {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_f64() => "float",
            Value::Number(_) => "int",
            Value::String(_) => "str",
            Value::Array(_) => "ImmutableList",
            Value::Object(_) => "ImmutableCaseInsensitiveDict",
        };
        format!("AttributeError(\"'{kind}' object has no attribute '{name}'\")")
    };
    let log_type = match lookup(&map, "p_log_type") {
        None => String::new(),
        Some(Value::String(s)) => s.to_lowercase().replace('.', "_"),
        Some(other) => return Err(attribute_error(other, "lower")),
    };
    let timestamp = match lookup(&map, "p_event_time") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => py_repr(other, 0),
    };
    let window =
        |sign: char| format!("time.parse_timestamp('{timestamp}') {sign} time.parse_timespan('30m')");
    let mut query = format!(
        "union panther_signals.public.correlation_signals\n    , panther_logs.public.{log_type}\n| where p_event_time between {} .. {}\n",
        window('-'),
        window('+')
    );
    let mut first = true;
    for (key, value) in &map {
        if key.starts_with("p_any_") && key != "p_any_aws_account_ids" {
            if !matches!(value, Value::Array(_) | Value::Object(_)) {
                return Err(attribute_error(value, "copy"));
            }
            let lead = if first { "| where" } else { "     or" };
            query.push_str(&format!("{lead} arrays.overlap({key}, {})\n", py_raw(value)));
            first = false;
        }
    }
    query.push_str("| sort p_event_time");
    Ok(query)
}

/// Strings as they are, missing and null as nothing, anything else as compact JSON.
fn display(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn truncate(s: String) -> String {
    const SUFFIX: &str = "... (truncated)";
    if s.chars().count() <= 1000 {
        s
    } else {
        s.chars().take(1000 - SUFFIX.len()).collect::<String>() + SUFFIX
    }
}

/// Runs one test case; `Err` holds what went wrong, in the words of the generated tests.
pub fn run_test(rule: &Rule, case: &TestCase) -> Result<(), String> {
    let event: Value = serde_json::from_str(&case.log).map_err(|e| format!("the log is not JSON: {e}"))?;
    let decision = decide(rule, &event);
    let matched = decision.is_none();
    if matched != case.expected {
        let verdict = |m: bool| if m { "match" } else { "no match" };
        let why = match decision {
            Some(line) => format!("decided by the expression at {}:{line}, which does not hold", rule.source),
            None => "every expression of InlineFilters and Detection holds".into(),
        };
        return Err(format!(
            "expected: {} (ExpectedResult: {})\n  actual:   {}\n  {why}",
            verdict(case.expected),
            case.expected,
            verdict(matched)
        ));
    }
    if !matched {
        return Ok(());
    }
    let out = outputs(rule, &event);
    let mut wrong = Vec::new();
    let mut expect = |what: &str, expected: &Option<String>, actual: String| {
        if let Some(e) = expected
            && *e != actual
        {
            wrong.push(format!("{what}:\n    expected: {e}\n    actual:   {actual}"));
        }
    };
    expect("ExpectedTitle", &case.expect.title, out.title);
    expect("ExpectedDedup", &case.expect.dedup, out.dedup);
    expect(
        "ExpectedSeverity",
        &case.expect.severity.map(|s| s.name().to_string()),
        out.severity.name().into(),
    );
    if let Some(c) = &case.expect.context {
        let expected: Value = serde_json::from_str(c).unwrap_or(Value::Null);
        if expected != Value::Object(out.context.clone()) {
            wrong.push(format!(
                "ExpectedAlertContext:\n    expected: {c}\n    actual:   {}",
                Value::Object(out.context)
            ));
        }
    }
    if wrong.is_empty() { Ok(()) } else { Err(wrong.join("\n  ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// As CPython: non-printable characters outside ASCII are escaped too (found by the
    /// differential test, where the generated code already printed `'\x80'`).
    #[test]
    fn str_repr_escapes_what_python_escapes() {
        assert_eq!(py_str_repr("\u{7f}\u{80}\u{9f}é\u{200b}\u{e0001}"), r"'\x7f\x80\x9fé\u200b\U000e0001'");
        assert_eq!(py_str_repr("it's"), r#""it's""#);
    }

    #[test]
    fn resolves_like_the_spec() {
        let ev = json!({"A": {"b": [1, {"c": 2}, {"c": null}]}});
        let key = |k: &str| Segment::Key(k.into());
        assert_eq!(resolve(&ev, &[key("a"), key("b"), Segment::Index(-2), key("c")]), Some(json!(2)));
        assert_eq!(resolve(&ev, &[key("a"), key("b"), Segment::Each, key("c")]), Some(json!([2, null])));
        assert_eq!(resolve(&ev, &[key("a"), key("x")]), None);
    }

    #[test]
    fn multi_key_conditions_need_a_second_value_of_the_right_type() {
        let holds = |op, l: Value, r: Value| compare_holds(op, &l, &r);
        assert!(holds(CompareOp::IStartsWith, json!("İSTANBUL"), json!("İst")));
        assert!(!holds(CompareOp::StartsWith, json!("abc"), json!(null)));
        assert!(holds(CompareOp::Contains, json!([1, "x"]), json!(1.0)));
        assert!(!holds(CompareOp::Contains, json!(["x"]), json!(["x"])));
        assert!(holds(CompareOp::IsIn, json!(null), json!([null])));
        assert!(!holds(CompareOp::IsIn, json!("x"), json!("xyz")));
        assert!(holds(CompareOp::InCidr, json!("10.1.2.3"), json!("10.0.0.0/8")));
        assert!(!holds(CompareOp::CidrContains, json!("10.0.0.0/8"), json!("10.1.0.0/16")));
        for bad in ["10.0.0.0/33", " 10.0.0.0/8", "10.0.0.0/+8", "10.0.0.0/", "10.0.0.0/8/8"] {
            assert_eq!(event_network(bad), None, "{bad:?}");
        }
        assert_eq!(event_network("10.1.2.3/8"), Some(Cidr { addr: "10.1.2.3".parse().unwrap(), prefix: 8 }));
    }

    #[test]
    fn numbers_and_globs() {
        assert_eq!(
            compare_numbers(&Num::Int(9_007_199_254_740_993), &Num::Float(9_007_199_254_740_992.0)),
            Some(Cmp::Greater)
        );
        assert!(lit_equal(&json!(1.0), &Lit::Num(Num::Int(1))));
        assert!(!lit_equal(&json!("1"), &Lit::Num(Num::Int(1))));
        assert!(fnmatch("a*[!x]?", "abcyz") && !fnmatch("a*[!x]?", "abxz") && fnmatch("[a", "[a"));
        assert!(is_global("8.8.8.8".parse().unwrap()) && is_private("10.0.0.1".parse().unwrap()));
        assert!(!is_global("100.64.0.1".parse().unwrap()) && !is_private("100.64.0.1".parse().unwrap()));
    }
}
