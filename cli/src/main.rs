//! `detect`: the compiled detection rules on the command line.
//!
//! ```text
//! detect scan [FILES...]   newline-delimited JSON events in, alerts (or matches) out
//! detect rules             the compiled rules, as a table or JSON
//! detect sample            seeded, realistic CloudTrail events (the shipped sample, benchmarks)
//! ```
//!
//! Exit status: 0 when done (even if lines were rejected: they are reported), 2 on a usage
//! error or an input that cannot be read.

mod input;
mod list;
mod output;
mod scan;

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
                .arg(
                    Arg::new("threads")
                        .long("threads")
                        .value_name("N")
                        .value_parser(value_parser!(usize))
                        .help("Worker threads (default: the number of cores); output is the same for any N"),
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
                        .default_value("0.01")
                        .help("The share of events that are positive test logs of shipped rules"),
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
    let engine = engine(m, log_type.as_deref())?;
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
    let share = *m.get_one::<f64>("attack-share").expect("has a default");
    let mut generator = detect::corpus::Generator::new(get("seed"), share);
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
