//! The `Tests:` block (rule-format.md §5): test cases, their names as Rust test functions, and
//! the expected-output extensions (`ExpectedTitle`, `ExpectedDedup`, `ExpectedSeverity`,
//! `ExpectedAlertContext`).
//!
//! Must not: run anything; a test case is data until `emit` makes it a `#[test]`.

use super::Ctx;
use crate::diag::Span;
use crate::ir::{Expectations, TestCase};
use crate::names;
use crate::yaml::Node;

const TEST_KEYS: &[&str] = &[
    "Name",
    "ExpectedResult",
    "Log",
    "LogType",
    "Mocks",
    "ExpectedDestinations",
    // Extensions of this project, documented in README.md.
    "ExpectedTitle",
    "ExpectedDedup",
    "ExpectedSeverity",
    "ExpectedAlertContext",
];

impl Ctx<'_> {
    pub fn tests(&mut self, node: &Node) -> Option<Vec<TestCase>> {
        let items = self.list(node, "Tests")?;
        let mut cases: Vec<TestCase> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        let mut ok = true;
        for item in items {
            let Some((case, name_span)) = self.test_case(item) else {
                ok = false;
                continue;
            };
            if let Some(i) = cases.iter().position(|c| c.function == case.function) {
                let same = cases[i].name == case.name;
                let message = if same {
                    format!("duplicate test name `{}`", case.name)
                } else {
                    format!(
                        "test names `{}` and `{}` both become the test function `{}`",
                        cases[i].name, case.name, case.function
                    )
                };
                self.report(
                    self.error(name_span, message)
                        .label("second test")
                        .related(&self.file.path.clone(), spans[i], "first test")
                        .help("give every test of a rule a distinct name"),
                );
                ok = false;
                continue;
            }
            spans.push(name_span);
            cases.push(case);
        }
        ok.then_some(cases)
    }

    fn test_case(&mut self, node: &Node) -> Option<(TestCase, Span)> {
        let m = self.mapping(node, "test case", TEST_KEYS)?;
        let help = "a test case has `Name`, `ExpectedResult` and `Log`";
        let name_node = self.required(&m, "Name", "test case", help);
        let name = name_node.and_then(|n| self.string(n, "Name"));
        let expected = self
            .required(&m, "ExpectedResult", "test case", help)
            .and_then(|n| self.boolean(n, "ExpectedResult"));
        let log = self.required(&m, "Log", "test case", help).and_then(|n| {
            if n.as_map().is_none() {
                self.report(
                    self.error(n.span, format!("`Log` must be the event as a mapping, found {}", n.kind()))
                        .label("expected a mapping")
                        .help("write the event as YAML keys or as a JSON object: `Log: {\"eventName\": \"StopInstances\"}`"),
                );
                return None;
            }
            Some(n.to_json().to_string())
        });
        if let Some(n) = m.get("LogType") {
            self.string(n, "LogType");
        }
        if let Some(n) = m.get("ExpectedDestinations") {
            self.strings(n, "ExpectedDestinations");
        }
        let mut mocks = Vec::new();
        if let Some(items) = m.get("Mocks").and_then(|n| self.list(n, "Mocks")) {
            for item in items {
                let Some(entry) = self.mapping(item, "mock", &["objectName", "returnValue"]) else {
                    continue;
                };
                let name = self
                    .required(&entry, "objectName", "mock", "a mock has `objectName` and `returnValue`")
                    .and_then(|n| self.string(n, "objectName").map(str::to_string));
                let value = self
                    .required(&entry, "returnValue", "mock", "a mock has `objectName` and `returnValue`")
                    .and_then(|n| match &n.value {
                        crate::yaml::Value::Str(s) => Some(crate::ir::MockValue::Str(s.clone())),
                        crate::yaml::Value::Bool(b) => Some(crate::ir::MockValue::Bool(*b)),
                        _ => {
                            self.report(
                                self.error(
                                    n.span,
                                    format!(
                                        "`returnValue` must be a string or a boolean, found {}",
                                        n.kind()
                                    ),
                                )
                                .label("Panther's schema allows a string or a boolean")
                                .help("quote it to pass it as a string, e.g. `returnValue: '[1, 2]'`"),
                            );
                            None
                        }
                    });
                if let (Some(name), Some(value)) = (name, value) {
                    mocks.push(crate::ir::Mock { name, value, line: self.line(item.span) });
                }
            }
        }
        let expect = Expectations {
            title: m.get("ExpectedTitle").and_then(|n| self.string(n, "ExpectedTitle").map(str::to_string)),
            dedup: m.get("ExpectedDedup").and_then(|n| self.string(n, "ExpectedDedup").map(str::to_string)),
            severity: m.get("ExpectedSeverity").and_then(|n| self.severity(n, "ExpectedSeverity")),
            context: m.get("ExpectedAlertContext").and_then(|n| {
                if n.as_map().is_none() {
                    self.report(
                        self.error(
                            n.span,
                            format!("`ExpectedAlertContext` must be a mapping, found {}", n.kind()),
                        )
                        .label("expected a mapping"),
                    );
                    return None;
                }
                Some(n.to_json().to_string())
            }),
        };
        let (name, name_node) = (name?, name_node?);
        let Some(function) = names::snake_case(name, "case_") else {
            self.report(
                self.error(name_node.span, format!("test name `{name}` has no letters or digits"))
                    .label("cannot name a test function")
                    .help("test functions are named after the test: use letters or digits"),
            );
            return None;
        };
        let case = TestCase {
            name: name.to_string(),
            function,
            line: self.line(node.span),
            expected: expected?,
            log: log?,
            expect,
            mocks,
        };
        Some((case, name_node.span))
    }
}
