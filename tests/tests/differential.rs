//! Differential tests: the generated code, the fast path and the reference interpreter must
//! agree on every verdict and every alert output, for every rule of `tests/rules/` (the
//! generated rule set and the hand-written fixtures) on random and mutated events.
//!
//! For each rule, events are built from what the rule reads (its paths, planted with its own
//! constants and variants of them: other cases, other number spellings, prefixes) and from its
//! test logs, then mutated: fields removed, set to null or to another type, keys in another
//! case or repeated (in the raw text, where the last one wins), values wrapped in lists, strings
//! with unicode and escapes, numbers beyond 64 bits and beyond `f64`, nesting near the parsers'
//! limit. Each event is written as JSON text with random escapes and spacing, and then:
//!
//! - `serde_json` and the fast path's reader (`Scratch::read`) must accept or reject it alike;
//! - (a) the generated code over the `serde_json::Value`, (b) the generated code over the fast
//!   view of the bytes and (c) `codegen::reference::decide` over the `Value` must return the
//!   same `Option<u32>` (the match, or the line of the step that decided);
//! - on a match, every field of `Rule::required` is one the view found (the engine skips the
//!   rule on an event without one);
//! - on a match, `Rule::outputs` over the view, over the `Value`, and `reference::outputs` must
//!   give the same title, dedup string, context (keys in order, values) and severity;
//! - for a sample, the engine's `evaluate` (on the `Value`) and `evaluate_bytes` must give the
//!   same matches and outputs, and those must be the rules the reference interpreter matches
//!   among every rule of the log type.
//!
//! `cargo test` runs a few thousand events. A large run, seeded and reproducible:
//!
//! ```text
//! DIFFERENTIAL_EVENTS=1000000 cargo test --release -p integration-tests --test differential -- --nocapture
//! ```
//!
//! Other knobs: `DIFFERENTIAL_SEED` (a number), `DIFFERENTIAL_RULE` (one RuleID),
//! `DIFFERENTIAL_THREADS`. A disagreement names the rule file, the seed and event number, the
//! event's text and the three verdicts (or outputs); every disagreement is listed before the
//! test fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use codegen::ir::{self, ContextValue, Expr, Lit, Num, Segment, TemplatePart, Test};
use codegen::reference;
use detect::corpus::Rng;
use detections::view::{FieldTable, Scratch};
use detections::{Engine, Selection};
use serde_json::Value;

const DEFAULT_EVENTS_PER_RULE: u64 = 24;
const DEFAULT_SEED: u64 = 0xD1FF_0006;
/// One event in this many also goes through the engine both ways.
const ENGINE_EVERY: u64 = 8;
/// One engine comparison in this many also checks the matches against the interpreter.
const REFERENCE_EVERY: u64 = 4;
/// Disagreements shown in full (all are counted).
const SHOWN: usize = 20;

/// A rule of `tests/rules/`: its IR, its compiled form, and what its events are made of.
struct Subject {
    ir: ir::Rule,
    compiled: &'static detections::Rule,
    table: FieldTable,
    vocab: Vocab,
    seeds: Vec<J>,
}

#[derive(Default)]
struct Counts {
    events: AtomicU64,
    rejected_by_both: AtomicU64,
    verdicts: AtomicU64,
    matches: AtomicU64,
    engine: AtomicU64,
    engine_reference: AtomicU64,
    disagreements: AtomicU64,
}

#[test]
fn generated_code_fast_path_and_interpreter_agree() {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let seed = env("DIFFERENTIAL_SEED").map_or(DEFAULT_SEED, |s| parse_u64(&s));
    let only = env("DIFFERENTIAL_RULE");
    let threads = env("DIFFERENTIAL_THREADS").map_or(1, |s| parse_u64(&s).max(1) as usize);
    // Every rule (the engine's matches are checked against all of them), events for the chosen.
    let subjects: Vec<Subject> = load();
    let chosen: Vec<usize> =
        (0..subjects.len()).filter(|&i| only.as_deref().is_none_or(|id| subjects[i].ir.id == id)).collect();
    assert!(!chosen.is_empty(), "no rule {only:?} in tests/rules/");
    let per_rule = env("DIFFERENTIAL_EVENTS")
        .map_or(DEFAULT_EVENTS_PER_RULE, |n| parse_u64(&n).div_ceil(chosen.len() as u64));
    let engine = Engine::new(
        integration_tests::rules::by_log_type::ALL,
        &Selection { include_disabled: true, ..Selection::default() },
    );
    let mut by_log_type: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in subjects.iter().enumerate() {
        for t in &s.ir.log_types {
            by_log_type.entry(t).or_default().push(i);
        }
    }
    let counts = Counts::default();
    let report = Mutex::new(Vec::<String>::new());
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (subjects, chosen, counts, report, engine, by_log_type) =
                (&subjects, &chosen, &counts, &report, &engine, &by_log_type);
            scope.spawn(move || {
                let mut scratch = Scratch::new();
                for (_, &i) in chosen.iter().enumerate().filter(|(k, _)| k % threads == t) {
                    let s = &subjects[i];
                    let mut rng = Rng::new(seed ^ fnv(&s.ir.id));
                    for n in 0..per_rule {
                        let text = event_text(&mut rng, s, subjects, i);
                        let check = Check { s, subjects, engine, by_log_type, n };
                        let outcome = catch_unwind(AssertUnwindSafe(|| {
                            check.run(&text, &mut scratch, &mut rng, counts)
                        }));
                        let problem = match outcome {
                            Ok(problem) => problem,
                            Err(panic) => {
                                // The scratch may be mid-read: start afresh.
                                scratch = Scratch::new();
                                Some(format!("panicked: {}", panic_message(&*panic)))
                            }
                        };
                        counts.events.fetch_add(1, Ordering::Relaxed);
                        if let Some(problem) = problem {
                            counts.disagreements.fetch_add(1, Ordering::Relaxed);
                            let mut report = report.lock().expect("report lock");
                            if report.len() < SHOWN {
                                report.push(format!(
                                    "{} ({}), seed {seed:#x}, event {n}:\n  event: {}\n  {problem}",
                                    s.ir.source,
                                    s.ir.id,
                                    shown(&text)
                                ));
                            }
                        }
                    }
                }
            });
        }
    });
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    eprintln!(
        "differential: {} rules, {} events in {:.1?} (seed {seed:#x}): {} rejected by both parsers, {} verdict \
         triples compared, {} matches with outputs compared, {} events through the engine both ways ({} also \
         against the interpreter over every rule of the log type); {} disagreements",
        chosen.len(),
        get(&counts.events),
        started.elapsed(),
        get(&counts.rejected_by_both),
        get(&counts.verdicts),
        get(&counts.matches),
        get(&counts.engine),
        get(&counts.engine_reference),
        get(&counts.disagreements),
    );
    let report = report.into_inner().expect("report lock");
    assert!(
        report.is_empty(),
        "{} disagreements (the first {} below):\n\n{}",
        get(&counts.disagreements),
        report.len(),
        report.join("\n\n")
    );
    // The events must exercise both verdicts, or the comparison proves little.
    assert!(get(&counts.matches) * 50 > get(&counts.verdicts), "too few matching events");
}

/// One event of one rule, compared every way.
struct Check<'a> {
    s: &'a Subject,
    subjects: &'a [Subject],
    engine: &'a Engine,
    by_log_type: &'a BTreeMap<&'a str, Vec<usize>>,
    n: u64,
}

impl Check<'_> {
    fn run(&self, text: &str, scratch: &mut Scratch, rng: &mut Rng, counts: &Counts) -> Option<String> {
        let s = self.s;
        let parsed: Result<Value, _> = serde_json::from_str(text);
        let view = scratch.read(text.as_bytes(), &s.table);
        let value = match (parsed, view) {
            (Ok(value), Ok(view)) if value.is_object() => {
                let a = (s.compiled.decide)(&value);
                let b = (s.compiled.decide_view)(&view);
                let c = reference::decide(&s.ir, &value);
                counts.verdicts.fetch_add(1, Ordering::Relaxed);
                if a != b || b != c {
                    return Some(format!(
                        "verdicts differ (None = match, Some(line) = the step that decided):\n    generated code over the Value: {a:?}\n    generated code over the bytes (fast path): {b:?}\n    reference interpreter: {c:?}"
                    ));
                }
                if a.is_none() {
                    counts.matches.fetch_add(1, Ordering::Relaxed);
                    // The engine skips a rule on an event that lacks a required field.
                    let lacking = s
                        .compiled
                        .required
                        .iter()
                        .find(|&&p| s.table.key_node(p).is_none_or(|n| !view.found(n)));
                    if let Some(path) = lacking {
                        return Some(format!("matches without the required field {:?}", path.segs));
                    }
                    let (ov, ob, or) = (
                        s.compiled.outputs(&value),
                        s.compiled.outputs(&view),
                        reference::outputs(&s.ir, &value),
                    );
                    if let Some(diff) = outputs_differ(&ov, &ob, &or) {
                        return Some(diff);
                    }
                }
                value
            }
            (Ok(value), Err(detections::json::DocumentError::NotAnObject(_))) if !value.is_object() => {
                counts.rejected_by_both.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            (Err(_), Err(_)) => {
                counts.rejected_by_both.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            (Ok(_), Ok(_)) => return Some("the fast path accepts a JSON value that is not an object".into()),
            (Ok(_), Err(e)) => {
                return Some(format!("serde_json accepts the event, the fast path rejects it: {e:?}"));
            }
            (Err(e), Ok(_)) => {
                return Some(format!("the fast path accepts the event, serde_json rejects it: {e}"));
            }
        };
        if self.n.is_multiple_of(ENGINE_EVERY) {
            return self.engine_agrees(text, &value, rng, counts);
        }
        None
    }

    /// `evaluate` and `evaluate_bytes` give the same matches and outputs; now and then, the
    /// rules the interpreter matches among all the log type's rules.
    fn engine_agrees(&self, text: &str, value: &Value, rng: &mut Rng, counts: &Counts) -> Option<String> {
        let log_type = rng.pick(&self.s.ir.log_types).as_str();
        counts.engine.fetch_add(1, Ordering::Relaxed);
        let on_value = self.engine.evaluate(value, Some(log_type));
        let on_bytes = self.engine.evaluate_bytes(text.as_bytes(), Some(log_type));
        let (on_value, on_bytes) = match (on_value, on_bytes) {
            (Ok(v), Ok(b)) => (v, b),
            (v, b) => return Some(format!("engine: evaluate gives {v:?}, evaluate_bytes {b:?}")),
        };
        let sorted = |matches: &[detections::Match]| {
            let mut m: Vec<(&str, String)> =
                matches.iter().map(|m| (m.rule.meta.id, format!("{:?}", m.outputs))).collect();
            m.sort();
            m
        };
        let (v, b) = (sorted(&on_value), sorted(&on_bytes.matches));
        if v != b {
            return Some(format!("engine: evaluate matches {v:?}\n  evaluate_bytes matches {b:?}"));
        }
        if on_bytes.event.as_ref().is_some_and(|e| e != value) || on_bytes.event.is_some() == v.is_empty() {
            return Some(format!("engine: evaluate_bytes returned the event {:?}", on_bytes.event));
        }
        if self.n.is_multiple_of(ENGINE_EVERY * REFERENCE_EVERY) {
            counts.engine_reference.fetch_add(1, Ordering::Relaxed);
            let expected: Vec<&str> = self.by_log_type[log_type]
                .iter()
                .map(|&i| &self.subjects[i])
                .filter(|s| reference::decide(&s.ir, value).is_none())
                .map(|s| s.ir.id.as_str())
                .collect();
            let mut expected = expected;
            expected.sort_unstable();
            let found: Vec<&str> = v.iter().map(|(id, _)| *id).collect();
            if found != expected {
                return Some(format!(
                    "engine ({log_type}) matches {found:?}, the interpreter over every rule of the log type {expected:?}"
                ));
            }
        }
        None
    }
}

fn outputs_differ(
    value: &detections::Outputs,
    view: &detections::Outputs,
    reference: &reference::Outputs,
) -> Option<String> {
    let context = |c: &serde_json::Map<String, Value>| {
        c.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()
    };
    let mut out = String::new();
    let mut field = |name: &str, a: String, b: String, c: String| {
        if a != b || b != c {
            let _ = write!(
                out,
                "\n    {name}:\n      generated code over the Value: {a}\n      fast path: {b}\n      reference interpreter: {c}"
            );
        }
    };
    field(
        "title",
        format!("{:?}", value.title),
        format!("{:?}", view.title),
        format!("{:?}", reference.title),
    );
    field(
        "dedup",
        format!("{:?}", value.dedup),
        format!("{:?}", view.dedup),
        format!("{:?}", reference.dedup),
    );
    field(
        "context",
        format!("{:?}", context(&value.context)),
        format!("{:?}", context(&view.context)),
        format!("{:?}", context(&reference.context)),
    );
    field(
        "severity",
        value.severity.to_string(),
        view.severity.to_string(),
        reference.severity.name().to_string(),
    );
    (!out.is_empty()).then(|| format!("alert outputs differ on a match:{out}"))
}

fn load() -> Vec<Subject> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("crate in a workspace");
    let paths = codegen::load::find(&root.join("tests/rules")).expect("list tests/rules");
    let (sources, mut diags) = codegen::load::read(&paths, root);
    let (rules, more) = codegen::check::check_all(&sources);
    diags.extend(more);
    assert!(!diags.iter().any(codegen::Diagnostic::is_error), "tests/rules/ does not check");
    // The reference interpreter reads the IR of declarative rules; Python fixtures have their
    // own tests (their expected outputs computed by CPython).
    let rules: Vec<_> = rules.into_iter().filter(|r| r.python.is_none()).collect();
    let compiled: BTreeMap<&str, &'static detections::Rule> = integration_tests::rules::ALL
        .iter()
        .filter(|r| r.python.is_none())
        .map(|r| (r.meta.id, *r))
        .collect();
    assert_eq!(compiled.len(), rules.len(), "every rule is compiled once");
    rules
        .into_iter()
        .map(|ir| {
            let compiled = compiled[ir.id.as_str()];
            let seeds = ir
                .tests
                .iter()
                .map(|t| J::from(&serde_json::from_str::<Value>(&t.log).expect("test logs are JSON")))
                .collect();
            Subject {
                vocab: Vocab::of(&ir),
                table: FieldTable::new(compiled.fields.iter().copied()),
                compiled,
                seeds,
                ir,
            }
        })
        .collect()
}

// ---- what events are made of ------------------------------------------------------------------

/// The paths a rule reads (comprehension bodies below their list, with `[*]`), and its constants
/// as JSON texts.
#[derive(Default)]
struct Vocab {
    paths: Vec<Vec<Segment>>,
    /// JSON texts: strings (quoted) and numbers.
    values: Vec<String>,
    /// The two paths of each multi-key expression: events get related values at both.
    pairs: Vec<(Vec<Segment>, Vec<Segment>)>,
}

impl Vocab {
    fn of(rule: &ir::Rule) -> Vocab {
        let mut v = Vocab::default();
        for step in rule.filters.iter().chain(&rule.detection) {
            v.expr(&step.expr, &[]);
        }
        for d in &rule.dynamic_severities {
            d.conditions.iter().for_each(|c| v.expr(c, &[]));
        }
        let placeholder = |p: &ir::Placeholder, v: &mut Vocab| {
            v.paths.extend(p.paths.iter().map(|p| p.segments.clone()));
            if let Some(serde_json::Value::String(d)) = &p.default {
                v.string(d);
            }
        };
        let template = |t: &ir::Template, v: &mut Vocab| {
            for part in &t.parts {
                match part {
                    TemplatePart::Field(p) => placeholder(p, v),
                    TemplatePart::Walk(w) => v.deep_walk(w),
                    TemplatePart::Text(t) => v.string(t),
                    // Its cases are read below.
                    TemplatePart::Value(_) => {}
                }
            }
        };
        for value in &rule.template_values {
            for case in &value.cases {
                case.conditions.iter().for_each(|c| v.expr(c, &[]));
                template(&case.template, &mut v);
            }
        }
        for t in rule.title.iter().chain(&rule.dedup) {
            template(t, &mut v);
        }
        v.paths.extend(rule.group_by.iter().map(|p| p.segments.clone()));
        for c in &rule.context {
            match &c.value {
                ContextValue::Path(p) => v.paths.push(p.segments.clone()),
                ContextValue::Template(t) => template(t, &mut v),
                ContextValue::Choice(p) => placeholder(p, &mut v),
                ContextValue::Data(d) => v.data(d),
                ContextValue::PantherflowInvestigation => {}
            }
            c.conditions.iter().for_each(|e| v.expr(e, &[]));
        }
        v.paths.sort();
        v.paths.dedup();
        v.values.sort();
        v.values.dedup();
        v
    }

    fn data(&mut self, d: &ir::Data) {
        match d {
            ir::Data::Constant(_) => {}
            ir::Data::Choice(p) => self.paths.extend(p.paths.iter().map(|p| p.segments.clone())),
            ir::Data::List(items) => items.iter().for_each(|i| self.data(i)),
            ir::Data::Map(entries) => entries.iter().for_each(|(_, d)| self.data(d)),
        }
    }

    /// `deep_walk`'s keys as paths: as written, and with a list after each key but the last
    /// (where it walks every item), so that events have objects and lists along the way.
    fn deep_walk(&mut self, w: &ir::DeepWalk) {
        let keys: Vec<Segment> = w.keys.iter().map(|k| Segment::Key(k.clone())).collect();
        self.paths.push(keys.clone());
        for at in 1..keys.len() {
            let mut listed = keys.clone();
            listed.insert(at, Segment::Each);
            self.paths.push(listed);
        }
        if let Some(d) = &w.default {
            self.string(d);
        }
    }

    fn string(&mut self, s: &str) {
        self.values.push(Value::String(s.to_string()).to_string());
    }

    fn number(&mut self, n: &Num) {
        match n {
            Num::Int(i) => self.values.push(i.to_string()),
            Num::UInt(u) => self.values.push(u.to_string()),
            Num::Float(f) => {
                if let Some(n) = serde_json::Number::from_f64(*f) {
                    self.values.push(n.to_string());
                }
            }
        }
    }

    fn lit(&mut self, l: &Lit) {
        match l {
            Lit::Str(s) => self.string(s),
            Lit::Num(n) => self.number(n),
            Lit::Bool(b) => self.values.push(b.to_string()),
        }
    }

    fn expr(&mut self, e: &Expr, prefix: &[Segment]) {
        let under = |p: &ir::Path| -> Vec<Segment> { prefix.iter().chain(&p.segments).cloned().collect() };
        match e {
            Expr::Always(_) => {}
            Expr::All(xs) | Expr::Any(xs) | Expr::OnlyOne(xs) | Expr::None(xs) => {
                xs.iter().for_each(|x| self.expr(x, prefix))
            }
            Expr::Test { path, test, .. } => {
                self.paths.push(under(path));
                match test {
                    Test::Equals(l) | Test::Contains(l) | Test::Has(l) => self.lit(l),
                    Test::IsIn(ls) => ls.iter().for_each(|l| self.lit(l)),
                    Test::IEquals(s) | Test::IStartsWith(s) | Test::IEndsWith(s) | Test::IContains(s) => {
                        self.string(s);
                        self.string(&s.to_uppercase());
                    }
                    Test::StartsWith(s) | Test::EndsWith(s) => self.string(s),
                    Test::Compare(_, n) => self.number(n),
                    Test::MatchesGlob(globs) => globs.iter().for_each(|g| self.string(&glob_example(g))),
                    Test::InCidr(cidrs) => {
                        for c in cidrs {
                            self.string(&c.addr.to_string());
                            self.string(&format!("{}/{}", c.addr, c.prefix));
                        }
                    }
                    Test::CidrContains(addrs) => {
                        for a in addrs {
                            self.string(&a.to_string());
                            self.string(&format!("{a}/{}", if a.is_ipv4() { 24 } else { 64 }));
                        }
                    }
                    Test::Exists | Test::IsNull | Test::IsNullOrEmpty | Test::IsIp(_) => {}
                }
            }
            Expr::Compare { left, right, .. } => {
                self.paths.push(under(left));
                self.paths.push(under(right));
                self.pairs.push((under(left), under(right)));
            }
            Expr::Elements { path, body, .. } => {
                let list = under(path);
                self.paths.push(list.clone());
                let mut each = list;
                each.push(Segment::Each);
                body.iter().for_each(|x| self.expr(x, &each));
            }
        }
    }
}

/// A string the glob matches, more or less (`*` becomes some text, `?` a letter, a class its
/// first member).
fn glob_example(glob: &str) -> String {
    let mut out = String::new();
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str("xy"),
            '?' => out.push('q'),
            '[' => {
                let negated = chars.peek() == Some(&'!');
                let member: String = chars.by_ref().take_while(|&c| c != ']').collect();
                out.push(if negated { '#' } else { member.chars().next().unwrap_or('[') });
            }
            c => out.push(c),
        }
    }
    out
}

/// An event as the text will spell it: numbers as written, objects as written (a key may
/// repeat).
#[derive(Clone, Debug)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl From<&Value> for J {
    fn from(v: &Value) -> J {
        match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Num(n.to_string()),
            Value::String(s) => J::Str(s.clone()),
            Value::Array(items) => J::Arr(items.iter().map(J::from).collect()),
            Value::Object(m) => J::Obj(m.iter().map(|(k, v)| (k.clone(), J::from(v))).collect()),
        }
    }
}

/// Strings that tend to break things.
const ODD_STRINGS: &[&str] = &[
    "",
    " ",
    "é",
    "e\u{301}",
    "İ",
    "ß",
    "Σίσυφος",
    "😀",
    "\u{0}",
    "nul\u{0}inside",
    "\u{7f}\u{80}\u{9f}",
    "\u{2028}\u{2029}",
    "\u{feff}bom",
    "\u{202e}bidi",
    "tab\t\r\n",
    "quote\"back\\slash/",
    "{braces}",
    "10.0.0.1",
    "::1",
    "2001:db8::/32",
    "192.168.0.0/16",
    "10.0.0.0/8",
    " 10.0.0.1",
    "10.0.0.0/+8",
    "10.0.0.0/ 8",
    "*.exe",
    "a[!x]c",
    "K\u{212a}",
    "not an ip",
    "null",
    "true",
    "443",
];

/// Numbers as JSON may spell them, some beyond 64 bits or beyond `f64` (which `serde_json`
/// rejects, and the fast path must too).
const ODD_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "0.0",
    "1",
    "1.0",
    "1E2",
    "1e-2",
    "-1",
    "443",
    "443.0",
    "0.30000000000000004",
    "9007199254740992",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "-123456789012345678901234567890",
    "1.7976931348623157e308",
    "4.9e-324",
    "1e-400",
    "1e400",
    "-1e400",
];

fn random_scalar(rng: &mut Rng, vocab: &Vocab) -> J {
    match rng.below(10) {
        0..=3 if !vocab.values.is_empty() => {
            let j = from_text(rng.pick::<String>(&vocab.values));
            variant(rng, &j)
        }
        4 => J::Str(rng.pick(ODD_STRINGS).to_string()),
        5 => J::Num(rng.pick(ODD_NUMBERS).to_string()),
        6 => J::Null,
        7 => J::Bool(rng.chance(0.5)),
        8 => J::Num((rng.below(2000) as i64 - 1000).to_string()),
        _ => J::Str(format!("s{}", rng.below(100))),
    }
}

fn from_text(text: &str) -> J {
    J::from(&serde_json::from_str::<Value>(text).expect("vocabulary is JSON"))
}

/// `j`, or something close: another case, a prefix or suffix, another number spelling, the
/// number as a string, the string as a number.
fn variant(rng: &mut Rng, j: &J) -> J {
    match (j, rng.below(9)) {
        (J::Str(s), 0) => J::Str(s.to_uppercase()),
        (J::Str(s), 1) => J::Str(s.to_lowercase()),
        (J::Str(s), 2) => J::Str(format!("x{s}")),
        (J::Str(s), 3) => J::Str(format!("{s}x")),
        (J::Str(s), 4) if s.parse::<f64>().is_ok() => J::Num(s.clone()),
        (J::Str(s), 5) => J::Arr(vec![J::Str(s.clone()), J::Str("other".into())]),
        (J::Num(n), 0) => J::Str(n.clone()),
        (J::Num(n), 1) if !n.contains(['.', 'e', 'E']) => J::Num(format!("{n}.0")),
        (J::Num(n), 2) => J::Num(format!("{n}e0")),
        (J::Num(n), 3) => match n.parse::<f64>() {
            Ok(f) => J::Num(serde_json::Number::from_f64(f + 1.0).map_or(n.clone(), |x| x.to_string())),
            Err(_) => j.clone(),
        },
        (J::Num(n), 4) => match n.parse::<f64>() {
            Ok(f) => J::Num(serde_json::Number::from_f64(f - 0.5).map_or(n.clone(), |x| x.to_string())),
            Err(_) => j.clone(),
        },
        (J::Num(n), 5) => J::Arr(vec![J::Num(n.clone())]),
        _ => j.clone(),
    }
}

/// A value related to `j` as a multi-key expression's second field may be: `j` itself, in
/// another case, a prefix, suffix or part of it, a glob or a network around it, a list holding it.
fn related(rng: &mut Rng, j: &J) -> J {
    match (j, rng.below(12)) {
        (J::Str(s), 0) => J::Str(s.to_uppercase()),
        (J::Str(s), 1) => J::Str(s.to_lowercase()),
        (J::Str(s), 2..=4) => {
            let chars: Vec<char> = s.chars().collect();
            let a = rng.below(chars.len() as u64 + 1) as usize;
            let b = a + rng.below((chars.len() - a) as u64 + 1) as usize;
            let (a, b) = match rng.below(3) {
                0 => (0, b),
                1 => (a, chars.len()),
                _ => (a, b),
            };
            J::Str(chars[a..b].iter().collect())
        }
        (J::Str(s), 5) => {
            let chars: Vec<char> = s.chars().collect();
            let at = rng.below(chars.len() as u64 + 1) as usize;
            let tail: String = chars[at..].iter().collect();
            J::Str(if rng.chance(0.5) {
                format!("*{tail}")
            } else {
                format!("?{}", tail.chars().skip(1).collect::<String>())
            })
        }
        (J::Str(s), 6) => J::Str(format!("{s}/{}", rng.pick(&[0, 8, 16, 24, 32, 64, 128, 129]))),
        (J::Str(s), 7) => J::Arr(vec![J::Str("other".into()), J::Str(s.clone())]),
        (J::Num(n), 0) => J::Arr(vec![J::Num(n.clone()), J::Null]),
        (_, 8) => J::Arr(vec![j.clone()]),
        (_, 9) => variant(rng, j),
        _ => j.clone(),
    }
}

/// Puts `value` at `path` under `node`, building what is missing (objects for keys, lists for
/// indexes and `[*]`); keys are sometimes spelt in another case, or repeated.
fn plant(rng: &mut Rng, node: &mut J, path: &[Segment], value: J) {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return;
    };
    match first {
        Segment::Key(k) => {
            if !matches!(node, J::Obj(_)) {
                *node = J::Obj(Vec::new());
            }
            let J::Obj(members) = node else { unreachable!() };
            let key = if rng.chance(0.1) { flip_case(rng, k) } else { k.clone() };
            let at = match members.iter().position(|(m, _)| *m == key) {
                Some(at) if !rng.chance(0.05) => at,
                _ => {
                    members.push((key, J::Null));
                    members.len() - 1
                }
            };
            plant(rng, &mut members[at].1, rest, value);
        }
        Segment::Index(i) => {
            if i.unsigned_abs() > 12 {
                return;
            }
            if !matches!(node, J::Arr(_)) {
                *node = J::Arr(Vec::new());
            }
            let J::Arr(items) = node else { unreachable!() };
            let need = if *i < 0 { i.unsigned_abs() as usize } else { *i as usize + 1 };
            while items.len() < need || rng.chance(0.2) {
                items.push(if rng.chance(0.5) {
                    J::Obj(Vec::new())
                } else {
                    J::Num(rng.below(9).to_string())
                });
            }
            let at = if *i < 0 { items.len() - i.unsigned_abs() as usize } else { *i as usize };
            plant(rng, &mut items[at], rest, value);
        }
        Segment::Each => {
            if !matches!(node, J::Arr(_)) {
                *node = J::Arr(Vec::new());
            }
            let J::Arr(items) = node else { unreachable!() };
            while items.len() < rng.below(4) as usize {
                items.push(J::Obj(Vec::new()));
            }
            for item in items.iter_mut() {
                if rng.chance(0.75) {
                    let v = if rng.chance(0.5) { value.clone() } else { variant(rng, &value) };
                    plant(rng, item, rest, v);
                }
            }
        }
    }
}

fn flip_case(rng: &mut Rng, s: &str) -> String {
    let flipped: String = s
        .chars()
        .map(|c| if c.is_ascii_alphabetic() && rng.chance(0.5) { (c as u8 ^ 0x20) as char } else { c })
        .collect();
    if flipped == s { s.to_ascii_uppercase() } else { flipped }
}

/// A random event made of what `s` reads.
fn random_event(rng: &mut Rng, s: &Subject) -> J {
    let mut root = J::Obj(Vec::new());
    for _ in 0..1 + rng.below(8) {
        let value = random_value(rng, &s.vocab, 0);
        if !s.vocab.pairs.is_empty() && rng.chance(0.3) {
            // The two fields of a multi-key expression, with related values.
            let (mut first, mut second) = rng.pick(&s.vocab.pairs).clone();
            if rng.chance(0.3) {
                std::mem::swap(&mut first, &mut second);
            }
            let value = random_scalar(rng, &s.vocab);
            let other = related(rng, &value);
            plant(rng, &mut root, &first, value);
            plant(rng, &mut root, &second, other);
        } else if s.vocab.paths.is_empty() || rng.chance(0.1) {
            let key = Segment::Key(format!("k{}", rng.below(5)));
            plant(rng, &mut root, &[key], value);
        } else {
            let path = rng.pick(&s.vocab.paths).clone();
            plant(rng, &mut root, &path, value);
        }
    }
    root
}

fn random_value(rng: &mut Rng, vocab: &Vocab, depth: u32) -> J {
    match rng.below(if depth > 2 { 6 } else { 9 }) {
        0..=5 => random_scalar(rng, vocab),
        6 => J::Arr((0..rng.below(4)).map(|_| random_value(rng, vocab, depth + 1)).collect()),
        7 => J::Obj(
            (0..rng.below(4))
                .map(|_| {
                    let key = match vocab.values.is_empty() || rng.chance(0.5) {
                        true => format!("k{}", rng.below(4)),
                        false => match from_text(rng.pick::<String>(&vocab.values)) {
                            J::Str(s) => s,
                            _ => "n".into(),
                        },
                    };
                    (key, random_value(rng, vocab, depth + 1))
                })
                .collect(),
        ),
        _ => J::Arr(vec![]),
    }
}

/// Every place in `j`, as a list of child positions.
fn places(j: &J, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    out.push(at.clone());
    match j {
        J::Arr(items) => items.iter().enumerate().for_each(|(i, x)| {
            at.push(i);
            places(x, at, out);
            at.pop();
        }),
        J::Obj(members) => members.iter().enumerate().for_each(|(i, (_, x))| {
            at.push(i);
            places(x, at, out);
            at.pop();
        }),
        _ => {}
    }
}

fn at_mut<'j>(j: &'j mut J, at: &[usize]) -> &'j mut J {
    at.iter().fold(j, |j, &i| match j {
        J::Arr(items) => &mut items[i],
        J::Obj(members) => &mut members[i].1,
        _ => unreachable!("a place below a scalar"),
    })
}

/// One random change somewhere in `root`.
fn mutate(rng: &mut Rng, root: &mut J, vocab: &Vocab) {
    let mut all = Vec::new();
    places(root, &mut Vec::new(), &mut all);
    let at = rng.pick(&all).clone();
    // Changes of a member (its key) need its object.
    if let Some((&last, parent)) = at.split_last()
        && let J::Obj(members) = at_mut(root, parent)
    {
        match rng.below(14) {
            0 => {
                members.remove(last);
                return;
            }
            1 => {
                members[last].0 = flip_case(rng, &members[last].0);
                return;
            }
            2 => {
                // The same key again, before or after: the last one counts.
                let dup = (members[last].0.clone(), random_value(rng, vocab, 1));
                let to = if rng.chance(0.5) { last } else { members.len() };
                members.insert(to, dup);
                return;
            }
            3 => {
                let dup = (flip_case(rng, &members[last].0), random_value(rng, vocab, 1));
                let to = if rng.chance(0.5) { last } else { members.len() };
                members.insert(to, dup);
                return;
            }
            _ => {}
        }
    }
    let node = at_mut(root, &at);
    let is_root = at.is_empty();
    match rng.below(11) {
        0 if !is_root => *node = J::Null,
        1 if !is_root => *node = random_value(rng, vocab, 1),
        2 if !is_root => *node = variant(rng, node),
        3 if !is_root => *node = J::Arr(vec![node.clone()]),
        4 if !is_root => *node = J::Arr(vec![J::Arr(vec![node.clone()])]),
        5 if !is_root => *node = J::Num(rng.pick(ODD_NUMBERS).to_string()),
        6 if !is_root => *node = J::Str(rng.pick(ODD_STRINGS).to_string()),
        7 if !is_root => {
            // Nesting near the parsers' limit of 128 containers.
            let depth = 100 + rng.below(40);
            let mut inner = node.clone();
            for d in 0..depth {
                inner = if d % 2 == 0 { J::Arr(vec![inner]) } else { J::Obj(vec![("d".into(), inner)]) };
            }
            *node = inner;
        }
        8 => match node {
            J::Obj(members) => members.push((format!("k{}", rng.below(5)), random_value(rng, vocab, 1))),
            J::Arr(items) => items.push(random_value(rng, vocab, 1)),
            _ => {}
        },
        9 => {
            if let J::Obj(members) = node
                && !vocab.paths.is_empty()
            {
                let path = rng.pick(&vocab.paths).clone();
                let mut sub = J::Obj(std::mem::take(members));
                let value = random_scalar(rng, vocab);
                plant(rng, &mut sub, &path, value);
                *node = sub;
            }
        }
        _ => {
            if let J::Arr(items) = node
                && !items.is_empty()
            {
                let i = rng.below(items.len() as u64) as usize;
                items.remove(i);
            }
        }
    }
}

/// The text of the `n`-th event of rule `index`: a test log of the rule (or, now and then, of
/// another rule) or a random event, mutated, written with random escapes and spacing.
fn event_text(rng: &mut Rng, s: &Subject, subjects: &[Subject], index: usize) -> String {
    let mut j = match rng.below(20) {
        0..=7 if !s.seeds.is_empty() => rng.pick(&s.seeds).clone(),
        8 => {
            let other = &subjects[(index + 1 + rng.below(subjects.len() as u64) as usize) % subjects.len()];
            let mut j = other.seeds.first().cloned().unwrap_or(J::Obj(Vec::new()));
            if !s.vocab.paths.is_empty() {
                let path = rng.pick(&s.vocab.paths).clone();
                let value = random_scalar(rng, &s.vocab);
                plant(rng, &mut j, &path, value);
            }
            j
        }
        _ => random_event(rng, s),
    };
    let mutations = match rng.below(4) {
        0 => 0,
        1 | 2 => 1,
        _ => 1 + rng.below(4),
    };
    for _ in 0..mutations {
        mutate(rng, &mut j, &s.vocab);
    }
    let mut style = Style {
        escape_keys: rng.chance(0.15),
        escape_strings: rng.chance(0.15),
        spaces: rng.chance(0.2),
        invalid: rng.chance(0.02),
    };
    let mut out = String::new();
    write(rng, &j, &mut style, &mut out);
    out
}

struct Style {
    escape_keys: bool,
    escape_strings: bool,
    spaces: bool,
    /// Write one invalid escape (a lone surrogate, a bad escape): both parsers must refuse.
    invalid: bool,
}

fn write(rng: &mut Rng, j: &J, style: &mut Style, out: &mut String) {
    let ws = |rng: &mut Rng, style: &Style, out: &mut String| {
        if style.spaces && rng.chance(0.3) {
            out.push_str(rng.pick::<&str>(&[" ", "\n", "\t", "\r\n ", "  "]));
        }
    };
    match j {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(n),
        J::Str(s) => {
            let escape = style.escape_strings;
            write_string(rng, s, escape, style, out)
        }
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, style, out);
                write(rng, item, style, out);
                ws(rng, style, out);
            }
            out.push(']');
        }
        J::Obj(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, style, out);
                let escape = style.escape_keys;
                write_string(rng, k, escape, style, out);
                ws(rng, style, out);
                out.push(':');
                ws(rng, style, out);
                write(rng, v, style, out);
            }
            ws(rng, style, out);
            out.push('}');
        }
    }
}

fn write_string(rng: &mut Rng, s: &str, escape: bool, style: &mut Style, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let forced = matches!(c, '"' | '\\') || (c as u32) < 0x20;
        if !forced && (!escape || !rng.chance(0.3)) {
            out.push(c);
            continue;
        }
        match c {
            '"' if rng.chance(0.7) => out.push_str("\\\""),
            '\\' if rng.chance(0.7) => out.push_str("\\\\"),
            '\n' if rng.chance(0.7) => out.push_str("\\n"),
            '\t' if rng.chance(0.7) => out.push_str("\\t"),
            '\r' if rng.chance(0.7) => out.push_str("\\r"),
            '\u{8}' if rng.chance(0.7) => out.push_str("\\b"),
            '\u{c}' if rng.chance(0.7) => out.push_str("\\f"),
            '/' if rng.chance(0.5) => out.push_str("\\/"),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ =
                        if rng.chance(0.5) { write!(out, "\\u{u:04x}") } else { write!(out, "\\u{u:04X}") };
                }
            }
        }
    }
    if style.invalid && rng.chance(0.5) {
        style.invalid = false;
        out.push_str(rng.pick::<&str>(&["\\ud800", "\\udc00x", "\\ud800\\u0041", "\\x41", "\\u12", "\u{1}"]));
    }
    out.push('"');
}

fn shown(text: &str) -> String {
    if text.len() <= 4000 {
        text.to_string()
    } else {
        let cut = (0..=4000).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        format!("{}… ({} bytes)", &text[..cut], text.len())
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".into())
}

fn parse_u64(text: &str) -> u64 {
    let t = text.trim().replace('_', "");
    let parsed = match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("not a number: {text}"))
}

/// FNV-1a, to give each rule its own stream of events from one seed.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}
