//! Selections over the fixture rules of this crate (whatever `rules/` at the workspace root
//! holds): each narrows the rules as documented, and they combine.

use detections::{Engine, Selection, Severity};
use integration_tests::rules;

fn select(selection: Selection) -> Vec<&'static detections::Rule> {
    Engine::new(rules::by_log_type::ALL, &selection).rules().to_vec()
}

#[test]
fn selections_narrow_the_rules() {
    let all = rules::ALL;
    let one = select(Selection { rule_ids: vec!["AWS.EC2.StopInstances".into()], ..Default::default() });
    assert_eq!(one.iter().map(|r| r.meta.id).collect::<Vec<_>>(), ["AWS.EC2.StopInstances"]);
    let high = select(Selection { min_severity: Some(Severity::High), ..Default::default() });
    assert!(!high.is_empty() && high.iter().all(|r| r.meta.severity >= Severity::High && r.meta.enabled));
    let semantics = select(Selection { log_types: vec!["Test.Semantics".into()], ..Default::default() });
    assert!(!semantics.is_empty() && semantics.iter().all(|r| r.meta.log_types.contains(&"Test.Semantics")));
    let tagged = select(Selection { tags: vec!["PANTHER-SIGNAL".into()], ..Default::default() });
    assert!(tagged.iter().any(|r| r.meta.id == "AWS.EC2.StopInstances"));
    assert!(tagged.iter().all(|r| r.meta.tags.iter().any(|t| t.eq_ignore_ascii_case("panther-signal"))));
    let enabled = select(Selection::default());
    let everything = select(Selection { include_disabled: true, ..Default::default() });
    assert_eq!(everything.len(), all.len());
    assert!(enabled.iter().all(|r| r.meta.enabled));
    assert!(!enabled.iter().any(|r| r.meta.id == "Semantics.DisabledRule"));
    assert!(everything.iter().any(|r| r.meta.id == "Semantics.DisabledRule"));
    let both = select(Selection {
        log_types: vec!["AWS.CloudTrail".into()],
        min_severity: Some(Severity::High),
        ..Default::default()
    });
    let ids = |rules: &[&detections::Rule]| rules.iter().map(|r| r.meta.id).collect::<Vec<_>>();
    let high_cloudtrail: Vec<_> =
        high.iter().copied().filter(|r| r.meta.log_types.contains(&"AWS.CloudTrail")).collect();
    assert!(!both.is_empty());
    assert_eq!(ids(&both), ids(&high_cloudtrail));
    let selection = Selection { rule_ids: vec!["No.Such.Rule".into()], ..Default::default() };
    assert_eq!(selection.unknown_ids(all), ["No.Such.Rule"]);
}
