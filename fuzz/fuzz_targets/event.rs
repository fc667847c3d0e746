//! Fuzz target `event`: arbitrary bytes as one event, through the fast path and the generic one.
//!
//! The engine runs every compiled rule of `detections` (disabled ones too). For the log type
//! `AWS.CloudTrail` and for none (the event's `p_log_type`), `Engine::evaluate_bytes` (one
//! validating pass and a lazily decoded view) must agree with `serde_json` followed by
//! `Engine::evaluate` (the generic path over `serde_json::Value`): the same rejections, the same
//! errors for valid JSON, the same matching rules in the same order with the same outputs, and
//! the same event. `Engine::matching` (verdicts only) must give the same rules. No panics.
//! Must not: decide which verdict is right; the two paths are each other's oracle.
//! The inputs of bugs it found, since fixed, are kept in `regressions/event/`.

#![no_main]

use std::sync::LazyLock;

use detections::{Engine, EventError, Selection};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let selection = Selection { include_disabled: true, ..Selection::default() };
    Engine::new(detections::rules::by_log_type::ALL, &selection)
});

fuzz_target!(|data: &[u8]| {
    let generic = serde_json::from_slice::<Value>(data);
    let mut verdicts = Vec::new();
    for log_type in [Some("AWS.CloudTrail"), None] {
        let fast = ENGINE.evaluate_bytes(data, log_type);
        verdicts.clear();
        let matching = ENGINE.matching(data, log_type, &mut verdicts);
        match (&fast, &matching) {
            (Ok(fast), Ok(())) => assert_eq!(
                fast.matches.iter().map(|m| m.rule.meta.id).collect::<Vec<_>>(),
                verdicts.iter().map(|r| r.meta.id).collect::<Vec<_>>(),
                "evaluate_bytes and matching disagree ({log_type:?})"
            ),
            (Err(a), Err(b)) => assert_eq!(a, b, "evaluate_bytes and matching fail differently"),
            _ => panic!("evaluate_bytes gave {fast:?}, matching {matching:?} ({log_type:?})"),
        }
        let value = match &generic {
            Ok(value) => value,
            Err(e) => {
                assert!(
                    matches!(fast, Err(EventError::InvalidJson { .. } | EventError::InvalidUtf8 { .. })),
                    "serde_json rejects ({e}) but the fast path gave {fast:?} ({log_type:?})"
                );
                continue;
            }
        };
        let slow = ENGINE.evaluate(value, log_type);
        match (slow, fast) {
            (Ok(slow), Ok(fast)) => {
                let ids = |ms: &[detections::Match]| ms.iter().map(|m| m.rule.meta.id).collect::<Vec<_>>();
                assert_eq!(ids(&slow), ids(&fast.matches), "different rules matched ({log_type:?})");
                for (s, f) in slow.iter().zip(&fast.matches) {
                    assert_eq!(
                        s.outputs, f.outputs,
                        "different outputs of {} ({log_type:?})",
                        s.rule.meta.id
                    );
                }
                if let Some(event) = &fast.event {
                    assert_eq!(event, value, "the fast path's event differs from serde_json's");
                }
                assert_eq!(fast.matches.is_empty(), fast.event.is_none());
            }
            (Err(slow), Err(fast)) => assert_eq!(slow, fast, "the paths fail differently ({log_type:?})"),
            (slow, fast) => panic!("generic path gave {slow:?}, fast path {fast:?} ({log_type:?})"),
        }
    }
});
