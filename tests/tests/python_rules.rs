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

/// `a or b` where `a` raises: CPython stops there (a rule error, no alert), so the IR's `Any`
/// (false, then `b`) must not decide alone.
#[test]
fn a_disjunct_that_raises_is_no_match_though_the_next_holds() {
    let engine = engine("Fixture.Python.LoweringOr");
    let event = json!({"path": null, "verb": "delete"});
    assert!(matched(&engine, &event).is_empty());
    let evaluated =
        engine.evaluate_bytes(event.to_string().as_bytes(), Some("Fixture.Python")).expect("valid");
    assert_eq!(
        evaluated.errors,
        [(
            "Fixture.Python.LoweringOr",
            "AttributeError: 'NoneType' object has no attribute 'startswith'".to_string()
        )]
    );
    assert_eq!(matched(&engine, &json!({"path": "/home", "verb": "delete"})), ["Fixture.Python.LoweringOr"]);
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

#[test]
fn containers_in_module_state_outlive_the_events_they_came_from() {
    // `Fixture.Python.StateContainers`: rule() keeps the set of users seen and the list of event
    // names (fresh containers, read elsewhere only through copies); the expectations are those
    // CPython gives for the fixture's first two test cases.
    let engine = engine("Fixture.Python.StateContainers");
    let eval = |event: serde_json::Value| {
        // The event's bytes are dropped before module state is read again.
        let bytes = event.to_string().into_bytes();
        let evaluated = engine.evaluate_bytes(&bytes, Some("Fixture.Python")).expect("valid");
        assert!(evaluated.errors.is_empty(), "{:?}", evaluated.errors);
        evaluated.matches.first().map(|m| (m.outputs.title.clone(), m.outputs.dedup.clone()))
    };
    assert_eq!(eval(json!({"name": "first", "users": ["bob", "alice"]})), None);
    assert_eq!(
        eval(json!({"name": "second", "users": ["alice", "carol"]})),
        Some(("3 users after second: alice, bob, carol".to_string(), "first-second".to_string()))
    );
}

/// The store fixture (`Fixture.Python.Store`) in an engine whose store's clock is `clock`.
fn store_engine(clock: fn() -> f64) -> (Engine, std::sync::Arc<dyn detections::StateStore>) {
    let store: std::sync::Arc<dyn detections::StateStore> =
        std::sync::Arc::new(detections::MemoryStore::with_clock(clock));
    (engine("Fixture.Python.Store").with_store(store.clone()), store)
}

/// Evaluates `event` once (the rule writes to the store: twice would count twice), returning
/// the title of the match, if it matched.
fn store_eval(engine: &Engine, event: serde_json::Value) -> Option<String> {
    let evaluated =
        engine.evaluate_bytes(event.to_string().as_bytes(), Some("Fixture.Python")).expect("valid");
    assert!(evaluated.errors.is_empty(), "{:?}", evaluated.errors);
    evaluated.matches.first().map(|m| m.outputs.title.clone())
}

/// What the helpers do across events in production, as `panther_detection_helpers.caching`
/// does over DynamoDB (expectations reasoned from its source: no DynamoDB runs here).
#[test]
fn the_store_keeps_state_across_events() {
    fn clock() -> f64 {
        1_700_000_000.25
    }
    let (engine, store) = store_engine(clock);
    let distinct = |actor: &str, item: &str| json!({"mode": "distinct", "actor": actor, "item": item});
    assert_eq!(store_eval(&engine, distinct("alice", "a")), None);
    // First write: `epoch_seconds=3600`, relative to int(now).
    let item = store.get("fixture-distinct-alice").unwrap().expect("written");
    assert_eq!(item.string_set, Some(vec!["a".to_string()]));
    assert_eq!(item.expires_at, Some(1_700_000_000 + 3600));
    assert_eq!(store_eval(&engine, distinct("alice", "b")), None);
    // Later writes pass `epoch_seconds=None`: put_string_set's TTL is then 90 days from now.
    let item = store.get("fixture-distinct-alice").unwrap().expect("written");
    assert_eq!(item.expires_at, Some(1_700_000_000 + 90 * 86_400));
    assert_eq!(store_eval(&engine, distinct("bob", "z")), None, "another actor, another key");
    // The title runs after rule() wrote the third item.
    assert_eq!(store_eval(&engine, distinct("alice", "c")).as_deref(), Some("alice touched 3 items before"));
    assert_eq!(store_eval(&engine, distinct("alice", "a")).as_deref(), Some("alice touched 3 items before"));
    // check_account_age reads the string set another rule wrote (force_ttl_check=True).
    let account = |a: &str| json!({"mode": "new_account", "account": a});
    assert!(store_eval(&engine, account("fixture-distinct-alice")).is_some());
    assert!(store_eval(&engine, account("fixture-distinct-nobody")).is_none());
    assert!(store_eval(&engine, account("")).is_none());
    // Dictionaries are JSON text; get_dictionary of a missing key is {}.
    let login = |city: &str| json!({"mode": "location", "user": "carol", "city": city});
    assert_eq!(store_eval(&engine, login("Paris")), None);
    assert_eq!(store.get("carol").unwrap().and_then(|i| i.dictionary).as_deref(), Some("{\"Paris\": 1}"));
    assert_eq!(store_eval(&engine, login("Paris")), None);
    assert_eq!(store_eval(&engine, login("Lyon")).as_deref(), Some("carol logged in from Lyon"));
    // Counters add up.
    for _ in 0..3 {
        assert!(store_eval(&engine, json!({"mode": "counter", "user": "dave", "by": 2})).is_some());
    }
    assert_eq!(store.get("fixture-counter-dave").unwrap().and_then(|i| i.count), Some(6));
    // In production the store is reachable: the helper returns an empty set, no exception.
    assert_eq!(store_eval(&engine, json!({"mode": "unreachable", "unreachable_matches": true})), None);
}

#[test]
fn keys_expire_on_the_stores_clock() {
    static NOW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1_700_000_000);
    fn clock() -> f64 {
        NOW.load(std::sync::atomic::Ordering::SeqCst) as f64
    }
    let (engine, _store) = store_engine(clock);
    let distinct = |item: &str| json!({"mode": "distinct", "actor": "erin", "item": item});
    assert_eq!(store_eval(&engine, distinct("a")), None);
    assert_eq!(store_eval(&engine, distinct("b")), None);
    // Still live one second before the 90-day TTL the second write set…
    NOW.store(1_700_000_000 + 90 * 86_400 - 1, std::sync::atomic::Ordering::SeqCst);
    assert!(store_eval(&engine, distinct("c")).is_some());
    // …and gone once the clock reaches it (the third write set a new TTL: 90 days on).
    NOW.store(1_700_000_000 + 2 * 90 * 86_400, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(store_eval(&engine, distinct("d")), None, "the items expired: d is the first again");
    assert_eq!(store_eval(&engine, distinct("e")), None);
    assert!(store_eval(&engine, distinct("f")).is_some());
}

#[test]
fn engines_given_one_store_share_it() {
    fn clock() -> f64 {
        1_700_000_000.0
    }
    let (first, store) = store_engine(clock);
    let second = engine("Fixture.Python.Store").with_store(store.clone());
    let third = engine("Fixture.Python.Store"); // its own in-memory store
    let distinct = |item: &str| json!({"mode": "distinct", "actor": "frank", "item": item});
    assert_eq!(store_eval(&first, distinct("a")), None);
    assert_eq!(store_eval(&second, distinct("b")), None);
    assert_eq!(store_eval(&third, distinct("c")), None, "a store of its own saw only c");
    assert!(store_eval(&first, distinct("c")).is_some(), "the shared store saw a and b");
    // A counter increment that DynamoDB refuses is a rule error, never a different verdict.
    let evaluated = first
        .evaluate_bytes(
            json!({"mode": "counter", "user": "x", "by": "2"}).to_string().as_bytes(),
            Some("Fixture.Python"),
        )
        .expect("valid");
    assert!(evaluated.matches.is_empty());
    assert!(evaluated.errors[0].1.contains("counter increment of type 'str'"), "{:?}", evaluated.errors);
}

#[test]
fn without_a_store_the_helpers_raise_as_in_cpython() {
    let engine = engine("Fixture.Python.Store").with_store(std::sync::Arc::new(detections::NoStore));
    let event = json!({"mode": "new_account", "account": "123"});
    let evaluated =
        engine.evaluate_bytes(event.to_string().as_bytes(), Some("Fixture.Python")).expect("valid");
    assert!(evaluated.matches.is_empty());
    assert_eq!(
        evaluated.errors,
        [("Fixture.Python.Store", "NoRegionError: You must specify a region.".to_string())]
    );
    // The rule catches it where it says so, as Python does.
    let caught = json!({"mode": "unreachable", "unreachable_matches": true});
    assert!(store_eval(&engine, caught).is_some());
}
