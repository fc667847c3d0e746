//! `detect rules`: the compiled rules as a table, or as JSON.
//!
//! Must not: filter rules by anything the engine would not (the same selection flags apply).

use detections::Rule;
use serde_json::{Value, json};

/// One JSON object per rule, in an array.
pub fn json(rules: &[&Rule]) -> Value {
    Value::Array(
        rules
            .iter()
            .map(|r| {
                let m = &r.meta;
                json!({
                    "id": m.id,
                    "display_name": m.display_name,
                    "source": m.source,
                    "enabled": m.enabled,
                    "log_types": m.log_types,
                    "scheduled": m.scheduled,
                    "severity": m.severity.as_str(),
                    "create_alert": m.create_alert,
                    "dedup_period_minutes": m.dedup_period_minutes,
                    "threshold": m.threshold,
                    "tags": m.tags,
                    "reports": m.reports.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    "alert_title": m.alert_title,
                    "description": m.description,
                    "reference": m.reference,
                    "runbook": m.runbook,
                })
            })
            .collect(),
    )
}

/// An aligned table, one rule per line.
pub fn table(rules: &[&Rule]) -> String {
    let header = ["RULE", "SEVERITY", "ENABLED", "ALERT", "THRESHOLD", "DEDUP", "LOG TYPES"];
    let mut rows: Vec<[String; 7]> = vec![header.map(str::to_string)];
    for r in rules {
        let m = &r.meta;
        rows.push([
            m.id.to_string(),
            m.severity.as_str().to_string(),
            if m.enabled { "yes" } else { "no" }.to_string(),
            if m.create_alert { "alert" } else { "signal" }.to_string(),
            m.threshold.to_string(),
            format!("{}m", m.dedup_period_minutes),
            m.log_types.join(", "),
        ]);
    }
    let widths: Vec<usize> =
        (0..7).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} rules\n", rules.len()));
    out
}
