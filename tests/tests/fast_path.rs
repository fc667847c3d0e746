//! The fast path (one pass over the bytes) and the generic path (a parsed `serde_json::Value`)
//! give the same matches and the same alert outputs on the benchmark corpus: the CloudTrail
//! rules of this crate's fixtures (`rules/cloudtrail/`: copies of shipped rules, among them those
//! the corpus's attacks come from, whatever `rules/` at the workspace root holds), disabled ones
//! too, over the events `bench` times (the same generator and seed).
//!
//! `cargo test` compares 5,000 events; `FAST_PATH_EVENTS=200000 cargo test --release -p
//! integration-tests --test fast_path` the whole default benchmark corpus.

use detections::{Engine, Selection};
use integration_tests::rules;

#[test]
fn fast_and_generic_paths_agree_on_the_benchmark_corpus() {
    let events: usize = std::env::var("FAST_PATH_EVENTS").map_or(5_000, |n| n.parse().expect("a number"));
    let selection =
        Selection { include_disabled: true, log_types: vec!["AWS.CloudTrail".into()], ..Default::default() };
    let engine = Engine::new(rules::by_log_type::ALL, &selection);
    // The benchmark's corpus: seed 1, attack share 0.002; and a denser one for more matches.
    let corpora = [(1, 0.002), (2, 0.2)];
    let mut matches = 0;
    for (seed, attack_share) in corpora {
        let mut generator = detect::corpus::Generator::new(seed, attack_share);
        for i in 0..events {
            let line = generator.next_event();
            let fast = engine.evaluate_bytes(line.as_bytes(), None).expect("generated events are valid");
            let value: serde_json::Value = serde_json::from_str(&line).expect("generated JSON");
            let generic = engine.evaluate(&value, None).expect("generated events are valid");
            let ids =
                |ms: &[detections::engine::Match]| ms.iter().map(|m| m.rule.meta.id).collect::<Vec<_>>();
            assert_eq!(ids(&fast.matches), ids(&generic), "event {i} of seed {seed}: {line}");
            for (f, g) in fast.matches.iter().zip(&generic) {
                assert_eq!(f.outputs, g.outputs, "{} on event {i} of seed {seed}: {line}", f.rule.meta.id);
            }
            assert_eq!(fast.event.is_some(), !generic.is_empty());
            matches += generic.len();
        }
    }
    assert!(matches > events / 100, "the corpus exercises the rules: {matches} matches");
}
