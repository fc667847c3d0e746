//! `bench`: how fast the compiled rules are, against baselines measured in the same run.
//!
//! ```text
//! cargo run --release -p bench -- [--events N] [--seed S] [--rounds R]
//! ```
//!
//! One thread, one corpus of generated CloudTrail events (`detect sample`'s generator), every
//! measurement repeated `--rounds` times; the table shows medians. Rows:
//! - floor: `serde_json` validating the bytes into `IgnoredAny`;
//! - engine, bytes → verdicts: parse and evaluate every CloudTrail rule;
//! - engine over a parsed `serde_json::Value` (parsing not timed);
//! - naive: `serde_json::Value` plus the reference interpreter walking the rules' IR;
//! - the engine with 10 and 100 of the rules, and all of them, to show how time grows.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use codegen::ir::Rule as IrRule;
use detections::{Engine, Selection, rules};
use serde::de::IgnoredAny;
use serde_json::Value;

const LOG_TYPE: &str = "AWS.CloudTrail";

struct Args {
    events: usize,
    seed: u64,
    rounds: usize,
    attack_share: f64,
    /// Only the measurements whose name contains this (the floor always runs).
    only: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args { events: 200_000, seed: 1, rounds: 7, attack_share: 0.002, only: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--events" => a.events = value()?.parse().map_err(|e| format!("--events: {e}"))?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--rounds" => a.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--attack-share" => {
                a.attack_share = value()?.parse().map_err(|e| format!("--attack-share: {e}"))?
            }
            "--only" => a.only = Some(value()?),
            "-h" | "--help" => {
                return Err("usage: bench [--events N] [--seed S] [--rounds R] [--attack-share F] [--only NAME]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// Times `f` over the corpus `rounds` times; the median duration.
fn measure(rounds: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut times = Vec::with_capacity(rounds);
    let mut result = 0;
    f(); // warm-up
    for _ in 0..rounds {
        let start = Instant::now();
        result = black_box(f());
        times.push(start.elapsed());
    }
    times.sort();
    (times[times.len() / 2], result)
}

struct Row {
    name: String,
    time: Duration,
    /// What the measurement computed (matches, or events), as a sanity check.
    checksum: usize,
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut generator = detect::corpus::Generator::new(a.seed, a.attack_share);
    let lines: Vec<String> = (0..a.events).map(|_| generator.next_event()).collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let values: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).expect("generated JSON")).collect();
    let all = Selection { include_disabled: true, log_types: vec![LOG_TYPE.into()], ..Default::default() };
    let engine = Engine::new(rules::by_log_type::ALL, &all);
    let ir = load_ir(engine.rules().iter().map(|r| r.meta.source));
    eprintln!(
        "corpus: {} CloudTrail events, {:.1} MB (median {} bytes), seed {}; {} rules; {} rounds each",
        lines.len(),
        bytes as f64 / 1e6,
        median_len(&lines),
        a.seed,
        engine.rules().len(),
        a.rounds
    );

    let mut rows = Vec::new();
    let mut run = |name: &str, f: &mut dyn FnMut() -> usize| {
        if !rows.is_empty() && a.only.as_ref().is_some_and(|only| !name.contains(only.as_str())) {
            return;
        }
        let (time, checksum) = measure(a.rounds, f);
        eprintln!("  {name}: {:.0} ns/event", time.as_nanos() as f64 / lines.len() as f64);
        rows.push(Row { name: name.to_string(), time, checksum });
    };
    run("floor: serde_json → IgnoredAny", &mut || {
        lines.iter().filter(|l| serde_json::from_str::<IgnoredAny>(l).is_ok()).count()
    });
    let mut scratch = detections::view::Scratch::new();
    run("view: one validating pass", &mut || lines.iter().filter(|l| scratch.scan(l).is_ok()).count());
    run("engine: bytes → verdicts", &mut || verdicts(&engine, &lines));
    run("engine: parsed Value → verdicts", &mut || {
        values.iter().map(|v| engine.evaluate(v, Some(LOG_TYPE)).map_or(0, |m| m.len())).sum()
    });
    run("naive: Value + reference interpreter", &mut || {
        lines
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("JSON");
                ir.iter().filter(|r| codegen::reference::decide(r, &v).is_none()).count()
            })
            .sum()
    });
    for n in [10, 100] {
        let ids = engine.rules().iter().take(n).map(|r| r.meta.id.to_string()).collect();
        let some = Engine::new(
            rules::by_log_type::ALL,
            &Selection { rule_ids: ids, include_disabled: true, ..Default::default() },
        );
        run(&format!("engine: bytes → verdicts, {n} rules"), &mut || verdicts(&some, &lines));
    }

    let floor = rows[0].time;
    println!("| measurement | ns/event | events/s | MB/s | × floor | checksum |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let secs = r.time.as_secs_f64();
        println!(
            "| {} | {:.0} | {:.0} | {:.1} | {:.2} | {} |",
            r.name,
            r.time.as_nanos() as f64 / lines.len() as f64,
            lines.len() as f64 / secs,
            bytes as f64 / 1e6 / secs,
            secs / floor.as_secs_f64(),
            r.checksum
        );
    }
}

/// Every line through the engine's fast path; the number of (event, rule) matches.
fn verdicts(engine: &Engine, lines: &[String]) -> usize {
    let mut matched = Vec::new();
    let mut count = 0;
    for line in lines {
        matched.clear();
        if engine.matching(line.as_bytes(), Some(LOG_TYPE), &mut matched).is_ok() {
            count += matched.len();
        }
    }
    count
}

fn median_len(lines: &[String]) -> usize {
    let mut lens: Vec<usize> = lines.iter().map(String::len).collect();
    lens.sort_unstable();
    lens[lens.len() / 2]
}

/// The IR of the rules the engine runs, for the naive interpreter.
fn load_ir<'a>(sources: impl Iterator<Item = &'a str>) -> Vec<IrRule> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
    let files: Vec<_> = sources.map(|s| root.join(s)).collect();
    let (sources, _) = codegen::load::read(&files, root);
    let (rules, diags) = codegen::check::check_all(&sources);
    assert!(diags.iter().all(|d| !d.is_error()), "the shipped rules check");
    rules
}
