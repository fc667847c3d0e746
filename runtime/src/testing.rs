//! Runs one YAML test case against a compiled rule: the helper every generated `#[test]` calls.
//!
//! Owns the failure report a detection engineer reads: the YAML file and line of the test case,
//! the test name, expected and actual verdicts, and the line of the top-level expression that
//! decided. Every case also runs through the fast event view, which must agree. Must not: be used on a hot path (it parses the event and may read the YAML file).

use std::fmt::Write;

use serde_json::Value;

use crate::rule::{Rule, Severity};
use crate::view::{FieldTable, Scratch};

/// One `Tests:` entry, as the generated test passes it.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    pub name: &'a str,
    /// Line of the test case in the rule file.
    pub line: u32,
    /// `ExpectedResult`.
    pub expected: bool,
    /// The event, as JSON.
    pub log: &'a str,
    /// Extension `ExpectedTitle`.
    pub title: Option<&'a str>,
    /// Extension `ExpectedDedup`.
    pub dedup: Option<&'a str>,
    /// Extension `ExpectedSeverity`.
    pub severity: Option<Severity>,
    /// Extension `ExpectedAlertContext`, as JSON.
    pub context: Option<&'a str>,
    /// `Mocks:` of a Python rule's test: functions of the rule's module and their values.
    pub mocks: &'static [(&'static str, crate::py::MockValue)],
}

impl<'a> Case<'a> {
    pub const fn new(name: &'a str, line: u32, expected: bool, log: &'a str) -> Case<'a> {
        Case {
            name,
            line,
            expected,
            log,
            title: None,
            dedup: None,
            severity: None,
            context: None,
            mocks: &[],
        }
    }

    /// Runs the case against `rule` and panics with a report pointing at the YAML if it fails.
    #[track_caller]
    pub fn check(self, rule: &Rule) {
        if let Err(report) = run(rule, &self) {
            panic!("{report}");
        }
    }

    /// For a Python rule with module state: runs `cases[..i]` in order on a fresh import of
    /// the module, as `pat test` runs a file's cases one after the other on one module (the
    /// state carries from case to case), then checks `cases[i]`.
    #[track_caller]
    pub fn check_in_sequence(rule: &Rule, cases: &[Case], i: usize) {
        let py = rule.python.expect("module state is a Python rule's");
        py.reset_state();
        for case in &cases[..i] {
            if let Ok(event) = serde_json::from_str::<Value>(case.log) {
                crate::py::with_mocks(case.mocks, || py.run_all(&event));
            }
        }
        cases[i].check(rule)
    }
}

/// The verdict of `case`, or the failure report.
pub fn run(rule: &Rule, case: &Case) -> Result<(), String> {
    let source = rule.meta.source;
    let head = format!("{source}:{}: test `{}` of rule `{}` failed", case.line, case.name, rule.meta.id);
    let event: Value = serde_json::from_str(case.log)
        .map_err(|e| format!("{head}\n  the test log is not valid JSON: {e}"))?;
    if let Some(py) = rule.python {
        // As under `pat test`: the mocks patched in, and no key-value store reachable.
        return crate::py::kv::without_store(|| {
            crate::py::with_mocks(case.mocks, || run_python(rule, py, case, &head, &event))
        });
    }
    let decision = (rule.decide)(&event);
    let matched = decision.is_none();
    // The fast path (one pass over the bytes) must decide exactly as the `Value` path.
    let table = FieldTable::new(rule.fields.iter().copied());
    let mut scratch = Scratch::new();
    let view = scratch
        .read(case.log.as_bytes(), &table)
        .map_err(|e| format!("{head}\n  the fast path rejects the test log: {e:?}"))?;
    let fast = (rule.decide_view)(&view);
    if fast != decision {
        return Err(format!(
            "{head}\n  the fast path decided {fast:?}, the Value path {decision:?}: a bug in detections-runtime"
        ));
    }
    if matched && rule.outputs(&view) != rule.outputs(&event) {
        return Err(format!(
            "{head}\n  the fast path gives other alert outputs than the Value path: a bug in detections-runtime\n  fast:  {:?}\n  Value: {:?}",
            rule.outputs(&view),
            rule.outputs(&event)
        ));
    }
    if matched != case.expected {
        let mut report = head;
        let verdict = |m: bool| if m { "match" } else { "no match" };
        let _ =
            writeln!(report, "\n  expected: {} (ExpectedResult: {})", verdict(case.expected), case.expected);
        let _ = writeln!(report, "  actual:   {}", verdict(matched));
        match decision {
            Some(line) => {
                let _ = write!(report, "  decided by the expression at {source}:{line}, which does not hold");
                if let Some(text) = yaml_line(source, line) {
                    let _ = write!(report, ":\n    {line} | {text}");
                }
            }
            None => {
                let _ = write!(report, "  decided by: every expression of InlineFilters and Detection holds");
            }
        }
        return Err(report);
    }
    if !matched {
        return Ok(());
    }
    // An expected match must also produce its alert outputs, and the extensions pin them.
    let outputs = rule.outputs(&event);
    check_expectations(&head, case, outputs)
}

/// The extensions that pin an expected match's outputs.
fn check_expectations(head: &str, case: &Case, outputs: crate::rule::Outputs) -> Result<(), String> {
    let mut mismatches = Vec::new();
    let mut expect = |what: &str, expected: Option<String>, actual: String| {
        if let Some(expected) = expected
            && expected != actual
        {
            mismatches.push(format!("  {what}:\n    expected: {expected}\n    actual:   {actual}"));
        }
    };
    expect("ExpectedTitle", case.title.map(str::to_string), outputs.title);
    expect("ExpectedDedup", case.dedup.map(str::to_string), outputs.dedup);
    expect("ExpectedSeverity", case.severity.map(|s| s.to_string()), outputs.severity.to_string());
    if let Some(expected) = case.context {
        // Compared as JSON values: key order does not matter.
        let actual = Value::Object(outputs.context);
        if serde_json::from_str::<Value>(expected).ok().as_ref() != Some(&actual) {
            mismatches
                .push(format!("  ExpectedAlertContext:\n    expected: {expected}\n    actual:   {actual}"));
        }
    }
    if mismatches.is_empty() { Ok(()) } else { Err(format!("{head}\n{}", mismatches.join("\n"))) }
}

/// A case of a rule compiled from Python, judged as `pat test` judges it: every function runs;
/// an expected match needs `rule()` to return `True` and no alert function to raise; an
/// expected non-match needs `rule()` to return `False` (an exception fails it too).
fn run_python(
    rule: &Rule,
    py: &crate::py::Python,
    case: &Case,
    head: &str,
    event: &Value,
) -> Result<(), String> {
    let results = py.run_all(event);
    let verdict = results.rule.clone().expect("rule() always runs");
    let matched = match verdict {
        Ok(m) => m,
        Err(e) => return Err(format!("{head}\n  rule() in {} raised {e}", py.source)),
    };
    if !py.state.is_empty() {
        // Each function runs once, as in `pat test`: a second run would see the state the
        // first one left. (The engine decides with `rule()` alone for such rules.)
        return judge_python(case, head, py, matched, results, rule);
    }
    // The engine decides with `rule()`'s lowered conditions first (and, without `InlineFilters`,
    // must come to the same verdict), on both event paths.
    let decided = (rule.decide)(event);
    if !py.inline_filters && decided.is_none() != matched {
        return Err(format!(
            "{head}\n  the engine's verdict ({decided:?}) differs from rule()'s ({matched}): a bug in codegen's lowering"
        ));
    }
    let table = FieldTable::new(rule.fields.iter().copied());
    let mut scratch = Scratch::new();
    let text = event.to_string();
    if let Ok(view) = scratch.read(text.as_bytes(), &table)
        && (rule.decide_view)(&view) != decided
    {
        return Err(format!(
            "{head}\n  the fast path decides otherwise than the Value path: a bug in detections-runtime"
        ));
    }
    verdict_of(case, head, py, matched, &results)?;
    if !matched {
        return Ok(());
    }
    check_expectations(head, case, rule.outputs(event))
}

/// `pat test`'s judgement of one run: the verdict expected, and no alert function raising on
/// an expected match.
fn verdict_of(
    case: &Case,
    head: &str,
    py: &crate::py::Python,
    matched: bool,
    results: &crate::py::rule::Results,
) -> Result<(), String> {
    if matched != case.expected {
        let word = |m: bool| if m { "match" } else { "no match" };
        return Err(format!(
            "{head}\n  expected: {} (ExpectedResult: {})\n  actual:   {} (rule() in {} returned {})",
            word(case.expected),
            case.expected,
            word(matched),
            py.source,
            if matched { "True" } else { "False" },
        ));
    }
    if matched && let Some((function, e)) = results.first_error() {
        return Err(format!("{head}\n  {function}() in {} raised {e}", py.source));
    }
    Ok(())
}

/// A case of a rule with module state, judged from its one run.
fn judge_python(
    case: &Case,
    head: &str,
    py: &crate::py::Python,
    matched: bool,
    results: crate::py::rule::Results,
    rule: &Rule,
) -> Result<(), String> {
    verdict_of(case, head, py, matched, &results)?;
    if !matched {
        return Ok(());
    }
    let outputs =
        py.outputs_of(results.title, results.dedup, results.alert_context, results.severity, &rule.meta);
    check_expectations(head, case, outputs)
}

/// Line `line` of the rule file, read from the workspace, for the report.
fn yaml_line(source: &str, line: u32) -> Option<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let text = std::fs::read_to_string(root.join(source)).ok()?;
    text.lines().nth(usize::try_from(line).ok()?.checked_sub(1)?).map(|l| l.trim_end().to_string())
}
