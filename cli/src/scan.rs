//! `detect scan`: lines in, alerts (or matches) out, and a summary of what happened.
//!
//! Owns the pipeline: one reader cuts the inputs into numbered batches of lines, workers
//! evaluate them (parse, dispatch, match, outputs), and one collector takes the batches back in
//! input order, so that the alerting state and the output are the same for any number of
//! threads. Nothing is lost: every line read is either evaluated or rejected with its reason,
//! and a broken input (unreadable, truncated) stops only itself.
//! Must not: know rule semantics (the engine does) or argument syntax (see `main`).

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use detections::rule::Rule;
use detections::time::Millis;
use detections::{Alerter, Engine, FirstEvent, Kind, Match};

use crate::input::{self, Lines, Piece, Text};
use crate::output;

/// Where events come from.
#[derive(Clone, Debug)]
pub enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub inputs: Vec<Input>,
    /// Every event's log type; else each event's `p_log_type`.
    pub log_type: Option<String>,
    pub threads: usize,
    /// One record per (event, rule) instead of alerts.
    pub matches: bool,
    /// Report signals (`CreateAlert: false`) as well as alerts.
    pub signals: bool,
    pub max_line_bytes: usize,
    /// A progress line on standard error when it is a terminal and the input large.
    pub progress: bool,
}

/// A line that could not be evaluated.
#[derive(Clone, Debug)]
pub struct Rejection {
    pub source: Arc<str>,
    pub line: u64,
    pub reason: String,
}

/// What a scan did.
#[derive(Debug, Default)]
pub struct Summary {
    pub files: usize,
    pub lines: u64,
    pub bytes: u64,
    pub evaluated: u64,
    pub rejected: u64,
    /// The first few rejections, for the report.
    pub rejections: Vec<Rejection>,
    pub matched_events: u64,
    pub matches: u64,
    pub per_rule: BTreeMap<&'static str, u64>,
    /// Exceptions in `rule()` of Python rules (no match, as Panther's rule errors), per rule.
    pub rule_errors: BTreeMap<&'static str, u64>,
    /// The first few of them, with where they happened.
    pub rule_error_examples: Vec<Rejection>,
    pub alerts: u64,
    pub signals: u64,
    /// Inputs that could not be opened.
    pub io_errors: Vec<String>,
    pub elapsed: Duration,
}

/// How many rejections the summary lists.
const SHOWN_REJECTIONS: usize = 10;
const BATCH_LINES: usize = 2048;
const BATCH_BYTES: usize = 2 << 20;

/// Batch buffers the collector is done with, for the reader to fill again: reading then costs
/// no allocation, and no fresh pages from the system, per batch. Bounded by [`Pool::keep`].
#[derive(Clone)]
struct Pool {
    buffers: Arc<Mutex<Vec<Vec<u8>>>>,
    keep: usize,
}

impl Pool {
    fn new(options: &Options) -> Pool {
        // As many as can be in flight: in both channels, and one in each stage.
        Pool { buffers: Arc::default(), keep: options.threads * 5 + 2 }
    }

    /// A buffer to read a batch into (its length is its size: see [`Lines::fill`]).
    fn take(&self) -> Vec<u8> {
        self.buffers.lock().ok().and_then(|mut b| b.pop()).unwrap_or_default()
    }

    fn give_back(&self, text: Text) {
        let Text::Owned(buf) = text else { return };
        if let Ok(mut buffers) = self.buffers.lock()
            && buffers.len() < self.keep
        {
            buffers.push(buf);
        }
    }
}

/// Numbered lines of one input, their bytes in one buffer (or mapped file).
struct Batch {
    index: u64,
    source: Arc<str>,
    text: Text,
    /// The part of `text` the lines span.
    span: Range<usize>,
    lines: Vec<(u64, Piece)>,
    bytes: u64,
}

/// What evaluating one line gave. Where something matched: the line's place in the batch's
/// buffer (its text, which an alert copies when it opens a window), log type and time.
enum Outcome {
    Evaluated {
        matches: Vec<Match>,
        event: Option<(std::ops::Range<usize>, &'static str, Option<Millis>)>,
        /// Python rules whose `rule()` raised on the event.
        errors: Vec<(&'static str, String)>,
    },
    Rejected(String),
}

struct Done {
    index: u64,
    source: Arc<str>,
    /// The batch's text, which the outcomes' ranges point into, and the part its lines span.
    text: Text,
    span: Range<usize>,
    /// How many lines the batch had.
    lines: u64,
    /// How many of them were evaluated with nothing to report (no match, no rule error): only
    /// counted, as most lines are.
    quiet: u64,
    /// The other lines' outcomes, in order.
    outcomes: Vec<(u64, Outcome)>,
    bytes: u64,
}

/// Scans `options.inputs`, writing records to `out`; returns the summary.
pub fn scan(engine: &Engine, options: &Options, out: &mut dyn Write) -> io::Result<Summary> {
    let started = Instant::now();
    let pool = Pool::new(options);
    let wanted = Wanted::new(engine, options);
    let mut collector = Collector::new(engine, options, wanted.clone(), out, pool.clone());
    let progress = Progress::new(options);
    if options.threads <= 1 {
        let mut reader = Reader::new(options, progress, pool);
        while let Some(batch) = reader.next_batch() {
            let done = evaluate(engine, options.log_type.as_deref(), &wanted, batch);
            collector.take(done)?;
        }
        collector.summary.io_errors = std::mem::take(&mut reader.io_errors);
        collector.summary.files = reader.files;
    } else {
        let (batches_tx, batches_rx) = sync_channel::<Batch>(options.threads * 2);
        let (done_tx, done_rx) = sync_channel::<Done>(options.threads * 2);
        let batches_rx = Arc::new(Mutex::new(batches_rx));
        let reader_result = std::thread::scope(|s| {
            for _ in 0..options.threads {
                let rx = Arc::clone(&batches_rx);
                let tx = done_tx.clone();
                let wanted = wanted.clone();
                s.spawn(move || worker(engine, options.log_type.as_deref(), &wanted, &rx, &tx));
            }
            drop(done_tx);
            let reader = s.spawn(move || read_all(Reader::new(options, progress, pool), &batches_tx));
            let collected = collect_in_order(&mut collector, &done_rx);
            let (io_errors, files) = reader.join().expect("reader thread");
            collected.map(|()| (io_errors, files))
        })?;
        collector.summary.io_errors = reader_result.0;
        collector.summary.files = reader_result.1;
    }
    collector.finish()?;
    let mut summary = collector.summary;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn read_all(mut reader: Reader, tx: &SyncSender<Batch>) -> (Vec<String>, usize) {
    while let Some(batch) = reader.next_batch() {
        if tx.send(batch).is_err() {
            break;
        }
    }
    (std::mem::take(&mut reader.io_errors), reader.files)
}

fn worker(
    engine: &Engine,
    log_type: Option<&str>,
    wanted: &Wanted,
    rx: &Mutex<Receiver<Batch>>,
    tx: &SyncSender<Done>,
) {
    loop {
        let batch = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(batch) = batch else { return };
        if tx.send(evaluate(engine, log_type, wanted, batch)).is_err() {
            return;
        }
    }
}

/// Hands finished batches to the collector in input order, whatever order they finish in.
fn collect_in_order(collector: &mut Collector, rx: &Receiver<Done>) -> io::Result<()> {
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0;
    for done in rx {
        pending.insert(done.index, done);
        while let Some(done) = pending.remove(&next) {
            collector.take(done)?;
            next += 1;
        }
    }
    Ok(())
}

/// Which outputs of a match are computed, and where. Matches of signals not shown are only
/// counted, by window: their dedup string is enough, and their event is not kept. Of those
/// written (all with `--matches`, alerts, and signals with `--signals`), a window's record holds
/// the outputs of its first match only: without `--matches`, a match may get only its dedup
/// string where the event is evaluated (which window it joins), and the rest once it opens a
/// window (`Collector::take`), from a new pass over its text; see [`Deferral`]. Rules compiled
/// from Python are the exception: their functions run on every match where the event is
/// evaluated, as Panther runs them, since they may keep state.
#[derive(Clone)]
struct Wanted {
    all_signals: bool,
    matches: bool,
    deferral: Arc<Deferral>,
}

impl Wanted {
    fn new(engine: &Engine, options: &Options) -> Wanted {
        Wanted {
            all_signals: options.matches || options.signals,
            matches: options.matches,
            deferral: Arc::new(Deferral::new(engine)),
        }
    }

    /// Whether `rule`'s matches are written (as records of their own, or in their window's).
    fn written(&self, rule: &Rule) -> bool {
        self.all_signals || rule.meta.create_alert
    }

    /// Whether `rule`'s matches may get their outputs besides the dedup string only once they
    /// open a window.
    fn deferrable(&self, rule: &Rule) -> bool {
        !self.matches && rule.python.is_none() && self.written(rule)
    }

    /// Whether every output of `rule`'s matches is computed where the event is evaluated.
    fn all_outputs(&self, rule: &'static Rule) -> bool {
        if self.deferrable(rule) {
            return !self.deferral.deferred(rule);
        }
        self.matches || (rule.python.is_some() && self.written(rule))
    }
}

/// Which rules' matches get their outputs only if they open a window. That saves the outputs
/// (an alert context can cost more than reading the event) of the matches that join a window,
/// and costs a second pass over the event for those that open one: worth it for a rule most
/// of whose matches join a window. So each rule starts deferred, and the collector, which sees
/// which matches open windows, keeps it so while fewer than one match in [`Deferral::EAGER`]
/// does. The records are the same either way (the outputs of a rule not compiled from Python
/// are a function of the event); only the cost differs (and with several threads, when the
/// workers see a change).
struct Deferral {
    /// The engine's rules by address, sorted: where each one's flag is.
    rules: Vec<usize>,
    deferred: Vec<AtomicBool>,
}

impl Deferral {
    /// A rule stays deferred while fewer than one in this many of its matches open a window.
    const EAGER: u64 = 4;
    /// Matches seen before the first decision.
    const WARM_UP: u64 = 16;

    fn new(engine: &Engine) -> Deferral {
        let mut rules: Vec<usize> = engine.rules().iter().map(|&r| address(r)).collect();
        rules.sort_unstable();
        rules.dedup();
        let deferred = rules.iter().map(|_| AtomicBool::new(true)).collect();
        Deferral { rules, deferred }
    }

    fn slot(&self, rule: &Rule) -> Option<usize> {
        self.rules.binary_search(&address(rule)).ok()
    }

    fn deferred(&self, rule: &Rule) -> bool {
        self.slot(rule).is_some_and(|i| self.deferred[i].load(Ordering::Relaxed))
    }
}

fn address(rule: &Rule) -> usize {
    std::ptr::from_ref(rule) as usize
}

/// The collector's count, per rule of [`Deferral::rules`], of matches and of windows they
/// opened.
#[derive(Default)]
struct Openings {
    counts: Vec<(u64, u64)>,
}

impl Openings {
    /// Counts a match of `rule` that opened a window or not, and decides whether the rule's
    /// later matches are deferred.
    fn count(&mut self, deferral: &Deferral, rule: &Rule, opened: bool) {
        let Some(i) = deferral.slot(rule) else { return };
        if self.counts.len() <= i {
            self.counts.resize(deferral.rules.len(), (0, 0));
        }
        let (matches, opens) = &mut self.counts[i];
        *matches += 1;
        *opens += u64::from(opened);
        if *matches >= Deferral::WARM_UP {
            deferral.deferred[i].store(*opens * Deferral::EAGER < *matches, Ordering::Relaxed);
        }
    }
}

fn evaluate(engine: &Engine, log_type: Option<&str>, wanted: &Wanted, batch: Batch) -> Done {
    let buf = &batch.text[..];
    let lines = batch.lines.len() as u64;
    let mut quiet = 0;
    let mut outcomes = Vec::new();
    for (number, piece) in batch.lines {
        let outcome = match piece {
            Piece::Text(range) if buf[range.clone()].iter().all(u8::is_ascii_whitespace) => {
                Outcome::Rejected("empty line".into())
            }
            Piece::Text(range) => {
                match engine.scan_bytes_with(&buf[range.clone()], log_type, |rule| wanted.all_outputs(rule)) {
                    Ok(ev) if ev.matches.is_empty() && ev.errors.is_empty() => {
                        quiet += 1;
                        continue;
                    }
                    Ok(ev) => {
                        let event = (!ev.matches.is_empty()).then_some((range, ev.log_type, ev.time));
                        Outcome::Evaluated { matches: ev.matches, event, errors: ev.errors }
                    }
                    Err(e) => Outcome::Rejected(e.to_string()),
                }
            }
            Piece::TooLong(len) => Outcome::Rejected(format!("line of {len} bytes is longer than the limit")),
            Piece::Broken(reason) => Outcome::Rejected(reason),
        };
        outcomes.push((number, outcome));
    }
    Done {
        index: batch.index,
        source: batch.source,
        text: batch.text,
        span: batch.span,
        lines,
        quiet,
        outcomes,
        bytes: batch.bytes,
    }
}

/// Cuts the inputs into batches of numbered lines.
struct Reader {
    inputs: std::vec::IntoIter<Input>,
    current: Option<(Arc<str>, Lines)>,
    max_line: usize,
    index: u64,
    io_errors: Vec<String>,
    files: usize,
    progress: Progress,
    pool: Pool,
}

impl Reader {
    fn new(options: &Options, progress: Progress, pool: Pool) -> Reader {
        Reader {
            pool,
            inputs: options.inputs.clone().into_iter(),
            current: None,
            max_line: options.max_line_bytes,
            index: 0,
            io_errors: Vec::new(),
            files: 0,
            progress,
        }
    }

    fn next_batch(&mut self) -> Option<Batch> {
        loop {
            if self.current.is_none() {
                let input = self.inputs.next()?;
                let opened = match &input {
                    Input::File(path) => Lines::open(path, self.max_line),
                    Input::Stdin => Lines::stdin(self.max_line),
                };
                match opened {
                    Ok(lines) => {
                        self.files += 1;
                        self.current = Some((input.name().into(), lines));
                    }
                    Err(e) => {
                        self.io_errors.push(format!("{}: {e}", input.name()));
                        continue;
                    }
                }
            }
            let (source, lines) = self.current.as_mut().expect("an open input");
            let mut batch = Vec::with_capacity(BATCH_LINES);
            let (text, span) = lines.batch(|| self.pool.take(), &mut batch, BATCH_LINES, BATCH_BYTES);
            let bytes = batch
                .iter()
                .map(|(_, piece)| match piece {
                    Piece::Text(range) => range.len() as u64 + 1,
                    Piece::TooLong(n) => *n as u64 + 1,
                    Piece::Broken(_) => 0,
                })
                .sum();
            self.progress.advance(bytes, batch.len() as u64);
            if batch.is_empty() {
                self.pool.give_back(text);
                self.current = None;
                continue;
            }
            let source = Arc::clone(source);
            self.index += 1;
            return Some(Batch { index: self.index - 1, source, text, span, lines: batch, bytes });
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.progress.clear();
    }
}

/// Whether the scan gave `m` its dedup string only (a computed title is never empty: it falls
/// back to the rule's name).
fn dedup_only(m: &Match) -> bool {
    m.outputs.title.is_empty()
}

/// Takes evaluated batches in order: counts, alerting, output.
struct Collector<'o> {
    /// What computes the deferred outputs of matches that open windows.
    engine: &'o Engine,
    out: &'o mut dyn Write,
    alerter: Alerter,
    matches_mode: bool,
    signals: bool,
    wanted: Wanted,
    openings: Openings,
    summary: Summary,
    pool: Pool,
}

impl<'o> Collector<'o> {
    fn new(
        engine: &'o Engine,
        options: &Options,
        wanted: Wanted,
        out: &'o mut dyn Write,
        pool: Pool,
    ) -> Collector<'o> {
        Collector {
            engine,
            pool,
            out,
            alerter: Alerter::new(),
            matches_mode: options.matches,
            signals: options.signals,
            wanted,
            openings: Openings::default(),
            summary: Summary::default(),
        }
    }

    fn take(&mut self, done: Done) -> io::Result<()> {
        self.summary.bytes += done.bytes;
        self.summary.lines += done.lines;
        self.summary.evaluated += done.quiet;
        for (line, outcome) in done.outcomes {
            match outcome {
                Outcome::Rejected(reason) => {
                    self.summary.rejected += 1;
                    if self.summary.rejections.len() < SHOWN_REJECTIONS {
                        let source = Arc::clone(&done.source);
                        self.summary.rejections.push(Rejection { source, line, reason });
                    }
                }
                Outcome::Evaluated { matches, event, errors } => {
                    self.summary.evaluated += 1;
                    for (rule, error) in errors {
                        *self.summary.rule_errors.entry(rule).or_default() += 1;
                        if self.summary.rule_error_examples.len() < SHOWN_REJECTIONS {
                            let source = Arc::clone(&done.source);
                            self.summary.rule_error_examples.push(Rejection {
                                source,
                                line,
                                reason: format!("{rule}: {error}"),
                            });
                        }
                    }
                    let Some((range, log_type, time)) = event else { continue };
                    self.summary.matched_events += 1;
                    for m in matches {
                        self.summary.matches += 1;
                        *self.summary.per_rule.entry(m.rule.meta.id).or_default() += 1;
                        if self.matches_mode {
                            output::write_matched(self.out, &done.source, line, &m)?;
                        } else {
                            // The text is copied, and deferred outputs computed, only if the
                            // match opens a window of a record that is written.
                            let rule = m.rule;
                            let written = self.wanted.written(rule);
                            let deferrable = self.wanted.deferrable(rule);
                            let engine = self.engine;
                            let mut opened = false;
                            let open = |m: &mut Match| {
                                opened = true;
                                if !written {
                                    return FirstEvent::Value(serde_json::Value::Null);
                                }
                                let bytes = &done.text[range.clone()];
                                if deferrable && dedup_only(m) {
                                    m.outputs = engine.outputs_of(rule, bytes).expect("evaluated before");
                                }
                                let text = std::str::from_utf8(bytes).expect("the scan validated UTF-8");
                                FirstEvent::Text(text.into())
                            };
                            let closed = self.alerter.observe_opening(m, time, log_type, open);
                            if deferrable {
                                self.openings.count(&self.wanted.deferral, rule, opened);
                            }
                            self.report(closed)?;
                        }
                    }
                }
            }
        }
        input::release(&done.text, done.span);
        self.pool.give_back(done.text);
        Ok(())
    }

    fn report(&mut self, alerts: Vec<detections::Alert>) -> io::Result<()> {
        for a in alerts {
            match a.kind {
                Kind::Alert => self.summary.alerts += 1,
                Kind::Signal => self.summary.signals += 1,
            }
            if a.kind == Kind::Alert || self.signals {
                output::write_alert(self.out, &a)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let rest = self.alerter.flush();
        self.report(rest)?;
        self.out.flush()
    }
}

impl Summary {
    /// The report for standard error.
    pub fn render(&self, matches_mode: bool, signals: bool) -> String {
        let mut s = String::new();
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        s.push_str(&format!(
            "scanned {} ({}) from {} in {:.2} s: {} evaluated, {} rejected\n",
            plural(self.lines, "line", "lines"),
            megabytes(self.bytes),
            plural(self.files as u64, "input", "inputs"),
            secs,
            plural(self.evaluated, "event", "events"),
            plural(self.rejected, "line", "lines"),
        ));
        let outputs = if matches_mode {
            "(matches mode: no alerting)".to_string()
        } else {
            format!(
                "{}, {}{}",
                plural(self.alerts, "alert", "alerts"),
                plural(self.signals, "signal", "signals"),
                if signals || self.signals == 0 { "" } else { " (not shown: add --signals)" }
            )
        };
        s.push_str(&format!(
            "{} matched ({}); {outputs}\n",
            plural(self.matched_events, "event", "events"),
            plural(self.matches, "match", "matches")
        ));
        s.push_str(&format!(
            "throughput: {} events/s, {:.1} MB/s\n",
            thousands((self.lines as f64 / secs) as u64),
            self.bytes as f64 / 1e6 / secs
        ));
        if !self.per_rule.is_empty() {
            s.push_str("matches per rule:\n");
            let width = self.per_rule.keys().map(|k| k.len()).max().unwrap_or(0);
            for (rule, n) in &self.per_rule {
                s.push_str(&format!("  {rule:<width$}  {}\n", thousands(*n)));
            }
        }
        if !self.rule_errors.is_empty() {
            s.push_str("rule errors (an exception in a Python rule's rule(): no match, as Panther records a rule error):\n");
            let width = self.rule_errors.keys().map(|k| k.len()).max().unwrap_or(0);
            for (rule, n) in &self.rule_errors {
                s.push_str(&format!("  {rule:<width$}  {}\n", thousands(*n)));
            }
            for r in &self.rule_error_examples {
                s.push_str(&format!("  {}:{}: {}\n", r.source, r.line, r.reason));
            }
        }
        if self.rejected > 0 {
            s.push_str(&format!("rejected lines (first {}):\n", self.rejections.len()));
            for r in &self.rejections {
                s.push_str(&format!("  {}:{}: {}\n", r.source, r.line, r.reason));
            }
        }
        for e in &self.io_errors {
            s.push_str(&format!("error: cannot read {e}\n"));
        }
        s
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A progress line on standard error, only when it is a terminal and the input is large.
struct Progress {
    enabled: bool,
    total: Option<u64>,
    bytes: u64,
    lines: u64,
    started: Instant,
    last: Instant,
}

impl Progress {
    /// Inputs smaller than this finish too fast for a progress line to help.
    const LARGE: u64 = 64 << 20;

    fn new(options: &Options) -> Progress {
        let sizes: Option<Vec<u64>> = options
            .inputs
            .iter()
            .map(|i| match i {
                Input::File(p) => input::size(p),
                Input::Stdin => None,
            })
            .collect();
        let total = sizes.map(|s| s.iter().sum::<u64>());
        let large = total.is_none_or(|t| t >= Self::LARGE);
        let now = Instant::now();
        Progress {
            enabled: options.progress && io::stderr().is_terminal() && large,
            total,
            bytes: 0,
            lines: 0,
            started: now,
            last: now,
        }
    }

    fn advance(&mut self, bytes: u64, lines: u64) {
        self.bytes += bytes;
        self.lines += lines;
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        let rate = self.lines as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let done = match self.total {
            Some(t) if t > 0 => format!(" ({:.0}%)", (self.bytes as f64 / t as f64 * 100.0).min(100.0)),
            _ => String::new(),
        };
        eprint!("\rscanning: {}{done}, {} events/s   ", megabytes(self.bytes), thousands(rate as u64));
    }

    fn clear(&mut self) {
        if self.enabled {
            eprint!("\r{:60}\r", "");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
