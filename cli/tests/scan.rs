//! End-to-end tests of the `detect` binary: a real process over real files.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("detect-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn detect(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_detect"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run detect");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The seed rule. Tests that count matches run it alone, so that they hold whatever other rules
/// `rules/` holds (some of a user's own may match these small events too).
const SEED: &str = "AWS.EC2.StopInstances";

/// A StopInstances event (a match of AWS.EC2.StopInstances) at minute `minute` in `account`.
fn stop(account: &str, minute: u32) -> String {
    json!({
        "eventName": "StopInstances",
        "eventSource": "ec2.amazonaws.com",
        "eventTime": format!("2024-03-01T{:02}:{:02}:00Z", minute / 60, minute % 60),
        "recipientAccountId": account,
        "requestParameters": {"instancesSet": {"items": [{"instanceId": format!("i-{account}")}]}},
        "p_log_type": "AWS.CloudTrail",
    })
    .to_string()
}

fn other(minute: u32) -> String {
    json!({
        "eventName": "DescribeInstances",
        "eventTime": format!("2024-03-01T{:02}:{:02}:30Z", minute / 60, minute % 60),
        "p_log_type": "AWS.CloudTrail",
    })
    .to_string()
}

/// "scanned N lines (...) from ... in ... s: E events evaluated, R lines rejected" -> (N, E, R).
fn counts(summary: &str) -> (u64, u64, u64) {
    let first = summary.lines().next().expect("a summary");
    let num = |s: &str| s.replace(',', "").parse::<u64>().unwrap_or_else(|_| panic!("{first}"));
    let words: Vec<&str> = first.split_whitespace().collect();
    let tail: Vec<&str> = first.rsplit(": ").next().unwrap().split_whitespace().collect();
    (num(words[1]), num(tail[0]), num(tail[3]))
}

#[test]
fn bad_lines_are_reported_and_the_scan_goes_on() {
    let dir = scratch("bad");
    let path = dir.join("events.jsonl");
    let mut body = Vec::new();
    writeln!(body, "{}", stop("111", 0)).unwrap();
    writeln!(body, "{{\"eventName\": \"StopInstances\"").unwrap(); // 2: truncated JSON
    writeln!(body, "[1, 2, 3]").unwrap(); // 3: not an object
    body.extend_from_slice(b"{\"eventName\": \"\xff\xfe\", \"p_log_type\": \"AWS.CloudTrail\"}\n"); // 4: bad UTF-8
    writeln!(body).unwrap(); // 5: empty
    writeln!(body, "{{\"pad\": \"{}\", \"p_log_type\": \"AWS.CloudTrail\"}}", "x".repeat(5000)).unwrap(); // 6: too long
    writeln!(body, "{{\"p_log_type\": \"Unknown.Type\"}}").unwrap(); // 7: unknown log type
    writeln!(body, "{{\"eventName\": \"x\"}}").unwrap(); // 8: no log type
    writeln!(body, "{}", stop("222", 1)).unwrap();
    fs::write(&path, body).unwrap();

    let out = detect(
        &["scan", "--signals", "--rule", SEED, "--max-line-bytes", "4096", path.to_str().unwrap()],
        None,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let (lines, evaluated, rejected) = counts(&stderr);
    assert_eq!((lines, evaluated, rejected), (9, 2, 7), "{stderr}");
    assert_eq!(lines, evaluated + rejected);
    for (line, reason) in [
        (2, "invalid JSON"),
        (3, "not a JSON object"),
        (4, "invalid UTF-8"),
        (5, "empty line"),
        (6, "longer than the limit"),
        (7, "no rule for log type `Unknown.Type`"),
        (8, "no log type"),
    ] {
        let wanted = format!("events.jsonl:{line}: ");
        let found =
            stderr.lines().find(|l| l.contains(&wanted)).unwrap_or_else(|| panic!("line {line} in {stderr}"));
        assert!(found.contains(reason), "{found}");
    }
    // Both good events matched: two signals (different accounts, so different dedup strings).
    let records: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["kind"] == "signal" && r["rule_id"] == "AWS.EC2.StopInstances"));
}

#[test]
fn gzip_and_a_truncated_gzip_are_read() {
    let dir = scratch("gz");
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    for i in 0..2000 {
        writeln!(
            enc,
            "{}",
            if i % 100 == 0 { stop(&format!("{}", 100 + i / 100), i / 10) } else { other(i / 10) }
        )
        .unwrap();
    }
    let gz = enc.finish().unwrap();
    fs::write(dir.join("full.jsonl.gz"), &gz).unwrap();
    fs::write(dir.join("cut.jsonl.gz"), &gz[..gz.len() * 2 / 3]).unwrap();

    let out =
        detect(&["scan", "--signals", "--rule", SEED, dir.join("full.jsonl.gz").to_str().unwrap()], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(counts(&stderr), (2000, 2000, 0), "{stderr}");
    assert_eq!(text(&out.stdout).lines().count(), 20);

    let out = detect(
        &[
            "scan",
            "--signals",
            "--rule",
            SEED,
            dir.join("cut.jsonl.gz").to_str().unwrap(),
            dir.join("full.jsonl.gz").to_str().unwrap(),
        ],
        None,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "a truncated input is reported, not fatal: {stderr}");
    let (lines, evaluated, rejected) = counts(&stderr);
    assert_eq!(rejected, 1, "{stderr}");
    assert_eq!(lines, evaluated + rejected);
    assert!(lines > 2000 && lines < 4000, "{stderr}");
    assert!(stderr.contains("cut.jsonl.gz:") && stderr.contains("truncated"), "{stderr}");
}

fn big_input(dir: &Path) -> PathBuf {
    let path = dir.join("many.jsonl");
    let mut body = String::new();
    for i in 0..6000u32 {
        let line = match i % 7 {
            0 => stop(&format!("{}", i % 13), i / 20),
            1 if i % 5 == 0 => "garbage".to_string(),
            _ => other(i / 20),
        };
        body.push_str(&line);
        body.push('\n');
    }
    fs::write(&path, body).unwrap();
    path
}

#[test]
fn threads_give_the_same_output_as_one_thread() {
    let dir = scratch("threads");
    let path = big_input(&dir);
    let file = path.to_str().unwrap();
    let one = detect(&["scan", "--signals", "--threads", "1", file], None);
    let four = detect(&["scan", "--signals", "--threads", "4", file], None);
    assert_eq!(one.status.code(), Some(0));
    assert!(!one.stdout.is_empty());
    assert_eq!(text(&one.stdout), text(&four.stdout));
    assert_eq!(four.status.code(), Some(0));
    let matches_one = detect(&["scan", "--matches", "--threads", "1", file], None);
    let matches_two = detect(&["scan", "--matches", "--threads", "2", file], None);
    assert_eq!((matches_one.status.code(), matches_two.status.code()), (Some(0), Some(0)));
    assert!(!matches_one.stdout.is_empty());
    assert_eq!(text(&matches_one.stdout), text(&matches_two.stdout));
    // Every line is accounted for in either mode.
    let (lines, evaluated, rejected) = counts(&text(&four.stderr));
    assert_eq!((lines, evaluated + rejected), (6000, 6000));
}

#[test]
fn matches_mode_names_source_and_line() {
    let input = format!("{}\n{}\n{}\n", other(0), stop("333", 1), other(2));
    let out = detect(&["scan", "--matches", "--rule", SEED], Some(input.as_bytes()));
    let records: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 1, "{}", text(&out.stderr));
    assert_eq!(records[0]["source"], "<stdin>");
    assert_eq!(records[0]["line"], 2);
    assert_eq!(records[0]["rule_id"], "AWS.EC2.StopInstances");
    assert_eq!(records[0]["title"], "EC2 instances ['i-333'] stopped in account 333.");
}

#[test]
fn signals_are_left_out_unless_asked_for() {
    let input = format!("{}\n", stop("444", 0));
    let out = detect(&["scan", "--rule", SEED], Some(input.as_bytes()));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("0 alerts, 1 signal (not shown: add --signals)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_missing_file_is_an_io_error_but_the_others_are_scanned() {
    let input = scratch("missing").join("ok.jsonl");
    fs::write(&input, format!("{}\n", stop("555", 0))).unwrap();
    let out =
        detect(&["scan", "--signals", "--rule", SEED, "/no/such/file.jsonl", input.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    assert!(text(&out.stderr).contains("error: cannot read /no/such/file.jsonl"), "{}", text(&out.stderr));
}

#[test]
fn usage_errors_exit_with_status_two() {
    assert_eq!(detect(&["scan", "--no-such-flag"], None).status.code(), Some(2));
    assert_eq!(detect(&["scan", "--rule", "No.Such.Rule"], Some(b"")).status.code(), Some(2));
    assert_eq!(detect(&["scan", "--threads", "many"], None).status.code(), Some(2));
}

#[test]
fn rules_are_listed_as_a_table_and_as_json() {
    let table = text(&detect(&["rules"], None).stdout);
    assert!(table.starts_with("RULE"), "{table}");
    assert!(table.contains("AWS.EC2.StopInstances"));
    let json: Value =
        serde_json::from_slice(&detect(&["rules", "--json", "--rule", "AWS.EC2.StopInstances"], None).stdout)
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["create_alert"], false);
    assert_eq!(json[0]["log_types"], json!(["AWS.CloudTrail"]));
}

#[test]
fn the_shipped_sample_is_what_the_generator_makes() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cloudtrail.jsonl");
    let committed = fs::read(&sample).expect("examples/cloudtrail.jsonl");
    let generated = detect(&["sample"], None);
    assert_eq!(generated.status.code(), Some(0));
    assert!(
        committed == generated.stdout,
        "examples/cloudtrail.jsonl is stale: regenerate it with `cargo run -p detect -- sample > examples/cloudtrail.jsonl`"
    );
}

/// The sample scanned with the rules its attacks were taken from (`cli/src/attacks.jsonl`), so
/// that this holds whatever other rules `rules/` holds.
#[test]
fn the_shipped_sample_raises_alerts_of_several_rules() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cloudtrail.jsonl");
    let attacked: BTreeSet<String> = detect::corpus::attacks().into_iter().map(|(rule, _)| rule).collect();
    let mut args = vec!["scan"];
    for id in &attacked {
        args.extend(["--rule", id.as_str()]);
    }
    args.push(sample.to_str().unwrap());
    let out = detect(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rules: BTreeSet<String> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["rule_id"].as_str().unwrap().to_string())
        .collect();
    assert!(rules.len() >= 10 && rules.is_subset(&attacked), "{rules:?}");
    let (lines, evaluated, rejected) = counts(&text(&out.stderr));
    assert_eq!((lines, evaluated, rejected), (3000, 3000, 0));
}

/// An alert's title, context and severity are those of a match of its rule with its dedup
/// string, as `--matches` writes them (every output computed when the event is evaluated): also
/// where the scan computed them only when the match opened the window (most rules here), or
/// changed its mind about doing so (the signal that fires on 15 % of the high profile's events,
/// nearly each match opening a window of its own).
#[test]
fn alerts_have_the_outputs_of_their_matches() {
    let dir = scratch("deferred");
    let path = dir.join("high.jsonl");
    let sample = detect(&["sample", "--profile", "high", "--events", "6000", "--attack-share", "0.2"], None);
    assert_eq!(sample.status.code(), Some(0));
    fs::write(&path, &sample.stdout).unwrap();
    let file = path.to_str().unwrap();
    let key = |r: &Value| {
        let field = |k: &str| r[k].to_string();
        [field("rule_id"), field("dedup"), field("title"), field("severity"), field("context")]
    };
    let matches = detect(&["scan", "--matches", file], None);
    assert_eq!(matches.status.code(), Some(0));
    let matched: BTreeSet<[String; 5]> =
        text(&matches.stdout).lines().map(|l| key(&serde_json::from_str(l).unwrap())).collect();
    for threads in ["1", "2"] {
        let alerts = detect(&["scan", "--signals", "--threads", threads, file], None);
        assert_eq!(alerts.status.code(), Some(0));
        let records: Vec<Value> =
            text(&alerts.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let rules: BTreeSet<&str> = records.iter().map(|r| r["rule_id"].as_str().unwrap()).collect();
        assert!(records.len() > 500 && rules.len() > 10, "{} records of {rules:?}", records.len());
        for r in &records {
            assert!(matched.contains(&key(r)), "no match has the outputs of {r}");
        }
    }
}
