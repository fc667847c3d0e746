//! `bench`: how fast the compiled rules are, against baselines measured in the same run.
//!
//! ```text
//! cargo run --release -p bench -- [--events N] [--seed S] [--rounds R] [--profile low|high|both]
//!     [--attack-share F] [--input FILE]... [--only NAME] [--per-rule] [--rule ID]...
//! ```
//!
//! One corpus at a time: generated CloudTrail events (`detect sample`'s generator) of the low-
//! and the high-match profile (both by default, one table each), or the NDJSON files given with
//! `--input` (plain or gzip). Every measurement is repeated `--rounds` times; the table shows
//! medians, and ratios against the floor of the same round. Rows:
//! - floor: `serde_json` validating the bytes into `IgnoredAny`;
//! - engine, bytes → verdicts: parse and evaluate every CloudTrail rule;
//! - engine over a parsed `serde_json::Value` (parsing not timed);
//! - naive: `serde_json::Value` plus the reference interpreter walking the rules' IR;
//! - the engine with 10 and 100 of the rules, and all of them, to show how time grows.
//! - with `--rule ID` (repeatable), the engine with only those rules (`scripts/panther-timing/`
//!   times the rules pypanther has);
//! - end to end, `detect scan` itself (`detect::scan`, the enabled rules, each event's
//!   `p_log_type`) over the corpus in a file: reading, splitting, evaluating, outputs, alerting,
//!   records written as NDJSON to a sink; as is, with `--signals`, with `--matches`, and with
//!   `--threads 2`. Their checksum is the number of records written. With `--input` they read
//!   the files given, so a gzip file's decompression is in them (the other rows time the lines).

use std::hint::black_box;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegen::ir::Rule as IrRule;
use detect::corpus::{Generator, Profile};
use detect::input::{Line, Lines};
use detect::scan;
use detections::view::{FieldTable, Scratch};
use detections::{Engine, Selection, rules};
use serde::de::IgnoredAny;
use serde_json::Value;

const LOG_TYPE: &str = "AWS.CloudTrail";

struct Args {
    events: usize,
    seed: u64,
    rounds: usize,
    /// Overrides the profiles' share of attacks.
    attack_share: Option<f64>,
    profiles: Vec<Profile>,
    /// `--input FILE`, repeatable: these events instead of generated ones.
    inputs: Vec<PathBuf>,
    /// Only the rows whose name contains this, or is this if it ends in `$` (the floor always runs).
    only: Option<String>,
    /// Instead of the table: each rule's cost per call.
    per_rule: bool,
    /// `--rule ID`, repeatable: one more row, the engine with only these rules.
    rules: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        events: 200_000,
        seed: 1,
        rounds: 7,
        attack_share: None,
        profiles: vec![Profile::Low, Profile::High],
        inputs: Vec::new(),
        only: None,
        per_rule: false,
        rules: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--events" => a.events = value()?.parse().map_err(|e| format!("--events: {e}"))?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--rounds" => a.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--attack-share" => {
                a.attack_share = Some(value()?.parse().map_err(|e| format!("--attack-share: {e}"))?)
            }
            "--profile" => {
                a.profiles = match value()?.as_str() {
                    "both" => vec![Profile::Low, Profile::High],
                    one => vec![one.parse()?],
                }
            }
            "--input" => a.inputs.push(value()?.into()),
            "--only" => a.only = Some(value()?),
            "--per-rule" => a.per_rule = true,
            "--rule" => a.rules.push(value()?),
            "-h" | "--help" => {
                return Err("usage: bench [--events N] [--seed S] [--rounds R] [--profile low|high|both] [--attack-share F] [--input FILE]... [--only NAME] [--per-rule] [--rule ID]...".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// One row of the table: a closure that processes the whole corpus once and returns a checksum.
struct Row<'a> {
    name: String,
    f: Box<dyn FnMut() -> usize + 'a>,
    times: Vec<Duration>,
    checksum: usize,
}

/// Adds a row unless `--only` leaves it out (never the first, the floor).
fn add_row<'a>(
    rows: &mut Vec<Row<'a>>,
    only: &Option<String>,
    name: &str,
    f: Box<dyn FnMut() -> usize + 'a>,
) {
    // `--only NAME$` wants that row alone.
    let wanted = |only: &String| match only.strip_suffix('$') {
        Some(exact) => name == exact,
        None => name.contains(only.as_str()),
    };
    if rows.is_empty() || only.as_ref().is_none_or(wanted) {
        rows.push(Row { name: name.to_string(), f, times: Vec::new(), checksum: 0 });
    }
}

fn median<T: PartialOrd + Copy>(mut xs: Vec<T>) -> T {
    xs.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    xs[xs.len() / 2]
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if !a.inputs.is_empty() {
        let lines = match read_inputs(&a.inputs) {
            Ok(lines) => lines,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let name = a.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        let summary = format!("corpus: {} events of {name}, {}", lines.len(), sizes(&lines));
        run(&a, &format!("input {name}"), &summary, &lines, Corpus::Files(a.inputs.clone()));
        return;
    }
    for &profile in &a.profiles {
        let mut generator = Generator::with_profile(a.seed, profile);
        if let Some(share) = a.attack_share {
            generator = generator.with_attack_share(share);
        }
        let lines: Vec<Vec<u8>> = (0..a.events).map(|_| generator.next_event().into_bytes()).collect();
        let share = a.attack_share.unwrap_or(profile.shares().0);
        let name = format!("profile {}, seed {}, attack share {share}", profile.name(), a.seed);
        // `scripts/panther-timing` reads this line up to the attack share.
        let summary = format!(
            "corpus: {} CloudTrail events, {}, seed {}, attack share {share}; profile {}",
            lines.len(),
            sizes(&lines),
            a.seed,
            profile.name()
        );
        run(&a, &name, &summary, &lines, Corpus::Generated(profile));
    }
}

/// `N MB (median M bytes)`.
fn sizes(lines: &[Vec<u8>]) -> String {
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let median = if lines.is_empty() { 0 } else { median(lines.iter().map(Vec::len).collect()) };
    format!("{:.1} MB (median {median} bytes)", bytes as f64 / 1e6)
}

/// Where the end-to-end rows read the events from.
enum Corpus {
    Generated(Profile),
    Files(Vec<PathBuf>),
}

/// The text lines of `paths` (plain or gzip), as `detect scan` reads them.
fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, String> {
    let mut lines = Vec::new();
    for path in paths {
        let mut input =
            Lines::open(path, usize::MAX).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        while let Some((number, line)) = input.next_line() {
            match line {
                Line::Text(bytes) => lines.push(bytes),
                Line::TooLong(_) => {}
                Line::Broken(reason) => return Err(format!("{}:{number}: {reason}", path.display())),
            }
        }
    }
    Ok(lines)
}

/// Removes the corpus file the end-to-end rows read, however the run ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A writer that counts the records (lines) written to it and keeps nothing.
#[derive(Default)]
struct Sink {
    records: usize,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.records += buf.iter().filter(|&&b| b == b'\n').count();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `detect scan` over `files`, as the command line runs it (its output buffered as there); the
/// number of records written.
fn scan_files(engine: &Engine, files: &[PathBuf], threads: usize, matches: bool, signals: bool) -> usize {
    let options = scan::Options {
        inputs: files.iter().cloned().map(scan::Input::File).collect(),
        log_type: None,
        threads,
        matches,
        signals,
        max_line_bytes: 1 << 20,
        progress: false,
    };
    let mut sink = Sink::default();
    let mut out = io::BufWriter::with_capacity(1 << 16, &mut sink);
    let summary = scan::scan(engine, &options, &mut out).expect("a sink does not fail");
    drop(out);
    assert!(summary.io_errors.is_empty(), "{:?}", summary.io_errors);
    sink.records
}

/// Every row on one corpus, and its table.
fn run(a: &Args, corpus_name: &str, summary: &str, lines: &[Vec<u8>], corpus: Corpus) {
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let all = Selection { include_disabled: true, log_types: vec![LOG_TYPE.into()], ..Default::default() };
    let engine = Engine::new(rules::by_log_type::ALL, &all);
    let table = FieldTable::new(engine.rules().iter().flat_map(|r| r.fields.iter().copied()));
    eprintln!("{summary}; {} rules; {} rounds", engine.rules().len(), a.rounds);

    if a.per_rule {
        per_rule(&engine, &table, lines);
        return;
    }
    // The end-to-end rows read a file, as users' scans do.
    let (_temp, files) = match corpus {
        Corpus::Files(files) => (None, files),
        Corpus::Generated(profile) => {
            let path =
                std::env::temp_dir().join(format!("bench-{}-{}.jsonl", std::process::id(), profile.name()));
            let temp = TempFile(path.clone());
            let mut file = io::BufWriter::new(std::fs::File::create(&path).expect("a temporary file"));
            for line in lines {
                file.write_all(line).and_then(|()| file.write_all(b"\n")).expect("write the corpus");
            }
            file.flush().expect("write the corpus");
            (Some(temp), vec![path])
        }
    };
    let values: Vec<Value> = lines.iter().filter_map(|l| serde_json::from_slice(l).ok()).collect();
    let ir = load_ir(engine.rules().iter().map(|r| r.meta.source));
    let subset = |ids: Vec<String>| {
        Engine::new(
            rules::by_log_type::ALL,
            &Selection { rule_ids: ids, include_disabled: true, ..all.clone() },
        )
    };
    let mut subsets: Vec<(String, Engine)> = [10, 100]
        .into_iter()
        .map(|n| {
            (
                format!("{n} rules"),
                subset(engine.rules().iter().take(n).map(|r| r.meta.id.to_string()).collect()),
            )
        })
        .collect();
    if !a.rules.is_empty() {
        let unknown =
            Selection { rule_ids: a.rules.clone(), ..Selection::default() }.unknown_ids(engine.rules());
        if !unknown.is_empty() {
            eprintln!("no CloudTrail rule has the id {}", unknown.join(", "));
            std::process::exit(2);
        }
        subsets.push(("the rules given".to_string(), subset(a.rules.clone())));
    }
    // What `detect scan` runs by default: the enabled rules of every log type.
    let enabled = Engine::new(rules::by_log_type::ALL, &Selection::default());
    let mut rows: Vec<Row> = Vec::new();
    let add = |rows: &mut Vec<_>, name: &str, f| add_row(rows, &a.only, name, f);
    add(
        &mut rows,
        "floor: serde_json → IgnoredAny",
        Box::new(|| lines.iter().filter(|l| serde_json::from_slice::<IgnoredAny>(l).is_ok()).count()),
    );
    add(
        &mut rows,
        "scanner: validation only",
        Box::new(|| lines.iter().filter(|l| detections::json::document(l, &mut ()).is_ok()).count()),
    );
    let mut scratch = Scratch::new();
    add(
        &mut rows,
        "view: validation + the rules' fields found",
        Box::new(move || lines.iter().filter(|l| scratch.read(l, &table).is_ok()).count()),
    );
    add(&mut rows, "engine: bytes → verdicts", Box::new(|| verdicts(&engine, lines)));
    add(
        &mut rows,
        "engine: parsed Value → verdicts",
        Box::new(|| {
            let mut matched = Vec::new();
            values
                .iter()
                .map(|v| {
                    matched.clear();
                    engine.matching_value(v, Some(LOG_TYPE), &mut matched).map_or(0, |()| matched.len())
                })
                .sum()
        }),
    );
    add(
        &mut rows,
        "naive: Value + reference interpreter",
        Box::new(|| {
            lines
                .iter()
                .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
                .map(|v| ir.iter().filter(|r| codegen::reference::decide(r, &v).is_none()).count())
                .sum()
        }),
    );
    for (n, some) in &subsets {
        add(&mut rows, &format!("engine: bytes → verdicts, {n}"), Box::new(move || verdicts(some, lines)));
    }
    let (enabled, files) = (&enabled, &files);
    for (name, threads, matches, signals) in [
        ("end to end: detect scan --threads 1", 1, false, false),
        ("end to end: detect scan --threads 1 --signals", 1, false, true),
        ("end to end: detect scan --threads 1 --matches", 1, true, false),
        ("end to end: detect scan --threads 2", 2, false, false),
    ] {
        add(&mut rows, name, Box::new(move || scan_files(enabled, files, threads, matches, signals)));
    }

    // Rounds interleave the rows, so that the machine's drift touches every row alike.
    for round in 0..=a.rounds {
        for row in &mut rows {
            let start = Instant::now();
            let checksum = black_box((row.f)());
            if round > 0 {
                row.times.push(start.elapsed()); // round 0 warms up
            }
            row.checksum = checksum;
        }
        eprint!("\rround {round}/{}", a.rounds);
    }
    eprintln!();

    let floor = rows[0].times.clone();
    println!("\n{corpus_name}: {} events, {:.1} MB\n", lines.len(), bytes as f64 / 1e6);
    println!("| measurement | ns/event | events/s | MB/s | × floor | checksum |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let secs = median(r.times.clone()).as_secs_f64();
        // The median of the per-round ratios: each against the floor of the same round.
        let ratio =
            median(r.times.iter().zip(&floor).map(|(t, f)| t.as_secs_f64() / f.as_secs_f64()).collect());
        println!(
            "| {} | {:.0} | {:.0} | {:.1} | {:.2} | {} |",
            r.name,
            secs * 1e9 / lines.len() as f64,
            lines.len() as f64 / secs,
            bytes as f64 / 1e6 / secs,
            ratio,
            r.checksum
        );
    }
}

/// The cost of one call of each rule's matcher on every event (dispatch aside), slowest first:
/// where the time of evaluation goes.
fn per_rule(engine: &Engine, table: &FieldTable, lines: &[Vec<u8>]) {
    const REPEAT: u32 = 10;
    let mut scratch = Scratch::new();
    let mut totals = vec![(Duration::ZERO, 0usize); engine.rules().len()];
    for line in lines {
        let Ok(view) = scratch.read(line, table) else { continue };
        for (total, rule) in totals.iter_mut().zip(engine.rules()) {
            let start = Instant::now();
            let mut decided = None;
            for _ in 0..REPEAT {
                decided = black_box((rule.decide_view)(black_box(&view)));
            }
            total.0 += start.elapsed();
            total.1 += usize::from(decided.is_none());
        }
    }
    let mut rows: Vec<_> = engine.rules().iter().zip(&totals).collect();
    rows.sort_by_key(|(_, total)| std::cmp::Reverse(total.0));
    println!("| rule | ns per call | matches |");
    println!("|---|---:|---:|");
    for (rule, (time, matches)) in rows {
        let ns = time.as_nanos() as f64 / (f64::from(REPEAT) * lines.len() as f64);
        println!("| {} | {ns:.1} | {matches} |", rule.meta.id);
    }
}

/// Every line through the engine's fast path; the number of (event, rule) matches.
fn verdicts(engine: &Engine, lines: &[Vec<u8>]) -> usize {
    let mut matched = Vec::new();
    let mut count = 0;
    for line in lines {
        matched.clear();
        if engine.matching(line, Some(LOG_TYPE), &mut matched).is_ok() {
            count += matched.len();
        }
    }
    count
}

/// The IR of the declarative rules the engine runs, for the naive interpreter (which reads
/// the IR; Python rules, with their helpers beside them, are left out of that row).
fn load_ir<'a>(sources: impl Iterator<Item = &'a str>) -> Vec<IrRule> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
    let wanted: Vec<&str> = sources.collect();
    let files = codegen::load::find(&root.join("rules")).expect("list rules/");
    let (sources, _) = codegen::load::read(&files, root);
    // The engine's rules compiled, so they check; other files may not (a conformance copy).
    let (rules, _) = codegen::check::check_all(&sources);
    rules.into_iter().filter(|r| r.python.is_none() && wanted.contains(&r.source.as_str())).collect()
}
