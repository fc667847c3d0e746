//! Hostile events: inputs built to crash, exhaust or confuse the event readers. Each goes through
//! the fast path's reader (`Scratch::read`), `Engine::evaluate_bytes`, and, when `serde_json`
//! parses it, `Engine::evaluate`: none may panic or overflow the stack (every test runs on a
//! test thread's 2 MiB stack), memory stays proportional to the input, `serde_json` and the
//! fast path accept and reject the same inputs, and both paths give the same matches and alert
//! outputs. What each input yields (also in `tests/README.md`):
//!
//! | input | outcome |
//! |---|---|
//! | 10,000 (or 1,000,000) nested arrays or objects | rejected by both: `recursion limit exceeded` (the 128th nested container, as `serde_json`); 127 levels are evaluated |
//! | an array of 1,000,000 numbers or objects | evaluated; `Semantics.ContainsNumber` / `Semantics.AnyElement` match on the last element. Verdicts alone (`Engine::matching`) read the list in place: under 1 MiB of heap. With outputs (`evaluate_bytes`), a match parses the event into a `serde_json::Value` and clones it: a peak of about 21 times the input for numbers, 49 times for small objects (asserted: under 64) |
//! | 100,000 repetitions of one key | evaluated; the last value counts (`Semantics.EqualsString` matches only if it is `StopInstances`) |
//! | keys differing only in case | the exact key wins, else the first in document order that equals it ignoring ASCII case (with the value of its last repetition) |
//! | `"\ud800"`, `"\ud800\u0041"` (lone leading surrogate), `"\udc00"` (lone trailing) | rejected by both: `unexpected end of hex escape` / `lone leading surrogate in hex escape` |
//! | bytes `ED A0 80` (a surrogate in UTF-8) | rejected: `invalid UTF-8` (`serde_json`: `invalid unicode code point`) |
//! | `1e400`, `-1e400`, a 10,000-digit integer | rejected by both: `number out of range` |
//! | `123456789012345678901234567890`, `18446744073709551616` | evaluated as the nearest `f64` (so `Semantics.IsGreaterThan` matches, `Semantics.EqualsUnsigned64Bit` does not) |
//! | `18446744073709551615`, `9007199254740993` | evaluated exactly (`Semantics.EqualsUnsigned64Bit`, `Semantics.EqualsBigIntegers` match); `9007199254740993.0` is a float and does not match |
//! | `1e-400`, `0.` followed by 10,000 zeros and a 1, `-0` | evaluated: `0.0` (`-0.0`), not greater than 10 |
//! | a string of 10 MB, a key of 1 MB | evaluated |
//! | `\u0000` in keys and strings | evaluated: a NUL character like any other |
//! | a raw NUL (or other control) byte in a string | rejected by both: `control character (\u0000-\u001F) found while parsing a string` |
//! | empty input, whitespace, a byte-order mark, two documents | rejected by both: `EOF while parsing a value`, `expected value`, `trailing characters` |
//! | an array, a string, a number at the top | not an object: `EventError::NotAnObject` |
//!
//! Error positions are `serde_json`'s, give or take a column (the fast path points at the
//! character after the last one read, in a few cases).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use detections::view::{FieldTable, Scratch};
use detections::{Engine, EventError, Selection};
use serde_json::Value;

struct Counting;

/// Bytes allocated and not yet freed, and the most there have been since the last reset.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
        PEAK.fetch_max(live, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Tests take turns, so that one's buffers do not count in another's peak.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every compiled rule of `tests/rules/`, disabled ones included.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(
            integration_tests::rules::by_log_type::ALL,
            &Selection { include_disabled: true, ..Selection::default() },
        )
    })
}

/// The fixture rules (`Test.Semantics`): the verdicts below are theirs.
const LOG_TYPE: &str = "Test.Semantics";

/// The matches of each path, as (rule id, outputs) in order of id.
type Matches = Vec<(&'static str, String)>;

/// Runs `bytes` through every reader; panics on a disagreement. Returns the ids of the rules
/// of `log_types[0]` that match, or the fast path's error.
fn evaluate(engine: &Engine, bytes: &[u8], log_types: &[&str]) -> Result<Vec<&'static str>, EventError> {
    let parsed: Result<Value, _> = serde_json::from_slice(bytes);
    let table = FieldTable::new(engine.rules().iter().flat_map(|r| r.fields.iter().copied()));
    let mut scratch = Scratch::new();
    let read = scratch.read(bytes, &table).map(|_| ()).map_err(|e| format!("{e:?}"));
    match (&parsed, &read) {
        (Ok(v), Ok(())) => assert!(v.is_object(), "the fast path accepts a non-object"),
        (Ok(v), Err(e)) => assert!(!v.is_object(), "serde_json accepts an object the fast path rejects: {e}"),
        (Err(e), Ok(())) => panic!("the fast path accepts what serde_json rejects: {e}"),
        (Err(_), Err(_)) => {}
    }
    let mut first = None;
    for log_type in log_types {
        let on_bytes = engine.evaluate_bytes(bytes, Some(log_type));
        let on_value = parsed.as_ref().ok().map(|v| engine.evaluate(v, Some(log_type)));
        let sorted = |matches: &[detections::Match]| -> Matches {
            let mut m: Matches =
                matches.iter().map(|m| (m.rule.meta.id, format!("{:?}", m.outputs))).collect();
            m.sort();
            m
        };
        let result = match (on_bytes, on_value) {
            (Ok(b), Some(Ok(v))) => {
                let (b, v) = (sorted(&b.matches), sorted(&v));
                assert_eq!(b, v, "evaluate_bytes and evaluate disagree ({log_type})");
                Ok(b.into_iter().map(|(id, _)| id).collect())
            }
            (Err(e), None) => Err(e),
            (Err(e @ EventError::NotAnObject { .. }), Some(Err(f))) => {
                assert_eq!(e, f, "the two paths describe a non-object differently");
                Err(e)
            }
            (b, v) => panic!("evaluate_bytes gives {b:?}, evaluate {v:?} ({log_type})"),
        };
        first.get_or_insert(result);
    }
    first.expect("at least one log type")
}

/// The error message of a rejected input (the fast path's, without its position).
fn rejected(bytes: &[u8]) -> String {
    match evaluate(engine(), bytes, &[LOG_TYPE]) {
        Err(EventError::InvalidJson { message }) => message,
        Err(e) => e.to_string(),
        Ok(m) => panic!("accepted, with matches {m:?}"),
    }
}

fn matches(bytes: &[u8]) -> Vec<&'static str> {
    evaluate(engine(), bytes, &[LOG_TYPE]).unwrap_or_else(|e| panic!("rejected: {e}"))
}

/// `inner` wrapped in `depth - 1` containers under `"a"` (the event itself is the first).
fn nested(depth: usize, objects: bool) -> Vec<u8> {
    let (open, close) = if objects { ("{\"a\":", "}") } else { ("[", "]") };
    format!("{{\"a\":{}1{}}}", open.repeat(depth - 1), close.repeat(depth - 1)).into_bytes()
}

#[test]
fn deep_nesting_is_refused_at_the_128th_level() {
    let _turn = turn();
    for objects in [false, true] {
        for depth in [128, 10_000, 1_000_000] {
            let message = rejected(&nested(depth, objects));
            assert!(message.starts_with("recursion limit exceeded at line 1 column"), "{message}");
        }
        // Every rule of every log type, on the deepest event both parsers take.
        let log_types: Vec<&str> = engine().log_types().collect();
        assert!(evaluate(engine(), &nested(127, objects), &log_types).is_ok());
    }
    // Under a key that rules read (as a list and as an object), and under many keys.
    for key in ["resources", "groups", "user", "items", "flags"] {
        let deep = format!("{{\"{key}\":{}{}}}", "[{\"a\":".repeat(5_000), "}]".repeat(5_000));
        assert!(rejected(deep.as_bytes()).starts_with("recursion limit exceeded"));
    }
}

#[test]
fn huge_arrays_are_evaluated_in_bounded_memory() {
    let _turn = turn();
    let n = 1_000_000;
    let numbers: Vec<String> = (0..n).map(|i| (i + 404).to_string()).collect();
    let objects: Vec<&str> = (0..n).map(|i| if i % 1000 == 0 { "{\"type\":1}" } else { "{}" }).collect();
    // The last element is the one that matches.
    let cases = [
        (format!("{{\"codes\":[{},403]}}", numbers.join(",")), "Semantics.ContainsNumber"),
        (
            format!(
                "{{\"resources\":[{},{{\"type\":\"AWS::S3::Bucket\",\"ARN\":\"x-logs\"}}]}}",
                objects.join(",")
            ),
            "Semantics.AnyElement",
        ),
    ];
    drop((numbers, objects));
    // The rules that read lists (all fixture rules would take minutes in a debug build).
    let ids = [
        "Semantics.ContainsNumber",
        "Semantics.AnyElement",
        "Semantics.AllElements",
        "Semantics.NoElement",
        "Semantics.OnlyOneElement",
        "Semantics.ContainsInProjection",
        "Semantics.ProjectionEqualsList",
    ];
    let selection = Selection {
        rule_ids: ids.map(String::from).to_vec(),
        include_disabled: true,
        ..Selection::default()
    };
    let engine = Engine::new(integration_tests::rules::by_log_type::ALL, &selection);
    assert_eq!(selection.unknown_ids(engine.rules()), Vec::<String>::new());
    let peak_of = |f: &mut dyn FnMut()| {
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        f();
        PEAK.load(Ordering::Relaxed) - before
    };
    for (text, rule) in &cases {
        let bytes = text.as_bytes();
        // Verdicts alone read the lists in place.
        let mut found = Vec::new();
        engine.matching(b"{}", Some(LOG_TYPE), &mut Vec::new()).expect("warm up the thread's buffers");
        let peak = peak_of(&mut || engine.matching(bytes, Some(LOG_TYPE), &mut found).expect("evaluated"));
        assert!(found.iter().any(|r| r.meta.id == *rule), "{rule} does not match");
        assert!(peak < 1 << 20, "matching on {} bytes peaked at {peak} bytes", bytes.len());
        // A match with its outputs parses the event into a `serde_json::Value` (for the alert),
        // which is several times bigger than its text, and clones it into `Evaluated::event`.
        let mut evaluated = None;
        let peak = peak_of(&mut || {
            evaluated = Some(engine.evaluate_bytes(bytes, Some(LOG_TYPE)).expect("evaluated"))
        });
        let evaluated = evaluated.expect("evaluated");
        assert!(peak < 64 * bytes.len(), "evaluate_bytes on {} bytes peaked at {peak} bytes", bytes.len());
        eprintln!(
            "{rule}: {} bytes: evaluate_bytes peaked at {:.1} times the input",
            bytes.len(),
            peak as f64 / bytes.len() as f64
        );
        // The generic path agrees.
        let sorted = |matches: &[detections::Match]| -> Matches {
            let mut m: Matches =
                matches.iter().map(|m| (m.rule.meta.id, format!("{:?}", m.outputs))).collect();
            m.sort();
            m
        };
        let on_bytes = sorted(&evaluated.matches);
        drop(evaluated);
        let value: Value = serde_json::from_slice(bytes).expect("JSON");
        assert_eq!(sorted(&engine.evaluate(&value, Some(LOG_TYPE)).expect("evaluated")), on_bytes);
        assert!(on_bytes.iter().any(|(id, _)| id == rule), "{rule} does not match");
    }
}

#[test]
fn repeated_keys_keep_their_last_value() {
    let _turn = turn();
    let many = |last: &str| {
        let mut text = String::from("{");
        for i in 0..100_000 {
            text.push_str(&format!("\"eventName\":\"E{i}\","));
        }
        text.push_str(&format!("\"eventName\":\"{last}\"}}"));
        text.into_bytes()
    };
    assert!(matches(&many("StopInstances")).contains(&"Semantics.EqualsString"));
    assert!(!matches(&many("Other")).contains(&"Semantics.EqualsString"));
    assert!(
        !matches(br#"{"eventName":"StopInstances","eventName":"Other"}"#).contains(&"Semantics.EqualsString")
    );
    // A repeated object replaces the first one whole: nothing of it is left.
    let twice =
        br#"{"resources":[{"type":"AWS::S3::Bucket","ARN":"x-logs"}],"resources":[{"type":"Other"}]}"#;
    assert!(!matches(twice).contains(&"Semantics.AnyElement"));
    let twice = br#"{"resources":{"a":1},"resources":[{"type":"AWS::S3::Bucket","ARN":"x-logs"}]}"#;
    assert!(matches(twice).contains(&"Semantics.AnyElement"));
}

#[test]
fn keys_differing_in_case() {
    let _turn = turn();
    let holds = |text: &str| matches(text.as_bytes()).contains(&"Semantics.EqualsString");
    // The exact key wins wherever it is.
    assert!(holds(r#"{"EVENTNAME":"Other","eventName":"StopInstances","EventName":"Other"}"#));
    assert!(!holds(r#"{"EVENTNAME":"StopInstances","eventName":"Other"}"#));
    // Else the first that equals it ignoring ASCII case, with its last value.
    assert!(holds(r#"{"EVENTNAME":"StopInstances","EventName":"Other"}"#));
    assert!(!holds(r#"{"EventName":"Other","EVENTNAME":"StopInstances"}"#));
    assert!(holds(r#"{"EVENTNAME":"Other","EventName":"x","EVENTNAME":"StopInstances"}"#));
    // Only ASCII letters fold: a dotless `ı` or a Kelvin sign `K` is another key.
    assert!(!holds(r#"{"eventNAME":"Other","eventnamE":"StopInstances","eventName\u0131":"x"}"#));
    assert!(!holds("{\"eventName\u{212a}\":\"StopInstances\"}"));
}

/// Found by the `event` fuzz target: without a log type, the two paths read `p_log_type` like
/// any rule field (exact key first, else one equal ignoring ASCII case).
#[test]
fn p_log_type_in_another_case() {
    let _turn = turn();
    let both = |text: &str| {
        let value: Value = serde_json::from_str(text).expect("valid JSON");
        let on_bytes = engine().evaluate_bytes(text.as_bytes(), None).map(|e| e.matches.len());
        let on_value = engine().evaluate(&value, None).map(|m| m.len());
        assert_eq!(on_bytes, on_value, "{text}");
        on_bytes
    };
    let unknown = |t: &str| Err(EventError::UnknownLogType { log_type: t.into() });
    assert_eq!(both(r#"{"P_LOG_TYPE":"x"}"#), unknown("x"));
    // Another case alone reaches the rules of its log type.
    let stop = r#"{"P_LOG_TYPE":"Test.Semantics","eventName":"StopInstances"}"#;
    assert!(both(stop).is_ok_and(|n| n > 0), "{stop}");
    // The exact key wins wherever it is; else the first spelling in document order.
    assert!(both(r#"{"P_Log_Type":"x","p_log_type":"Test.Semantics"}"#).is_ok());
    assert_eq!(both(r#"{"P_LOG_TYPE":"x","P_Log_Type":"Test.Semantics"}"#), unknown("x"));
    assert_eq!(both(r#"{"P_LOG_TYPE":1}"#), Err(EventError::NoLogType));
}

#[test]
fn invalid_surrogates_and_utf8_are_refused() {
    let _turn = turn();
    let cases: &[(&[u8], &str)] = &[
        (br#"{"a":"\ud800"}"#, "unexpected end of hex escape"),
        (br#"{"a":"\ud800x"}"#, "unexpected end of hex escape"),
        (br#"{"a":"\udc00"}"#, "lone leading surrogate in hex escape"),
        (br#"{"a":"\ud800\u0041"}"#, "lone leading surrogate in hex escape"),
        (br#"{"a":"\ud800\ud800"}"#, "lone leading surrogate in hex escape"),
        (br#"{"\ud800":1}"#, "unexpected end of hex escape"),
        (br#"{"eventName":"\udfff"}"#, "lone leading surrogate in hex escape"),
        (b"{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8 after byte 6"),
        (b"{\"a\":\"\xff\"}", "invalid UTF-8 after byte 6"),
        (b"{\"\xc0\xaf\":1}", "invalid UTF-8 after byte 2"),
    ];
    for (bytes, message) in cases {
        let got = rejected(bytes);
        assert!(got.starts_with(message), "{}: {got}", String::from_utf8_lossy(bytes));
    }
    // A valid pair is one character, evaluated as such.
    let emoji = br#"{"eventName":"StopInstances\ud83d\ude00"}"#;
    assert!(!matches(emoji).contains(&"Semantics.EqualsString"));
}

#[test]
fn numbers_beyond_the_ranges() {
    let _turn = turn();
    for text in ["1e400", "-1e400", "1e309", &format!("1{}", "0".repeat(10_000))] {
        let got = rejected(format!("{{\"id\":{text}}}").as_bytes());
        assert!(got.starts_with("number out of range"), "{text}: {got}");
    }
    let with = |key: &str, number: &str| matches(format!("{{\"{key}\":{number}}}").as_bytes());
    assert!(with("id", "18446744073709551615").contains(&"Semantics.EqualsUnsigned64Bit"));
    assert!(!with("id", "18446744073709551616").contains(&"Semantics.EqualsUnsigned64Bit"));
    assert!(!with("id", "18446744073709551615.0").contains(&"Semantics.EqualsUnsigned64Bit"));
    assert!(with("id", "9007199254740993").contains(&"Semantics.EqualsBigIntegers"));
    assert!(!with("id", "9007199254740993.0").contains(&"Semantics.EqualsBigIntegers"));
    assert!(!with("id", "9007199254740992").contains(&"Semantics.EqualsBigIntegers"));
    for big in ["123456789012345678901234567890", "18446744073709551616", "1.7976931348623157e308", "1e308"] {
        assert!(with("count", big).contains(&"Semantics.IsGreaterThan"), "{big}");
    }
    for small in
        ["1e-400", &format!("0.{}1", "0".repeat(10_000)), "-0", "-0.0", "-123456789012345678901234567890"]
    {
        assert!(!with("count", small).contains(&"Semantics.IsGreaterThan"), "{small}");
    }
}

#[test]
fn long_strings_and_nul() {
    let _turn = turn();
    let long = "x".repeat(10 << 20);
    assert!(!matches(format!("{{\"eventName\":\"{long}\"}}").as_bytes()).contains(&"Semantics.EqualsString"));
    let key = "k".repeat(1 << 20);
    assert!(
        matches(format!("{{\"{key}\":1,\"eventName\":\"StopInstances\"}}").as_bytes())
            .contains(&"Semantics.EqualsString")
    );
    // A string of escapes only.
    let escapes = "\\u0041\\n\\\"".repeat(200_000);
    assert!(
        !matches(format!("{{\"eventName\":\"{escapes}\"}}").as_bytes()).contains(&"Semantics.EqualsString")
    );
    // NUL escapes are characters like any other, in keys and values.
    assert!(!matches(br#"{"eventName":"StopInstances\u0000"}"#).contains(&"Semantics.EqualsString"));
    assert!(!matches(br#"{"eventName\u0000":"StopInstances"}"#).contains(&"Semantics.EqualsString"));
    assert!(
        matches(br#"{"event\u004eame":"Stop\u0049nstances","\u0000":"\u0000"}"#)
            .contains(&"Semantics.EqualsString")
    );
    for raw in [&b"{\"a\":\"\x00\"}"[..], b"{\"a\x1f\":1}", b"{\"a\":\"\t\"}", b"{\"a\":\"\n\"}"] {
        let got = rejected(raw);
        assert!(got.starts_with("control character (\\u0000-\\u001F) found while parsing a string"), "{got}");
    }
}

#[test]
fn garbage_and_other_documents() {
    let _turn = turn();
    let cases: &[(&[u8], &str)] = &[
        (b"", "EOF while parsing a value"),
        (b"  \n\t", "EOF while parsing a value"),
        (b"\xef\xbb\xbf{}", "expected value"),
        (b"{} {}", "trailing characters"),
        (b"{}x", "trailing characters"),
        (b"{\"a\":1,}", "trailing comma"),
        (b"{'a':1}", "key must be a string"),
        (b"{\"a\":NaN}", "expected value"),
        (b"{\"a\":01}", "invalid number"),
        (b"[1]", "not a JSON object (found an array)"),
        (b"\"x\"", "not a JSON object (found a string)"),
        (b"42", "not a JSON object (found a number)"),
        (b"null", "not a JSON object (found null)"),
    ];
    for (bytes, message) in cases {
        let got = rejected(bytes);
        assert!(got.starts_with(message), "{:?}: {got}", String::from_utf8_lossy(bytes));
    }
    assert_eq!(matches(b" {} ").len(), matches(b"{}").len());
}
