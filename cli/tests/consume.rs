//! `detect consume` against a real NATS server: each test starts its own `nats-server` (JetStream,
//! file store, a free loopback port, a scratch directory), feeds it events, runs `detect consume`
//! as real processes (killed, restarted, stopped, two at once), reads what they published back
//! from the output stream, and compares it with what `detect scan` writes for the same events.
//!
//! Without `nats-server` on the machine the tests say so and pass, except under `CI=true`, where
//! its absence is an error (CI installs it: `.ci/run`).

use std::collections::BTreeMap;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::stream::{Config, StorageType};
use serde_json::Value;

/// The input stream the tests feed, and its subjects.
const STREAM: &str = "EVENTS";
const OUTPUT: &str = "detect.alerts";
const DEAD: &str = "detect.dead";
const OUTPUT_STREAM: &str = "DETECT";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("detect-consume-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// `nats-server`, wherever Debian or a user put it.
fn nats_server_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from));
    dirs.map(|d| d.join("nats-server")).find(|p| p.is_file())
}

/// A `nats-server` with JetStream on a free loopback port, its store in a scratch directory.
struct Server {
    binary: PathBuf,
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Server {
    /// `None` (after saying why) when `nats-server` is not installed, unless `CI=true`.
    fn start(name: &str) -> Option<Server> {
        let Some(binary) = nats_server_binary() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "nats-server is not installed, and CI must run these tests (`apt-get install nats-server`)"
                );
            }
            eprintln!(
                "SKIPPED: nats-server is not installed (`apt-get install nats-server` runs these tests)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = Server { binary, child: None, port, dir: scratch(name) };
        server.launch();
        Some(server)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let log = fs::File::create(self.dir.join("server.log")).unwrap();
        let child = Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.dir.join("store"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        // JetStream answers once it has recovered its store.
        block_on(async {
            let js = jetstream::new(async_nats::connect(self.url()).await.unwrap());
            while let Err(e) = js.get_stream(STREAM).await {
                if matches!(e.kind(), GetStreamErrorKind::JetStream(_)) {
                    break;
                }
                assert!(Instant::now() < deadline, "JetStream did not start");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }

    /// Kills the server (SIGKILL: no chance to flush anything) and starts it again on the same
    /// port and store.
    fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        self.launch();
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Makes the input stream and publishes one message a line, in order (sequence = line number).
fn publish(url: &str, messages: &[Vec<u8>]) {
    block_on(async {
        let js = jetstream::new(async_nats::connect(url).await.unwrap());
        js.get_or_create_stream(Config {
            name: STREAM.into(),
            subjects: vec!["events.>".into()],
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .unwrap();
        for chunk in messages.chunks(500) {
            let mut acks = Vec::new();
            for m in chunk {
                acks.push(js.publish("events.cloudtrail", m.clone().into()).await.unwrap());
            }
            for ack in acks {
                ack.await.unwrap();
            }
        }
    });
}

/// A message the output stream holds: its headers and payload.
struct Stored {
    headers: BTreeMap<String, String>,
    payload: Vec<u8>,
}

/// Every message of the output stream on `subject`, in order.
fn read_back(url: &str, subject: &str) -> Vec<Stored> {
    block_on(async {
        let js = jetstream::new(async_nats::connect(url).await.unwrap());
        let Ok(mut stream) = js.get_stream(OUTPUT_STREAM).await else { return Vec::new() };
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            let Ok(m) = stream.get_raw_message(seq).await else { continue };
            if m.subject.as_str() != subject {
                continue;
            }
            let headers = m
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(",")))
                .collect();
            out.push(Stored { headers, payload: m.payload.to_vec() });
        }
        out
    })
}

fn detect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detect")).args(args).output().expect("run detect")
}

/// `detect consume` against `server`, with the tests' subjects and the extra `args`.
fn consume_command(server: &Server, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_detect"));
    c.args(["consume", "--server", &server.url(), "--stream", STREAM]);
    c.args(["--dead-letter-subject", DEAD, "--fetch-wait", "200ms"]);
    for (flag, default) in [("--output-subject", OUTPUT), ("--output-stream", OUTPUT_STREAM)] {
        if !args.contains(&flag) {
            c.args([flag, default]);
        }
    }
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// A runner whose every fetch waits 5 ms first (`DETECT_CONSUME_PAUSE_MS`): for the tests that
/// stop it mid-stream or need two runners to share the work, which a fast engine on a busy
/// machine could otherwise finish before the test gets to act.
fn paced_command(server: &Server, args: &[&str]) -> Command {
    let mut c = consume_command(server, args);
    c.env("DETECT_CONSUME_PAUSE_MS", "5");
    c
}

/// Waits for a runner, killing it (and failing) if it runs for more than two minutes.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("detect consume did not finish: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn consume(server: &Server, args: &[&str]) -> Output {
    let out = finish(consume_command(server, args).spawn().expect("run detect consume"));
    assert!(out.status.success(), "detect consume failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Records as a sorted list of canonical JSON texts: a multiset, order left out.
fn records<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = lines
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON record").to_string())
        .collect();
    v.sort();
    v
}

fn scan(file: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["scan", "--quiet"];
    all.extend_from_slice(args);
    all.push(file.to_str().unwrap());
    let out = detect(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    records(String::from_utf8(out.stdout).unwrap().lines())
}

fn published(server: &Server, subject: &str) -> Vec<String> {
    records(read_back(&server.url(), subject).iter().map(|m| std::str::from_utf8(&m.payload).unwrap()))
}

/// A generated sample where a third of the events are attacks (many alerts, signals,
/// thresholds), stretched in time (a minute of the sample becomes an hour, so that windows close
/// on event time all along, not only at the end) and out of order: 2% of the events come up to
/// two hours late and 1% have no time (they count at the latest time seen): the cases where the
/// order of the stream decides the windows.
fn sample(dir: &Path, events: u32, seed: u32) -> (PathBuf, Vec<Vec<u8>>) {
    let out = detect(&[
        "sample",
        "--events",
        &events.to_string(),
        "--seed",
        &seed.to_string(),
        "--attack-share",
        "0.3",
    ]);
    assert!(out.status.success());
    let mut rng = Rng(u64::from(seed));
    let mut origin = None;
    let mut lines = Vec::new();
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut event: Value = serde_json::from_slice(line).unwrap();
        let t = detections::time::event_time(&event, "AWS.CloudTrail").expect("sample events have a time");
        let t0 = *origin.get_or_insert(t);
        let mut stretched = t0 + (t - t0) * 60;
        let map = event.as_object_mut().unwrap();
        match rng.below(100) {
            0 => {
                map.remove("p_event_time");
                map.remove("eventTime");
            }
            1 | 2 => stretched -= rng.below(2 * 3_600_000) as i64,
            _ => {}
        }
        if map.contains_key("eventTime") {
            let text = detections::time::format(stretched);
            map.insert("p_event_time".into(), Value::from(text.clone()));
            map.insert("eventTime".into(), Value::from(text));
        }
        lines.push(event.to_string().into_bytes());
    }
    let path = dir.join("events.jsonl");
    fs::write(&path, lines.join(&b'\n')).unwrap();
    (path, lines)
}

/// A small seeded generator for the tests' random choices.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Waits until the consumer's ack floor reaches `target` (the runner must not exit meanwhile).
fn wait_for_progress(server: &Server, runner: &mut Child, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress(&server.url()).0 < target {
        assert!(runner.try_wait().unwrap().is_none(), "the runner exited before sequence {target}");
        assert!(Instant::now() < deadline, "the runner did not reach sequence {target}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How far the consumer `detect` got: its ack floor (stream sequence) and the messages
/// delivered and not acked (nothing before the first runner made it).
fn progress(url: &str) -> (u64, usize) {
    block_on(async {
        let js = jetstream::new(async_nats::connect(url).await.unwrap());
        let stream = js.get_stream(STREAM).await.unwrap();
        match stream.consumer_info("detect").await {
            Ok(info) => (info.ack_floor.stream_sequence, info.num_ack_pending),
            Err(_) => (0, 0),
        }
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn consume_publishes_what_scan_writes() {
    let Some(server) = Server::start("same") else { return };
    let (file, lines) = sample(&server.dir, 1500, 11);
    publish(&server.url(), &lines);
    let expected = scan(&file, &["--signals"]);
    assert!(expected.len() > 20, "a sample with many alerts: {}", expected.len());
    let out = consume(&server, &["--drain", "--signals"]);
    assert_eq!(published(&server, OUTPUT), expected, "{}", stderr(&out));
    assert!(stderr(&out).contains("1,500 events evaluated"), "{}", stderr(&out));

    // The shipped sample through a second consumer: few alerts, no signals published.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cloudtrail.jsonl");
    let server = Server::start("shipped").unwrap();
    let text = fs::read(&shipped).unwrap();
    publish(
        &server.url(),
        &text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect::<Vec<_>>(),
    );
    consume(&server, &["--drain"]);
    let expected = scan(&shipped, &[]);
    assert!(!expected.is_empty());
    assert_eq!(published(&server, OUTPUT), expected);
}

#[test]
fn matches_mode_publishes_the_matches_of_scan() {
    let Some(server) = Server::start("matches") else { return };
    let (file, lines) = sample(&server.dir, 800, 12);
    publish(&server.url(), &lines);
    consume(
        &server,
        &["--drain", "--matches", "--consumer", "matcher", "--output-subject", "detect.matches"],
    );
    let got: Vec<String> = published(&server, "detect.matches")
        .into_iter()
        .map(|r| {
            let mut v: Value = serde_json::from_str(&r).unwrap();
            assert_eq!(v["source"], STREAM);
            v["source"] = Value::from(file.to_str().unwrap());
            v.to_string()
        })
        .collect();
    let mut got = got;
    got.sort();
    assert_eq!(got, scan(&file, &["--matches"]));
}

#[test]
fn two_runners_share_a_stream_and_publish_what_scan_writes() {
    let Some(server) = Server::start("two") else { return };
    let (file, lines) = sample(&server.dir, 3000, 13);
    publish(&server.url(), &lines);
    let args = ["--drain", "--signals", "--batch", "25"];
    let a = paced_command(&server, &args).spawn().unwrap();
    let b = paced_command(&server, &args).spawn().unwrap();
    let (a, b) = (finish(a), finish(b));
    assert!(a.status.success() && b.status.success(), "{}\n{}", stderr(&a), stderr(&b));
    assert_eq!(published(&server, OUTPUT), scan(&file, &["--signals"]), "{}\n{}", stderr(&a), stderr(&b));
    eprintln!("{}\n{}", stderr(&a), stderr(&b));
    // Both took part.
    for out in [&a, &b] {
        assert!(!stderr(out).contains("consumed 0 messages"), "{}", stderr(out));
    }
}

#[test]
fn runners_killed_at_random_points_lose_and_duplicate_nothing() {
    let Some(server) = Server::start("kill") else { return };
    let (file, lines) = sample(&server.dir, 8000, 14);
    publish(&server.url(), &lines);
    let expected = scan(&file, &["--signals"]);
    let seed = std::env::var("CONSUME_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(14);
    let mut rng = Rng(seed);
    let args = ["--signals", "--batch", "16", "--ack-wait", "1s", "--max-ack-pending", "256"];
    let total = lines.len() as u64;
    // The first runner stops gracefully: SIGTERM, exit status 0, nothing left unacked.
    let mut runner = paced_command(&server, &args).spawn().unwrap();
    wait_for_progress(&server, &mut runner, 300 + rng.below(300));
    Command::new("kill").args(["-TERM", &runner.id().to_string()]).status().unwrap();
    let out = finish(runner);
    assert!(out.status.success(), "SIGTERM: {:?} {}", out.status, stderr(&out));
    let (floor, pending) = progress(&server.url());
    assert!(floor > 0 && floor < lines.len() as u64 && pending == 0, "stopped at {floor}, {pending} unacked");
    // Runners that crash where it harms most: after writing windows and publishing alerts but
    // before committing the clock, and after committing before acking.
    for point in ["before-commit:2", "before-ack:2", "before-commit:5"] {
        let mut c = paced_command(&server, &args);
        let out = finish(c.arg("--drain").env("DETECT_CONSUME_CRASH", point).spawn().unwrap());
        assert!(stderr(&out).contains("aborting"), "{point}: {}", stderr(&out));
        let (floor, pending) = progress(&server.url());
        eprintln!("crashed {point} at sequence {floor}, {pending} messages unacked");
    }
    // SIGKILL at random points: once the runner got past a random sequence in the next fifth of
    // what is left (it first waits for the messages the last one died with), or at once.
    for round in 0..5 {
        let mut runner = paced_command(&server, &args).spawn().unwrap();
        let (floor, _) = progress(&server.url());
        let target = if round == 2 { 0 } else { floor + 1 + rng.below((total - floor) / 5) };
        wait_for_progress(&server, &mut runner, target);
        std::thread::sleep(Duration::from_millis(rng.below(50)));
        runner.kill().unwrap();
        runner.wait().unwrap();
        let (floor, pending) = progress(&server.url());
        eprintln!(
            "round {round} (seed {seed}): killed past {target} at sequence {floor}, {pending} messages unacked"
        );
        assert!(floor < total, "the stream was consumed before the kill: make it longer");
    }
    let out = consume(&server, &["--drain", "--signals", "--ack-wait", "1s"]);
    eprintln!("{}", stderr(&out));
    let got = read_back(&server.url(), OUTPUT);
    // Every record once: the ids of records published again were recognised by the server.
    let mut ids: Vec<&str> = got.iter().map(|m| m.headers["Nats-Msg-Id"].as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len());
    assert_eq!(
        records(got.iter().map(|m| std::str::from_utf8(&m.payload).unwrap())),
        expected,
        "seed {seed}: {}",
        stderr(&out)
    );
    eprintln!(
        "seed {seed}: {total} messages, 1 SIGTERM, 3 crashes, 5 SIGKILLs: {} records published, \
         each once, equal to the {} of detect scan",
        got.len(),
        expected.len()
    );
}

#[test]
fn poison_messages_become_dead_letters_and_the_stream_goes_on() {
    let Some(server) = Server::start("poison") else { return };
    let (_, mut lines) = sample(&server.dir, 600, 15);
    let poison: Vec<(&[u8], &str)> = vec![
        (b"not json", "invalid JSON"),
        (b"", "empty message"),
        (b"[1, 2]", "not a JSON object"),
        (br#"{"eventName": "StopInstances"}"#, "no log type"),
        (br#"{"p_log_type": "Nobody.Knows"}"#, "no rule for log type"),
        (b"{\"p_log_type\": \"AWS.CloudTrail\", \"x\": \"\xff\"}", "invalid UTF-8"),
    ];
    for (i, (p, _)) in poison.iter().enumerate() {
        lines.insert(i * 97 + 3, p.to_vec());
    }
    let file = server.dir.join("with-poison.jsonl");
    let mut text = Vec::new();
    for l in &lines {
        text.extend_from_slice(l);
        text.push(b'\n');
    }
    fs::write(&file, text).unwrap();
    publish(&server.url(), &lines);
    let out = consume(&server, &["--drain"]);
    assert!(stderr(&out).contains("6 messages rejected"), "{}", stderr(&out));
    let dead = read_back(&server.url(), DEAD);
    assert_eq!(dead.len(), poison.len());
    for (i, (d, (payload, reason))) in dead.iter().zip(&poison).enumerate() {
        assert!(d.headers["Detect-Reason"].contains(reason), "{:?} for {reason}", d.headers);
        assert_eq!(d.headers["Detect-Stream"], STREAM);
        assert_eq!(d.headers["Detect-Sequence"], (i * 97 + 4).to_string());
        assert_eq!(d.headers["Detect-Subject"], "events.cloudtrail");
        assert_eq!(d.payload, *payload, "the message as it came");
    }
    // The alerts are those of scan, which rejects the same lines.
    assert_eq!(published(&server, OUTPUT), scan(&file, &[]));
}

#[test]
fn a_server_restarted_under_a_running_consumer_loses_nothing() {
    let Some(mut server) = Server::start("restart") else { return };
    let (file, lines) = sample(&server.dir, 4000, 16);
    publish(&server.url(), &lines);
    let mut runner = paced_command(&server, &["--drain", "--signals", "--batch", "16", "--ack-wait", "2s"])
        .spawn()
        .unwrap();
    // Killed and restarted twice, each time once the runner got a fifth further into the stream.
    for target in [800, 2000] {
        wait_for_progress(&server, &mut runner, target);
        let (floor, _) = progress(&server.url());
        assert!(floor < lines.len() as u64, "the stream was consumed before the restart: make it longer");
        server.restart();
    }
    let out = finish(runner);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("disconnected"), "the runner saw the restart: {}", stderr(&out));
    assert_eq!(published(&server, OUTPUT), scan(&file, &["--signals"]), "{}", stderr(&out));
}

#[test]
fn an_idle_stream_closes_its_windows_after_flush_after() {
    let Some(server) = Server::start("idle") else { return };
    let (file, lines) = sample(&server.dir, 500, 17);
    publish(&server.url(), &lines);
    let expected = scan(&file, &[]);
    let runner = consume_command(&server, &["--flush-after", "300ms"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while published(&server, OUTPUT).len() < expected.len() {
        assert!(Instant::now() < deadline, "the windows were not flushed");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Still running (no --drain): SIGTERM stops it, with exit status 0.
    Command::new("kill").args(["-TERM", &runner.id().to_string()]).status().unwrap();
    let out = finish(runner);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 flush"), "{}", stderr(&out));
    assert_eq!(published(&server, OUTPUT), expected);
}
