//! `detect consume`: the compiled rules over a NATS JetStream stream, as a durable pull
//! consumer that any number of runner processes share, with alerts published to a subject as
//! the records `detect scan` writes.
//!
//! Delivery is at least once and loses nothing: a message is acked only after what it produced
//! is published and acknowledged by the stream that captures the output subject; records carry
//! deterministic `Nats-Msg-Id`s, so a redelivery after a crash adds no duplicate within the
//! output stream's duplicate window. Alerting is a fold over the stream in stream order (the
//! same as `detect scan` over the same events in the same order) whose state lives in a
//! key-value bucket; runners evaluate in parallel and take turns folding.
//! Modules: [`setup`] (connection, streams, consumer, bucket), [`runner`] (the loop: fetch,
//! evaluate, fold, publish, ack, shut down), [`fold`] (the alerting state machine over stored
//! state), [`state`] (that state in the bucket, compare-and-set), [`publish`] (records, ids,
//! dead letters).
//! Must not: parse arguments (see `main`).

mod fold;
mod publish;
mod runner;
mod setup;
mod state;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use detections::Engine;

/// What `detect consume` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    pub server: String,
    pub stream: String,
    /// The subjects of the stream when it is created.
    pub subjects: Vec<String>,
    /// The consumer's filter subject (when it is created); `None`: the whole stream.
    pub filter: Option<String>,
    pub consumer: String,
    pub output_subject: String,
    pub dead_letter_subject: String,
    /// The stream made for the output subjects when none captures them.
    pub output_stream: String,
    pub duplicate_window: Duration,
    pub kv_bucket: String,
    pub batch: usize,
    pub fetch_wait: Duration,
    pub ack_wait: Duration,
    pub max_ack_pending: i64,
    /// Stop once the stream is consumed, closing every window (the end of the input).
    pub drain: bool,
    /// Close every window once the stream has been consumed and idle this long.
    pub flush_after: Option<Duration>,
    pub shutdown_grace: Duration,
    pub log_type: Option<String>,
    pub matches: bool,
    pub signals: bool,
}

/// What a runner did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Messages taken from the consumer (redeliveries included).
    pub received: u64,
    pub redelivered: u64,
    /// Messages already folded in by another runner (or an earlier life of this one).
    pub skipped: u64,
    pub evaluated: u64,
    /// Rejected messages, published as dead letters.
    pub rejected: u64,
    pub matched_events: u64,
    pub matches: u64,
    pub rule_errors: u64,
    pub alerts: u64,
    pub signals: u64,
    pub published: u64,
    /// Records the server already had (published before a crash), dropped by their id.
    pub duplicates: u64,
    pub runs: u64,
    /// Runs thrown away because another runner moved the state first.
    pub conflicts: u64,
    pub flushes: u64,
    pub elapsed: Duration,
}

/// Runs one runner until it is stopped (SIGTERM, SIGINT) or, with `--drain`, until the stream
/// is consumed. Errors are those retrying cannot mend (setup, a state kept for other rules).
pub fn consume(engine: &Engine, options: &Options) -> Result<Summary, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        watch_signals(Arc::clone(&stop))?;
        let setup = setup::setup(options).await?;
        let mut consumer = setup.consumer.clone();
        let start = consumer
            .info()
            .await
            .map(|i| i.ack_floor.stream_sequence)
            .map_err(|e| format!("cannot read the consumer: {e}"))?;
        let mut runner = runner::Runner::new(options, engine, setup, start, stop);
        let result = runner.run().await;
        let mut summary = std::mem::take(&mut runner.summary);
        summary.elapsed = started.elapsed();
        result.map(|()| summary)
    })
}

/// The first SIGTERM or SIGINT stops fetching (what is in hand is finished); a second exits.
fn watch_signals(stop: Arc<AtomicBool>) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("cannot handle signals: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle signals: {e}"))?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("detect consume: stopping: finishing the messages in hand");
        }
    });
    Ok(())
}

impl Summary {
    /// The report for standard error.
    pub fn render(&self, o: &Options) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let mut s = format!(
            "consumed {} ({} redelivered) from {} (consumer {}) in {:.2} s: {} evaluated, {} rejected (dead letters), {} already folded in\n",
            plural(self.received, "message", "messages"),
            thousands(self.redelivered),
            o.stream,
            o.consumer,
            secs,
            plural(self.evaluated, "event", "events"),
            plural(self.rejected, "message", "messages"),
            thousands(self.skipped),
        );
        let outputs = if o.matches {
            "(matches mode: no alerting)".to_string()
        } else {
            format!(
                "{}, {}{}",
                plural(self.alerts, "alert", "alerts"),
                plural(self.signals, "signal", "signals"),
                if o.signals || self.signals == 0 { "" } else { " (not published: add --signals)" }
            )
        };
        s.push_str(&format!(
            "{} matched ({}); {outputs}\n",
            plural(self.matched_events, "event", "events"),
            plural(self.matches, "match", "matches"),
        ));
        s.push_str(&format!(
            "published {} to {}{}; {} folded, {} redone after another runner moved first, {}\n",
            plural(self.published, "record", "records"),
            o.output_subject,
            if self.duplicates > 0 {
                format!(" ({} already there, dropped by id)", thousands(self.duplicates))
            } else {
                String::new()
            },
            plural(self.runs, "run", "runs"),
            thousands(self.conflicts),
            plural(self.flushes, "flush", "flushes"),
        ));
        if self.rule_errors > 0 {
            s.push_str(&format!(
                "{} in Python rules (no match)\n",
                plural(self.rule_errors, "rule error", "rule errors")
            ));
        }
        s.push_str(&format!(
            "throughput: {} events/s\n",
            thousands(((self.evaluated + self.rejected) as f64 / secs) as u64)
        ));
        s
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

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

/// `500ms`, `30s`, `2m`, `1h`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) =
        t.find(|c: char| !(c.is_ascii_digit() || c == '.')).map_or((t, ""), |i| t.split_at(i));
    let value: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 30s, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("`{text}`: the unit is ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("x").is_err());
    }
}
