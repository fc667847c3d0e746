//! The load generator and latency meter of `scripts/streaming/run.sh` (the figures of
//! BENCHMARKS.md, "Streaming"). Two commands against a NATS JetStream server:
//!
//! - `publish`: publishes an NDJSON file to a stream (made when missing, file storage), one event
//!   a message, as fast as the server acknowledges or at `--rate` events/s; with `--seconds` it
//!   loops over the file that long; with `--speed X` each event's `eventTime` and `p_event_time`
//!   become the wall clock at the start plus X times the time elapsed, so that event time runs
//!   X times faster than the wall clock and alerting windows close during the run.
//! - `latency`: reads back the input stream and the output stream and prints, from the times the
//!   server stored each message, the latency of every record the runner published: a match record
//!   (`--matches`) from the storing of its event; an alert record from the storing of the first
//!   event whose event time reached the end of the alert's window (the event that could close it:
//!   windows close on event time, so an alert is due once its window is over).
//!
//! Built with `cargo build --release -p detect --example stream_load`; not a user-facing tool.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use serde_json::Value;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            match args.first().map(String::as_str) {
                Some("publish") => publish(&Flags::new(&args[1..])?).await,
                Some("latency") => latency(&Flags::new(&args[1..])?).await,
                _ => Err("usage: stream_load publish|latency --server URL ... (see the module doc)".into()),
            }
        });
    if let Err(e) = result {
        eprintln!("stream_load: {e}");
        std::process::exit(1);
    }
}

/// `--name value` pairs.
struct Flags(Vec<(String, String)>);

impl Flags {
    fn new(args: &[String]) -> Result<Flags, String> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(name) = it.next() {
            let name = name.strip_prefix("--").ok_or_else(|| format!("expected a --flag, got {name}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            pairs.push((name.to_string(), value.clone()));
        }
        Ok(Flags(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn req(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("--{name} is required"))
    }

    fn num(&self, name: &str) -> Result<Option<f64>, String> {
        self.get(name).map(|v| v.parse().map_err(|_| format!("--{name}: not a number: {v}"))).transpose()
    }
}

async fn context(f: &Flags) -> Result<jetstream::Context, String> {
    let server = f.req("server")?;
    let client = async_nats::connect(server).await.map_err(|e| format!("cannot connect to {server}: {e}"))?;
    Ok(jetstream::new(client))
}

fn now_millis() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

async fn publish(f: &Flags) -> Result<(), String> {
    let js = context(f).await?;
    let name = f.req("stream")?;
    let subject = f.get("subject").unwrap_or("events.cloudtrail");
    js.get_or_create_stream(stream::Config {
        name: name.to_string(),
        subjects: vec![f.get("stream-subjects").unwrap_or("events.>").to_string()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("cannot make the stream {name}: {e}"))?;
    let input = f.req("input")?;
    let text = std::fs::read(input).map_err(|e| format!("cannot read {input}: {e}"))?;
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let rate = f.num("rate")?;
    let seconds = f.num("seconds")?;
    let speed = f.num("speed")?;
    let started = Instant::now();
    let origin = now_millis();
    let mut sent: u64 = 0;
    let mut pending = std::collections::VecDeque::new();
    'outer: loop {
        for line in &lines {
            if let Some(s) = seconds
                && started.elapsed().as_secs_f64() >= s
            {
                break 'outer;
            }
            if let Some(r) = rate {
                // Paced: never ahead of `rate` events per second since the start.
                let due = Duration::from_secs_f64(sent as f64 / r);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            let payload = match speed {
                Some(x) => retime(line, origin + (started.elapsed().as_millis() as f64 * x) as i64)?,
                None => line.to_vec(),
            };
            let ack = js.publish(subject.to_string(), payload.into()).await.map_err(|e| e.to_string())?;
            pending.push_back(ack);
            sent += 1;
            // Acks are awaited in order, a window of them at a time, as a fast producer would.
            while pending.len() > 1000 {
                pending.pop_front().unwrap().await.map_err(|e| e.to_string())?;
            }
        }
        if seconds.is_none() {
            break;
        }
    }
    for ack in pending {
        ack.await.map_err(|e| e.to_string())?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("published {sent} events in {secs:.2} s ({:.0} events/s)", sent as f64 / secs);
    Ok(())
}

/// The event with its event time set to `millis`.
fn retime(line: &[u8], millis: i64) -> Result<Vec<u8>, String> {
    let mut event: Value =
        serde_json::from_slice(line).map_err(|e| format!("an input line is not JSON: {e}"))?;
    if let Some(map) = event.as_object_mut() {
        let text = Value::from(detections::time::format(millis));
        map.insert("eventTime".into(), text.clone());
        map.insert("p_event_time".into(), text);
    }
    Ok(event.to_string().into_bytes())
}

/// Every message of `stream` (on `subject`, if given), in order, with the time the server
/// stored it (Unix nanoseconds).
async fn read_stream(
    js: &jetstream::Context,
    name: &str,
    subject: Option<&str>,
) -> Result<Vec<(u64, i128, jetstream::Message)>, String> {
    let mut s = js.get_stream(name).await.map_err(|e| format!("no stream {name}: {e}"))?;
    let last = s.info().await.map_err(|e| e.to_string())?.state.last_sequence;
    let c = s
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: subject.unwrap_or_default().to_string(),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    let mut messages = c.messages().await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(2), messages.next()).await {
        let m = m.map_err(|e| e.to_string())?;
        let info = m.info().map_err(|e| e.to_string())?;
        let (seq, at) = (info.stream_sequence, info.published.unix_timestamp_nanos());
        out.push((seq, at, m));
        if seq >= last {
            break;
        }
    }
    Ok(out)
}

async fn latency(f: &Flags) -> Result<(), String> {
    let js = context(f).await?;
    let input = read_stream(&js, f.req("input-stream")?, None).await?;
    let stored: std::collections::HashMap<u64, i128> = input.iter().map(|(seq, at, _)| (*seq, *at)).collect();
    // (latest event time so far, stored at) in stream order: the first entry at or past a
    // window's end is the event that made its alert due.
    let mut latest = i64::MIN;
    let times: Vec<(i64, i128)> = input
        .iter()
        .filter_map(|(_, at, m)| {
            let event: Value = serde_json::from_slice(&m.payload).ok()?;
            latest = latest.max(detections::time::event_time(&event, "AWS.CloudTrail")?);
            Some((latest, *at))
        })
        .collect();
    let periods: std::collections::HashMap<&str, i64> = detections::rules::ALL
        .iter()
        .map(|r| (r.meta.id, i64::from(r.meta.dedup_period_minutes) * 60_000))
        .collect();
    let output = read_stream(&js, f.req("output-stream")?, f.get("subject")).await?;
    let (mut matches, mut alerts, mut undue) = (Vec::new(), Vec::new(), 0u64);
    for (_, at, m) in &output {
        let record: Value =
            serde_json::from_slice(&m.payload).map_err(|e| format!("a record is not JSON: {e}"))?;
        if let Some(line) = record.get("line").and_then(Value::as_u64) {
            let from = stored.get(&line).ok_or_else(|| format!("no input message {line}"))?;
            matches.push(((at - from) as f64) / 1e6);
            continue;
        }
        // alert:{rule}:{dedup hash}:{window start}:{seq}.{rank}
        let id = m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.as_str().to_string());
        let start = id.as_deref().and_then(|id| id.rsplit(':').nth(1)).and_then(|s| s.parse::<i64>().ok());
        let rule = record.get("rule_id").and_then(Value::as_str).unwrap_or_default();
        let (Some(start), Some(period)) = (start, periods.get(rule)) else {
            return Err(format!("an alert record without a window: {record}"));
        };
        let end = start + period;
        match times.get(times.partition_point(|(t, _)| *t < end)) {
            Some((_, from)) => alerts.push(((at - from) as f64) / 1e6),
            None => undue += 1, // closed by the end of the input (flush), not by event time
        }
    }
    let line = |name: &str, mut v: Vec<f64>| {
        if v.is_empty() {
            return format!("{name}: none");
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        format!(
            "{name}: {} records, latency ms: median {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}",
            v.len(),
            q(0.5),
            q(0.9),
            q(0.99),
            v[v.len() - 1]
        )
    };
    println!("{} events in, {} records out", input.len(), output.len());
    println!("{}", line("matches (publish -> match record)", matches));
    println!("{}", line("alerts (window due -> alert record)", alerts));
    if undue > 0 {
        println!("{undue} alerts closed by the end of the input, not by event time (not counted)");
    }
    Ok(())
}
