//! The loop of one runner: fetch a batch from the shared consumer, evaluate it, fold it into the
//! shared alerting state in stream order, publish what it produced, and only then ack.
//!
//! Order of a run (messages whose stream sequences follow the clock's, with no message of the
//! consumer's subjects between them): fold in memory, write the changed windows and publish the
//! closed windows' alerts and the dead letters (waiting for every acknowledgement), commit the
//! clock (compare-and-set), purge the closed windows, ack. A crash anywhere before the commit
//! leaves the clock where it was: the messages come again and the same run gives the same
//! records with the same ids. A message at or before the clock is acked and dropped: another
//! runner, or an earlier life of this one, folded it in. A runner holding messages that do not
//! follow the clock (another runner has the earlier ones) keeps fetching, tells the server it is
//! still working on them, and waits for the clock to reach them.
//! With `--matches` there is no alerting state: each batch's records are published, then acked.
//! For tests, `DETECT_CONSUME_CRASH=before-commit:N` (or `before-ack:N`) aborts the process at
//! that point of its N-th run, where a crash is the most harmful, and `DETECT_CONSUME_PAUSE_MS=N`
//! delays every fetch by N ms, so that a test can stop a runner mid-stream however fast it gets.
//! Must not: know record formats (see `publish`) or the fold's rules (see `fold`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::{AckKind, Acker};
use async_nats::jetstream::stream::RawMessageErrorKind;
use detections::time::{Millis, event_time};
use detections::{Engine, Kind, Match};
use futures_util::StreamExt;
use serde_json::Value;

use super::fold::{self, FoldError, Item, Matched, WindowId};
use super::publish::{self, Outgoing};
use super::setup::Setup;
use super::state::{Error, State};
use super::{Options, Summary};

/// The most messages folded in one run.
const MAX_RUN: usize = 2048;

/// A message taken from the consumer and evaluated, until it is acked.
struct Held {
    acker: Acker,
    subject: String,
    outcome: Outcome,
}

enum Outcome {
    Rejected {
        reason: String,
        payload: Vec<u8>,
    },
    Evaluated {
        matches: Vec<Match>,
        /// The event, its log type and its time, when something matched.
        event: Option<(Value, String, Option<Millis>)>,
        errors: usize,
    },
}

/// How far a step got.
enum Step {
    /// Nothing is left in hand.
    Done,
    /// Messages in hand wait for other runners' earlier ones.
    Blocked,
}

pub struct Runner<'a> {
    o: &'a Options,
    engine: &'a Engine,
    rules: fold::Rules,
    setup: Setup,
    state: Option<State>,
    /// Where a new clock starts: the consumer's ack floor when this runner started.
    start: u64,
    held: BTreeMap<u64, Held>,
    /// A window found missing at a clock revision (twice: it is gone).
    missing: Option<(u64, WindowId)>,
    stop: Arc<AtomicBool>,
    pub summary: Summary,
}

impl<'a> Runner<'a> {
    pub fn new(
        o: &'a Options,
        engine: &'a Engine,
        setup: Setup,
        start: u64,
        stop: Arc<AtomicBool>,
    ) -> Runner<'a> {
        let state = setup.kv.clone().map(|kv| {
            let max_payload = setup.js.client().server_info().max_payload;
            State::new(kv, &o.stream, &o.consumer, setup.identity.clone(), fingerprint(engine), max_payload)
        });
        Runner {
            o,
            engine,
            rules: fold::Rules::new(engine.rules()),
            setup,
            state,
            start,
            held: BTreeMap::new(),
            missing: None,
            stop,
            summary: Summary::default(),
        }
    }

    /// Runs until stopped (or, with `--drain`, until the stream is consumed).
    pub async fn run(&mut self) -> Result<(), String> {
        let mut idle_since: Option<Instant> = None;
        let mut stopped_at: Option<Instant> = None;
        let mut last_progress = Instant::now();
        let mut backoff = Backoff::default();
        // Whether the clock stood still the last time this runner waited for it: the messages
        // it waits for may be with a runner that died (they come again after the ack wait), so
        // it fetches again, however much it holds.
        let mut stalled = false;
        loop {
            let stopping = self.stop.load(Ordering::SeqCst);
            if stopping && stopped_at.get_or_insert_with(Instant::now).elapsed() >= self.o.shutdown_grace {
                // Messages still in hand (waiting for other runners, or for a server that does
                // not answer) go back to the consumer for another runner.
                if !self.held.is_empty() {
                    eprintln!("detect consume: handing {} messages back", self.held.len());
                }
                for (_, h) in std::mem::take(&mut self.held) {
                    let _ = h.acker.ack_with(AckKind::Nak(None)).await;
                }
                return Ok(());
            }
            // The next batch is fetched while the messages in hand are folded and published.
            // With messages in hand, the fetch takes only what is there (no wait), and none
            // while a runner holds two batches it cannot fold yet because another runner has
            // earlier ones: hoarding would only keep that runner waiting (unless the clock
            // stalled). A pull always expires, and well within the ack wait: a pull the server
            // cannot fill (the consumer's max ack pending reached) would otherwise stay open and
            // take the same messages again when they time out.
            let fetch = (!stopping && (stalled || self.held.len() < 2 * self.o.batch)).then(|| {
                let wait = if self.held.is_empty() {
                    Some(self.o.fetch_wait.min(self.setup.ack_wait / 4))
                } else {
                    None
                };
                fetch(self.setup.consumer.clone(), self.o.batch, wait)
            });
            let fetching = async move {
                match fetch {
                    Some(f) => f.await,
                    None => Ok(Vec::new()),
                }
            };
            let (messages, step) = if self.o.matches {
                tokio::join!(fetching, self.publish_matches())
            } else {
                tokio::join!(fetching, self.apply())
            };
            let fetched = match messages {
                Ok(messages) => self.take(messages),
                Err(e) => {
                    backoff.fail(&e).await;
                    0
                }
            };
            match step {
                Ok(Step::Done) => backoff.reset(),
                Ok(Step::Blocked) => {
                    backoff.reset();
                    // Tells the server this runner still works on them.
                    if last_progress.elapsed() >= self.setup.ack_wait / 3 {
                        for h in self.held.values() {
                            let _ = h.acker.ack_with(AckKind::Progress).await;
                        }
                        last_progress = Instant::now();
                    }
                    if fetched == 0 {
                        // Until another runner moves the clock (or a little while).
                        let state = self.state.as_mut().expect("alert mode has a state");
                        stalled = !state.changed(Duration::from_millis(200)).await;
                    }
                }
                Err(Error::Fatal(m)) => return Err(m),
                Err(e) => {
                    if let Some(state) = &mut self.state {
                        state.forget();
                    }
                    backoff.fail(&e.to_string()).await;
                    continue;
                }
            }
            if !self.held.is_empty() {
                continue;
            }
            if stopping {
                return Ok(());
            }
            if fetched > 0 || !(self.o.drain || self.o.flush_after.is_some()) {
                idle_since = None;
                continue;
            }
            match self.stream_consumed().await {
                Ok(true) => {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    let due = self.o.drain || self.o.flush_after.is_some_and(|d| since.elapsed() >= d);
                    if due {
                        match self.flush().await {
                            Ok(()) if self.o.drain => return Ok(()),
                            Ok(()) => {}
                            Err(Error::Fatal(m)) => return Err(m),
                            Err(e) => backoff.fail(&e.to_string()).await,
                        }
                    }
                }
                Ok(false) => idle_since = None,
                Err(e) => backoff.fail(&e).await,
            }
        }
    }

    /// Evaluates fetched messages and holds them; returns how many came.
    fn take(&mut self, messages: Vec<jetstream::Message>) -> usize {
        let n = messages.len();
        for message in messages {
            let Ok(info) = message.info() else { continue };
            let (seq, delivered) = (info.stream_sequence, info.delivered);
            self.summary.received += 1;
            if delivered > 1 {
                self.summary.redelivered += 1;
            }
            let (message, acker) = message.split();
            let outcome = evaluate(self.engine, self.o.log_type.as_deref(), &message.payload);
            self.held.insert(seq, Held { acker, subject: message.subject.to_string(), outcome });
        }
        n
    }

    /// Folds every message in hand that follows the clock, run by run.
    async fn apply(&mut self) -> Result<Step, Error> {
        loop {
            let state = self.state.as_mut().expect("alert mode has a state");
            let start = self.start;
            let (clock, revision) = state.clock(|| start).await?;
            let done: Vec<u64> = self.held.range(..=clock.applied).map(|(s, _)| *s).collect();
            for seq in done {
                if let Some(h) = self.held.remove(&seq) {
                    self.summary.skipped += 1;
                    let _ = h.acker.ack().await;
                }
            }
            if self.held.is_empty() {
                return Ok(Step::Done);
            }
            let mut run = Vec::new();
            let mut next = clock.applied + 1;
            let candidates: Vec<u64> = self.held.keys().take(MAX_RUN).copied().collect();
            for seq in candidates {
                if seq != next && !self.nothing_between(next, seq).await? {
                    break;
                }
                run.push(seq);
                next = seq + 1;
            }
            if run.is_empty() {
                return Ok(Step::Blocked);
            }
            let items: Vec<Item> = run.iter().map(|s| item(*s, &self.held[s])).collect();
            let state = self.state.as_mut().expect("alert mode has a state");
            let windows = state.windows(revision, &fold::needed(&clock, &items)).await?;
            let mut after = clock.clone();
            let folded = match fold::fold(&mut after, windows, &items, &self.rules) {
                Ok(f) => f,
                Err(FoldError::Missing(id)) => {
                    self.lost(&clock, revision, id).await?;
                    continue;
                }
                Err(e) => return Err(Error::Fatal(e.to_string())),
            };
            let mut out = self.alerts(&folded);
            let (alerts, signals) = count(&folded);
            for &seq in &run {
                let h = &self.held[&seq];
                if let Outcome::Rejected { reason, payload } = &h.outcome {
                    out.push(self.dead_letter(seq, h, reason, payload));
                }
            }
            let state = self.state.as_mut().expect("alert mode has a state");
            let (written, published) =
                tokio::join!(state.write(&folded.changed), publish::publish(&self.setup.js, out));
            match written {
                Err(Error::Conflict) => {
                    self.summary.conflicts += 1;
                    state.forget();
                    continue;
                }
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            let published = published.map_err(Error::Transient)?;
            crash_point("before-commit", self.summary.runs + 1);
            let state = self.state.as_mut().expect("alert mode has a state");
            match state.commit(&after, revision).await {
                Err(Error::Conflict) => {
                    self.summary.conflicts += 1;
                    continue;
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            let closed: Vec<WindowId> = folded.closed.iter().map(|c| c.id).collect();
            state.purge(&closed).await;
            self.summary.runs += 1;
            self.summary.alerts += alerts;
            self.summary.signals += signals;
            self.summary.published += published.messages;
            self.summary.duplicates += published.duplicates;
            crash_point("before-ack", self.summary.runs);
            for seq in run {
                let h = self.held.remove(&seq).expect("in hand");
                self.summary.count(&h.outcome);
                let _ = h.acker.ack().await;
            }
        }
    }

    /// Whether the stream holds no message of the consumer's subjects from `from` up to
    /// (excluding) `to`.
    async fn nothing_between(&self, from: u64, to: u64) -> Result<bool, Error> {
        let found = self
            .setup
            .stream
            .raw_message_builder()
            .sequence(from)
            .next_by_subject(&self.setup.filter)
            .send()
            .await;
        match found {
            Ok(m) => Ok(m.sequence >= to),
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => Ok(true),
            Err(e) => Err(Error::Transient(format!("cannot look into the stream: {e}"))),
        }
    }

    /// A window the clock lists could not be read. Once, it may have been closed by a runner
    /// whose clock this one has not read yet; twice at the same clock, it is gone: it is
    /// dropped from the clock, with a warning, so that the stream goes on.
    async fn lost(&mut self, clock: &fold::Clock, revision: u64, id: WindowId) -> Result<(), Error> {
        let state = self.state.as_mut().expect("alert mode has a state");
        state.forget();
        if self.missing != Some((revision, id)) {
            self.missing = Some((revision, id));
            return Ok(());
        }
        eprintln!(
            "detect consume: warning: the window {}.{} is missing from the bucket: its alert is lost",
            id.0, id.1
        );
        let mut repaired = clock.clone();
        repaired.open.retain(|o| o.id() != id);
        match state.commit(&repaired, revision).await {
            Ok(_) | Err(Error::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The records of the closed windows that are published.
    fn alerts(&self, folded: &fold::Folded) -> Vec<Outgoing> {
        folded
            .closed
            .iter()
            .filter_map(|c| {
                let a = c.alert.as_ref()?;
                (a.kind == Kind::Alert || self.o.signals)
                    .then(|| publish::alert(&self.o.output_subject, a, c.start, c.id))
            })
            .collect()
    }

    fn dead_letter(&self, seq: u64, h: &Held, reason: &str, payload: &[u8]) -> Outgoing {
        publish::dead_letter(&self.o.dead_letter_subject, &self.o.stream, seq, &h.subject, reason, payload)
    }

    /// `--matches`: every message in hand, its records published, then acked.
    async fn publish_matches(&mut self) -> Result<Step, Error> {
        let mut out = Vec::new();
        for (&seq, h) in &self.held {
            match &h.outcome {
                Outcome::Rejected { reason, payload } => out.push(self.dead_letter(seq, h, reason, payload)),
                Outcome::Evaluated { matches, .. } => {
                    for m in matches {
                        out.push(publish::matched(&self.o.output_subject, &self.o.stream, seq, m));
                    }
                }
            }
        }
        let published = publish::publish(&self.setup.js, out).await.map_err(Error::Transient)?;
        self.summary.published += published.messages;
        self.summary.duplicates += published.duplicates;
        self.summary.runs += 1;
        for (_, h) in std::mem::take(&mut self.held) {
            self.summary.count(&h.outcome);
            let _ = h.acker.ack().await;
        }
        Ok(Step::Done)
    }

    /// Whether every message of the consumer was delivered and acked.
    async fn stream_consumed(&mut self) -> Result<bool, String> {
        let info =
            self.setup.consumer.get_info().await.map_err(|e| format!("cannot read the consumer: {e}"))?;
        if info.num_pending != 0 || info.num_ack_pending != 0 {
            return Ok(false);
        }
        // A consumer made a moment ago may still count nothing pending (seen with nats-server
        // 2.9 and two runners starting together): over the whole stream, the ack floor must
        // also have reached the stream's last message.
        if self.setup.filter != ">" {
            return Ok(true);
        }
        let mut stream = self.setup.stream.clone();
        let last =
            stream.info().await.map_err(|e| format!("cannot read the stream: {e}"))?.state.last_sequence;
        Ok(info.ack_floor.stream_sequence >= last)
    }

    /// The end of the input: closes every open window and publishes what reached its threshold.
    async fn flush(&mut self) -> Result<(), Error> {
        if self.o.matches {
            return Ok(());
        }
        loop {
            let state = self.state.as_mut().expect("alert mode has a state");
            let start = self.start;
            let (clock, revision) = state.clock(|| start).await?;
            if clock.open.is_empty() {
                return Ok(());
            }
            let ids: Vec<WindowId> = clock.open.iter().map(fold::Open::id).collect();
            let windows = state.windows(revision, &ids).await?;
            let mut after = clock.clone();
            let folded = match fold::flush(&mut after, windows, &self.rules) {
                Ok(f) => f,
                Err(FoldError::Missing(id)) => {
                    self.lost(&clock, revision, id).await?;
                    continue;
                }
                Err(e) => return Err(Error::Fatal(e.to_string())),
            };
            let out = self.alerts(&folded);
            let (alerts, signals) = count(&folded);
            let published = publish::publish(&self.setup.js, out).await.map_err(Error::Transient)?;
            let state = self.state.as_mut().expect("alert mode has a state");
            match state.commit(&after, revision).await {
                Err(Error::Conflict) => {
                    self.summary.conflicts += 1;
                    continue;
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            let closed: Vec<WindowId> = folded.closed.iter().map(|c| c.id).collect();
            state.purge(&closed).await;
            self.summary.flushes += 1;
            self.summary.alerts += alerts;
            self.summary.signals += signals;
            self.summary.published += published.messages;
            self.summary.duplicates += published.duplicates;
        }
    }
}

/// Takes up to `max` messages from the consumer, waiting at most `wait` for them (`None`: only
/// those already there). A pull is read until the server ends it, or until a little after it
/// expired there: servers before 2.10 may not say that a pull expired until something else
/// happens on the consumer. The consumer takes one pull at a time (`max_waiting` 1, see
/// `setup`), so that a batch is a contiguous range of the stream, which one runner can fold in
/// one run: while another runner's pull is open the server refuses this one, and a waiting
/// pull is tried again shortly.
async fn fetch(
    consumer: PullConsumer,
    max: usize,
    wait: Option<Duration>,
) -> Result<Vec<jetstream::Message>, String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot fetch: {e}");
    if let Some(pause) = test_pause() {
        tokio::time::sleep(pause).await;
    }
    let deadline = tokio::time::Instant::now() + wait.unwrap_or_default() + Duration::from_millis(250);
    let mut messages = Vec::new();
    'pull: loop {
        let mut batch = match wait {
            Some(wait) => consumer.batch().max_messages(max).expires(wait).messages().await,
            None => consumer.fetch().max_messages(max).messages().await,
        }
        .map_err(|e| cannot(&e))?;
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, batch.next()).await {
            match message {
                Ok(m) => messages.push(m),
                Err(e) if messages.is_empty() && e.to_string().contains("Exceeded MaxWaiting") => {
                    if wait.is_none() || tokio::time::Instant::now() + BUSY >= deadline {
                        break 'pull;
                    }
                    tokio::time::sleep(BUSY).await;
                    continue 'pull;
                }
                Err(e) if messages.is_empty() => return Err(cannot(&e)),
                Err(_) => break,
            }
        }
        break;
    }
    Ok(messages)
}

/// How long a runner waits before pulling again while another runner's pull is open.
const BUSY: Duration = Duration::from_millis(5);

/// The test hook: aborts the process at `point` of run `run` if `DETECT_CONSUME_CRASH` says so.
fn crash_point(point: &str, run: u64) {
    let Ok(wanted) = std::env::var("DETECT_CONSUME_CRASH") else { return };
    if wanted.split_once(':').is_some_and(|(p, n)| p == point && n.parse() == Ok(run)) {
        eprintln!("detect consume: DETECT_CONSUME_CRASH={wanted}: aborting");
        std::process::abort();
    }
}

/// The other test hook: how long `DETECT_CONSUME_PAUSE_MS` says each fetch waits first.
fn test_pause() -> Option<Duration> {
    static PAUSE: OnceLock<Option<Duration>> = OnceLock::new();
    *PAUSE.get_or_init(|| {
        let millis = std::env::var("DETECT_CONSUME_PAUSE_MS").ok()?.parse().ok()?;
        Some(Duration::from_millis(millis))
    })
}

/// Alerts and signals among the closed windows.
fn count(folded: &fold::Folded) -> (u64, u64) {
    let kinds = folded.closed.iter().filter_map(|c| c.alert.as_ref().map(|a| a.kind));
    kinds.fold((0, 0), |(a, s), k| if k == Kind::Alert { (a + 1, s) } else { (a, s + 1) })
}

fn item(seq: u64, h: &Held) -> Item<'_> {
    let matched = match &h.outcome {
        Outcome::Evaluated { matches, event: Some((event, log_type, time)), .. } if !matches.is_empty() => {
            Some(Matched { time: *time, event, log_type, matches })
        }
        _ => None,
    };
    Item { seq, matched }
}

/// One message's payload through the engine, as `detect scan` takes one line.
fn evaluate(engine: &Engine, log_type: Option<&str>, payload: &[u8]) -> Outcome {
    let rejected = |reason: String| Outcome::Rejected { reason, payload: payload.to_vec() };
    if payload.iter().all(u8::is_ascii_whitespace) {
        return rejected("empty message".into());
    }
    match engine.evaluate_bytes(payload, log_type) {
        Ok(ev) => {
            let event = ev.event.map(|event| {
                let time = event_time(&event, &ev.log_type);
                (event, ev.log_type, time)
            });
            Outcome::Evaluated { matches: ev.matches, event, errors: ev.errors.len() }
        }
        Err(e) => rejected(e.to_string()),
    }
}

/// The selected rules, as a fingerprint: runners sharing a consumer must run the same.
fn fingerprint(engine: &Engine) -> String {
    let mut ids: Vec<&str> = engine.rules().iter().map(|r| r.meta.id).collect();
    ids.sort_unstable();
    let hash = ids.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, id| {
        id.bytes().chain([0]).fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    });
    format!("{} rules, {hash:016x}", ids.len())
}

impl Summary {
    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Rejected { .. } => self.rejected += 1,
            Outcome::Evaluated { matches, event, errors } => {
                self.evaluated += 1;
                self.rule_errors += *errors as u64;
                if event.is_some() {
                    self.matched_events += 1;
                }
                self.matches += matches.len() as u64;
            }
        }
    }
}

/// Waits after a failure, longer each time in a row (100 ms to 5 s), and says what failed.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    async fn fail(&mut self, what: &str) {
        self.failures += 1;
        if self.failures <= 3 || self.failures.is_power_of_two() {
            eprintln!("detect consume: {what} (retrying)");
        }
        let millis = (100u64 << self.failures.min(6)).min(5_000);
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}
