//! Python rules (the fixtures of `tests/rules/python/`) in the engine, beside their own tests:
//! `InlineFilters` apply in the engine (as in Panther's production) though `pat test` and the
//! rule's tests skip them; an exception in `rule()` is no match; the bytes path and the `Value`
//! path give the same verdicts and outputs.

use detections::{Engine, Selection};
use integration_tests::rules;
use serde_json::json;

fn engine(id: &str) -> Engine {
    Engine::new(rules::by_log_type::ALL, &Selection { rule_ids: vec![id.to_string()], ..Default::default() })
}

fn matched(engine: &Engine, event: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    engine.matching_value(event, Some("Fixture.Python"), &mut out).expect("a valid event");
    let by_value: Vec<String> = out.iter().map(|r| r.meta.id.to_string()).collect();
    out.clear();
    let bytes = event.to_string();
    engine.matching(bytes.as_bytes(), Some("Fixture.Python"), &mut out).expect("valid bytes");
    let by_bytes: Vec<String> = out.iter().map(|r| r.meta.id.to_string()).collect();
    assert_eq!(by_value, by_bytes, "both paths decide alike on {event}");
    by_value
}

#[test]
fn inline_filters_run_before_a_python_rule() {
    let engine = engine("Fixture.Python.Model");
    let base = json!({"p_log_type": "Fixture.Python", "verb": "delete", "target": {"kind": "bucket"}});
    assert_eq!(matched(&engine, &base), ["Fixture.Python.Model"]);
    let mut blocked = base.clone();
    blocked["region"] = json!("blocked");
    assert!(matched(&engine, &blocked).is_empty(), "the filter `region DoesNotEqual blocked` rules it out");
}

#[test]
fn an_exception_in_rule_is_no_match() {
    let engine = engine("Fixture.Python.Control");
    // `item.get` on a string item raises AttributeError in rule(): Panther records a rule error.
    let event = json!({"eventName": "DeleteTrail", "actors": ["admin"], "items": ["not a mapping"]});
    assert!(matched(&engine, &event).is_empty());
    let rule = rules::ALL.iter().find(|r| r.meta.id == "Fixture.Python.Control").expect("fixture");
    let py = rule.python.expect("a Python rule");
    let err = py.matches(&event).expect_err("rule() raises");
    assert_eq!(err.to_string(), "AttributeError: 'str' object has no attribute 'get'");
    // The engine reports it with the event, for a scan to count per rule.
    let evaluated =
        engine.evaluate_bytes(event.to_string().as_bytes(), Some("Fixture.Python")).expect("valid");
    assert!(evaluated.matches.is_empty());
    assert_eq!(
        evaluated.errors,
        [("Fixture.Python.Control", "AttributeError: 'str' object has no attribute 'get'".to_string())]
    );
    // And only with that event.
    let fine = json!({"eventName": "ListTrails"});
    let evaluated =
        engine.evaluate_bytes(fine.to_string().as_bytes(), Some("Fixture.Python")).expect("valid");
    assert!(evaluated.errors.is_empty());
}

#[test]
fn outputs_are_the_same_from_bytes_and_from_values() {
    let engine = engine("Fixture.Python.Values");
    let event =
        json!({"kind": "values", "user": {"name": "Ann"}, "tags": ["x"], "count": 2, "records": [{"id": 1}]});
    let from_value = engine.evaluate(&event, Some("Fixture.Python")).expect("valid");
    let from_bytes =
        engine.evaluate_bytes(event.to_string().as_bytes(), Some("Fixture.Python")).expect("valid");
    assert_eq!(from_value.len(), 1);
    assert_eq!(from_value[0].outputs, from_bytes.matches[0].outputs);
    assert_eq!(
        from_value[0].outputs.title,
        "ImmutableCaseInsensitiveDict({'name': 'Ann'}) ImmutableList(('x',)) [1, 2.5, None, True] None 1e+16 0.30000000000000004"
    );
}

#[test]
fn a_non_bool_verdict_is_an_error_not_a_match() {
    // panther_core requires rule() to return a bool and title() a str; anything else raises
    // FunctionReturnTypeError (no alert), as the compiled rule does.
    let rule = rules::ALL.iter().find(|r| r.meta.id == "Fixture.Python.Verdicts").expect("fixture");
    let py = rule.python.expect("a Python rule");
    assert_eq!(py.matches(&json!({"verdict": true})), Ok(true));
    assert_eq!(py.matches(&json!({"verdict": false})), Ok(false));
    for (value, type_name) in
        [(json!("yes"), "str"), (json!(null), "NoneType"), (json!(1), "int"), (json!([]), "ImmutableList")]
    {
        let err = py.matches(&json!({"verdict": value})).expect_err("not a bool");
        assert_eq!(
            err.to_string(),
            format!(
                "FunctionReturnTypeError: detection [Fixture.Python.Verdicts] function [rule] returned [{type_name}], expected [bool]"
            )
        );
    }
    assert!(matched(&engine("Fixture.Python.Verdicts"), &json!({"verdict": "yes"})).is_empty());
    // A title that is not a str: in production the title becomes the RuleID, and so does the
    // dedup string (it falls back on the title); an empty title keeps the dedup default.
    let outputs = rule.outputs(&json!({"verdict": true, "title": 42}));
    assert_eq!(
        (outputs.title.as_str(), outputs.dedup.as_str()),
        ("Fixture.Python.Verdicts", "Fixture.Python.Verdicts")
    );
    let outputs = rule.outputs(&json!({"verdict": true, "title": "t"}));
    assert_eq!((outputs.title.as_str(), outputs.dedup.as_str()), ("t", "t"));
}

#[test]
fn module_state_carries_from_event_to_event_on_a_thread() {
    // `Fixture.Python.State`: rule() counts events in SEEN; title() shows the dedup string of the
    // previous alert (dedup() runs after it and assigns it).
    let title = |engine: &Engine, event: serde_json::Value| {
        let matches = engine.evaluate(&event, Some("Fixture.Python")).expect("valid");
        assert_eq!(matches.len(), 1, "{event} matches");
        (matches[0].outputs.title.clone(), matches[0].outputs.severity)
    };
    let engine = engine("Fixture.Python.State");
    let (first, _) = title(&engine, json!({"actors": ["admin-a"]}));
    assert_eq!(first, "[admin-a] case 1 after [<none yet>] pair ('admin-a', 1)");
    // Verdicts only: the alert functions still run on a match, as in Panther.
    let mut out = Vec::new();
    engine
        .matching(json!({"actors": ["admin-b"]}).to_string().as_bytes(), Some("Fixture.Python"), &mut out)
        .expect("valid");
    assert_eq!(out.len(), 1);
    let (third, severity) = title(&engine, json!({"actors": ["admin-c"], "ask_risk": true}));
    assert_eq!(third, "[admin-c] case 3 after [admin-b-2] pair ('admin-c', 3)");
    // severity() read RISK, never assigned: NameError, so the rule's own severity.
    assert_eq!(severity, detections::Severity::Medium);
    // A new engine imports the module anew.
    let engine = self::engine("Fixture.Python.State");
    let (again, _) = title(&engine, json!({"actors": ["admin-d"]}));
    assert_eq!(again, "[admin-d] case 1 after [<none yet>] pair ('admin-d', 1)");
}
