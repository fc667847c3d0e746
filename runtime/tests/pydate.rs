//! The runtime's `datetime.strptime`, `datetime.utcfromtimestamp` and `dateutil.parser.parse`
//! against CPython's: `pydate/cases.json` holds generated inputs and what CPython 3.11 did with
//! them under `TZ=UTC` (the result's `repr` and `str`, or the exception's `repr`), recomputed
//! by `scripts/pydate/run.sh`. The runtime must give the same outcome, or an error `except`
//! cannot catch (an input outside what it models); the test also bounds how often it does that.

use std::collections::BTreeMap;

use detections_runtime::py::stdlib::{datetime, dateutil};
use detections_runtime::py::{Obj, R, repr, str_of};

/// The outcome as the generator writes it (`None`: not modelled).
fn outcome(r: R<Obj<'_>>) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    match r {
        Err(e) if e.internal => return None,
        Err(e) => {
            out.insert("err".into(), e.python_repr());
        }
        Ok(v) => {
            out.insert("repr".into(), repr(&v));
            out.insert("str".into(), str_of(&v));
        }
    }
    Some(out)
}

fn obj<'a>(v: &'a serde_json::Value) -> Obj<'a> {
    match v {
        serde_json::Value::Null => Obj::None,
        serde_json::Value::Bool(b) => Obj::Bool(*b),
        serde_json::Value::Number(n) if n.is_i64() => Obj::Int(n.as_i64().expect("int")),
        serde_json::Value::Number(n) => Obj::Float(n.as_f64().expect("float")),
        serde_json::Value::String(s) => Obj::str(s),
        other => panic!("unexpected argument {other}"),
    }
}

#[test]
fn dates_agree_with_cpython_on_generated_inputs() {
    let cases: Vec<(String, Option<String>, serde_json::Value, BTreeMap<String, String>)> =
        serde_json::from_str(include_str!("pydate/cases.json")).expect("cases.json");
    assert!(cases.len() >= 9000);
    let mut failures = Vec::new();
    let mut modelled: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (op, input, arg, expected) in &cases {
        let input = input.as_deref().map(Obj::str);
        let got = match op.as_str() {
            "strptime" => outcome(datetime::strptime(input.as_ref().expect("string"), &obj(arg))),
            "dateutil" => outcome(dateutil::parse(input.as_ref().unwrap_or(&obj(arg)))),
            "utcfromtimestamp" => outcome(datetime::utcfromtimestamp(&obj(arg))),
            other => panic!("unknown case {other}"),
        };
        let count = modelled.entry(op.as_str()).or_default();
        count.1 += 1;
        let Some(got) = got else { continue };
        count.0 += 1;
        if &got != expected {
            failures.push(format!("{op}({input:?}, {arg}): CPython {expected:?}, runtime {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} differ:\n{}", failures.len(), failures.join("\n"));
    eprintln!("modelled / cases: {modelled:?}");
    // Every `strptime` and `utcfromtimestamp` input is modelled; `dateutil` only its subset.
    for op in ["strptime", "utcfromtimestamp"] {
        let (m, n) = modelled[op];
        assert_eq!(m, n, "{op}: {m} of {n} modelled");
    }
    assert!(modelled["dateutil"].0 >= 2000, "dateutil: {:?} modelled", modelled["dateutil"]);
}
