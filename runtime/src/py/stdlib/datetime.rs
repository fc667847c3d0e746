//! `datetime.datetime`, `datetime.timedelta` and `time.time`, as CPython 3.11 computes them:
//! the subset the rules use, exact, and an error for the rest.
//!
//! A `datetime` is naive or aware with a fixed UTC offset (the offsets `fromisoformat` parses;
//! `timezone.utc` for a zero one). Naive values are local time, and **local time is UTC**, as
//! on Panther (its rule engine runs with `TZ=UTC`): `now()`, `today()` and `utcnow()` read the
//! wall clock in UTC, and `timestamp()` of a naive value reads it as UTC. Comparing or
//! subtracting naive and aware values raises CPython's `TypeError`; `==` between them is false.
//! `fromisoformat` takes the forms the corpus' timestamps use (a `YYYY-MM-DD` date, `T` or a
//! space, `HH[:MM[:SS[.f…]]]`, then `Z` or `±HH:MM[:SS]`/`±HHMM`), `strptime` the directives
//! of CPython's `_strptime` in the C locale but the week and day-of-year ones (`%j %U %W %G %V
//! %u %w %c %x %X`), `strftime` `%Y %y %m %d %H %I %M %S %f %j %a %A %b %B %p %s %%`; any
//! other input is an error that `except` does not catch, never another answer. Aware values
//! from dateutil keep their `tzinfo` class for `repr` ([`Tz`]).

use std::rc::Rc;

use super::super::{Exc, Obj, R};
use super::Native;
use super::calendar::{civil_from_days, days_from_civil, days_in_month};

const US_PER_SECOND: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SECOND;
/// `timedelta.max.days`.
const MAX_DAYS: i64 = 999_999_999;

/// A `datetime`: microseconds since 1970-01-01T00:00 on its wall clock, and its UTC offset in
/// microseconds (`None`: naive).
#[derive(Debug, Clone, Copy)]
pub struct DateTime {
    pub wall_us: i64,
    pub offset: Option<i64>,
    /// The class of the `tzinfo` of an aware value (only its `repr` tells them apart).
    pub tz: Tz,
}

/// The `tzinfo` classes an aware value can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tz {
    /// `datetime.timezone` (`fromisoformat`, `strptime`).
    Timezone,
    /// dateutil's `tzlocal()`: a zero offset parsed by `dateutil.parser.parse` (local time is
    /// UTC, see the module documentation).
    DateutilLocal,
    /// dateutil's `tzoffset(None, seconds)`.
    DateutilOffset,
}

/// A `timedelta`, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeDelta(pub i64);

impl PartialEq for DateTime {
    /// CPython: naive and aware values are never equal; aware ones compare as UTC instants.
    fn eq(&self, other: &DateTime) -> bool {
        match (self.offset, other.offset) {
            (None, None) => self.wall_us == other.wall_us,
            (Some(a), Some(b)) => self.wall_us - a == other.wall_us - b,
            _ => false,
        }
    }
}

fn native<'e>(n: Native) -> Obj<'e> {
    Obj::Native(Rc::new(n))
}

/// The broken-down fields of a `datetime`'s wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub microsecond: i64,
}

impl DateTime {
    /// `datetime(year, month, day, hour, minute, second, microsecond)`, with the constructor's
    /// checks and messages.
    pub fn new(f: Fields, offset: Option<i64>) -> R<DateTime> {
        if !(1..=9999).contains(&f.year) {
            return Err(Exc::value_error(format!("year {} is out of range", f.year)));
        }
        if !(1..=12).contains(&f.month) {
            return Err(Exc::value_error("month must be in 1..12"));
        }
        if !(1..=days_in_month(f.year, f.month)).contains(&f.day) {
            return Err(Exc::value_error("day is out of range for month"));
        }
        let checks = [
            (f.hour, 23, "hour must be in 0..23"),
            (f.minute, 59, "minute must be in 0..59"),
            (f.second, 59, "second must be in 0..59"),
            (f.microsecond, 999_999, "microsecond must be in 0..999999"),
        ];
        for (v, max, msg) in checks {
            if !(0..=max).contains(&v) {
                return Err(Exc::value_error(msg));
            }
        }
        let days = days_from_civil(f.year, f.month, f.day);
        let wall_us =
            days * US_PER_DAY + ((f.hour * 60 + f.minute) * 60 + f.second) * US_PER_SECOND + f.microsecond;
        Ok(DateTime { wall_us, offset, tz: Tz::Timezone })
    }

    pub fn fields(&self) -> Fields {
        let days = self.wall_us.div_euclid(US_PER_DAY);
        let rem = self.wall_us.rem_euclid(US_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let secs = rem / US_PER_SECOND;
        Fields {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            microsecond: rem % US_PER_SECOND,
        }
    }

    /// A value moved by `us` microseconds, within `datetime`'s years 1 to 9999.
    fn shifted(&self, us: i64) -> R<DateTime> {
        let wall_us = self.wall_us.checked_add(us).ok_or_else(out_of_range)?;
        let out = DateTime { wall_us, ..*self };
        if !(1..=9999).contains(&out.fields().year) {
            return Err(out_of_range());
        }
        Ok(out)
    }
}

fn out_of_range() -> Exc {
    Exc::new("OverflowError", "date value out of range")
}

impl TimeDelta {
    /// `timedelta(…)` of a count of microseconds, with its range check.
    pub fn new(us: i64) -> R<TimeDelta> {
        let days = us.div_euclid(US_PER_DAY);
        if days.abs() > MAX_DAYS {
            return Err(Exc::new("OverflowError", format!("days={days}; must have magnitude <= {MAX_DAYS}")));
        }
        Ok(TimeDelta(us))
    }

    /// (days, seconds, microseconds), normalised as CPython keeps them.
    pub fn parts(&self) -> (i64, i64, i64) {
        let days = self.0.div_euclid(US_PER_DAY);
        let rem = self.0.rem_euclid(US_PER_DAY);
        (days, rem / US_PER_SECOND, rem % US_PER_SECOND)
    }

    pub fn repr(&self) -> String {
        let (d, s, us) = self.parts();
        let mut parts = Vec::new();
        if d != 0 {
            parts.push(format!("days={d}"));
        }
        if s != 0 {
            parts.push(format!("seconds={s}"));
        }
        if us != 0 {
            parts.push(format!("microseconds={us}"));
        }
        if parts.is_empty() {
            parts.push("0".into());
        }
        format!("datetime.timedelta({})", parts.join(", "))
    }

    pub fn str(&self) -> String {
        let (d, s, us) = self.parts();
        let mut out = String::new();
        if d != 0 {
            out.push_str(&format!("{d} day{}, ", if d.abs() != 1 { "s" } else { "" }));
        }
        out.push_str(&format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60));
        if us != 0 {
            out.push_str(&format!(".{us:06}"));
        }
        out
    }

    /// `total_seconds()`: CPython divides the integer count of microseconds exactly rounded.
    pub fn total_seconds(&self) -> R<f64> {
        exact_div_million(self.0)
    }
}

/// `n / 10**6` as CPython's correctly rounded integer division (exact for |n| < 2⁵³, which
/// covers ±285 years; beyond, an error rather than a result that may differ in the last bit).
fn exact_div_million(n: i64) -> R<f64> {
    if n.unsigned_abs() >= 1 << 53 {
        return Err(Exc::unsupported("a time span beyond 2**53 microseconds as a float"));
    }
    Ok(n as f64 / 1e6)
}

/// `+HH:MM[:SS[.ffffff]]` (`utcoffset` as `str()` and `isoformat()` print it).
fn format_offset(off: i64) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    let (secs, us) = (off / US_PER_SECOND, off % US_PER_SECOND);
    let mut out = format!("{sign}{:02}:{:02}", secs / 3600, secs / 60 % 60);
    if secs % 60 != 0 || us != 0 {
        out.push_str(&format!(":{:02}", secs % 60));
        if us != 0 {
            out.push_str(&format!(".{us:06}"));
        }
    }
    out
}

impl DateTime {
    pub fn isoformat(&self, sep: char) -> String {
        let f = self.fields();
        let mut out = format!(
            "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
            f.year, f.month, f.day, f.hour, f.minute, f.second
        );
        if f.microsecond != 0 {
            out.push_str(&format!(".{:06}", f.microsecond));
        }
        if let Some(off) = self.offset {
            out.push_str(&format_offset(off));
        }
        out
    }

    pub fn repr(&self) -> String {
        let f = self.fields();
        let mut parts = vec![f.year, f.month, f.day, f.hour, f.minute, f.second, f.microsecond];
        for _ in 0..2 {
            if parts.last() == Some(&0) {
                parts.pop();
            }
        }
        let list: Vec<String> = parts.iter().map(i64::to_string).collect();
        let mut out = format!("datetime.datetime({}", list.join(", "));
        match (self.offset, self.tz) {
            (None, _) => {}
            (Some(_), Tz::DateutilLocal) => out.push_str(", tzinfo=tzlocal()"),
            (Some(off), Tz::DateutilOffset) => {
                out.push_str(&format!(", tzinfo=tzoffset(None, {})", off.div_euclid(US_PER_SECOND)))
            }
            (Some(0), Tz::Timezone) => out.push_str(", tzinfo=datetime.timezone.utc"),
            (Some(off), Tz::Timezone) => {
                out.push_str(&format!(", tzinfo=datetime.timezone({})", TimeDelta(off).repr()))
            }
        }
        out.push(')');
        out
    }

    /// `timestamp()`: an aware value's instant; a naive one read as local time, which is UTC
    /// (see the module documentation). CPython computes the naive case as whole seconds plus
    /// `microsecond / 1e6`, the aware one as an exact division.
    pub fn timestamp(&self) -> R<f64> {
        match self.offset {
            Some(off) => exact_div_million(self.wall_us - off),
            None => {
                let secs = self.wall_us.div_euclid(US_PER_SECOND);
                let us = self.wall_us.rem_euclid(US_PER_SECOND);
                Ok(secs as f64 + us as f64 / 1e6)
            }
        }
    }

    /// `strftime(format)` with glibc's output for the directives it supports.
    pub fn strftime(&self, format: &str) -> R<String> {
        const DAYS: [&str; 7] =
            ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let f = self.fields();
        let weekday = (self.wall_us.div_euclid(US_PER_DAY) + 3).rem_euclid(7) as usize;
        let month = MONTHS[(f.month - 1) as usize];
        let mut out = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(d) = chars.next() else {
                return Err(Exc::unsupported("`strftime` with a format ending in `%`"));
            };
            match d {
                'Y' => out.push_str(&f.year.to_string()),
                'y' => out.push_str(&format!("{:02}", f.year % 100)),
                'm' => out.push_str(&format!("{:02}", f.month)),
                'd' => out.push_str(&format!("{:02}", f.day)),
                'H' => out.push_str(&format!("{:02}", f.hour)),
                'I' => out.push_str(&format!("{:02}", (f.hour + 11) % 12 + 1)),
                'M' => out.push_str(&format!("{:02}", f.minute)),
                'S' => out.push_str(&format!("{:02}", f.second)),
                'f' => out.push_str(&format!("{:06}", f.microsecond)),
                'j' => {
                    let doy = days_from_civil(f.year, f.month, f.day) - days_from_civil(f.year, 1, 1) + 1;
                    out.push_str(&format!("{doy:03}"))
                }
                'a' => out.push_str(&DAYS[weekday][..3]),
                'A' => out.push_str(DAYS[weekday]),
                'b' => out.push_str(&month[..3]),
                'B' => out.push_str(month),
                'p' => out.push_str(if f.hour < 12 { "AM" } else { "PM" }),
                // glibc's seconds since the epoch: `mktime` of the fields in local time, which is
                // UTC on Panther (`TZ=UTC`); CPython passes the fields of an aware value as they
                // are, so its offset is ignored too.
                's' => out.push_str(&self.wall_us.div_euclid(1_000_000).to_string()),
                '%' => out.push('%'),
                other => {
                    return Err(Exc::unsupported(format!("the `strftime` directive `%{other}`")));
                }
            }
        }
        Ok(out)
    }
}

/// The directives `strftime` supports (the compiler checks a literal format with it).
pub const STRFTIME_DIRECTIVES: &str = "YymdHIMSfjaAbBps%";

/// The wall clock, as microseconds since the Unix epoch.
fn now_us() -> R<i64> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Exc::unsupported("a system clock before 1970"))?;
    i64::try_from(d.as_micros()).map_err(|_| out_of_range())
}

/// `datetime.now()`, `datetime.today()`, `datetime.utcnow()`: naive, the wall clock in UTC.
pub fn now<'e>() -> R<Obj<'e>> {
    Ok(native(Native::DateTime(DateTime { wall_us: now_us()?, offset: None, tz: Tz::Timezone })))
}

/// `time.time()`.
pub fn time<'e>() -> R<Obj<'e>> {
    Ok(Obj::Float(now_us()? as f64 / 1e6))
}

/// `time.mktime(d.timetuple())`: the wall-clock fields read as local time (UTC), whole
/// seconds (`timetuple` drops the microseconds and ignores the offset).
pub fn mktime_of_timetuple<'e>(d: &Obj<'e>) -> R<Obj<'e>> {
    let Some(d) = as_datetime(d) else { return Err(Exc::attribute_error(d, "timetuple")) };
    let year = d.fields().year;
    if !(1900..=9999).contains(&year) {
        return Err(Exc::unsupported(format!("`time.mktime` of the year {year}")));
    }
    Ok(Obj::Float(d.wall_us.div_euclid(US_PER_SECOND) as f64))
}

fn int_arg(x: &Obj<'_>, what: &str) -> R<i64> {
    match x {
        Obj::Int(i) => Ok(*i),
        Obj::Bool(b) => Ok(i64::from(*b)),
        Obj::Float(_) => Err(Exc::unsupported(format!("`{what}` with a float argument"))),
        other => Err(Exc::type_error(format!(
            "'{}' object cannot be interpreted as an integer",
            other.type_name()
        ))),
    }
}

/// `datetime(year, month, day, hour=0, minute=0, second=0, microsecond=0)` (naive).
pub fn datetime<'e>(args: &[Obj<'e>; 7]) -> R<Obj<'e>> {
    let v: Vec<i64> = args.iter().map(|a| int_arg(a, "datetime")).collect::<R<_>>()?;
    let f = Fields {
        year: v[0],
        month: v[1],
        day: v[2],
        hour: v[3],
        minute: v[4],
        second: v[5],
        microsecond: v[6],
    };
    Ok(native(Native::DateTime(DateTime::new(f, None)?)))
}

pub use super::calendar::timedelta_us;

/// `timedelta(days=0, seconds=0, microseconds=0, milliseconds=0, minutes=0, hours=0, weeks=0)`.
pub fn timedelta<'e>(args: &[Obj<'e>; 7]) -> R<Obj<'e>> {
    let mut v = [0i64; 7];
    for (slot, a) in v.iter_mut().zip(args) {
        *slot = int_arg(a, "timedelta")?;
    }
    let us = timedelta_us(v).ok_or_else(|| Exc::new("OverflowError", "timedelta out of range"))?;
    Ok(native(Native::TimeDelta(TimeDelta::new(us)?)))
}

fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// `HH[:MM[:SS[{.,}f…]]]` with colons (`[hour, minute, second, microsecond]`), or `None` for
/// a form outside the supported ones.
fn parse_time(t: &str) -> Option<[i64; 4]> {
    let (hms, frac) = match t.find(['.', ',']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.len() != 2) || (frac.is_some() && parts.len() != 3) {
        return None;
    }
    let mut out = [0i64; 4];
    for (slot, p) in out.iter_mut().zip(&parts) {
        *slot = digits(p)?;
    }
    if let Some(frac) = frac {
        // CPython reads six digits (padding shorter fractions) and drops the rest, which must
        // be digits.
        digits(frac)?;
        let six: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        out[3] = digits(&six)?;
    }
    Some(out)
}

/// `datetime.fromisoformat(s)`.
pub fn fromisoformat<'e>(s: &Obj<'e>) -> R<Obj<'e>> {
    let Obj::Str(text) = s else {
        return Err(Exc::type_error("fromisoformat: argument must be str"));
    };
    let text = text.as_str();
    let invalid =
        || Exc::value_error(format!("Invalid isoformat string: {}", super::super::repr_string(text)));
    let unsupported =
        || Exc::unsupported(format!("`datetime.fromisoformat` of {}", super::super::repr_string(text)));
    if !text.is_ascii() {
        return Err(unsupported());
    }
    // CPython rejects every string shorter than 7 characters (`YYYY-Ww` is the shortest form).
    if text.len() < 7 {
        return Err(invalid());
    }
    if text.len() < 10 {
        return Err(unsupported());
    }
    let (date, rest) = text.split_at(10);
    let b = date.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return Err(unsupported());
    }
    let (Some(year), Some(month), Some(day)) = (digits(&date[..4]), digits(&date[5..7]), digits(&date[8..]))
    else {
        return Err(unsupported());
    };
    let mut time = [0i64; 4];
    let mut offset = None;
    if !rest.is_empty() {
        let sep = rest.as_bytes()[0];
        if sep != b'T' && sep != b' ' {
            return Err(unsupported());
        }
        let t = &rest[1..];
        let (clock, zone) = match t.find(['+', '-', 'Z']) {
            Some(i) => (&t[..i], Some(&t[i..])),
            None => (t, None),
        };
        // One digit of hour is CPython's "Invalid isoformat string".
        if clock.len() < 2 {
            return Err(if clock.len() == 1 && zone.is_none() { invalid() } else { unsupported() });
        }
        time = parse_time(clock).ok_or_else(unsupported)?;
        if let Some(zone) = zone {
            let us = match zone {
                "Z" => 0,
                _ => {
                    let sign = if zone.starts_with('-') { -1 } else { 1 };
                    let body = &zone[1..];
                    let body_owned;
                    let body = if body.len() == 4 && !body.contains(':') {
                        body_owned = format!("{}:{}", &body[..2], &body[2..]);
                        &body_owned
                    } else {
                        body
                    };
                    if !(body.len() == 5 || body.len() == 8) || zone.starts_with('Z') {
                        return Err(unsupported());
                    }
                    let [h, m, s, _] = parse_time(body).ok_or_else(unsupported)?;
                    let us = ((h * 60 + m) * 60 + s) * US_PER_SECOND;
                    if us >= US_PER_DAY {
                        return Err(Exc::value_error(format!(
                            "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24), not {}.",
                            TimeDelta(sign * us).repr()
                        )));
                    }
                    sign * us
                }
            };
            offset = Some(us);
        }
    }
    let f =
        Fields { year, month, day, hour: time[0], minute: time[1], second: time[2], microsecond: time[3] };
    Ok(native(Native::DateTime(DateTime::new(f, offset)?)))
}

/// The regular expression `_strptime` builds for a directive in the C locale (its
/// `TimeRE`), or `None` for a directive not supported.
fn directive_regex(d: char) -> Option<&'static str> {
    Some(match d {
        'd' => r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
        'f' => r"(?P<f>[0-9]{1,6})",
        'H' => r"(?P<H>2[0-3]|[0-1]\d|\d)",
        'I' => r"(?P<I>1[0-2]|0[1-9]|[1-9])",
        'm' => r"(?P<m>1[0-2]|0[1-9]|[1-9])",
        'M' => r"(?P<M>[0-5]\d|\d)",
        'S' => r"(?P<S>6[0-1]|[0-5]\d|\d)",
        'y' => r"(?P<y>\d\d)",
        'Y' => r"(?P<Y>\d\d\d\d)",
        'z' => r"(?P<z>[+-]\d\d:?[0-5]\d(:?[0-5]\d(\.\d{1,6})?)?|(?-i:Z))",
        // The C locale's names, lower-cased and longest first, as `TimeRE.__seqToRE` joins them.
        'a' => r"(?P<a>mon|tue|wed|thu|fri|sat|sun)",
        'A' => r"(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)",
        'b' => r"(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
        'B' => {
            r"(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)"
        }
        'p' => r"(?P<p>am|pm)",
        // `LocaleTime.timezone` under `TZ=UTC`: {'utc', 'gmt', tzname[0].lower()} and no
        // daylight-saving names.
        'Z' => r"(?P<Z>utc|gmt)",
        '%' => "%",
        _ => return None,
    })
}

const MONTHS_ABBR: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTHS_FULL: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The regular expression `_strptime` builds for `format`, or the directive it does not
/// support.
fn strptime_regex(format: &str) -> Result<String, char> {
    let mut out = String::from(r"\A(?i:");
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            let d = chars.next().ok_or('%')?;
            out.push_str(directive_regex(d).ok_or(d)?);
        } else if is_space(c) {
            // `_strptime` turns each run of whitespace into `\s+`.
            while chars.peek().is_some_and(|c| is_space(*c)) {
                chars.next();
            }
            out.push_str(r"[\s\x1c-\x1f]+");
        } else {
            out.push_str(&regex::escape(&c.to_string()));
        }
    }
    out.push(')');
    Ok(out)
}

/// Python's `str.isspace` on the characters `\s` differs on.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// The directives `strptime` supports.
pub const STRPTIME_DIRECTIVES: &str = "YymdHIMSfzZaAbBp%";

/// Whether `format` uses only the `strptime` directives supported, each once (CPython's
/// regular expression rejects a repeated group), and not both `%z` and `%Z` (a named
/// `timezone`, not modelled). The compiler checks a literal format with it.
pub fn strptime_format_supported(format: &str) -> Result<(), String> {
    let mut seen = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') => {}
                Some(d) if STRPTIME_DIRECTIVES.contains(d) => {
                    if seen.contains(d) {
                        return Err(format!("the directive `%{d}` twice"));
                    }
                    seen.push(d);
                }
                Some(d) => return Err(format!("the directive `%{d}`")),
                None => return Err("a format ending in `%`".into()),
            }
        }
    }
    if seen.contains('z') && seen.contains('Z') {
        return Err("both `%z` and `%Z`".into());
    }
    Ok(())
}

/// The order in which directives appear in `format` (`_strptime` reads the groups in that
/// order, so a later `%H` overrides an earlier `%I`).
fn directives(format: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c == '%'
            && let Some(d) = chars.next()
            && d != '%'
        {
            out.push(d);
        }
    }
    out
}

/// `int(s)` of a group `\d` matched: other scripts' digits (which `int()` reads) are not
/// modelled.
fn group_int(s: &str) -> R<i64> {
    digits(s.trim_start_matches(' '))
        .ok_or_else(|| Exc::unsupported(format!("`strptime` of the non-ASCII digits {s:?}")))
}

/// CPython's `int(s)` error for a string that is not an integer.
fn int_literal_error(s: &str) -> Exc {
    Exc::value_error(format!("invalid literal for int() with base 10: {}", super::super::repr_string(s)))
}

/// The UTC offset `_strptime` reads from a `%z` group, in microseconds.
fn strptime_offset(found: &str) -> R<i64> {
    if found == "Z" {
        return Ok(0);
    }
    if !found.is_ascii() {
        return Err(Exc::unsupported(format!("`strptime` of the non-ASCII digits {found:?}")));
    }
    let mut z = found.to_string();
    if z.as_bytes()[3] == b':' {
        z.remove(3);
        if z.len() > 5 {
            if z.as_bytes()[5] != b':' {
                return Err(Exc::value_error(format!("Inconsistent use of : in {found}")));
            }
            z.remove(5);
        }
    }
    let int = |s: &str| -> R<i64> { digits(s).ok_or_else(|| int_literal_error(s)) };
    let hours = int(&z[1..3])?;
    let minutes = int(&z[3..5])?;
    let seconds = if z.len() > 5 { int(&z[5..z.len().min(7)])? } else { 0 };
    let remainder = z.get(8..).unwrap_or("");
    let fraction = int(&format!("{remainder:0<6}"))?;
    let us = ((hours * 60 + minutes) * 60 + seconds) * US_PER_SECOND + fraction;
    Ok(if z.starts_with('-') { -us } else { us })
}

/// `datetime.timezone(offset)`'s range check.
fn check_offset(us: i64) -> R<()> {
    if us.abs() >= US_PER_DAY {
        return Err(Exc::value_error(format!(
            "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24), not {}.",
            TimeDelta(us).repr()
        )));
    }
    Ok(())
}

/// `datetime.strptime(string, format)`, as CPython 3.11's `_strptime` in the C locale with
/// `TZ=UTC`.
pub fn strptime<'e>(s: &Obj<'e>, format: &Obj<'e>) -> R<Obj<'e>> {
    for (i, a) in [s, format].iter().enumerate() {
        if a.as_str().is_none() {
            let t = if a.is_none() { "None" } else { a.type_name() };
            return Err(Exc::type_error(format!("strptime() argument {} must be str, not {t}", i + 1)));
        }
    }
    let (text, format) = (s.as_str().unwrap_or(""), format.as_str().unwrap_or(""));
    strptime_format_supported(format).map_err(|what| Exc::unsupported(format!("`strptime` with {what}")))?;
    let source =
        strptime_regex(format).map_err(|d| Exc::unsupported(format!("the `strptime` directive `%{d}`")))?;
    let re = regex::Regex::new(&source).map_err(|e| Exc::unsupported(format!("`strptime` format: {e}")))?;
    let Some(m) = re.captures(text) else {
        return Err(Exc::value_error(format!(
            "time data {} does not match format {}",
            super::super::repr_string(text),
            super::super::repr_string(format)
        )));
    };
    let end = m.get(0).map_or(0, |g| g.end());
    if end != text.len() {
        return Err(Exc::value_error(format!("unconverted data remains: {}", &text[end..])));
    }
    let (mut year, mut month, mut day) = (None, 1, 1);
    let (mut hour, mut minute, mut second, mut microsecond) = (0, 0, 0, 0);
    let mut offset = None;
    for d in directives(format) {
        let Some(g) = m.name(&d.to_string()).map(|g| g.as_str()) else { continue };
        // Names matched case-insensitively outside ASCII (`ſ` for `s`…) are looked up
        // lower-cased by CPython, which may then fail: not modelled.
        if "abABpZ".contains(d) && !g.is_ascii() {
            return Err(Exc::unsupported(format!("`strptime` of the name {g:?}")));
        }
        let name = g.to_ascii_lowercase();
        match d {
            'y' => {
                let y = group_int(g)?;
                year = Some(if y <= 68 { y + 2000 } else { y + 1900 });
            }
            'Y' => year = Some(group_int(g)?),
            'm' => month = group_int(g)?,
            'b' => month = MONTHS_ABBR.iter().position(|n| *n == name).map_or(1, |i| i as i64 + 1),
            'B' => month = MONTHS_FULL.iter().position(|n| *n == name).map_or(1, |i| i as i64 + 1),
            'd' => day = group_int(g)?,
            'H' => hour = group_int(g)?,
            'I' => {
                hour = group_int(g)?;
                let ampm = m.name("p").map(|p| p.as_str().to_ascii_lowercase()).unwrap_or_default();
                if ampm.is_empty() || ampm == "am" {
                    if hour == 12 {
                        hour = 0;
                    }
                } else if hour != 12 {
                    hour += 12;
                }
            }
            'M' => minute = group_int(g)?,
            'S' => second = group_int(g)?,
            'f' => microsecond = group_int(&format!("{g:0<6}"))?,
            'z' => offset = Some(strptime_offset(g)?),
            // The weekday (without a week number) and the zone name (`tz`, without `%z`) do not
            // change the value.
            _ => {}
        }
    }
    // `_strptime` checks the date (February 29th without a year against 1904, then uses 1900),
    // then `timezone(offset)`, then the `datetime` constructor the time.
    let leap_fix = year.is_none() && month == 2 && day == 29;
    let year = year.unwrap_or(1900);
    let date_year = if leap_fix { 1904 } else { year };
    let midnight = Fields { year: date_year, month, day, hour: 0, minute: 0, second: 0, microsecond: 0 };
    DateTime::new(midnight, None)?;
    if let Some(off) = offset {
        check_offset(off)?;
    }
    let f = Fields { year, month, day, hour, minute, second, microsecond };
    Ok(native(Native::DateTime(DateTime::new(f, offset)?)))
}

/// `datetime.utcfromtimestamp(t)`: naive UTC; a float rounded half-even to microseconds as
/// CPython's `_PyTime_DoubleToDenominator` does.
pub fn utcfromtimestamp<'e>(t: &Obj<'e>) -> R<Obj<'e>> {
    let (secs, us) = match t {
        Obj::Int(i) => (*i, 0),
        Obj::Bool(b) => (i64::from(*b), 0),
        Obj::Float(x) => {
            // Beyond this (and NaN or infinities) CPython's errors depend on the platform's
            // `time_t` and `gmtime`: not modelled.
            if !x.is_finite() || x.abs() > 1e12 {
                return Err(Exc::unsupported(format!("`datetime.utcfromtimestamp({x})`")));
            }
            let (int, frac) = (x.trunc(), x.fract());
            let mut us = (frac * 1e6).round_ties_even();
            let mut int = int;
            if us >= 1e6 {
                us -= 1e6;
                int += 1.0;
            } else if us < 0.0 {
                us += 1e6;
                int -= 1.0;
            }
            (int as i64, us as i64)
        }
        other => {
            return Err(Exc::type_error(format!(
                "'{}' object cannot be interpreted as an integer",
                other.type_name()
            )));
        }
    };
    if secs.abs() > 1_000_000_000_000 {
        return Err(Exc::unsupported(format!("`datetime.utcfromtimestamp({secs})`")));
    }
    let wall_us = secs * US_PER_SECOND + us;
    let (year, _, _) = civil_from_days(wall_us.div_euclid(US_PER_DAY));
    if !(1..=9999).contains(&year) {
        return Err(Exc::value_error(format!("year {year} is out of range")));
    }
    Ok(native(Native::DateTime(DateTime { wall_us, offset: None, tz: Tz::Timezone })))
}

fn as_datetime(x: &Obj<'_>) -> Option<DateTime> {
    match x {
        Obj::Native(n) => match **n {
            Native::DateTime(d) => Some(d),
            _ => None,
        },
        _ => None,
    }
}

fn as_timedelta(x: &Obj<'_>) -> Option<TimeDelta> {
    match x {
        Obj::Native(n) => match **n {
            Native::TimeDelta(d) => Some(d),
            _ => None,
        },
        _ => None,
    }
}

/// `a + b` for dates and spans (`None`: not these types).
pub fn add<'e>(a: &Obj<'e>, b: &Obj<'e>) -> Option<R<Obj<'e>>> {
    Some(match (as_datetime(a), as_timedelta(a), as_datetime(b), as_timedelta(b)) {
        (Some(d), _, _, Some(t)) | (_, Some(t), Some(d), _) => {
            d.shifted(t.0).map(|d| native(Native::DateTime(d)))
        }
        (_, Some(x), _, Some(y)) => {
            x.0.checked_add(y.0)
                .ok_or_else(out_of_range)
                .and_then(TimeDelta::new)
                .map(|t| native(Native::TimeDelta(t)))
        }
        _ => return None,
    })
}

/// `a - b` for dates and spans (`None`: not these types).
pub fn sub<'e>(a: &Obj<'e>, b: &Obj<'e>) -> Option<R<Obj<'e>>> {
    Some(match (as_datetime(a), as_timedelta(a), as_datetime(b), as_timedelta(b)) {
        (Some(d), _, _, Some(t)) => d.shifted(-t.0).map(|d| native(Native::DateTime(d))),
        (Some(x), _, Some(y), _) => match (x.offset, y.offset) {
            (None, None) => TimeDelta::new(x.wall_us - y.wall_us).map(|t| native(Native::TimeDelta(t))),
            (Some(p), Some(q)) => {
                TimeDelta::new((x.wall_us - p) - (y.wall_us - q)).map(|t| native(Native::TimeDelta(t)))
            }
            _ => Err(Exc::type_error("can't subtract offset-naive and offset-aware datetimes")),
        },
        (_, Some(x), _, Some(y)) => TimeDelta::new(x.0 - y.0).map(|t| native(Native::TimeDelta(t))),
        _ => return None,
    })
}

/// `-x` for a span (`None`: not a span).
pub fn neg<'e>(a: &Obj<'e>) -> Option<R<Obj<'e>>> {
    as_timedelta(a).map(|t| TimeDelta::new(-t.0).map(|t| native(Native::TimeDelta(t))))
}

/// The ordering of two dates (naive and aware: CPython's `TypeError`).
pub fn order_datetimes(a: &DateTime, b: &DateTime) -> R<std::cmp::Ordering> {
    match (a.offset, b.offset) {
        (None, None) => Ok(a.wall_us.cmp(&b.wall_us)),
        (Some(p), Some(q)) => Ok((a.wall_us - p).cmp(&(b.wall_us - q))),
        _ => Err(Exc::type_error("can't compare offset-naive and offset-aware datetimes")),
    }
}

/// `x.name` for the attributes of dates and spans.
pub fn attribute<'e>(x: &Obj<'e>, name: &str) -> R<Obj<'e>> {
    if let Some(d) = as_datetime(x) {
        let f = d.fields();
        let v = match name {
            "year" => f.year,
            "month" => f.month,
            "day" => f.day,
            "hour" => f.hour,
            "minute" => f.minute,
            "second" => f.second,
            "microsecond" => f.microsecond,
            _ => return Err(Exc::attribute_error(x, name)),
        };
        return Ok(Obj::Int(v));
    }
    if let Some(t) = as_timedelta(x) {
        let (d, s, us) = t.parts();
        let v = match name {
            "days" => d,
            "seconds" => s,
            "microseconds" => us,
            _ => return Err(Exc::attribute_error(x, name)),
        };
        return Ok(Obj::Int(v));
    }
    Err(Exc::attribute_error(x, name))
}

/// The methods of dates and spans: `timestamp()`, `isoformat()`, `strftime(format)`,
/// `total_seconds()`.
pub fn method<'e>(x: &Obj<'e>, name: &str, args: &[Obj<'e>]) -> R<Obj<'e>> {
    let arity = |n: usize| -> R<()> {
        if args.len() != n {
            return Err(Exc::type_error(format!(
                "{name}() takes exactly {n} argument ({} given)",
                args.len()
            )));
        }
        Ok(())
    };
    match (as_datetime(x), as_timedelta(x), name) {
        (Some(d), _, "timestamp") => {
            arity(0)?;
            Ok(Obj::Float(d.timestamp()?))
        }
        (Some(d), _, "isoformat") => {
            arity(0)?;
            Ok(Obj::string(d.isoformat('T')))
        }
        (Some(d), _, "strftime") => {
            arity(1)?;
            match &args[0] {
                Obj::Str(f) => Ok(Obj::string(d.strftime(f.as_str())?)),
                other => Err(Exc::type_error(format!(
                    "strftime() argument 1 must be str, not {}",
                    if other.is_none() { "None" } else { other.type_name() }
                ))),
            }
        }
        (_, Some(t), "total_seconds") => {
            arity(0)?;
            Ok(Obj::Float(t.total_seconds()?))
        }
        _ => Err(Exc::attribute_error(x, name)),
    }
}

/// A `datetime` or `timedelta` module constant.
pub fn from_const<'e>(c: &DateConst) -> Obj<'e> {
    match *c {
        DateConst::TimeDelta(us) => native(Native::TimeDelta(TimeDelta(us))),
        DateConst::DateTime(wall_us) => {
            native(Native::DateTime(DateTime { wall_us, offset: None, tz: Tz::Timezone }))
        }
    }
}

/// A module constant `timedelta(…)` or naive `datetime(…)` of literals, checked by the
/// compiler.
#[derive(Debug, Clone, Copy)]
pub enum DateConst {
    /// Microseconds.
    TimeDelta(i64),
    /// Microseconds since 1970-01-01T00:00 (naive).
    DateTime(i64),
}

/// The wall-clock microseconds of a naive `datetime(…)` of these fields, if valid (the
/// compiler's check of a constant).
pub fn datetime_const(f: Fields) -> Option<i64> {
    DateTime::new(f, None).ok().map(|d| d.wall_us)
}

/// The microseconds of a `timedelta(…)` constant, if in range.
pub fn timedelta_const(v: [i64; 7]) -> Option<i64> {
    timedelta_us(v).and_then(|us| TimeDelta::new(us).ok()).map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> R<String> {
        fromisoformat(&Obj::str(s)).map(|o| super::super::super::repr(&o))
    }

    #[test]
    fn fromisoformat_as_cpython() {
        assert_eq!(
            iso("2025-02-14 19:42:57.000000000").unwrap(),
            "datetime.datetime(2025, 2, 14, 19, 42, 57)"
        );
        assert_eq!(
            iso("2024-01-01T10:00:00-05:30").unwrap(),
            "datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=66600)))"
        );
        assert_eq!(
            iso("2024-01-01 10:00:00Z").unwrap(),
            "datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.timezone.utc)"
        );
        assert_eq!(iso("2024-02-30 00:00").unwrap_err().message, "day is out of range for month");
        assert_eq!(iso("").unwrap_err().message, "Invalid isoformat string: ''");
        assert!(iso("2024-01-01x10:00").unwrap_err().internal);
    }

    #[test]
    fn timedelta_prints_as_cpython() {
        assert_eq!(TimeDelta(-1).repr(), "datetime.timedelta(days=-1, seconds=86399, microseconds=999999)");
        assert_eq!(TimeDelta(-86_400_000_000 + 5_000_000).str(), "-1 day, 0:00:05");
        assert_eq!(TimeDelta(0).repr(), "datetime.timedelta(0)");
        assert_eq!(TimeDelta(2 * US_PER_DAY + 1).str(), "2 days, 0:00:00.000001");
    }
}
