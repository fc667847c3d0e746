//! Unit tests of checking: what valid YAML becomes in the IR. (The exact messages for
//! malformed rules are pinned by the golden tests in `codegen/tests/diagnostics`.)

use super::*;
use crate::ir::{Expr, Lit, Num, Path, Segment, Test};

fn rule(yaml: &str) -> Rule {
    let file = SourceFile { path: "rules/test_rule.yml".into(), text: yaml.into() };
    let (rule, diags) = check_file(&file);
    assert!(diags.iter().all(|d| !d.is_error()), "{}", crate::diag::render(&diags, &[file], false));
    rule.expect("a rule")
}

const HEAD: &str =
    "AnalysisType: rule\nRuleID: Test.Rule\nEnabled: true\nSeverity: High\nLogTypes: [Test.Log]\n";

fn key(k: &str) -> Path {
    Path { segments: vec![Segment::Key(k.into())], text: k.into() }
}

#[test]
fn minimal_rule_and_defaults() {
    let r = rule(&format!(
        "{HEAD}Detection:\n  - Key: eventName\n    Condition: Equals\n    Value: StopInstances\n"
    ));
    assert_eq!(r.id, "Test.Rule");
    assert_eq!(r.module, "test_rule");
    assert_eq!(r.dedup_period_minutes, 60);
    assert_eq!(r.threshold, 1);
    assert!(r.create_alert);
    assert_eq!(r.detection.len(), 1);
    assert_eq!(r.detection[0].line, 7);
    assert_eq!(
        r.detection[0].expr,
        Expr::Test {
            path: key("eventName"),
            test: Test::Equals(Lit::Str("StopInstances".into())),
            negated: false
        }
    );
}

#[test]
fn top_level_all_is_flattened_into_steps() {
    let r = rule(&format!(
        "{HEAD}Detection:\n  - All:\n      - Key: a\n        Condition: Exists\n      - Key: b\n        Condition: IsNull\n"
    ));
    let lines: Vec<u32> = r.detection.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![8, 10]);
}

#[test]
fn negations_and_values_keep_their_types() {
    let r = rule(&format!(
        "{HEAD}Detection:\n  - {{Key: port, Condition: DoesNotEqual, Value: 443}}\n  - {{Key: port, Condition: IsIn, Values: ['443', 1.5, true]}}\n  - {{Key: ip, Condition: IsIPAddressPublic, Value: false}}\n  - {{Key: name, Condition: IContains, Value: ÄDMIN}}\n"
    ));
    assert_eq!(
        r.detection[0].expr,
        Expr::Test { path: key("port"), test: Test::Equals(Lit::Num(Num::Int(443))), negated: true }
    );
    assert_eq!(
        r.detection[1].expr,
        Expr::Test {
            path: key("port"),
            test: Test::IsIn(vec![Lit::Str("443".into()), Lit::Num(Num::Float(1.5)), Lit::Bool(true)]),
            negated: false
        }
    );
    assert_eq!(
        r.detection[2].expr,
        Expr::Test { path: key("ip"), test: Test::IsIp(crate::ir::IpKind::Public), negated: true }
    );
    assert_eq!(
        r.detection[3].expr,
        Expr::Test { path: key("name"), test: Test::IContains("ädmin".into()), negated: false }
    );
}

#[test]
fn specifiers() {
    let r = rule(&format!(
        "{HEAD}Detection:\n  - {{DeepKey: [a, 0, b], Condition: Exists}}\n  - {{KeyPath: 'a[*].b', Condition: Exists}}\n  - Enrichment: {{Table: t, Selector: s, FieldPath: f.g}}\n    Condition: Exists\n"
    ));
    let path = |i: usize| match &r.detection[i].expr {
        Expr::Test { path, .. } => path.text.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(path(0), "a[0].b");
    assert_eq!(path(1), "a[*].b");
    assert_eq!(path(2), "p_enrichment.t.s.f.g");
}

#[test]
fn outputs_and_tests() {
    let r = rule(&format!(
        "{HEAD}Detection: [{{Condition: AlwaysTrue}}]\nAlertTitle: 'User {{user.name}} did {{{{x}}}}'\nGroupBy: [{{Key: user}}]\nAlertContext:\n  - KeyName: who\n    KeyValue: {{KeyPath: user.name}}\nDynamicSeverities:\n  - ChangeTo: CRITICAL\n    Conditions: [{{Key: admin, Condition: Equals, Value: true}}]\nTests:\n  - Name: My first test!\n    ExpectedResult: true\n    ExpectedTitle: User x did {{x}}\n    Log: {{user: {{name: x}}}}\n"
    ));
    let title = r.title.unwrap();
    assert_eq!(title.parts.len(), 3);
    assert_eq!(r.group_by, vec![key("user")]);
    assert_eq!(r.context[0].name, "who");
    assert_eq!(r.dynamic_severities[0].severity, crate::ir::Severity::Critical);
    assert_eq!(r.tests[0].function, "my_first_test");
    assert_eq!(r.tests[0].line, 16);
    assert_eq!(r.tests[0].log, r#"{"user":{"name":"x"}}"#);
    assert_eq!(r.tests[0].expect.title.as_deref(), Some("User x did {x}"));
}

#[test]
fn dedup_below_five_is_raised_with_a_warning() {
    let file = SourceFile {
        path: "rules/x.yml".into(),
        text: format!("{HEAD}DedupPeriodMinutes: 1\nDetection: [{{Condition: AlwaysTrue}}]\n"),
    };
    let (rule, diags) = check_file(&file);
    assert_eq!(rule.unwrap().dedup_period_minutes, 5);
    assert_eq!(diags.len(), 1);
    assert!(!diags[0].is_error());
}

#[test]
fn duplicate_rule_ids_name_both_files() {
    let text = format!("{HEAD}Detection: [{{Condition: AlwaysTrue}}]\n");
    let files = [
        SourceFile { path: "rules/a.yml".into(), text: text.clone() },
        SourceFile { path: "rules/b.yml".into(), text },
    ];
    let (rules, diags) = check_all(&files);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].path, "rules/b.yml");
    assert_eq!(diags[0].related[0].path, "rules/a.yml");
    assert_eq!(rules.len(), 1);
}
