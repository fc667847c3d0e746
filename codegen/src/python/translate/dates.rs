//! `datetime` and `time` in compiled rules: the classes `datetime` and `timedelta` (constructed,
//! and `datetime`'s `fromisoformat`, `strptime`, `utcfromtimestamp`, `now`, `today`, `utcnow`),
//! their constants at module level, their attributes and methods, `time.time()`, and
//! `dateutil.parser.parse(s)`; the values and their semantics are the runtime's
//! `py::stdlib::datetime` and `py::stdlib::dateutil`. Everything else of these modules is
//! rejected here, with the construct named.

use proc_macro2::TokenStream;
use quote::quote;
use ruff_python_ast::{self as ast, Expr, Number, UnaryOp};

use super::{Code, FnCx, Resolved, T, reject};
use crate::python::calendar;
use crate::python::modules::{Import, PyModule};

/// The parameters of `datetime(…)` (naive: `tzinfo` and `fold` are rejected) and
/// `timedelta(…)`, in order.
const DATETIME_PARAMS: [&str; 7] = ["year", "month", "day", "hour", "minute", "second", "microsecond"];
const TIMEDELTA_PARAMS: [&str; 7] =
    ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"];

/// The attributes of `datetime` and `timedelta` values.
pub(super) const DATE_ATTRIBUTES: &[&str] =
    &["year", "month", "day", "hour", "minute", "second", "microsecond", "days", "seconds", "microseconds"];

/// The directives the runtime's `strftime` and `strptime` support (a literal format is checked
/// at build time).
const STRFTIME_DIRECTIVES: &str = "YymdHIMSfjaAbBps%";
const STRPTIME_DIRECTIVES: &str = "YymdHIMSfzZaAbBp%";

/// Why a literal format cannot be compiled, if it cannot.
fn check_format(format: &str, supported: &str, once: bool) -> Option<String> {
    let mut seen = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        match chars.next() {
            Some('%') => {}
            Some(d) if supported.contains(d) => {
                if once && seen.contains(d) {
                    return Some(format!("the directive `%{d}` twice"));
                }
                seen.push(d);
            }
            Some(d) => return Some(format!("the directive `%{d}`")),
            None => return Some("a format ending in `%`".into()),
        }
    }
    // A named `timezone` (the runtime's `strptime` rejects it too).
    if once && seen.contains('z') && seen.contains('Z') {
        return Some("both `%z` and `%Z`".into());
    }
    None
}

fn literal_str(e: &Expr) -> Option<String> {
    match e {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        _ => None,
    }
}

impl FnCx<'_> {
    /// The class of `datetime` an expression names (`datetime`, `dt.datetime`, `timedelta`…).
    pub(super) fn date_class(&self, e: &Expr) -> Option<&'static str> {
        let pick = |name: &str| match name {
            "datetime" => Some("datetime"),
            "timedelta" => Some("timedelta"),
            _ => None,
        };
        match e {
            Expr::Name(n)
                if !self.locals.contains_key(n.id.as_str())
                    && !self.scoped.iter().any(|s| s == n.id.as_str()) =>
            {
                match self.resolve(self.module, n.id.as_str(), n) {
                    Ok(Resolved::Std(m, c)) if m == "datetime" => pick(&c),
                    _ => None,
                }
            }
            Expr::Attribute(a) => match &*a.value {
                Expr::Name(n)
                    if !self.locals.contains_key(n.id.as_str())
                        && !self.scoped.iter().any(|s| s == n.id.as_str()) =>
                {
                    match self.resolve(self.module, n.id.as_str(), n) {
                        Ok(Resolved::Module(m)) if m == "datetime" => pick(a.attr.id.as_str()),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// `datetime(…)` or `timedelta(…)`: the arguments evaluated in the order written, bound to
    /// the parameters, then the value built (and checked) at run time.
    pub(super) fn date_construct(&mut self, c: &ast::ExprCall, class: &str) -> T<Code> {
        let (params, required) = match class {
            "datetime" => (DATETIME_PARAMS, 3),
            _ => (TIMEDELTA_PARAMS, 0),
        };
        if c.arguments.args.len() > params.len() {
            return reject(c, format!("`{class}(…)` with more than {} arguments", params.len()));
        }
        let mut lets = Vec::new();
        let mut slots: Vec<Option<proc_macro2::Ident>> = vec![None; params.len()];
        for (i, a) in c.arguments.args.iter().enumerate() {
            if matches!(a, Expr::Starred(_)) {
                return reject(a, format!("`*` arguments to `{class}`"));
            }
            let v = self.expr(a)?.obj();
            let id = self.fresh("arg");
            lets.push(quote!(let #id = #v;));
            slots[i] = Some(id);
        }
        for k in &c.arguments.keywords {
            let Some(name) = &k.arg else { return reject(k, format!("`**` arguments to `{class}`")) };
            let Some(i) = params.iter().position(|p| *p == name.id.as_str()) else {
                return reject(k, format!("`{class}(…)` with `{}`", name.id));
            };
            if slots[i].is_some() {
                return reject(k, format!("`{}` given twice to `{class}`", name.id));
            }
            let v = self.expr(&k.value)?.obj();
            let id = self.fresh("arg");
            lets.push(quote!(let #id = #v;));
            slots[i] = Some(id);
        }
        if let Some(p) = params[..required].iter().zip(&slots).find(|(_, s)| s.is_none()).map(|(p, _)| p) {
            return reject(c, format!("`{class}(…)` without `{p}`"));
        }
        let args = slots.iter().map(|s| match s {
            Some(id) => quote!(#id),
            None => quote!(Obj::Int(0)),
        });
        let f = quote::format_ident!("{}", class);
        Ok(Code::Obj(quote!({ #(#lets)* py::stdlib::datetime::#f(&[#(#args),*])? })))
    }

    /// `datetime.fromisoformat(s)`, `datetime.strptime(s, format)`,
    /// `datetime.utcfromtimestamp(t)`, `datetime.now()`, `datetime.today()`, `datetime.utcnow()`.
    pub(super) fn date_class_method(&mut self, c: &ast::ExprCall, class: &str, method: &str) -> T<Code> {
        if class != "datetime" {
            return reject(c, format!("`{class}.{method}`"));
        }
        let args = &c.arguments.args;
        if !c.arguments.keywords.is_empty() || args.iter().any(|a| matches!(a, Expr::Starred(_))) {
            return reject(c, format!("`datetime.{method}` with these arguments"));
        }
        match (method, args.len()) {
            ("fromisoformat", 1) => {
                let s = self.expr(&args[0])?.by_ref();
                Ok(Code::Obj(quote!(py::stdlib::datetime::fromisoformat(#s)?)))
            }
            ("strptime", 2) => {
                if let Some(format) = literal_str(&args[1])
                    && let Some(why) = check_format(&format, STRPTIME_DIRECTIVES, true)
                {
                    return reject(&args[1], format!("`datetime.strptime` with {why}"));
                }
                let (s, f) = (self.fresh("text"), self.fresh("format"));
                let sv = self.expr(&args[0])?.obj();
                let fv = self.expr(&args[1])?.obj();
                Ok(Code::Obj(quote!({
                    let #s = #sv;
                    let #f = #fv;
                    py::stdlib::datetime::strptime(&#s, &#f)?
                })))
            }
            ("utcfromtimestamp", 1) => {
                let t = self.expr(&args[0])?.by_ref();
                Ok(Code::Obj(quote!(py::stdlib::datetime::utcfromtimestamp(#t)?)))
            }
            // Local time is UTC (Panther's), so the three are the same clock.
            ("now" | "today" | "utcnow", 0) => Ok(Code::Obj(quote!(py::stdlib::datetime::now()?))),
            ("now" | "today" | "utcnow", _) => reject(
                c,
                format!("`datetime.{method}` with a time zone (aware values come from `fromisoformat`)"),
            ),
            _ => reject(c, format!("`datetime.{method}` with {} arguments", args.len())),
        }
    }

    /// Whether `e` names dateutil's `parser` module (`from dateutil import parser`).
    pub(super) fn is_dateutil_parser(&self, e: &Expr) -> bool {
        matches!(e, Expr::Name(n)
            if !self.locals.contains_key(n.id.as_str())
                && !self.scoped.iter().any(|s| s == n.id.as_str())
                && matches!(self.resolve(self.module, n.id.as_str(), n),
                    Ok(Resolved::Std(m, c)) if m == "dateutil" && c == "parser"))
    }

    /// `parser.parse(s)`, without keyword arguments (the runtime's `dateutil` module).
    pub(super) fn dateutil_call(&mut self, c: &ast::ExprCall, method: &str) -> T<Code> {
        let args = &c.arguments.args;
        if method != "parse" {
            return reject(c, format!("`dateutil.parser.{method}`"));
        }
        if args.len() != 1 || !c.arguments.keywords.is_empty() || matches!(args[0], Expr::Starred(_)) {
            return reject(c, "`dateutil.parser.parse` with other arguments than the string");
        }
        let s = self.expr(&args[0])?.by_ref();
        Ok(Code::Obj(quote!(py::stdlib::dateutil::parse(#s)?)))
    }

    /// `time.time()` and `time.mktime(d.timetuple())`.
    pub(super) fn time_call(&mut self, c: &ast::ExprCall, name: &str) -> T<Code> {
        match name {
            "time" if c.arguments.args.is_empty() && c.arguments.keywords.is_empty() => {
                Ok(Code::Obj(quote!(py::stdlib::datetime::time()?)))
            }
            // `time.mktime(d.timetuple())`, as the rules write it.
            "mktime" if c.arguments.args.len() == 1 && c.arguments.keywords.is_empty() => {
                let Expr::Call(inner) = &c.arguments.args[0] else {
                    return reject(c, "`time.mktime` of something else than `d.timetuple()`");
                };
                let Expr::Attribute(a) = &*inner.func else {
                    return reject(c, "`time.mktime` of something else than `d.timetuple()`");
                };
                if a.attr.id.as_str() != "timetuple" || !inner.arguments.is_empty() {
                    return reject(c, "`time.mktime` of something else than `d.timetuple()`");
                }
                let d = self.expr(&a.value)?.by_ref();
                Ok(Code::Obj(quote!(py::stdlib::datetime::mktime_of_timetuple(#d)?)))
            }
            _ => reject(c, format!("`time.{name}`")),
        }
    }

    /// `x.strftime("…")` with a literal format the runtime does not support.
    pub(super) fn check_strftime(&self, c: &ast::ExprCall) -> T<()> {
        if let Some(format) = c.arguments.args.first().and_then(literal_str)
            && let Some(why) = check_format(&format, STRFTIME_DIRECTIVES, false)
        {
            return reject(&c.arguments.args[0], format!("`strftime` with {why}"));
        }
        Ok(())
    }
}

/// A module constant `timedelta(…)` or `datetime(…)` of integer literals, as a `py::Const`
/// (`None`: not one, or out of range).
pub(super) fn date_constant(module: &PyModule, c: &ast::ExprCall) -> Option<TokenStream> {
    let class = match &*c.func {
        Expr::Name(n) => match module.imports.get(n.id.as_str()) {
            Some(Import::Item { module: m, name }) if m == "datetime" => name.clone(),
            _ => return None,
        },
        Expr::Attribute(a) => match &*a.value {
            Expr::Name(n) => match module.imports.get(n.id.as_str()) {
                Some(Import::Module(m)) if m == "datetime" => a.attr.id.to_string(),
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    let params: &[&str] = match class.as_str() {
        "datetime" => &DATETIME_PARAMS,
        "timedelta" => &TIMEDELTA_PARAMS,
        _ => return None,
    };
    let int = |e: &Expr| -> Option<i64> {
        match e {
            Expr::NumberLiteral(ast::ExprNumberLiteral { value: Number::Int(i), .. }) => i.as_i64(),
            Expr::UnaryOp(u) if u.op == UnaryOp::USub => match &*u.operand {
                Expr::NumberLiteral(ast::ExprNumberLiteral { value: Number::Int(i), .. }) => {
                    i.as_i64()?.checked_neg()
                }
                _ => None,
            },
            _ => None,
        }
    };
    let mut v: [Option<i64>; 7] = [None; 7];
    if c.arguments.args.len() > 7 {
        return None;
    }
    for (i, a) in c.arguments.args.iter().enumerate() {
        v[i] = Some(int(a)?);
    }
    for k in &c.arguments.keywords {
        let name = k.arg.as_ref()?.id.as_str();
        let i = params.iter().position(|p| *p == name)?;
        if v[i].is_some() {
            return None;
        }
        v[i] = Some(int(&k.value)?);
    }
    if class == "datetime" {
        let [Some(year), Some(month), Some(day), hour, minute, second, us] = v else { return None };
        let f = |x: Option<i64>| x.unwrap_or(0);
        let wall_us = datetime_wall_us(year, month, day, f(hour), f(minute), f(second), f(us))?;
        return Some(quote!(py::Const::Date(py::stdlib::datetime::DateConst::DateTime(#wall_us))));
    }
    let us = calendar::timedelta_us(v.map(|x| x.unwrap_or(0)))?;
    if us.div_euclid(86_400_000_000).abs() > 999_999_999 {
        return None;
    }
    Some(quote!(py::Const::Date(py::stdlib::datetime::DateConst::TimeDelta(#us))))
}

/// Microseconds since 1970-01-01 of a valid naive `datetime`'s fields (the runtime's
/// arithmetic: proleptic Gregorian calendar).
fn datetime_wall_us(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64, us: i64) -> Option<i64> {
    let ok = (1..=9999).contains(&y)
        && (1..=12).contains(&m)
        && (1..=calendar::days_in_month(y, m)).contains(&d)
        && (0..24).contains(&hh)
        && (0..60).contains(&mm)
        && (0..60).contains(&ss)
        && (0..1_000_000).contains(&us);
    if !ok {
        return None;
    }
    let days = calendar::days_from_civil(y, m, d);
    Some(days * 86_400_000_000 + ((hh * 60 + mm) * 60 + ss) * 1_000_000 + us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_of_constants() {
        assert_eq!(datetime_wall_us(1970, 1, 1, 0, 0, 0, 0), Some(0));
        assert_eq!(datetime_wall_us(2030, 6, 2, 0, 0, 0, 0), Some(1_906_588_800_000_000));
        assert_eq!(datetime_wall_us(2023, 2, 29, 0, 0, 0, 0), None);
    }

    #[test]
    fn formats() {
        assert_eq!(check_format("%Y-%m-%dT%H:%M:%S.%fZ", STRPTIME_DIRECTIVES, true), None);
        assert_eq!(check_format("%d %b %I %p %z", STRPTIME_DIRECTIVES, true), None);
        assert_eq!(check_format("%d %j", STRPTIME_DIRECTIVES, true).as_deref(), Some("the directive `%j`"));
        assert_eq!(check_format("%z %Z", STRPTIME_DIRECTIVES, true).as_deref(), Some("both `%z` and `%Z`"));
        assert_eq!(check_format("%s", STRFTIME_DIRECTIVES, false), None);
        assert_eq!(check_format("%c", STRFTIME_DIRECTIVES, false).as_deref(), Some("the directive `%c`"));
    }
}
