//! `dateutil.parser.parse(s)` (no keyword arguments), which Panther's runtime ships, for the
//! strict subset of strings whose result is known exactly: ISO 8601 as the corpus writes it,
//! `YYYY-MM-DD`, optionally followed by `T` or a space and `HH:MM[:SS[.f…]]`, then
//! optionally `Z`, `±HH:MM` or `±HHMM`, every field in range. dateutil truncates the fraction
//! to microseconds; a zero offset gives `tzlocal()` (local time is UTC, as on Panther, so its
//! `UTC` name is `time.tzname`'s), any other `tzoffset(None, seconds)`. Every other string
//! (dateutil guesses at it: `2021-13-01`, names of months and zones, bare numbers) is an error
//! that `except` does not catch; a non-string scalar is dateutil's `TypeError`.

use std::rc::Rc;

use super::super::{Exc, Obj, R, repr_string};
use super::Native;
use super::datetime::{DateTime, Fields, Tz};

/// The value of an all-ASCII-digit field.
fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// The fields and the UTC offset in seconds of a string of the subset, or `None`.
fn parse_subset(s: &str) -> Option<(Fields, Option<i64>)> {
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(&s[..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let mut f = Fields { year, month, day, hour: 0, minute: 0, second: 0, microsecond: 0 };
    let rest = &s[10..];
    let mut offset = None;
    if !rest.is_empty() {
        if !matches!(rest.as_bytes()[0], b'T' | b' ') {
            return None;
        }
        let t = &rest[1..];
        let (clock, zone) = match t.find(['Z', '+', '-']) {
            Some(i) => (&t[..i], Some(&t[i..])),
            None => (t, None),
        };
        let (hms, frac) = match clock.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (clock, None),
        };
        let parts: Vec<&str> = hms.split(':').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
            return None;
        }
        f.hour = num(parts[0])?;
        f.minute = num(parts[1])?;
        if let Some(sec) = parts.get(2) {
            f.second = num(sec)?;
        }
        if let Some(frac) = frac {
            // A fraction needs the seconds; dateutil keeps its first six digits.
            if parts.len() != 3 {
                return None;
            }
            num(frac)?;
            f.microsecond = num(&format!("{:0<6}", &frac[..frac.len().min(6)]))?;
        }
        if let Some(zone) = zone {
            let seconds = match zone {
                "Z" => 0,
                _ => {
                    let sign = if zone.starts_with('-') { -1 } else { 1 };
                    let body = &zone[1..];
                    let (h, m) = match body.len() {
                        4 => (&body[..2], &body[2..]),
                        5 if body.as_bytes()[2] == b':' => (&body[..2], &body[3..]),
                        _ => return None,
                    };
                    let (h, m) = (num(h)?, num(m)?);
                    if h > 23 || m > 59 {
                        return None;
                    }
                    sign * (h * 3600 + m * 60)
                }
            };
            offset = Some(seconds);
        }
    }
    let in_range = (1..=9999).contains(&f.year)
        && (1..=12).contains(&f.month)
        && f.day >= 1
        && f.hour <= 23
        && f.minute <= 59
        && f.second <= 59;
    in_range.then_some((f, offset))
}

/// `dateutil.parser.parse(s)`.
pub fn parse<'e>(s: &Obj<'e>) -> R<Obj<'e>> {
    let text = match s {
        Obj::Str(t) => t.as_str(),
        Obj::None | Obj::Bool(_) | Obj::Int(_) | Obj::Float(_) => {
            return Err(Exc::type_error(format!(
                "Parser must be a string or character stream, not {}",
                s.type_name()
            )));
        }
        other => {
            return Err(Exc::unsupported(format!("`dateutil.parser.parse` of a {}", other.type_name())));
        }
    };
    let Some((fields, offset)) = parse_subset(text) else {
        return Err(Exc::unsupported(format!(
            "`dateutil.parser.parse` of {} (outside the ISO 8601 forms modelled)",
            repr_string(text)
        )));
    };
    // The day of a month that lacks it: dateutil's `ParserError` wraps the constructor's
    // message, not modelled.
    let mut value = DateTime::new(fields, None).map_err(|_| {
        Exc::unsupported(format!("`dateutil.parser.parse` of the invalid date {}", repr_string(text)))
    })?;
    if let Some(seconds) = offset {
        value.offset = Some(seconds * 1_000_000);
        value.tz = if seconds == 0 { Tz::DateutilLocal } else { Tz::DateutilOffset };
    }
    Ok(Obj::Native(Rc::new(Native::DateTime(value))))
}
