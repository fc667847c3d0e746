//! The engine over the shipped seed rule `AWS.EC2.StopInstances` alone, so that these tests hold
//! whatever other rules `rules/` holds (the engine over fixture rules is tested in
//! `tests/tests/engine.rs`, the runtime's own parts in `runtime/`).

use detections::{Engine, EventError, Selection, rules};
use serde_json::{Value, json};

fn seed() -> Engine {
    let selection = Selection { rule_ids: vec!["AWS.EC2.StopInstances".into()], ..Selection::default() };
    Engine::new(rules::by_log_type::ALL, &selection)
}

#[test]
fn dispatches_by_given_or_embedded_log_type() {
    let engine = seed();
    let event = json!({"eventName": "StopInstances", "p_log_type": "AWS.CloudTrail"});
    let found = engine.evaluate(&event, None).unwrap();
    assert_eq!(found.iter().map(|m| m.rule.meta.id).collect::<Vec<_>>(), ["AWS.EC2.StopInstances"]);
    let bare = json!({"eventName": "StopInstances"});
    assert_eq!(engine.evaluate(&bare, Some("AWS.CloudTrail")).unwrap().len(), 1);
    assert_eq!(engine.evaluate(&bare, None), Err(EventError::NoLogType));
    assert_eq!(
        engine.evaluate(&bare, Some("Nope.Log")),
        Err(EventError::UnknownLogType { log_type: "Nope.Log".into() })
    );
}

#[test]
fn malformed_bytes_are_typed_errors() {
    let engine = seed();
    let err = |b: &[u8]| engine.evaluate_bytes(b, Some("AWS.CloudTrail")).unwrap_err();
    assert!(matches!(err(b"{\"a\": \xff}"), EventError::InvalidUtf8 { valid_up_to: 6 }));
    assert!(matches!(err(b"{\"a\": "), EventError::InvalidJson { .. }));
    assert_eq!(err(b"[1, 2]"), EventError::NotAnObject { found: "an array" });
    assert!(matches!(err(b""), EventError::InvalidJson { .. }));
    let ok = engine.evaluate_bytes(br#"{"eventName": "StopInstances"}"#, Some("AWS.CloudTrail")).unwrap();
    assert_eq!(ok.matches.len(), 1);
    assert_eq!(ok.log_type, "AWS.CloudTrail");
    assert!(ok.event.is_some());
    let none =
        engine.evaluate_bytes(br#"{"eventName": "DescribeInstances"}"#, Some("AWS.CloudTrail")).unwrap();
    assert!(none.matches.is_empty() && none.event.is_none());
    let embedded =
        engine.evaluate_bytes(br#"{"eventName": "StopInstances", "p_log_type": "AWS.CloudTrail"}"#, None);
    assert_eq!(embedded.unwrap().matches.len(), 1);
    assert_eq!(engine.evaluate_bytes(br#"{"eventName": "x"}"#, None).unwrap_err(), EventError::NoLogType);
}

/// `p_log_type` is read as rules read fields, by both paths: exact key first, then ignoring
/// ASCII case (found by fuzzing: the generic path once read it exactly only).
#[test]
fn both_paths_find_the_log_type_alike() {
    let engine = seed();
    for text in [
        r#"{"P_LOG_TYPE": "x"}"#,
        r#"{"P_Log_Type": "AWS.CloudTrail", "eventName": "StopInstances"}"#,
        r#"{"P_LOG_TYPE": "x", "p_log_type": "AWS.CloudTrail", "eventName": "StopInstances"}"#,
        r#"{"p_log_type": 7}"#,
    ] {
        let value: Value = serde_json::from_str(text).unwrap();
        let fast = engine.evaluate_bytes(text.as_bytes(), None).map(|e| e.matches.len());
        let generic = engine.evaluate(&value, None).map(|m| m.len());
        assert_eq!(fast, generic, "{text}");
    }
}
