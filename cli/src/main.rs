//! `detect`: the compiled detection rules on the command line.
//!
//! ```text
//! detect scan [FILES...]   newline-delimited JSON events in, alerts (or matches) out
//! detect consume           the same over a NATS JetStream stream, alerts published to a subject
//! detect rules             the compiled rules, as a table or JSON
//! detect sample            seeded, realistic CloudTrail events (the shipped sample, benchmarks)
//! ```
//!
//! Exit status: 0 when done (even if lines were rejected: they are reported), 2 on a usage
//! error or an input that cannot be read.

mod consume;
mod list;

use detect::{output, scan};

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use detections::{Engine, Selection, Severity, rules};

fn cli() -> Command {
    let selection = [
        Arg::new("rule")
            .long("rule")
            .value_name("ID")
            .action(ArgAction::Append)
            .help("Only this rule (repeatable)"),
        Arg::new("tag")
            .long("tag")
            .value_name("TAG")
            .action(ArgAction::Append)
            .help("Only rules with this tag (repeatable)"),
        Arg::new("min-severity")
            .long("min-severity")
            .value_name("SEVERITY")
            .value_parser(|s: &str| s.parse::<Severity>())
            .help("Only rules of at least this severity (Info, Low, Medium, High, Critical)"),
        Arg::new("all").long("all").action(ArgAction::SetTrue).help("Include disabled rules"),
    ];
    Command::new("detect")
        .about("Runs the compiled detection rules over log events")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("scan")
                .about("Scans newline-delimited JSON events and writes alerts as NDJSON to standard output")
                .arg(
                    Arg::new("files")
                        .value_name("FILES")
                        .num_args(0..)
                        .value_parser(value_parser!(PathBuf))
                        .help("Event files, plain or gzip (standard input when none, or `-`)"),
                )
                .arg(
                    Arg::new("log-type")
                        .long("log-type")
                        .value_name("TYPE")
                        .help("The log type of every event (default: each event's `p_log_type`)"),
                )
                .arg(Arg::new("matches").long("matches").action(ArgAction::SetTrue).help(
                    "Write one record per (event, rule) match instead of alerts: source, line, rule, title, dedup",
                ))
                .arg(Arg::new("signals").long("signals").action(ArgAction::SetTrue).help(
                    "Also write signals (matches of rules with CreateAlert: false)",
                ))
                .arg(Arg::new("no-store").long("no-store").action(ArgAction::SetTrue).help(
                    "No key-value store: Python rules' caching helpers raise NoRegionError, as under CPython without DynamoDB (for comparisons with it)",
                ))
                .arg(
                    Arg::new("threads")
                        .long("threads")
                        .value_name("N")
                        .value_parser(value_parser!(usize))
                        .help("Worker threads (default: the number of cores); output is the same for any N, except for a Python rule whose module state (`global`) carries from one event to the next: that state is per thread"),
                )
                .arg(
                    Arg::new("max-line-bytes")
                        .long("max-line-bytes")
                        .value_name("BYTES")
                        .value_parser(value_parser!(usize))
                        .default_value("1048576")
                        .help("Longer lines are rejected (and not held in memory)"),
                )
                .arg(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("No summary on standard error"))
                .args(selection.clone()),
        )
        .subcommand(consume_command().args(selection.clone()))
        .subcommand(
            Command::new("sample")
                .about("Writes seeded, realistic CloudTrail events as NDJSON (examples/cloudtrail.jsonl is `--events 3000 --seed 1`)")
                .arg(Arg::new("events").long("events").value_name("N").value_parser(value_parser!(u64)).default_value("3000"))
                .arg(Arg::new("seed").long("seed").value_name("SEED").value_parser(value_parser!(u64)).default_value("1"))
                .arg(
                    Arg::new("attack-share")
                        .long("attack-share")
                        .value_name("FRACTION")
                        .value_parser(value_parser!(f64))
                        .help("The share of events that are positive test logs of shipped rules (default: 0.01; 0.02 with --profile high)"),
                )
                .arg(
                    Arg::new("profile")
                        .long("profile")
                        .value_name("PROFILE")
                        .value_parser(|s: &str| s.parse::<detect::corpus::Profile>())
                        .default_value("low")
                        .help("low: long-term access keys rare; high: the signal AWS.CloudTrail.UserAccessKeyAuth fires on about 15 % of events (the benchmarks' second corpus)"),
                ),
        )
        .subcommand(
            Command::new("rules")
                .about("Lists the compiled rules")
                .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).help("As a JSON array"))
                .args(selection),
        )
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let result = match matches.subcommand() {
        Some(("scan", m)) => scan(m),
        Some(("consume", m)) => consume(m),
        Some(("rules", m)) => list_rules(m),
        Some(("sample", m)) => sample(m),
        _ => unreachable!("a subcommand is required"),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// The rules the selection flags ask for; unknown rule ids are an error.
fn engine(m: &ArgMatches, log_type: Option<&str>) -> Result<Engine, String> {
    let strings = |name: &str| m.get_many::<String>(name).map(|v| v.cloned().collect()).unwrap_or_default();
    let selection = Selection {
        include_disabled: m.get_flag("all"),
        rule_ids: strings("rule"),
        tags: strings("tag"),
        log_types: log_type.map(|t| vec![t.to_string()]).unwrap_or_default(),
        min_severity: m.get_one::<Severity>("min-severity").copied(),
    };
    let unknown = selection.unknown_ids(rules::ALL);
    if !unknown.is_empty() {
        return Err(format!("no rule has the id {} (see `detect rules --all`)", unknown.join(", ")));
    }
    Ok(Engine::new(rules::by_log_type::ALL, &selection))
}

fn scan(m: &ArgMatches) -> Result<ExitCode, String> {
    let log_type = m.get_one::<String>("log-type").cloned();
    let mut engine = engine(m, log_type.as_deref())?;
    if m.get_flag("no-store") {
        engine = engine.with_store(std::sync::Arc::new(detections::NoStore));
    }
    if engine.rules().is_empty() {
        return Err("no rule is selected".into());
    }
    let files: Vec<PathBuf> =
        m.get_many::<PathBuf>("files").map(|v| v.cloned().collect()).unwrap_or_default();
    let inputs = if files.is_empty() {
        vec![scan::Input::Stdin]
    } else {
        files
            .into_iter()
            .map(|f| if f.as_os_str() == "-" { scan::Input::Stdin } else { scan::Input::File(f) })
            .collect()
    };
    let threads = m
        .get_one::<usize>("threads")
        .copied()
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let options = scan::Options {
        inputs,
        log_type,
        threads,
        matches: m.get_flag("matches"),
        signals: m.get_flag("signals"),
        max_line_bytes: *m.get_one::<usize>("max-line-bytes").expect("has a default"),
        progress: true,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let summary = match scan::scan(&engine, &options, &mut out) {
        Ok(summary) => summary,
        // A closed pipe (`detect scan | head`) is how a reader says it has had enough.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(format!("cannot write the output: {e}")),
    };
    drop(out);
    if !m.get_flag("quiet") {
        eprint!("{}", summary.render(options.matches, options.signals));
    }
    Ok(if summary.io_errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn consume_command() -> Command {
    let text = |name: &'static str, value: &'static str, default: &'static str, help: &'static str| {
        Arg::new(name).long(name).value_name(value).default_value(default).help(help)
    };
    let duration = |name: &'static str, default: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .value_name("DURATION")
            .value_parser(consume::parse_duration)
            .default_value(default)
            .help(help)
    };
    Command::new("consume")
        .about(
            "Evaluates the events of a NATS JetStream stream through a durable pull consumer that runners share, \
             and publishes alerts as NDJSON records (those of `detect scan`) to a subject",
        )
        .arg(text("server", "URL", "nats://127.0.0.1:4222", "The NATS server"))
        .arg(text("stream", "NAME", "EVENTS", "The stream of events (made if missing, with --subject)"))
        .arg(
            Arg::new("subject")
                .long("subject")
                .value_name("SUBJECT")
                .action(ArgAction::Append)
                .help("A subject of the stream when it is made (repeatable; default: events.>)"),
        )
        .arg(
            Arg::new("filter")
                .long("filter")
                .value_name("SUBJECT")
                .help("Only messages of this subject (the consumer's filter when it is made; default: the whole stream)"),
        )
        .arg(text("consumer", "NAME", "detect", "The durable consumer that runners share (made if missing)"))
        .arg(text("output-subject", "SUBJECT", "detect.alerts", "Where alert (or match) records are published"))
        .arg(text(
            "dead-letter-subject",
            "SUBJECT",
            "detect.dead",
            "Where messages that cannot be evaluated are published, as they came, with a Detect-Reason header",
        ))
        .arg(text(
            "output-stream",
            "NAME",
            "DETECT",
            "The stream made for the output and dead-letter subjects when no stream captures them",
        ))
        .arg(duration("duplicate-window", "2m", "The duplicate window of a stream made for the output"))
        .arg(text("kv-bucket", "NAME", "detect", "The key-value bucket of the alerting windows (made if missing)"))
        .arg(
            Arg::new("batch")
                .long("batch")
                .value_name("N")
                .value_parser(value_parser!(usize))
                .default_value("1000")
                .help("Messages fetched at a time"),
        )
        .arg(duration("fetch-wait", "1s", "How long a fetch waits for messages"))
        .arg(duration("ack-wait", "30s", "The consumer's ack wait (when it is made): a crashed runner's messages come again after it"))
        .arg(
            Arg::new("max-ack-pending")
                .long("max-ack-pending")
                .value_name("N")
                .value_parser(value_parser!(i64))
                .default_value("10000")
                .help("Messages delivered and not yet acked, for all runners (when the consumer is made)"),
        )
        .arg(Arg::new("drain").long("drain").action(ArgAction::SetTrue).help(
            "Stop once every message of the stream is acked, closing every window first (the end of the input)",
        ))
        .arg(
            Arg::new("flush-after")
                .long("flush-after")
                .value_name("DURATION")
                .value_parser(consume::parse_duration)
                .help("Close every window once the stream has been consumed and idle this long"),
        )
        .arg(duration(
            "shutdown-grace",
            "10s",
            "On SIGTERM, how long to finish the messages in hand before handing the rest back",
        ))
        .arg(
            Arg::new("log-type")
                .long("log-type")
                .value_name("TYPE")
                .help("The log type of every event (default: each event's `p_log_type`)"),
        )
        .arg(Arg::new("matches").long("matches").action(ArgAction::SetTrue).help(
            "Publish one record per (event, rule) match instead of alerts (source: the stream, line: the sequence)",
        ))
        .arg(
            Arg::new("signals")
                .long("signals")
                .action(ArgAction::SetTrue)
                .help("Also publish signals (windows of rules with CreateAlert: false)"),
        )
        .arg(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("No summary on standard error"))
}

fn consume(m: &ArgMatches) -> Result<ExitCode, String> {
    let log_type = m.get_one::<String>("log-type").cloned();
    let engine = engine(m, log_type.as_deref())?;
    if engine.rules().is_empty() {
        return Err("no rule is selected".into());
    }
    let text = |name: &str| m.get_one::<String>(name).expect("has a default").clone();
    let duration = |name: &str| *m.get_one::<std::time::Duration>(name).expect("has a default");
    let subjects: Vec<String> = m
        .get_many::<String>("subject")
        .map(|v| v.cloned().collect())
        .unwrap_or_else(|| vec!["events.>".into()]);
    let options = consume::Options {
        server: text("server"),
        stream: text("stream"),
        subjects,
        filter: m.get_one::<String>("filter").cloned(),
        consumer: text("consumer"),
        output_subject: text("output-subject"),
        dead_letter_subject: text("dead-letter-subject"),
        output_stream: text("output-stream"),
        duplicate_window: duration("duplicate-window"),
        kv_bucket: text("kv-bucket"),
        batch: (*m.get_one::<usize>("batch").expect("has a default")).max(1),
        fetch_wait: duration("fetch-wait"),
        ack_wait: duration("ack-wait"),
        max_ack_pending: *m.get_one::<i64>("max-ack-pending").expect("has a default"),
        drain: m.get_flag("drain"),
        flush_after: m.get_one::<std::time::Duration>("flush-after").copied(),
        shutdown_grace: duration("shutdown-grace"),
        log_type,
        matches: m.get_flag("matches"),
        signals: m.get_flag("signals"),
    };
    let summary = consume::consume(&engine, &options)?;
    if !m.get_flag("quiet") {
        eprint!("{}", summary.render(&options));
    }
    Ok(ExitCode::SUCCESS)
}

fn list_rules(m: &ArgMatches) -> Result<ExitCode, String> {
    let engine = engine(m, None)?;
    let mut out = io::stdout().lock();
    let text = if m.get_flag("json") {
        format!("{:#}\n", list::json(engine.rules()))
    } else {
        list::table(engine.rules())
    };
    match out.write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("cannot write the output: {e}")),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn sample(m: &ArgMatches) -> Result<ExitCode, String> {
    let get = |name: &str| *m.get_one::<u64>(name).expect("has a default");
    let profile = *m.get_one::<detect::corpus::Profile>("profile").expect("has a default");
    let mut generator = detect::corpus::Generator::with_profile(get("seed"), profile);
    let share = m.get_one::<f64>("attack-share").copied();
    if let Some(share) = share.or((profile == detect::corpus::Profile::Low).then_some(0.01)) {
        generator = generator.with_attack_share(share);
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    for _ in 0..get("events") {
        match writeln!(out, "{}", generator.next_event()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(format!("cannot write the output: {e}")),
            Ok(()) => {}
        }
    }
    out.flush().map_err(|e| format!("cannot write the output: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
