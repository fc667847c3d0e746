//! `panther-timing-engine CORPUS ROUNDS [RULE_ID...]`: the engine's fast path (bytes → verdicts,
//! `Engine::matching`, as bench's "engine: bytes → verdicts" row) over every line of CORPUS, one
//! thread, with every CloudTrail rule and with only the given rules (disabled ones included, as in
//! bench), rounds interleaved. Prints one line per rule set: `<name> <rules> <median ns/event> <matches>`.
//! Must not: select rules any other way than `detect scan --all --rule ID` would.

use std::hint::black_box;
use std::time::Instant;

use detections::{Engine, Selection, rules};

const LOG_TYPE: &str = "AWS.CloudTrail";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [corpus, rounds, ids @ ..] = args.as_slice() else {
        eprintln!("usage: panther-timing-engine CORPUS ROUNDS [RULE_ID...]");
        std::process::exit(2);
    };
    let rounds: usize = rounds.parse().unwrap_or_else(|e| panic!("ROUNDS {rounds:?}: {e}"));
    let text = std::fs::read(corpus).unwrap_or_else(|e| panic!("cannot read {corpus}: {e}"));
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let select = |rule_ids: Vec<String>| Selection {
        include_disabled: true,
        rule_ids,
        log_types: vec![LOG_TYPE.into()],
        ..Default::default()
    };
    let chosen = select(ids.to_vec());
    let unknown = chosen.unknown_ids(
        &rules::by_log_type::ALL.iter().flat_map(|t| t.rules.iter().copied()).collect::<Vec<_>>(),
    );
    assert!(unknown.is_empty(), "unknown rule ids: {unknown:?}");
    let engines = [
        ("every", Engine::new(rules::by_log_type::ALL, &select(Vec::new()))),
        ("chosen", Engine::new(rules::by_log_type::ALL, &chosen)),
    ];
    let mut times = vec![Vec::new(); engines.len()];
    let mut matches = vec![0; engines.len()];
    let mut matched = Vec::new();
    for round in 0..=rounds {
        for (i, (_, engine)) in engines.iter().enumerate() {
            let start = Instant::now();
            let mut count = 0;
            for line in &lines {
                matched.clear();
                if engine.matching(line, Some(LOG_TYPE), &mut matched).is_ok() {
                    count += matched.len();
                }
            }
            black_box(count);
            if round > 0 {
                times[i].push(start.elapsed().as_secs_f64()); // round 0 warms up
            }
            matches[i] = count;
        }
    }
    for (i, (name, engine)) in engines.iter().enumerate() {
        times[i].sort_by(f64::total_cmp);
        let median = times[i][times[i].len() / 2];
        println!("{name} {} {:.1} {}", engine.rules().len(), median * 1e9 / lines.len() as f64, matches[i]);
    }
}
