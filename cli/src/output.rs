//! The records `detect` writes, one JSON object per line: alerts (and signals) in the default
//! mode, raw matches with `--matches`. The schema is documented in README.md.
//!
//! Must not: decide what is written when (see `scan`).

use detections::time;
use detections::{Alert, Kind, Match};
use serde_json::{Value, json};

/// An alert or signal: one closed dedup window that reached its threshold.
pub fn alert(a: &Alert) -> Value {
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
        "first_event": a.first_event,
    })
}

/// One (event, rule) match, before alerting.
pub fn matched(source: &str, line: u64, m: &Match) -> Value {
    json!({
        "source": source,
        "line": line,
        "rule_id": m.rule.meta.id,
        "severity": m.outputs.severity.as_str(),
        "title": m.outputs.title,
        "dedup": m.outputs.dedup,
        "context": m.outputs.context,
    })
}
