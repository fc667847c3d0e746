//! The driver a crate's `build.rs` calls: compile the rules, refresh (or, in CI, verify) the
//! committed generated code, and turn every problem into a compiler-style report on stderr.
//!
//! Must not: panic on bad input. A bad rule or stale code exits the build script with status 1
//! and a message that names the YAML line or the command to run.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::diag::render;
use crate::emit::Layout;

/// Runs the whole compiler for a build script. `root` is the workspace root.
pub fn run(root: &Path, layout: &Layout) {
    let started = SystemTime::now();
    println!("cargo::rerun-if-changed={}", root.join(&layout.rules_dir).display());
    println!("cargo::rerun-if-changed={}", root.join(&layout.module_dir).display());
    println!("cargo::rerun-if-changed={}", root.join(&layout.tests_file).display());
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=CODEGEN_SKIP_REJECTED");
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    match generate(root, layout, ci) {
        Ok((report, warnings)) => {
            backdate(root, &report, started);
            for w in warnings {
                println!("cargo::warning={w}");
            }
        }
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    }
}

/// Compiles `layout.rules_dir` and syncs the generated files; in `check_only` mode reports a
/// stale copy instead of writing. Returns what changed and one line per warning
/// (`path:line:col: message`), or the report to print on failure.
pub fn generate(
    root: &Path,
    layout: &Layout,
    check_only: bool,
) -> Result<(crate::sync::Report, Vec<String>), String> {
    let rules_dir: PathBuf = root.join(&layout.rules_dir);
    let paths = crate::load::find(&rules_dir)
        .map_err(|e| format!("error: cannot list the rule files in {}: {e}", rules_dir.display()))?;
    let (sources, mut diags) = crate::load::read(&paths, root);
    // `CODEGEN_SKIP_REJECTED=FILE` (for conformance runs over a whole rule repository): compile
    // the rules that can be compiled, and write every rejection to FILE instead of failing.
    let skip_rejected = std::env::var_os("CODEGEN_SKIP_REJECTED");
    let compiled = match &skip_rejected {
        Some(report) => {
            let mut compiled = crate::compile_keep_going(&sources, layout);
            let rejected: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
            std::fs::write(report, render(&rejected, &sources, false))
                .map_err(|e| format!("error: cannot write {}: {e}", report.to_string_lossy()))?;
            compiled.diagnostics.retain(|d| !d.is_error());
            compiled
        }
        None => crate::compile(&sources, layout),
    };
    diags.extend(compiled.diagnostics);
    let warnings = diags
        .iter()
        .filter(|d| !d.is_error())
        .map(|w| {
            let (line, col) =
                sources.iter().find(|s| s.path == w.path).map_or((0, 0), |s| s.line_col(w.span.start));
            format!("{}:{line}:{col}: {}", w.path, w.message)
        })
        .collect();
    if diags.iter().any(|d| d.is_error()) {
        let errors: Vec<_> = diags.into_iter().filter(|d| d.is_error()).collect();
        return Err(render(&errors, &sources, false));
    }
    let report = crate::sync::sync(root, layout, &compiled.files, check_only)
        .map_err(|e| format!("error: cannot write the generated code: {e}"))?;
    if check_only && !report.is_clean() {
        let mut message = String::from(
            "error: the generated code is stale: it differs from what the rule files compile to\n",
        );
        for f in &report.changed {
            message.push_str(&format!("  changed: {f}\n"));
        }
        for f in &report.removed {
            message.push_str(&format!("  no longer generated: {f}\n"));
        }
        message.push_str(
            "help: run `cargo test` (or `cargo run -p codegen -- generate`) without CI=true, \
             and commit the regenerated files\n",
        );
        return Err(message);
    }
    Ok((report, warnings))
}

/// Gives the files the build script just wrote (and their folders) a time from before it ran.
///
/// The build script watches the generated files, so that a hand edit is undone, and Cargo
/// reruns it when a watched file is newer than its last run: without this, the files it wrote
/// itself would make the next `cargo test` rerun it and compile `detections` a second time.
/// Best effort: a file system that refuses only costs that second compile.
fn backdate(root: &Path, report: &crate::sync::Report, started: SystemTime) {
    // Cargo stamps the run just before starting the script; a margin covers the start-up.
    let before = started - Duration::from_secs(10);
    let files = report.changed.iter().map(|f| root.join(f));
    let dirs: std::collections::BTreeSet<PathBuf> = report
        .changed
        .iter()
        .chain(&report.removed)
        .filter_map(|f| Some(root.join(f).parent()?.to_path_buf()))
        .collect();
    for path in files.chain(dirs) {
        if let Ok(file) = std::fs::File::open(&path) {
            let _ = file.set_modified(before);
        }
    }
}
