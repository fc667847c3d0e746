//! Event time: when an event happened, for dedup windows (rule-format.md §4.4).
//!
//! Owns which field holds the time (`p_event_time`, else the log type's own field, e.g.
//! CloudTrail `eventTime`) and the parsing of the timestamp forms logs use: RFC 3339
//! (`2023-07-19T21:14:20Z`, offsets, fractions), Panther's `2023-07-19 21:14:20.000000000`, and
//! epoch seconds or milliseconds as numbers.
//! Must not: use the clock; an event without a time is the caller's to place.

use serde_json::Value;

use crate::event::{Event, Path, Seg};
use crate::py::stdlib::calendar::{civil_from_days, days_from_civil};
use crate::value::Val;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// Panther's standard time field, read first.
pub static P_EVENT_TIME: Path = Path::new(&[Seg::Key("p_event_time")]);

/// The time field of log types that have one, besides `p_event_time`.
pub static TIME_FIELDS: [(&str, Path); 14] = [
    ("AWS.CloudTrail", Path::new(&[Seg::Key("eventTime")])),
    ("AWS.CloudTrailDigest", Path::new(&[Seg::Key("digestEndTime")])),
    ("AWS.GuardDuty", Path::new(&[Seg::Key("updatedAt")])),
    ("AWS.S3ServerAccess", Path::new(&[Seg::Key("time")])),
    ("AWS.VPCFlow", Path::new(&[Seg::Key("start")])),
    ("Asana.Audit", Path::new(&[Seg::Key("created_at")])),
    ("GCP.AuditLog", Path::new(&[Seg::Key("timestamp")])),
    ("GitHub.Audit", Path::new(&[Seg::Key("created_at")])),
    ("GSuite.ActivityEvent", Path::new(&[Seg::Key("id"), Seg::Key("time")])),
    ("Netskope.Audit", Path::new(&[Seg::Key("timestamp")])),
    ("Okta.SystemLog", Path::new(&[Seg::Key("published")])),
    ("OneLogin.Events", Path::new(&[Seg::Key("created_at")])),
    ("Slack.AuditLogs", Path::new(&[Seg::Key("date_create")])),
    ("Zoom.Operation", Path::new(&[Seg::Key("time")])),
];

/// The paths [`event_time`] reads for `log_type`: what an event view must find.
pub fn time_paths(log_type: &str) -> impl Iterator<Item = &'static Path> {
    std::iter::once(&P_EVENT_TIME)
        .chain(TIME_FIELDS.iter().filter(move |(t, _)| *t == log_type).map(|(_, path)| path))
}

/// When `event` happened: `p_event_time`, else the log type's time field, else `None`. Read as
/// rules read fields (exact key first, then ignoring ASCII case), from a parsed event or from
/// the view of its bytes alike.
pub fn event_time<E: Event + ?Sized>(event: &E, log_type: &str) -> Option<Millis> {
    time_paths(log_type).find_map(|path| parse_val(&event.field(path)))
}

/// [`parse`] of a value as rules read it.
pub fn parse_val(value: &Val<'_>) -> Option<Millis> {
    match value {
        Val::Str(s) => parse_text(s),
        Val::Num(n) => from_number(n.as_f64()),
        _ => None,
    }
}

/// A timestamp as a string (RFC 3339 or Panther's form) or as epoch seconds or milliseconds.
pub fn parse(value: &Value) -> Option<Millis> {
    match value {
        Value::String(s) => parse_text(s),
        Value::Number(n) => from_number(n.as_f64()?),
        _ => None,
    }
}

/// Epoch seconds, or milliseconds for numbers beyond 1e11 (1e11 seconds is the year 5138).
fn from_number(f: f64) -> Option<Millis> {
    let millis = if f.abs() >= 1e11 { f } else { f * 1000.0 };
    millis.is_finite().then_some(millis as Millis)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]`; without a zone, UTC.
pub fn parse_text(s: &str) -> Option<Millis> {
    let b = s.trim().as_bytes();
    // At most four ASCII digits: no overflow, and no need of `str::parse`.
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() {
            return None;
        }
        millis = frac.iter().take(3).fold(0, |acc, d| acc * 10 + i64::from(d - b'0'));
        millis *= 10_i64.pow(3 - frac.len().min(3) as u32);
    }
    let offset_minutes = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = num(i + 1..i + 3)?;
            let rest = &b[i + 3..];
            let minutes = match rest {
                [] => 0,
                [b':', m1, m2] | [m1, m2] if m1.is_ascii_digit() && m2.is_ascii_digit() => {
                    i64::from(m1 - b'0') * 10 + i64::from(m2 - b'0')
                }
                _ => return None,
            };
            let total = hours * 60 + minutes;
            if *sign == b'+' { total } else { -total }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// RFC 3339 in UTC with milliseconds: `2023-07-19T21:14:20.000Z`.
pub fn format(millis: Millis) -> String {
    let seconds = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if !(0..=9999).contains(&year) {
        return format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{ms:03}Z");
    }
    // The digits written one by one: a record has two of these, and `format!` costs more than
    // the rest of the arithmetic.
    let mut text = [0u8; 24];
    let fields = [(year, 4, b'-'), (month, 2, b'-'), (day, 2, b'T'), (hour, 2, b':'), (minute, 2, b':')];
    let mut at = 0;
    for (value, width, after) in fields.into_iter().chain([(second, 2, b'.'), (ms, 3, b'Z')]) {
        let mut rest = value;
        for place in (at..at + width).rev() {
            text[place] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        text[at + width] = after;
        at += width + 1;
    }
    String::from_utf8(text.to_vec()).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_forms_logs_use() {
        let t = 1_689_801_260_000; // 2023-07-19T21:14:20Z
        assert_eq!(parse_text("2023-07-19T21:14:20Z"), Some(t));
        assert_eq!(parse_text("2023-07-19T21:14:20.5Z"), Some(t + 500));
        assert_eq!(parse_text("2023-07-19T21:14:20.123456789Z"), Some(t + 123));
        assert_eq!(parse_text("2023-07-19 21:14:20.000000000"), Some(t));
        assert_eq!(parse_text("2023-07-19T23:14:20+02:00"), Some(t));
        assert_eq!(parse_text("2023-07-19T20:14:20-0100"), Some(t));
        assert_eq!(parse_text("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_text("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        for bad in [
            "",
            "2023-07-19",
            "2023-13-01T00:00:00Z",
            "2023-07-19T21:14Z",
            "yesterday",
            "2023-07-19T21:14:20Zx",
        ] {
            assert_eq!(parse_text(bad), None, "{bad}");
        }
        assert_eq!(parse(&json!(1_689_801_260)), Some(t));
        assert_eq!(parse(&json!(1_689_801_260_000i64)), Some(t));
        assert_eq!(parse(&json!(true)), None);
    }

    #[test]
    fn formats_round_trip() {
        for t in [0, 1_689_801_260_123, 951_782_400_000, -86_400_000, 4_102_444_800_000] {
            assert_eq!(parse_text(&format(t)), Some(t), "{}", format(t));
        }
        assert_eq!(format(1_689_801_260_000), "2023-07-19T21:14:20.000Z");
        assert_eq!(format(1_689_801_260_007), "2023-07-19T21:14:20.007Z");
        assert_eq!(format(-62_135_596_800_000), "0001-01-01T00:00:00.000Z");
        // Beyond four digits of year: as `format!` writes it.
        assert_eq!(format(-62_198_755_200_000), "-001-01-01T00:00:00.000Z");
        assert_eq!(format(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
    }

    #[test]
    fn event_time_prefers_p_event_time() {
        let ev = json!({"eventTime": "2023-07-19T21:14:20Z"});
        assert_eq!(event_time(&ev, "AWS.CloudTrail"), Some(1_689_801_260_000));
        assert_eq!(event_time(&ev, "Other.Log"), None);
        let ev = json!({"eventTime": "2023-07-19T21:14:20Z", "p_event_time": "2023-07-19 21:14:21.000"});
        assert_eq!(event_time(&ev, "AWS.CloudTrail"), Some(1_689_801_261_000));
        let ev = json!({"id": {"time": "2023-07-19T21:14:20Z"}});
        assert_eq!(event_time(&ev, "GSuite.ActivityEvent"), Some(1_689_801_260_000));
    }

    /// The view of an event's bytes gives the time the parsed event gives.
    #[test]
    fn event_time_reads_the_view_as_the_value() {
        use crate::view::{FieldTable, Scratch};
        let table = FieldTable::new(TIME_FIELDS.iter().map(|(_, p)| p).chain([&P_EVENT_TIME]));
        for text in [
            r#"{"eventTime": "2023-07-19T21:14:20Z"}"#,
            r#"{"P_EVENT_TIME": "2023-07-19 21:14:21.000", "eventTime": "2023-07-19T21:14:20Z"}"#,
            r#"{"p_event_time": "not a time", "EVENTTIME": 1689801260}"#,
            r#"{"p_event_time": 1689801260123, "eventTime": "2023-07-19T21:14:20Z"}"#,
            r#"{"p_event_time": {"a": 1}, "eventtime": "2023-07-19T21:14:\u00320Z"}"#,
            r#"{"p_event_time": -0, "id": {"time": "2023-07-19T21:14:20+02:00"}}"#,
            r#"{"p_event_time": 1.5e300, "eventTime": null}"#,
            r#"{}"#,
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let mut scratch = Scratch::new();
            let view = scratch.read(text.as_bytes(), &table).unwrap();
            for log_type in TIME_FIELDS.iter().map(|(t, _)| *t).chain(["Other.Log"]) {
                assert_eq!(event_time(&view, log_type), event_time(&value, log_type), "{text} {log_type}");
            }
        }
    }
}
