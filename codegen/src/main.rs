//! `codegen`: the rule compiler on the command line.
//!
//! ```text
//! codegen check [PATH...]     validate rule files (default: rules/); exit 1 on any error
//! codegen test [PATH...]      run the rules' `Tests:` with the reference interpreter (no build)
//! codegen expand RULE.yml     print the Rust generated for one rule
//! codegen run PATH... --events FILE   the reference interpreter over NDJSON events
//! codegen describe RULE_ID_OR_FILE... [--format text|json|markdown] [--corpus DIR...]
//! codegen describe --all [--format F] [--corpus DIR...] [--out DIR]   catalog pages
//! codegen generate [--check]  regenerate the committed code of the detections crate
//! ```

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codegen::diag::render;
use codegen::{Layout, load};

const USAGE: &str = "usage:
  codegen check [PATH...]     validate rule files (default: rules/); exit status 1 on any error
  codegen test [PATH...]      check rule files and run their Tests: with the reference
                              interpreter, without building anything (`cargo test` runs the
                              compiled code)
  codegen expand RULE.yml     print the Rust code generated for one rule
  codegen run PATH... --events FILE
                              run the declarative rules of PATH (files or folders) over the
                              NDJSON events of FILE with the reference interpreter, without
                              building anything: one line per match, as `detect scan --matches`
                              prints it (log types are not checked)
  codegen describe RULE_ID_OR_FILE... [--format text|json|markdown] [--corpus DIR...]
  codegen describe --all [--format text|json|markdown] [--corpus DIR...] [--out DIR]
                              the catalog page of each rule (a file, or a RuleID of the
                              corpus): metadata, condition, indicators with how many other
                              rules of the corpus (default: rules/; --corpus takes the folders
                              up to the next option) test the same, output fields. With
                              --out, one Markdown page per rule and index.md, into DIR
  codegen generate [--check]  regenerate the committed generated code of the detections crate;
                              with --check, only report whether it is stale";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => check(&args[1..], false),
        Some("test") => check(&args[1..], true),
        Some("expand") if args.len() == 2 => expand(Path::new(&args[1])),
        Some("run") => run(&args[1..]),
        Some("describe") => describe(&args[1..]),
        Some("generate") if args.len() == 1 => generate(false),
        Some("generate") if args.len() == 2 && args[1] == "--check" => generate(true),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprint!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// The workspace root: the nearest folder up from here with a `Cargo.toml` and a `rules/`.
fn workspace_root() -> Result<PathBuf, String> {
    let start = cwd();
    start
        .ancestors()
        .find(|d| d.join("Cargo.toml").is_file() && d.join("rules").is_dir())
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("error: no workspace with a `rules/` folder above {}\n", start.display()))
}

/// Checks rule files; with `run_tests`, also runs their test cases with the reference interpreter.
fn check(paths: &[String], run_tests: bool) -> Result<(), String> {
    let base = cwd();
    let roots: Vec<PathBuf> = if paths.is_empty() {
        vec![workspace_root()?.join("rules")]
    } else {
        paths.iter().map(PathBuf::from).collect()
    };
    let mut files = Vec::new();
    for root in &roots {
        files.extend(load::find(root).map_err(|e| format!("error: cannot read {}: {e}\n", root.display()))?);
    }
    let (sources, mut diags) = load::read(&files, &base);
    let (rules, more) = codegen::check::check_all(&sources);
    diags.extend(more);
    if !diags.is_empty() {
        eprint!("{}", render(&diags, &sources, color()));
    }
    let errors = diags.iter().any(|d| d.is_error());
    if errors && !run_tests {
        return Err(String::new());
    }
    let tests: usize = rules.iter().map(|r| r.tests.len()).sum();
    let files: Vec<_> = files.iter().filter(|f| !f.extension().is_some_and(|e| e == "py")).collect();
    if !run_tests {
        eprintln!(
            "checked {} rule files: {} rules, {} test cases, no errors",
            files.len(),
            rules.len(),
            tests
        );
        return Ok(());
    }
    // The tests of the rules that passed checking run even when other files have errors.
    let mut failed = 0;
    let python = rules.iter().filter(|r| r.python.is_some()).count();
    if python > 0 {
        eprintln!(
            "{python} Python rules: their tests run compiled, with `cargo test` (the reference interpreter reads the IR of declarative rules)"
        );
    }
    for rule in rules.iter().filter(|r| r.python.is_none()) {
        for case in &rule.tests {
            if let Err(why) = codegen::reference::run_test(rule, case) {
                failed += 1;
                eprintln!(
                    "{}:{}: test `{}` of rule `{}` failed\n  {why}\n",
                    rule.source, case.line, case.name, rule.id
                );
            }
        }
    }
    let tests: usize = rules.iter().filter(|r| r.python.is_none()).map(|r| r.tests.len()).sum();
    eprintln!(
        "{} rules, {tests} test cases: {} passed, {failed} failed",
        rules.len() - python,
        tests - failed
    );
    if failed > 0 || errors { Err(String::new()) } else { Ok(()) }
}

/// `codegen run PATH... --events FILE`: every declarative rule of PATH over every event.
fn run(args: &[String]) -> Result<(), String> {
    let (events, paths) = match args.iter().position(|a| a == "--events") {
        Some(i) if i + 1 < args.len() => {
            (&args[i + 1], args[..i].iter().chain(&args[i + 2..]).cloned().collect::<Vec<_>>())
        }
        _ => return Err(format!("error: `codegen run` needs `--events FILE`\n{USAGE}\n")),
    };
    let base = cwd();
    let mut files = Vec::new();
    for root in &paths {
        files.extend(load::find(Path::new(root)).map_err(|e| format!("error: cannot read {root}: {e}\n"))?);
    }
    let (sources, mut diags) = load::read(&files, &base);
    let (rules, more) = codegen::check::check_all(&sources);
    diags.extend(more);
    if diags.iter().any(|d| d.is_error()) {
        return Err(render(&diags, &sources, color()));
    }
    let text = std::fs::read_to_string(events).map_err(|e| format!("error: cannot read {events}: {e}\n"))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, line) in text.lines().enumerate() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            eprintln!("{events}:{}: not JSON, skipped", i + 1);
            continue;
        };
        for rule in rules.iter().filter(|r| r.python.is_none()) {
            if codegen::reference::decide(rule, &event).is_some() {
                continue;
            }
            let o = codegen::reference::outputs(rule, &event);
            let record = serde_json::json!({
                "source": events, "line": i + 1, "rule_id": rule.id, "severity": o.severity.name(),
                "title": o.title, "dedup": o.dedup, "context": o.context,
            });
            std::io::Write::write_all(&mut out, format!("{record}\n").as_bytes())
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// `codegen describe`: catalog pages of rules, from their checked IR (see `codegen::describe`).
fn describe(args: &[String]) -> Result<(), String> {
    use codegen::describe::{self as d, Corpus, Description};
    let usage = |why: &str| format!("error: {why}\n{USAGE}\n");
    let (mut format, mut out_dir, mut all) = (None, None, false);
    let (mut targets, mut corpus_dirs) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--format" | "--out" => {
                let value = args.get(i + 1).ok_or_else(|| usage(&format!("`{}` needs a value", args[i])))?;
                if args[i] == "--format" {
                    format = Some(value.clone())
                } else {
                    out_dir = Some(PathBuf::from(value))
                }
                i += 2;
            }
            "--all" => {
                all = true;
                i += 1;
            }
            "--corpus" => {
                i += 1;
                while i < args.len() && !args[i].starts_with("--") {
                    corpus_dirs.push(args[i].clone());
                    i += 1;
                }
            }
            a if a.starts_with("--") => return Err(usage(&format!("unknown option `{a}`"))),
            a => {
                targets.push(a.to_string());
                i += 1;
            }
        }
    }
    let format = match format.as_deref() {
        None if out_dir.is_some() => "markdown",
        None => "text",
        Some(f @ ("text" | "json" | "markdown")) => f,
        Some(f) => return Err(usage(&format!("unknown format `{f}`: text, json or markdown"))),
    };
    if out_dir.is_some() && format != "markdown" {
        return Err(usage("`--out` writes Markdown pages"));
    }
    if all == !targets.is_empty() {
        return Err(usage("`codegen describe` takes rule files or RuleIDs, or `--all`"));
    }

    // The corpus: every rule of the folders, checked together; a file with errors is left out.
    let base = cwd();
    let roots: Vec<PathBuf> = if corpus_dirs.is_empty() {
        vec![workspace_root()?.join("rules")]
    } else {
        corpus_dirs.iter().map(|c| base.join(c)).collect()
    };
    let mut files = Vec::new();
    for root in &roots {
        files.extend(load::find(root).map_err(|e| format!("error: cannot read {}: {e}\n", root.display()))?);
    }
    files.sort();
    files.dedup();
    let (sources, mut diags) = load::read(&files, &base);
    let (rules, more) = codegen::check::check_all(&sources);
    diags.extend(more);
    let label: Vec<String> = roots
        .iter()
        .map(|r| format!("{}{}", load::display_path(r, &base), if r.is_dir() { "/" } else { "" }))
        .collect();

    let broken: std::collections::BTreeSet<&str> =
        diags.iter().filter(|d| d.is_error()).map(|d| d.path.as_str()).collect();
    if !broken.is_empty() {
        eprintln!(
            "warning: {} files of {} have errors; their rules are not counted (`codegen check` shows them)",
            broken.len(),
            label.join(", ")
        );
    }
    let corpus = Corpus::new(&rules, label.clone());
    let label = label.join(", ");

    let mut chosen: Vec<codegen::ir::Rule> = Vec::new();
    if all {
        chosen = rules.clone();
        chosen.sort_by(|a, b| a.id.cmp(&b.id));
    }
    for target in &targets {
        let path = base.join(target);
        if path.is_file() {
            let shown = load::display_path(&path, &base);
            match rules.iter().find(|r| r.source == shown) {
                Some(rule) => chosen.push(rule.clone()),
                None => chosen.push(check_alone(&path, &base)?),
            }
        } else if let Some(rule) = rules.iter().find(|r| r.id == *target) {
            chosen.push(rule.clone());
        } else {
            let near = codegen::names::nearest(target, rules.iter().map(|r| r.id.as_str()))
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            return Err(format!("error: `{target}` is neither a rule file nor a RuleID of {label}{near}\n"));
        }
    }
    let descriptions: Vec<Description> = chosen.iter().map(|r| Description::new(r, &corpus)).collect();

    if let Some(dir) = out_dir {
        return write_pages(&dir, &descriptions);
    }
    let text = match format {
        "json" if descriptions.len() == 1 => pretty(&d::json(&descriptions[0])),
        "json" => pretty(&serde_json::Value::Array(descriptions.iter().map(d::json).collect())),
        "markdown" => descriptions.iter().map(d::markdown).collect::<Vec<_>>().join("\n"),
        _ => descriptions.iter().map(d::text).collect::<Vec<_>>().join("\n"),
    };
    print!("{text}");
    Ok(())
}

fn pretty(value: &serde_json::Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(value).expect("JSON values serialise"))
}

/// A rule file outside the corpus, checked with what it may need: the `rules/` folder it is in,
/// else the Python files beside it (checked apart, so a copy of a corpus rule is no duplicate).
fn check_alone(path: &Path, base: &Path) -> Result<codegen::ir::Rule, String> {
    let shown = load::display_path(path, base);
    let folder = path.ancestors().skip(1).filter(|d| d.file_name().is_some_and(|n| n == "rules")).last();
    let files = match folder {
        Some(dir) => load::find(dir).map_err(|e| format!("error: cannot read {}: {e}\n", dir.display()))?,
        None => {
            let parent = path.parent().unwrap_or(Path::new("."));
            let mut files = load::find(parent)
                .map_err(|e| format!("error: cannot read {}: {e}\n", parent.display()))?
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "py"))
                .collect::<Vec<_>>();
            files.push(path.to_path_buf());
            files
        }
    };
    let (sources, mut diags) = load::read(&files, base);
    let (rules, more) = codegen::check::check_all(&sources);
    diags.extend(more);
    if let Some(rule) = rules.into_iter().find(|r| r.source == shown) {
        return Ok(rule);
    }
    let stem = shown.strip_suffix(".yml").or_else(|| shown.strip_suffix(".yaml")).unwrap_or(&shown);
    let py = format!("{stem}.py");
    let errors: Vec<_> =
        diags.into_iter().filter(|d| d.is_error() && (d.path == shown || d.path == py)).collect();
    if errors.is_empty() {
        return Err(format!("error: {shown} holds no rule that compiles\n"));
    }
    Err(render(&errors, &sources, color()))
}

/// `describe --out DIR`: a page per rule and `index.md`; a page of ours that no rule writes any
/// more is removed, so the folder diffs as the rules do.
fn write_pages(dir: &Path, descriptions: &[codegen::describe::Description]) -> Result<(), String> {
    use codegen::describe as d;
    let fail = |what: &Path, e: std::io::Error| format!("error: cannot write {}: {e}\n", what.display());
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let mut written = std::collections::BTreeSet::new();
    let pages = descriptions.iter().map(|x| (format!("{}.md", x.module), d::markdown(x)));
    for (name, text) in pages.chain([("index.md".to_string(), d::markdown_index(descriptions))]) {
        let path = dir.join(&name);
        std::fs::write(&path, text).map_err(|e| fail(&path, e))?;
        written.insert(name);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| fail(dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = std::fs::read_to_string(&path).is_ok_and(|t| t.starts_with(d::MARKDOWN_MARKER));
        if name.ends_with(".md") && !written.contains(&name) && ours {
            std::fs::remove_file(&path).map_err(|e| fail(&path, e))?;
            eprintln!("removed {}", path.display());
        }
    }
    eprintln!("wrote {} rule pages and index.md to {}", descriptions.len(), dir.display());
    Ok(())
}

fn expand(path: &Path) -> Result<(), String> {
    // A Python rule needs the helpers and data models beside it: read the whole `rules/`
    // folder the file is in (or just the file, outside one).
    let base = cwd();
    let absolute = base.join(path);
    let folder = absolute
        .ancestors()
        .skip(1)
        .filter(|d| d.file_name().is_some_and(|n| n == "rules"))
        .last()
        .map(Path::to_path_buf);
    let files = match &folder {
        Some(dir) => load::find(dir).map_err(|e| format!("error: cannot read {}: {e}\n", dir.display()))?,
        None => vec![path.to_path_buf()],
    };
    let (sources, mut diags) = load::read(&files, &base);
    let (rules, more) = codegen::check::check_all(&sources);
    diags.extend(more);
    let shown = load::display_path(&absolute, &base);
    let py = shown.strip_suffix(".yml").or_else(|| shown.strip_suffix(".yaml")).map(|s| format!("{s}.py"));
    let mine = |d: &codegen::Diagnostic| {
        d.path == shown || Some(&d.path) == py.as_ref() || d.message.contains("cannot be compiled")
    };
    let errors: Vec<_> =
        diags.iter().filter(|d| d.is_error() && (folder.is_none() || mine(d))).cloned().collect();
    let errors: Vec<_> = if rules.iter().any(|r| r.source == shown) { Vec::new() } else { errors };
    if !errors.is_empty() {
        return Err(render(&errors, &sources, color()));
    }
    let rule = rules
        .iter()
        .find(|r| r.source == shown)
        .ok_or_else(|| format!("error: {} holds no rule that compiles\n", path.display()))?;
    print!("{}", codegen::emit::rule_module(rule, &Layout::detections()));
    Ok(())
}

/// This repository's `detections` crate, as its `build.rs` builds it (keep the two alike: CI
/// runs both, and a difference fails one of them).
fn detections(root: &Path) -> codegen::Builder {
    codegen::Builder::new()
        .manifest_dir(root.join("detections"))
        .rules("../rules")
        .generated("src/rules")
        .module_path("::detections::rules")
}

fn generate(check_only: bool) -> Result<(), String> {
    let root = workspace_root()?;
    let generated = detections(&root).check_only(check_only).generate()?;
    for w in generated.warnings {
        eprintln!("warning: {w}");
    }
    let report = generated.report;
    for f in &report.changed {
        eprintln!("wrote {f}");
    }
    for f in &report.removed {
        eprintln!("removed {f}");
    }
    if report.is_clean() {
        eprintln!("the generated code is up to date");
    }
    Ok(())
}
