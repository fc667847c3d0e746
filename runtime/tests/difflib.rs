//! The port of `difflib.SequenceMatcher(None, a, b).ratio()` against CPython's:
//! `difflib/cases.json` holds generated string pairs and CPython's ratios (as `float.hex()`,
//! with `autojunk` on and off), recomputed by `scripts/difflib/run.sh`. Every ratio must be the
//! same float.

use detections_runtime::py::Obj;
use detections_runtime::py::stdlib::difflib::ratio;

/// `float.fromhex` for what `float.hex()` prints (`0x1.8000000000000p-1`, `0x0.0p+0`).
fn from_hex(s: &str) -> f64 {
    let (mantissa, exponent) = s.trim_start_matches("0x").split_once('p').expect("an exponent");
    let (int, frac) = mantissa.split_once('.').expect("a point");
    let bits = u64::from_str_radix(&format!("{int}{frac}"), 16).expect("hex digits");
    let exponent: i32 = exponent.parse().expect("an exponent");
    bits as f64 * 2f64.powi(exponent - 4 * frac.len() as i32)
}

#[test]
fn the_port_agrees_with_cpython_on_generated_pairs() {
    let cases: Vec<(String, String, String, String)> =
        serde_json::from_str(include_str!("difflib/cases.json")).expect("cases.json");
    assert!(cases.len() >= 1000);
    let mut failures = Vec::new();
    for (a, b, junk, no_junk) in &cases {
        for (autojunk, expected) in [(true, junk), (false, no_junk)] {
            let got = ratio(&Obj::str(a), &Obj::str(b), autojunk).unwrap();
            let Obj::Float(got) = got else { panic!("a float") };
            if got.to_bits() != from_hex(expected).to_bits() {
                failures
                    .push(format!("{a:?} vs {b:?} (autojunk={autojunk}): CPython {expected}, port {got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} differ:\n{}", failures.len(), failures.join("\n"));
}
