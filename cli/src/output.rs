//! The records `detect` writes, one JSON object per line: alerts (and signals) in the default
//! mode, raw matches with `--matches`. The schema is documented in README.md.
//!
//! Records are serialised straight from the alert or match they describe (no intermediate
//! `serde_json::Value`); their fields are in the documented order.
//! Must not: decide what is written when (see `scan`).

use std::io::{self, Write};

use detections::rule::Context;
use detections::time;
use detections::{Alert, FirstEvent, Kind, Match};
use serde::Serialize;
use serde_json::Value;

/// An alert or signal record, borrowing from the alert. `first_event` is last, and `None` only
/// where [`write_alert`] appends the event's text itself.
#[derive(Serialize)]
struct AlertRecord<'a> {
    kind: &'static str,
    rule_id: &'static str,
    severity: &'static str,
    title: &'a str,
    dedup: &'a str,
    log_type: &'a str,
    match_count: u64,
    first_event_time: Option<String>,
    last_event_time: Option<String>,
    context: &'a Context,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_event: Option<&'a FirstEvent>,
}

fn alert_record(a: &Alert) -> AlertRecord<'_> {
    AlertRecord {
        kind: if a.kind == Kind::Alert { "alert" } else { "signal" },
        rule_id: a.rule.meta.id,
        severity: a.severity.as_str(),
        title: &a.title,
        dedup: &a.dedup,
        log_type: &a.log_type,
        match_count: a.match_count,
        first_event_time: a.first_event_time.map(time::format),
        last_event_time: a.last_event_time.map(time::format),
        context: &a.context,
        first_event: Some(&a.first_event),
    }
}

/// A match record, borrowing from the match.
#[derive(Serialize)]
struct MatchRecord<'a> {
    source: &'a str,
    line: u64,
    rule_id: &'static str,
    severity: &'static str,
    title: &'a str,
    dedup: &'a str,
    context: &'a Context,
}

fn match_record<'a>(source: &'a str, line: u64, m: &'a Match) -> MatchRecord<'a> {
    MatchRecord {
        source,
        line,
        rule_id: m.rule.meta.id,
        severity: m.outputs.severity.as_str(),
        title: &m.outputs.title,
        dedup: &m.outputs.dedup,
        context: &m.outputs.context,
    }
}

/// An alert or signal: one closed dedup window that reached its threshold.
pub fn alert(a: &Alert) -> Value {
    serde_json::to_value(alert_record(a)).expect("a record serialises")
}

/// [`alert`], written as one line. A first event held as text already in the form
/// `serde_json` writes (`serde_form`) is copied into the line as it is, after the other
/// fields: the same bytes, without going through `serde_json` again.
pub fn write_alert(out: &mut dyn Write, a: &Alert) -> io::Result<()> {
    let mut r = alert_record(a);
    let text = match r.first_event {
        Some(FirstEvent::Text(text)) if detections::serde_form::is_serde_form(text) => text,
        _ => {
            serde_json::to_writer(&mut *out, &r)?;
            return out.write_all(b"\n");
        }
    };
    r.first_event = None;
    let mut line = Vec::with_capacity(text.len() + 512);
    serde_json::to_writer(&mut line, &r)?;
    // `{…}` without its closing brace, then the last field.
    line.pop();
    line.extend_from_slice(b",\"first_event\":");
    line.extend_from_slice(text.as_bytes());
    line.extend_from_slice(b"}\n");
    out.write_all(&line)
}

/// One (event, rule) match, before alerting.
pub fn matched(source: &str, line: u64, m: &Match) -> Value {
    serde_json::to_value(match_record(source, line, m)).expect("a record serialises")
}

/// [`matched`], written as one line.
pub fn write_matched(out: &mut dyn Write, source: &str, line: u64, m: &Match) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &match_record(source, line, m))?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use detections::rule::Outputs;
    use detections::{Alerter, Engine, Selection, rules};
    use serde_json::json;

    /// The records as they were first written: through a `serde_json::Value` built with
    /// `json!`. The written lines must stay byte for byte the same.
    fn alert_as_value(a: &Alert) -> Value {
        let when = |t: Option<i64>| t.map(time::format);
        json!({
            "kind": if a.kind == Kind::Alert { "alert" } else { "signal" },
            "rule_id": a.rule.meta.id,
            "severity": a.severity.as_str(),
            "title": a.title,
            "dedup": a.dedup,
            "log_type": a.log_type,
            "match_count": a.match_count,
            "first_event_time": when(a.first_event_time),
            "last_event_time": when(a.last_event_time),
            "context": a.context,
            "first_event": a.first_event.to_value(),
        })
    }

    #[test]
    fn records_are_written_as_the_values_were() {
        let engine = Engine::new(
            rules::by_log_type::ALL,
            &Selection { rule_ids: vec!["AWS.EC2.StopInstances".into()], ..Selection::default() },
        );
        let rule = engine.rules()[0];
        // Escapes, spacing, a number in another form and a repeated key: the text is not
        // what is written. The second is already in `serde_json`'s form: written as is.
        let texts = [
            r#"{ "eventName" : "StopInstances", "n": 1.0e2, "s": "\u00e9\/", "n": [1, {"a": null}], "p_log_type": "AWS.CloudTrail" }"#,
            r#"{"eventName":"StopInstances","n":[1,-2,2.5,{"a":null}],"s":"é\n\u0001","p_log_type":"AWS.CloudTrail"}"#,
        ];
        for (i, text) in texts.into_iter().enumerate() {
            assert_eq!(detections::serde_form::is_serde_form(text), i == 1);
            records_of(rule, text);
        }
    }

    /// An alert of `text` from each path, and a match: written as the `json!` records were.
    fn records_of(rule: &'static detections::Rule, text: &str) {
        let context: Context = [("k".to_string(), json!({"x": [1.5, "y", null]}))].into_iter().collect();
        let m = Match {
            rule,
            outputs: Outputs {
                title: "t \"q\"".into(),
                dedup: "d".into(),
                context,
                severity: rule.meta.severity,
            },
        };
        let mut from_text = Alerter::new();
        from_text.observe_text(m.clone(), Some(1_700_000_000_000), text, "AWS.CloudTrail");
        let mut from_value = Alerter::new();
        let value: Value = serde_json::from_str(text).unwrap();
        from_value.observe(&m, Some(1_700_000_000_000), &value, "AWS.CloudTrail");
        for a in from_text.flush().iter().chain(&from_value.flush()) {
            let mut line = Vec::new();
            write_alert(&mut line, a).unwrap();
            assert_eq!(String::from_utf8(line).unwrap(), format!("{}\n", alert_as_value(a)));
            assert_eq!(alert(a), alert_as_value(a));
        }
        let mut line = Vec::new();
        write_matched(&mut line, "f.jsonl", 7, &m).unwrap();
        let old = json!({
            "source": "f.jsonl",
            "line": 7,
            "rule_id": m.rule.meta.id,
            "severity": m.outputs.severity.as_str(),
            "title": m.outputs.title,
            "dedup": m.outputs.dedup,
            "context": m.outputs.context,
        });
        assert_eq!(String::from_utf8(line).unwrap(), format!("{old}\n"));
        assert_eq!(matched("f.jsonl", 7, &m), old);
    }
}
