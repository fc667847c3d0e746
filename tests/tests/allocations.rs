//! Reading an event that matches no rule allocates nothing, and memory stays flat however many
//! events are read: counted with a global allocator that counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use detections::{Engine, Selection};
use integration_tests::rules;

struct Counting;

thread_local! {
    /// Allocations made by this thread (each test thread counts its own).
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The tests take turns, so that one's buffers do not count in the other's live heap.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// The CloudTrail rules of this crate's fixtures (`rules/cloudtrail/`: copies of shipped rules
/// that use every construct the shipped CloudTrail rules use, whatever `rules/` at the workspace
/// root holds), disabled ones too.
fn cloudtrail() -> Engine {
    let selection =
        Selection { include_disabled: true, log_types: vec!["AWS.CloudTrail".into()], ..Default::default() };
    Engine::new(rules::by_log_type::ALL, &selection)
}

/// The CloudTrail fixture rules over generated events: an event that matches no rule is read
/// and decided without a single allocation.
#[test]
fn an_event_that_matches_no_rule_allocates_nothing() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let engine = cloudtrail();
    let mut generator = detect::corpus::Generator::new(7, 0.01);
    let events: Vec<String> = (0..20_000).map(|_| generator.next_event()).collect();
    let mut matched = Vec::with_capacity(engine.rules().len());
    // Warm up the thread's buffers.
    for event in events.iter().take(100) {
        matched.clear();
        engine.matching(event.as_bytes(), None, &mut matched).expect("generated events are valid");
    }
    let mut allocating: BTreeMap<String, usize> = BTreeMap::new();
    let mut unmatched = 0;
    for event in &events {
        matched.clear();
        let before = allocations();
        engine.matching(event.as_bytes(), None, &mut matched).expect("generated events are valid");
        let made = allocations() - before;
        if matched.is_empty() {
            unmatched += 1;
            if made > 0 {
                let value: serde_json::Value = serde_json::from_str(event).unwrap();
                *allocating.entry(value["eventName"].to_string()).or_default() += 1;
            }
        }
    }
    assert!(unmatched > 10_000, "most events match nothing: {unmatched}");
    assert!(allocating.is_empty(), "unmatched events that allocated, by eventName: {allocating:?}");

    // `detect scan`'s call: the verdicts with the outputs of matches, and the log type and time.
    let mut unmatched = 0;
    for event in &events {
        let before = allocations();
        let scanned = engine.scan_bytes(event.as_bytes(), None).expect("generated events are valid");
        let made = allocations() - before;
        if scanned.matches.is_empty() {
            unmatched += 1;
            if made > 0 {
                let value: serde_json::Value = serde_json::from_str(event).unwrap();
                *allocating.entry(value["eventName"].to_string()).or_default() += 1;
            }
        }
    }
    assert!(unmatched > 10_000, "most events match nothing: {unmatched}");
    assert!(
        allocating.is_empty(),
        "unmatched events that allocated in scan_bytes, by eventName: {allocating:?}"
    );
}

/// A match that joins a window already open costs the alerting stage no allocation: no copy of
/// the event or of the outputs, no key built to find the window.
#[test]
fn a_match_in_an_open_window_allocates_nothing() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let engine = cloudtrail();
    let mut generator = detect::corpus::Generator::new(5, 0.05);
    let mut alerter = detections::Alerter::new();
    let (mut joined, mut opened) = (0, 0);
    for i in 0..20_000i64 {
        let event = generator.next_event();
        let scanned = engine.scan_bytes(event.as_bytes(), None).expect("generated events are valid");
        for m in scanned.matches {
            // Every match at one time: no window closes, each dedup string opens one once.
            let open = alerter.open_windows();
            let before = allocations();
            let closed = alerter.observe_text(m, Some(1_700_000_000_000), &event, scanned.log_type);
            let made = allocations() - before;
            assert!(closed.is_empty());
            if alerter.open_windows() == open {
                joined += 1;
                assert_eq!(made, 0, "a match joining an open window allocated (event {i})");
            } else {
                opened += 1;
            }
        }
    }
    assert!(joined > 100 && opened > 10, "{joined} matches joined a window, {opened} opened one");
}

/// Memory stays flat: evaluating many events with their alert outputs, and grouping them into
/// alerts (ten seconds apart, so that even day-long dedup windows close), the live heap after
/// 40,000 events is within a fifth of what it was after 16,000.
#[test]
fn memory_stays_flat_however_many_events_are_read() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let engine = cloudtrail();
    let mut generator = detect::corpus::Generator::new(11, 0.01);
    let mut alerter = detections::Alerter::new();
    let mut live_after = Vec::new();
    for batch in 0..10 {
        for i in 0..4_000 {
            let event = generator.next_event();
            let evaluated =
                engine.evaluate_bytes(event.as_bytes(), None).expect("generated events are valid");
            if let Some(value) = &evaluated.event {
                let when = Some((batch * 4_000 + i) * 10_000);
                for m in &evaluated.matches {
                    drop(alerter.observe(m, when, value, &evaluated.log_type));
                }
            }
        }
        if batch >= 3 {
            live_after.push(LIVE.load(Ordering::Relaxed));
        }
    }
    let (first, last) = (live_after[0], *live_after.last().expect("batches"));
    eprintln!("live heap after 16,000 … 40,000 events, every 4,000: {live_after:?} bytes");
    // The open alert windows make it wander (1.23 to 1.43 MB in a run of 2026-11-28); a leak of
    // 10 bytes an event would add 240 KB.
    assert!(
        last < first + first / 5,
        "live heap grew from {first} bytes (after 16,000 events) to {last} bytes (after 40,000): {live_after:?}"
    );
}
