//! `str()`, `repr()` and formatting as CPython 3.11 prints: floats in their shortest round-trip
//! form (`1e+16`, `0.1`, `1.0`), strings quoted as `repr` quotes them, containers with their
//! elements' `repr`, f-string format specs, `%`-formatting and `str.format`.
//!
//! Known difference: `str.isprintable` for code points outside ASCII uses a table of the
//! non-printable categories that occur in text (controls, format characters, separators,
//! private use), not the whole Unicode database; unassigned code points print as themselves.

use std::fmt::Write;

use serde_json::Value;

use super::{Const, Exc, Obj, R};

pub(crate) fn to_str(x: &Obj<'_>) -> String {
    match x {
        Obj::Str(s) => s.as_str().to_string(),
        Obj::Native(n) => n.str(),
        _ => to_repr(x),
    }
}

pub(crate) fn to_repr(x: &Obj<'_>) -> String {
    let mut out = String::new();
    write_repr(&mut out, x);
    out
}

fn write_repr(out: &mut String, x: &Obj<'_>) {
    match x {
        Obj::None => out.push_str("None"),
        Obj::Bool(true) => out.push_str("True"),
        Obj::Bool(false) => out.push_str("False"),
        Obj::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Obj::Float(f) => out.push_str(&float_repr(*f)),
        Obj::Str(s) => repr_string_into(out, s.as_str()),
        // Panther's wrappers print their class and the raw container (a list as a tuple).
        Obj::Json(Value::Object(m)) => {
            out.push_str("ImmutableCaseInsensitiveDict(");
            write_json_object(out, m);
            out.push(')');
        }
        Obj::Event(e) => {
            out.push_str(if e.is_event() { "PantherEvent(" } else { "ImmutableCaseInsensitiveDict(" });
            write_json_object(out, e.value);
            out.push(')');
        }
        Obj::Json(Value::Array(a)) => {
            out.push_str("ImmutableList((");
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, v);
            }
            if a.len() == 1 {
                out.push(',');
            }
            out.push_str("))");
        }
        Obj::Json(v) => write_json(out, v),
        Obj::Const(c) => write_const(out, c),
        Obj::List(l) => write_seq(out, "[", "]", &l.borrow(), false),
        Obj::Tuple(t) => write_seq(out, "(", ")", t, true),
        Obj::NamedTuple(t) => {
            out.push_str(t.name);
            out.push('(');
            for (i, (f, v)) in t.fields.iter().zip(t.items.iter()).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(f);
                out.push('=');
                write_repr(out, v);
            }
            out.push(')');
        }
        Obj::Set(s) => {
            let s = s.borrow();
            if s.is_empty() {
                out.push_str("set()");
            } else {
                write_seq(out, "{", "}", &s, false);
            }
        }
        Obj::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.borrow().entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, k);
                out.push_str(": ");
                write_repr(out, v);
            }
            out.push('}');
        }
        Obj::Regex(p) => {
            out.push_str("re.compile(");
            repr_string_into(out, &p.source);
            out.push(')');
        }
        Obj::Match(m) => {
            let _ = write!(out, "<re.Match object; span=({}, {}), match=", m.start(0), m.end(0));
            repr_string_into(out, m.text(0).unwrap_or(""));
            out.push('>');
        }
        Obj::Native(n) => out.push_str(&n.repr()),
        Obj::Func(_) => out.push_str("<function>"),
        // CPython prints the address (`<m.C object at 0x7f…>`), which no run reproduces.
        Obj::Instance(i) => {
            let _ = write!(out, "<{}.{} object>", i.class.module, i.class.name);
        }
    }
}

fn write_seq(out: &mut String, open: &str, close: &str, items: &[Obj<'_>], tuple: bool) {
    out.push_str(open);
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(out, v);
    }
    if tuple && items.len() == 1 {
        out.push(',');
    }
    out.push_str(close);
}

/// A raw JSON object as Python prints the dict.
fn write_json_object(out: &mut String, m: &serde_json::Map<String, Value>) {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        repr_string_into(out, k);
        out.push_str(": ");
        write_json(out, v);
    }
    out.push('}');
}

/// `repr()` of a JSON value loaded as plain Python values (`dict`, `list`, ...): what a copy
/// of Panther's wrappers prints.
pub fn json_repr(v: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, v);
    out
}

fn write_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u), _) => {
                let _ = write!(out, "{u}");
            }
            (_, _, Some(f)) => out.push_str(&float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => repr_string_into(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, v);
            }
            out.push(']');
        }
        Value::Object(m) => write_json_object(out, m),
    }
}

fn write_const(out: &mut String, c: &'static Const) {
    match c {
        Const::List(items) => write_const_seq(out, "[", "]", items, false),
        Const::Tuple(items) => write_const_seq(out, "(", ")", items, true),
        Const::Set(items) if items.is_empty() => out.push_str("set()"),
        Const::Set(items) => write_const_seq(out, "{", "}", items, false),
        Const::Dict(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_const(out, k);
                out.push_str(": ");
                write_const(out, v);
            }
            out.push('}');
        }
        scalar => write_repr(out, &Obj::from_const(scalar)),
    }
}

fn write_const_seq(out: &mut String, open: &str, close: &str, items: &'static [Const], tuple: bool) {
    out.push_str(open);
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_const(out, v);
    }
    if tuple && items.len() == 1 {
        out.push(',');
    }
    out.push_str(close);
}

/// `repr(s)` of a string.
pub fn repr_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    repr_string_into(&mut out, s);
    out
}

fn repr_string_into(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
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
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_ascii() || printable(c) => out.push(c),
            c if (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
}

/// `str.isprintable()` for a non-ASCII character (see the module docs for the table's scope).
pub(crate) fn printable(c: char) -> bool {
    let u = c as u32;
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
    !NOT_PRINTABLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

/// `repr(f)` (and `str(f)`): the shortest digits that round-trip, in fixed notation for
/// decimal exponents from -4 to 15, else in scientific notation with a signed two-digit exponent.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let sci = format!("{:e}", f);
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("exponent");
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    halfway_to_even(&mut digits, exp, f.abs());
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Rust's shortest digits break a tie upwards, CPython's (David Gay's) to the even digit: when
/// `x` lies exactly halfway between two shortest candidates that both read back as `x`
/// (`225973436403.453125`: `…45312` or `…45313`), take the even one.
fn halfway_to_even(digits: &mut String, exp: i32, x: f64) {
    let n = digits.len();
    let last = digits.as_bytes()[n - 1] - b'0';
    if last % 2 == 0 {
        return;
    }
    let reads_back = |d: &str| {
        let text = if d.len() > 1 { format!("{}.{}e{exp}", &d[..1], &d[1..]) } else { format!("{d}e{exp}") };
        text.parse::<f64>() == Ok(x)
    };
    for other in [last - 1, last + 1] {
        if other > 9 {
            continue;
        }
        let mut candidate = digits.clone();
        candidate.replace_range(n - 1.., &other.to_string());
        if !reads_back(&candidate) {
            continue;
        }
        // Halfway: `x`'s exact decimal expansion is the lower candidate then a single 5.
        let lower = if other < last { &candidate } else { &*digits };
        let exact = format!("{:.*e}", 1100, x);
        let (mantissa, e) = exact.split_once('e').expect("LowerExp has an exponent");
        let exact_digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let halfway = e.parse::<i32>() == Ok(exp)
            && exact_digits.strip_prefix(lower.as_str()).is_some_and(|rest| {
                rest.strip_prefix('5').is_some_and(|zeros| zeros.bytes().all(|b| b == b'0'))
            });
        if halfway {
            *digits = candidate;
            return;
        }
    }
}

/// A parsed format spec: `[[fill]align][sign][#][0][width][grouping][.precision][type]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FormatSpec {
    pub fill: Option<char>,
    pub align: Option<char>,
    pub sign: Option<char>,
    pub alternate: bool,
    pub zero: bool,
    pub width: Option<usize>,
    pub grouping: Option<char>,
    pub precision: Option<usize>,
    pub kind: Option<char>,
}

impl FormatSpec {
    pub fn parse(spec: &str) -> R<FormatSpec> {
        let bad = || Exc::value_error(format!("Invalid format specifier '{spec}'"));
        let chars: Vec<char> = spec.chars().collect();
        let mut i = 0;
        let mut f = FormatSpec::default();
        let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
        if chars.len() >= 2 && is_align(chars[1]) {
            f.fill = Some(chars[0]);
            f.align = Some(chars[1]);
            i = 2;
        } else if !chars.is_empty() && is_align(chars[0]) {
            f.align = Some(chars[0]);
            i = 1;
        }
        if i < chars.len() && matches!(chars[i], '+' | '-' | ' ') {
            f.sign = Some(chars[i]);
            i += 1;
        }
        if i < chars.len() && chars[i] == '#' {
            f.alternate = true;
            i += 1;
        }
        if i < chars.len() && chars[i] == '0' {
            f.zero = true;
            i += 1;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i > start {
            f.width = Some(chars[start..i].iter().collect::<String>().parse().map_err(|_| bad())?);
        }
        if i < chars.len() && matches!(chars[i], ',' | '_') {
            f.grouping = Some(chars[i]);
            i += 1;
        }
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(Exc::value_error("Format specifier missing precision"));
            }
            f.precision = Some(chars[start..i].iter().collect::<String>().parse().map_err(|_| bad())?);
        }
        if i < chars.len() {
            f.kind = Some(chars[i]);
            i += 1;
        }
        if i != chars.len() {
            return Err(bad());
        }
        Ok(f)
    }
}

/// `format(x, spec)`, as an f-string `{x:spec}` applies it.
pub fn format_spec(x: &Obj<'_>, spec: &str) -> R<String> {
    if spec.is_empty() {
        return Ok(to_str(x));
    }
    let f = FormatSpec::parse(spec)?;
    let unsupported = || Exc::unsupported(format!("format spec '{spec}' for {}", x.type_name()));
    let (body, numeric) = match (x, f.kind) {
        (Obj::Str(s), None | Some('s')) => {
            if f.sign.is_some() || f.grouping.is_some() || f.alternate {
                return Err(Exc::value_error("Sign not allowed in string format specifier"));
            }
            let s = s.as_str();
            (
                match f.precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.to_string(),
                },
                false,
            )
        }
        (Obj::Int(_) | Obj::Bool(_), None | Some('d')) if f.precision.is_none() => {
            let i = match x {
                Obj::Int(i) => *i,
                Obj::Bool(b) => i64::from(*b),
                _ => unreachable!(),
            };
            let digits = group(&i.unsigned_abs().to_string(), f.grouping);
            (signed(i < 0, digits, f.sign), true)
        }
        (Obj::Int(i), Some(k @ ('x' | 'X' | 'o' | 'b'))) if f.grouping.is_none() => {
            let a = i.unsigned_abs();
            let mut d = match k {
                'x' => format!("{a:x}"),
                'X' => format!("{a:X}"),
                'o' => format!("{a:o}"),
                _ => format!("{a:b}"),
            };
            if f.alternate {
                d = format!("0{}{d}", if k == 'X' { 'X' } else { k });
            }
            (signed(*i < 0, d, f.sign), true)
        }
        (Obj::Int(_) | Obj::Float(_) | Obj::Bool(_), Some(k @ ('f' | 'F' | '%' | 'e' | 'E')))
        | (Obj::Float(_), Some(k @ ('g' | 'G'))) => {
            let v = match x {
                Obj::Int(i) => *i as f64,
                Obj::Bool(b) => f64::from(u8::from(*b)),
                Obj::Float(v) => *v,
                _ => unreachable!(),
            };
            let p = f.precision.unwrap_or(6);
            let text = match k {
                'f' | 'F' => format!("{:.*}", p, v.abs()),
                '%' => format!("{:.*}%", p, v.abs() * 100.0),
                'e' | 'E' => {
                    let s = format!("{:.*e}", p, v.abs());
                    let (m, e) = s.split_once('e').expect("exponent");
                    let e: i32 = e.parse().expect("exponent");
                    let s = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
                    if k == 'E' { s.to_uppercase() } else { s }
                }
                _ => return Err(unsupported()),
            };
            let text = if f.grouping.is_some() {
                match text.split_once('.') {
                    Some((int, frac)) => format!("{}.{frac}", group(int, f.grouping)),
                    None => group(&text, f.grouping),
                }
            } else {
                text
            };
            (signed(v.is_sign_negative() && v != 0.0, text, f.sign), true)
        }
        (Obj::Float(v), None) if f.precision.is_none() => {
            let text = float_repr(v.abs());
            let text = match (f.grouping, text.split_once('.')) {
                (Some(_), Some((int, frac))) => format!("{}.{frac}", group(int, f.grouping)),
                _ => text,
            };
            (signed(v.is_sign_negative(), text, f.sign), true)
        }
        (
            Obj::None
            | Obj::List(_)
            | Obj::Dict(_)
            | Obj::Tuple(_)
            | Obj::NamedTuple(_)
            | Obj::Json(_)
            | Obj::Const(_),
            _,
        ) => {
            return Err(Exc::type_error(format!(
                "unsupported format string passed to {}.__format__",
                x.type_name()
            )));
        }
        _ => return Err(unsupported()),
    };
    Ok(pad(body, &f, numeric))
}

fn signed(negative: bool, digits: String, sign: Option<char>) -> String {
    match (negative, sign) {
        (true, _) => format!("-{digits}"),
        (false, Some('+')) => format!("+{digits}"),
        (false, Some(' ')) => format!(" {digits}"),
        _ => digits,
    }
}

fn group(digits: &str, sep: Option<char>) -> String {
    let Some(sep) = sep else { return digits.to_string() };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn pad(body: String, f: &FormatSpec, numeric: bool) -> String {
    let Some(width) = f.width else { return body };
    let len = body.chars().count();
    if len >= width {
        return body;
    }
    let (fill, align) = match (f.fill, f.align, f.zero) {
        (fill, Some(a), _) => (fill.unwrap_or(' '), a),
        (_, None, true) if numeric => ('0', '='),
        (_, None, _) => (' ', if numeric { '>' } else { '<' }),
    };
    let n = width - len;
    let fills = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    match align {
        '<' => body + &fills(n),
        '>' => fills(n) + &body,
        '^' => fills(n / 2) + &body + &fills(n - n / 2),
        _ => {
            // '=': padding after the sign.
            let (sign, rest) = match body.chars().next() {
                Some(c @ ('-' | '+' | ' ')) => (c.to_string(), body[1..].to_string()),
                _ => (String::new(), body),
            };
            sign + &fills(n) + &rest
        }
    }
}

/// `"…" % args`: `%s`, `%r`, `%d`, `%i`, `%f` (with precision), `%x`, `%%`.
pub fn percent_format<'e>(template: &Obj<'e>, args: &Obj<'e>) -> R<Obj<'e>> {
    let Obj::Str(t) = template else { return Err(Exc::type_error("not a string")) };
    let args: Vec<Obj<'e>> = match args {
        Obj::Tuple(items) => items.to_vec(),
        Obj::NamedTuple(t) => t.items.to_vec(),
        other => vec![other.clone()],
    };
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = t.as_str().chars().peekable();
    let too_few = || Exc::type_error("not enough arguments for format string");
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '.' || d == '-' || d == '+' || d == ' ' || d == '0' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') => out.push_str(&format_spec(
                &Obj::string(to_str(next.next().ok_or_else(too_few)?)),
                &percent_spec(&spec, None),
            )?),
            Some('r') => out.push_str(&format_spec(
                &Obj::string(to_repr(next.next().ok_or_else(too_few)?)),
                &percent_spec(&spec, None),
            )?),
            Some('d' | 'i') => {
                let v = next.next().ok_or_else(too_few)?;
                let v = match v {
                    Obj::Float(f) => Obj::Int(f.trunc() as i64),
                    v => v.clone(),
                };
                out.push_str(&format_spec(&v, &percent_spec(&spec, Some('d')))?);
            }
            Some(k @ ('f' | 'x' | 'e')) => {
                out.push_str(&format_spec(next.next().ok_or_else(too_few)?, &percent_spec(&spec, Some(k)))?)
            }
            other => {
                return Err(Exc::unsupported(format!("'%' formatting with %{spec}{}", other.unwrap_or(' '))));
            }
        }
    }
    if next.next().is_some() {
        return Err(Exc::type_error("not all arguments converted during string formatting"));
    }
    Ok(Obj::string(out))
}

fn percent_spec(spec: &str, kind: Option<char>) -> String {
    let (left, rest) = match spec.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, spec),
    };
    let mut s = String::new();
    if left {
        s.push('<');
    } else if !rest.is_empty() && !rest.starts_with('0') && !rest.starts_with('.') {
        s.push('>');
    }
    s.push_str(rest);
    if let Some(k) = kind {
        s.push(k);
    }
    s
}

/// `template.format(*args, **kwargs)`: `{}`, `{0}`, `{name}`, with `!r`/`!s` and a spec.
pub fn str_format<'e>(template: &str, args: &[Obj<'e>], kwargs: &[(&str, Obj<'e>)]) -> R<Obj<'e>> {
    let mut out = String::new();
    let mut auto = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => return Err(Exc::value_error("expected '}' before end of string")),
                    }
                }
                let (field, spec) = field.split_once(':').map_or((field.as_str(), ""), |(a, b)| (a, b));
                let (name, conv) = field.split_once('!').map_or((field, None), |(a, b)| (a, Some(b)));
                let value = if name.is_empty() {
                    auto += 1;
                    args.get(auto - 1).cloned().ok_or_else(|| {
                        Exc::index_error("Replacement index out of range for positional args tuple")
                    })?
                } else if let Ok(i) = name.parse::<usize>() {
                    args.get(i).cloned().ok_or_else(|| {
                        Exc::index_error("Replacement index out of range for positional args tuple")
                    })?
                } else {
                    kwargs
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| Exc::key_error(&Obj::string(name.to_string())))?
                };
                let value = match conv {
                    Some("r") => Obj::string(to_repr(&value)),
                    Some("s") => Obj::string(to_str(&value)),
                    None => value,
                    Some(other) => {
                        return Err(Exc::value_error(format!("Unknown conversion specifier {other}")));
                    }
                };
                out.push_str(&format_spec(&value, spec)?);
            }
            '}' => return Err(Exc::value_error("Single '}' encountered in format string")),
            c => out.push(c),
        }
    }
    Ok(Obj::string(out))
}

/// `str(x)` as a value.
pub fn str_obj<'e>(x: &Obj<'e>) -> Obj<'e> {
    match x {
        Obj::Str(_) => x.clone(),
        _ => Obj::string(to_str(x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Halfway between two shortest forms, CPython takes the even digit (pinned from CPython
    /// 3.11's `repr`).
    #[test]
    fn float_ties_go_to_even_as_in_cpython() {
        for (f, s) in [
            (225973436403.453125, "225973436403.45312"),
            (-225973436403.453125, "-225973436403.45312"),
            (0.5, "0.5"),
            (2.5, "2.5"),
            (1e23, "1e+23"),
            (5e-324, "5e-324"),
            (123456.78125, "123456.78125"),
        ] {
            assert_eq!(float_repr(f), s, "{f:e}");
        }
    }

    #[test]
    fn floats_print_as_cpython() {
        for (f, s) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123.456, "123.456"),
            (-2.5e-7, "-2.5e-07"),
            (1.5e300, "1.5e+300"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(float_repr(f), s, "{f}");
        }
    }

    #[test]
    fn strings_quote_as_repr() {
        assert_eq!(repr_string("abc"), "'abc'");
        assert_eq!(repr_string("it's"), "\"it's\"");
        assert_eq!(repr_string("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(repr_string("tab\there\n"), "'tab\\there\\n'");
        assert_eq!(repr_string("\u{7f}\u{1}"), "'\\x7f\\x01'");
        assert_eq!(repr_string("é\u{a0}\u{200b}"), "'é\\xa0\\u200b'");
    }

    #[test]
    fn containers_print_reprs() {
        let l = Obj::list(vec![Obj::str("i-1"), Obj::Int(2), Obj::None, Obj::Bool(true), Obj::Float(1.0)]);
        assert_eq!(to_str(&l), "['i-1', 2, None, True, 1.0]");
        assert_eq!(to_str(&Obj::tuple(vec![Obj::Int(1)])), "(1,)");
        assert_eq!(to_str(&Obj::set(vec![]).unwrap()), "set()");
        let d = Obj::dict(vec![(Obj::str("a"), Obj::list(vec![]))]).unwrap();
        assert_eq!(to_str(&d), "{'a': []}");
        let v: Value = serde_json::json!({"k": [1, 2.5, null, "x", {"y": false}]});
        assert_eq!(
            to_str(&Obj::Json(&v)),
            "ImmutableCaseInsensitiveDict({'k': [1, 2.5, None, 'x', {'y': False}]})"
        );
        let v: Value = serde_json::json!(["a"]);
        assert_eq!(to_str(&Obj::Json(&v)), "ImmutableList(('a',))");
        let v: Value = serde_json::json!([]);
        assert_eq!(to_str(&Obj::Json(&v)), "ImmutableList(())");
        let v: Value = serde_json::json!([{"id": 1}]);
        let items = super::super::items(&Obj::Json(&v)).unwrap();
        assert_eq!(to_str(&Obj::list(items)), "[ImmutableCaseInsensitiveDict({'id': 1})]");
    }

    #[test]
    fn format_specs() {
        assert_eq!(format_spec(&Obj::Float(3.14159), ".2f").unwrap(), "3.14");
        assert_eq!(format_spec(&Obj::Int(1234567), ",").unwrap(), "1,234,567");
        assert_eq!(format_spec(&Obj::Int(5), "03").unwrap(), "005");
        assert_eq!(format_spec(&Obj::str("ab"), ">4").unwrap(), "  ab");
        assert_eq!(format_spec(&Obj::str("ab"), "*^6").unwrap(), "**ab**");
        assert_eq!(format_spec(&Obj::Float(0.256), ".1%").unwrap(), "25.6%");
        assert_eq!(format_spec(&Obj::Int(255), "x").unwrap(), "ff");
        assert!(format_spec(&Obj::None, "d").is_err());
    }

    #[test]
    fn percent_and_format() {
        let t = Obj::str("%s has %d items (%.1f%%)");
        let args = Obj::tuple(vec![Obj::str("x"), Obj::Int(3), Obj::Float(12.345)]);
        assert_eq!(to_str(&percent_format(&t, &args).unwrap()), "x has 3 items (12.3%)");
        let r = str_format("{} and {name!r} {0}", &[Obj::Int(1)], &[("name", Obj::str("n"))]).unwrap();
        assert_eq!(to_str(&r), "1 and 'n' 1");
    }
}
