//! Golden tests of diagnostics: `codegen check` must reject every malformed rule under
//! `tests/diagnostics/` (a file, or a folder of files for cross-file errors) with exit status 1
//! and exactly the text of its `.stderr` file.
//!
//! After an intended change of wording, `BLESS=1 cargo test -p codegen --test diagnostics`
//! rewrites the `.stderr` files; review them in the diff.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/diagnostics")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yml"))
        .collect();
    cases.sort();
    cases
}

fn run_check(case: &Path) -> (Option<i32>, String) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shown = case.strip_prefix(manifest).expect("case inside the crate");
    let out = Command::new(env!("CARGO_BIN_EXE_codegen"))
        .arg("check")
        .arg(shown)
        .current_dir(manifest)
        .env("NO_COLOR", "1")
        .output()
        .expect("run codegen check");
    (out.status.code(), String::from_utf8(out.stderr).expect("UTF-8 stderr"))
}

#[test]
fn malformed_rules_are_rejected_with_their_exact_message() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let mut headlines = BTreeSet::new();
    for case in cases() {
        let expected_path = case.with_extension("stderr");
        let (status, stderr) = run_check(&case);
        if status != Some(1) {
            failures.push(format!("{}: exit status {status:?}, expected 1\n{stderr}", case.display()));
            continue;
        }
        let is_summary = |l: &str| l.ends_with(" rule file") || l.ends_with(" rule files");
        headlines.extend(
            stderr.lines().filter(|l| l.starts_with("error: ") && !is_summary(l)).map(str::to_string),
        );
        if bless {
            fs::write(&expected_path, &stderr).expect("write .stderr");
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == stderr => {}
            Ok(expected) => failures.push(format!(
                "{}: message differs\n--- expected\n{expected}\n--- actual\n{stderr}",
                case.display()
            )),
            Err(_) => {
                failures.push(format!("{}: no .stderr file; run with BLESS=1\n{stderr}", case.display()))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(headlines.len() >= 25, "only {} distinct kinds of error: {headlines:#?}", headlines.len());
}

#[test]
fn every_case_has_a_golden_message_and_no_orphans() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let cases: BTreeSet<PathBuf> = cases().into_iter().map(|c| c.with_extension("stderr")).collect();
    for entry in fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "stderr") {
            assert!(cases.contains(&path), "{} has no rule file", path.display());
        }
    }
}

#[test]
fn valid_rules_pass_with_exit_status_zero() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let out = Command::new(env!("CARGO_BIN_EXE_codegen")).arg("check").arg(&rules).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no errors"), "{stderr}");
}
