//! What a detection engineer reads when a rule test fails: the YAML file and line of the test
//! case, its name, expected and actual verdicts, and the expression that decided.

use detections::Severity;
use detections::testing::{Case, run};
use integration_tests::rules;

#[test]
fn a_missed_match_names_the_expression_that_failed() {
    let case = Case::new("should match", 12, true, r#"{"eventName": "StartInstances"}"#);
    let report = run(&rules::equals_string::RULE, &case).expect_err("fails");
    assert_eq!(
        report,
        "tests/rules/semantics/equals_string.yml:12: test `should match` of rule `Semantics.EqualsString` failed
  expected: match (ExpectedResult: true)
  actual:   no match
  decided by the expression at tests/rules/semantics/equals_string.yml:7, which does not hold:
    7 |   - KeyPath: eventName"
    );
}

#[test]
fn an_unexpected_match_says_every_expression_held() {
    let case = Case::new("should not match", 30, false, r#"{"eventName": "StopInstances"}"#);
    let report = run(&rules::equals_string::RULE, &case).expect_err("fails");
    assert!(report.contains("expected: no match (ExpectedResult: false)\n  actual:   match\n"), "{report}");
    assert!(
        report.ends_with("decided by: every expression of InlineFilters and Detection holds"),
        "{report}"
    );
}

#[test]
fn a_failing_inline_filter_is_named_too() {
    let case = Case::new("filtered", 20, true, r#"{"eventSource": "iam.amazonaws.com"}"#);
    let report = run(&rules::inline_filter::RULE, &case).expect_err("fails");
    assert!(
        report.contains("decided by the expression at tests/rules/semantics/inline_filter.yml:7"),
        "{report}"
    );
}

#[test]
fn wrong_expected_outputs_are_each_reported() {
    let event = r#"{"user": {"name": "alice", "admin": false}, "ip": "10.0.0.1"}"#;
    let case = Case {
        title: Some("wrong title"),
        severity: Some(Severity::Critical),
        context: Some(r#"{"user": null}"#),
        ..Case::new("outputs", 40, true, event)
    };
    let report = run(&rules::alert_outputs::RULE, &case).expect_err("fails");
    assert!(report.contains("  ExpectedTitle:\n    expected: wrong title\n    actual:   User alice () from 10.0.0.1 flags  in {literal}"), "{report}");
    assert!(report.contains("  ExpectedSeverity:\n    expected: Critical\n    actual:   High"), "{report}");
    assert!(report.contains("  ExpectedAlertContext:\n    expected: {\"user\": null}"), "{report}");
    assert!(!report.contains("ExpectedDedup"), "{report}");
}

#[test]
fn a_passing_case_passes() {
    let case = Case::new("ok", 1, true, r#"{"eventName": "StopInstances"}"#);
    assert_eq!(run(&rules::equals_string::RULE, &case), Ok(()));
}

#[test]
fn every_fixture_rule_is_registered_once() {
    let ids: std::collections::BTreeSet<&str> = rules::ALL.iter().map(|r| r.meta.id).collect();
    assert_eq!(ids.len(), rules::ALL.len());
    assert!(ids.contains("Semantics.ScheduledRule"));
    let scheduled = rules::ALL.iter().find(|r| r.meta.id == "Semantics.ScheduledRule").unwrap();
    assert!(scheduled.meta.scheduled);
    assert_eq!(scheduled.meta.log_types, ["Failed logins per user"]);
    let disabled = rules::ALL.iter().find(|r| r.meta.id == "Semantics.DisabledRule").unwrap();
    assert!(!disabled.meta.enabled);
}
