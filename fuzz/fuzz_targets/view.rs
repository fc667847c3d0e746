//! Fuzz target `view`: arbitrary bytes as one event, read by the fast path's scanner and view.
//!
//! `detections::json::document` must accept exactly what `serde_json` accepts as an object,
//! report a valid non-object as such (with its kind), and reject everything else. For accepted
//! events, a `View` over the fields every compiled rule reads must find, for each of those paths,
//! the same value as `serde_json::Value` does. Cheaper than `event` (no rules run), so it covers
//! the scanner at a higher rate.
//! Must not: run rules (see the `event` target).

#![no_main]

use std::cell::RefCell;
use std::sync::LazyLock;

use detections::json::{self, DocumentError, Kind};
use detections::view::{FieldTable, Scratch};
use detections::{Event, Path};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Every path some compiled rule reads, deduplicated, and their table.
static PATHS: LazyLock<Vec<&'static Path>> = LazyLock::new(|| {
    let mut paths: Vec<&'static Path> = Vec::new();
    for rule in detections::rules::ALL {
        for &path in rule.fields {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    paths
});
static TABLE: LazyLock<FieldTable> = LazyLock::new(|| FieldTable::new(PATHS.iter().copied()));

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

fn same_kind(kind: &Kind, value: &Value) -> bool {
    matches!(
        (kind, value),
        (Kind::Null, Value::Null)
            | (Kind::Number, Value::Number(_))
            | (Kind::String { .. }, Value::String(_))
            | (Kind::Array, Value::Array(_))
            | (Kind::Object, Value::Object(_))
    ) || matches!((kind, value), (Kind::Bool(a), Value::Bool(b)) if a == b)
}

fuzz_target!(|data: &[u8]| {
    let generic = serde_json::from_slice::<Value>(data);
    let scanned = json::document(data, &mut ());
    let value = match (&generic, &scanned) {
        (Ok(value @ Value::Object(_)), Ok(text)) => {
            assert_eq!(text.as_bytes(), data);
            value
        }
        (Ok(value), Err(DocumentError::NotAnObject(kind))) if !value.is_object() => {
            assert!(same_kind(kind, value), "kind {kind:?} for {value}");
            return;
        }
        (Err(_), Err(DocumentError::Json(_) | DocumentError::InvalidUtf8 { .. })) => return,
        (generic, scanned) => panic!("serde_json gave {generic:?}, the scanner {scanned:?}"),
    };
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let view = scratch.read(data, &TABLE).expect("the scanner accepted it above");
        for &path in PATHS.iter() {
            let (fast, slow) = (view.field(path), value.field(path));
            assert_eq!(
                (fast.exists(), fast.to_json()),
                (slow.exists(), slow.to_json()),
                "the view and serde_json disagree at {:?}",
                path.segs
            );
        }
        assert_eq!(view.value(), value);
    });
});
