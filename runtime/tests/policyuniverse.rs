//! The port of `policyuniverse` against CPython's: `policyuniverse/cases.json` holds generated
//! policies and what CPython's policyuniverse makes of each, as a `dict` from `json.loads` and as
//! Panther's case-insensitive wrapper (recomputed by `scripts/policyuniverse/run.sh`). Every
//! case must give the same statements (effect, principals, condition entries, actions, as
//! `repr`), the same verdict, and the same exception class where CPython raises; where
//! CPython's verdict depends on its set order, the port must refuse to answer.

use detections_runtime::py::stdlib::{json_loads, policyuniverse};
use detections_runtime::py::{Exc, Obj, attribute, iter, repr};
use serde_json::{Value, json};

fn error(e: &Exc) -> String {
    if e.internal { format!("internal {}: {}", e.kind, e.message) } else { e.kind.to_string() }
}

fn reprs(x: &Obj<'_>) -> Vec<String> {
    let mut out: Vec<String> = iter(x).expect("a set").iter().map(repr).collect();
    out.sort();
    out
}

/// What the port makes of `doc`, in the shape the generator records.
fn outcome(doc: &Obj<'_>) -> Value {
    let policy = match policyuniverse::policy(doc) {
        Ok(p) => p,
        Err(e) => return json!({ "error": error(&e) }),
    };
    let mut statements = Vec::new();
    for s in iter(&attribute(&policy, "statements").unwrap()).unwrap() {
        let get = |name: &str| attribute(&s, name).unwrap();
        statements.push(json!({
            "effect": repr(&get("effect")),
            "principals": reprs(&get("principals")),
            "conditions": iter(&get("condition_entries")).unwrap().iter().map(repr).collect::<Vec<_>>(),
            "actions": reprs(&get("actions")),
        }));
    }
    let mut out = json!({ "statements": statements });
    match policyuniverse::is_internet_accessible(&policy) {
        Ok(b) => out["accessible"] = json!(b),
        Err(e) => out["error_in_verdict"] = json!(error(&e)),
    }
    out
}

fn check(case: usize, form: &str, expected: &Value, actual: &Value, failures: &mut Vec<String>) {
    let mut expected = expected.clone();
    let order_dependent =
        expected.as_object_mut().and_then(|o| o.remove("order_dependent")) == Some(json!(true));
    if order_dependent {
        // CPython's verdict is whichever principal its set order visits first: the port must
        // not pick one.
        let refused = actual["error_in_verdict"].as_str().is_some_and(|e| e.starts_with("internal"));
        if !refused || expected["statements"] != actual["statements"] {
            failures.push(format!("case {case} ({form}, order-dependent): expected a refusal, got {actual}"));
        }
        return;
    }
    if &expected != actual {
        failures.push(format!("case {case} ({form}):\n  CPython: {expected}\n  port:    {actual}"));
    }
}

#[test]
fn the_port_agrees_with_cpython_on_generated_policies() {
    let text = include_str!("policyuniverse/cases.json");
    let cases: Vec<Value> = serde_json::from_str(text).expect("cases.json");
    assert!(cases.len() >= 1000, "too few cases: {}", cases.len());
    let mut failures = Vec::new();
    let (mut accessible, mut raised) = (0, 0);
    for (i, case) in cases.iter().enumerate() {
        let source = serde_json::to_string(&case["policy"]).unwrap();
        let plain = json_loads(&[Obj::string(source)]).expect("the policy's JSON");
        let actual = outcome(&plain);
        accessible += usize::from(actual["accessible"] == json!(true));
        raised += usize::from(actual.get("error").is_some() || actual.get("error_in_verdict").is_some());
        check(i, "dict", &case["plain"], &actual, &mut failures);
        let wrapped = Obj::from_json(&case["policy"]).expect("no integer beyond 64 bits");
        check(i, "Panther's wrapper", &case["wrapped"], &outcome(&wrapped), &mut failures);
    }
    assert!(
        accessible > 50 && raised > 50,
        "the cases cover too little: {accessible} accessible, {raised} raise"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}
