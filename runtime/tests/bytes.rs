//! The runtime's `bytes` against CPython's: `bytes/cases.json` holds generated inputs and what
//! CPython 3.11 did with them (`base64.b64decode` with and without `validate`, `bytes.decode`
//! with `ascii`, `utf-8` and `utf-16-le`, `str.encode("ascii")`, `repr` of the bytes; an
//! exception as its `repr`), recomputed by `scripts/bytes/run.sh`. Every outcome must be the same.

use std::collections::BTreeMap;

use detections_runtime::py::stdlib::bytes::{as_bytes, b64decode, decode, encode};
use detections_runtime::py::{Obj, R, repr};

fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// The outcome as the generator writes it.
fn outcome(r: R<Obj<'_>>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match r {
        Err(e) => {
            out.insert("err".into(), e.python_repr());
        }
        Ok(v) => match as_bytes(&v) {
            Some(b) => {
                out.insert("bytes".into(), hex(b));
                out.insert("repr".into(), repr(&v));
            }
            None => {
                out.insert("str".into(), v.as_str().expect("a str").to_string());
            }
        },
    }
    out
}

#[test]
fn bytes_agree_with_cpython_on_generated_inputs() {
    let cases: Vec<(String, String, serde_json::Value, BTreeMap<String, String>)> =
        serde_json::from_str(include_str!("bytes/cases.json")).expect("cases.json");
    assert!(cases.len() >= 3000);
    let mut failures = Vec::new();
    for (op, input, arg, expected) in &cases {
        let got = match op.as_str() {
            "b64decode" => outcome(b64decode(&Obj::str(input), &Obj::Bool(arg.as_bool().expect("validate")))),
            "decode" => outcome(decode(&unhex(input), &Obj::str(arg.as_str().expect("codec")), &Obj::None)),
            "encode" => outcome(encode(input, &Obj::str(arg.as_str().expect("codec")), &Obj::None)),
            other => panic!("unknown case {other}"),
        };
        if &got != expected {
            failures.push(format!("{op}({input:?}, {arg}): CPython {expected:?}, runtime {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} differ:\n{}", failures.len(), failures.join("\n"));
}
