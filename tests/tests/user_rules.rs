//! A user's rules must not break the project's own tests: only their own generated tests may
//! fail because of them. The tests of the compiler, the runtime, the engine, the allocation
//! counts and the documentation build their engines from the fixture rules of this crate, or
//! select the shipped seed rule by its id; this test proves it.
//!
//! On demand, as CI runs it (`cargo test -p integration-tests --test user_rules -- --ignored`,
//! a full build of the workspace: several minutes the first time): the workspace's sources
//! (without `target/`, `.git/` and `fuzz/`) are mirrored into `target/user-rules/ws/`, rules a
//! user might add are written into its `rules/` (a CloudTrail rule that matches every event, a
//! Python CloudTrail rule that allocates and matches nothing, and copies of fixture rules of
//! `tests/rules/semantics/`: a rule that matches every event of its log type, a scheduled rule,
//! a disabled rule, inline filters, alert outputs), and `cargo test --workspace` runs there,
//! without `CI` (so that its build compiles the new rules into its copy of
//! `detections/src/rules/`), in its own target directory `target/user-rules/target/` (kept
//! between runs, so that a second run rebuilds only what changed). Every test must pass, the
//! new rules' own tests included. The output is in `target/user-rules/test.log`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Folders of the workspace root that are not sources.
const SKIPPED: &[&str] = &["target", ".git", "fuzz"];

/// Generated folders of the copy: its own build rewrites them from its `rules/`, so files
/// there that the workspace lacks are kept (the build removes the stale ones itself), and the
/// workspace's files are copied only where the copy has none.
const GENERATED: &[&str] = &["detections/src/rules", "detections/tests/generated"];

/// A CloudTrail rule that matches every event: no event has the key.
const EVERYTHING: &str = r#"AnalysisType: rule
RuleID: User.CloudTrail.Everything
DisplayName: Every CloudTrail event (a user's broad rule)
Enabled: true
Severity: High
Tags: [PANTHER-SIGNAL, User]
LogTypes: [AWS.CloudTrail]
Detection:
  - KeyPath: userRulesProofNoEventHasThisKey
    Condition: DoesNotExist
Tests:
  - Name: Any event matches
    ExpectedResult: true
    Log: {"eventName": "DescribeInstances", "p_log_type": "AWS.CloudTrail"}
  - Name: Stopped instances match too
    ExpectedResult: true
    Log: {"eventName": "StopInstances", "recipientAccountId": "123456789012"}
  - Name: The key rules it out
    ExpectedResult: false
    Log: {"eventName": "StopInstances", "userRulesProofNoEventHasThisKey": 1}
"#;

/// A Python CloudTrail rule that reads every event, allocates, and matches nothing.
const NOTHING_YML: &str = r#"AnalysisType: rule
RuleID: User.CloudTrail.PythonNothing
Filename: user_python_nothing.py
Enabled: true
Severity: Critical
LogTypes: [AWS.CloudTrail]
Tests:
  - Name: No event matches
    ExpectedResult: false
    Log: {"eventName": "StopInstances", "recipientAccountId": "123456789012"}
"#;

const NOTHING_PY: &str = r#"def rule(event):
    name = "event " + str(event.get("eventName", "")) + " in " + str(event.get("awsRegion", ""))
    return name.upper() == "NO SUCH EVENT"
"#;

/// Where the copy's user rules go (the workspace has no such folder).
const USER: &str = "rules/user_rules_proof";

/// Fixture rules copied into the user's folder.
const SEMANTICS: &[&str] = &[
    "always_true.yml",
    "does_not_exist.yml",
    "scheduled_rule.yml",
    "disabled_rule_is_still_tested.yml",
    "inline_filter.yml",
    "alert_outputs.yml",
];

#[test]
#[ignore = "a full build of a scratch copy of the workspace; CI runs it (`-- --ignored`)"]
fn the_workspace_tests_pass_with_a_users_rules_added() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("crate in a workspace").to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let base = target.join("user-rules");
    let ws = base.join("ws");
    let skip: Vec<PathBuf> = SKIPPED.iter().map(|s| root.join(s)).chain([target.clone()]).collect();
    let mut user: Vec<(PathBuf, Vec<u8>)> = vec![
        (Path::new(USER).join("user_everything.yml"), EVERYTHING.into()),
        (Path::new(USER).join("user_python_nothing.yml"), NOTHING_YML.into()),
        (Path::new(USER).join("user_python_nothing.py"), NOTHING_PY.into()),
    ];
    for file in SEMANTICS {
        let text = fs::read(root.join("tests/rules/semantics").join(file)).expect("a fixture rule");
        // Named apart from the fixtures, whose tests run too.
        user.push((Path::new(USER).join(format!("user_{file}")), text));
    }
    mirror(&root, &ws, &skip, Path::new(""));
    // The user's folder holds these files and no others.
    let wanted: Vec<PathBuf> = user.iter().map(|(rel, _)| ws.join(rel)).collect();
    remove_others(&ws.join(USER), &wanted);
    for (rel, bytes) in &user {
        write_if_changed(&ws.join(rel), bytes);
    }

    let log_path = base.join("test.log");
    let log = fs::File::create(&log_path).expect("create the log");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let start = Instant::now();
    let status = Command::new(cargo)
        .args(["test", "--workspace", "--offline", "--no-fail-fast"])
        .current_dir(&ws)
        .env("CARGO_TARGET_DIR", base.join("target"))
        .env_remove("CI")
        .env_remove("CODEGEN_SKIP_REJECTED")
        .stdout(log.try_clone().expect("the log"))
        .stderr(log)
        .status()
        .expect("run cargo");
    let text = fs::read_to_string(&log_path).expect("read the log");
    eprintln!("cargo test in {} took {:.0?}", ws.display(), start.elapsed());
    let failed: Vec<&str> =
        text.lines().filter(|l| l.starts_with("test ") && l.ends_with("FAILED")).collect();
    let tail: Vec<&str> = text.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
    assert!(
        status.success(),
        "`cargo test` fails with a user's rules added ({}):\n{}\n...\n{}",
        log_path.display(),
        failed.join("\n"),
        tail.join("\n")
    );
    // The user's rules were compiled and their own tests ran.
    for test in [
        "user_everything::any_event_matches ... ok",
        "user_everything::the_key_rules_it_out ... ok",
        "user_python_nothing::no_event_matches ... ok",
        "user_always_true::anything ... ok",
        "user_scheduled_rule::many ... ok",
    ] {
        assert!(text.contains(test), "no `{test}` in {}", log_path.display());
    }
}

/// Makes `to/rel` hold what `from/rel` holds (files written only when their content differs,
/// so that their times, and the build, stay as they were), without the `skip` paths.
fn mirror(from: &Path, to: &Path, skip: &[PathBuf], rel: &Path) {
    let source = from.join(rel);
    let dest = to.join(rel);
    fs::create_dir_all(&dest).expect("create a folder of the copy");
    let generated = GENERATED.iter().any(|g| rel.starts_with(g));
    let mut names = std::collections::BTreeSet::new();
    for entry in fs::read_dir(&source).expect("read a folder of the workspace") {
        let entry = entry.expect("a folder entry");
        let path = entry.path();
        if skip.contains(&path) {
            continue;
        }
        names.insert(entry.file_name());
        let kind = entry.file_type().expect("a file type");
        let rel = rel.join(entry.file_name());
        if kind.is_dir() {
            mirror(from, to, skip, &rel);
        } else if kind.is_file() {
            let target = to.join(&rel);
            if !(generated && target.exists()) {
                write_if_changed(&target, &fs::read(&path).expect("read a file of the workspace"));
            }
        }
    }
    if generated || rel.as_os_str().is_empty() {
        return; // the build keeps the generated folders; the root keeps `target/` and the rest
    }
    for entry in fs::read_dir(&dest).expect("read a folder of the copy") {
        let entry = entry.expect("a folder entry");
        if !names.contains(&entry.file_name()) && rel.join(entry.file_name()) != Path::new(USER) {
            let path = entry.path();
            if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) }
                .expect("remove a file the workspace no longer has");
        }
    }
}

fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    fs::create_dir_all(path.parent().expect("a parent")).expect("create a folder");
    fs::write(path, bytes).expect("write a file of the copy");
}

/// Removes the files under `dir` that are not `wanted`.
fn remove_others(dir: &Path, wanted: &[PathBuf]) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            remove_others(&path, wanted);
        } else if !wanted.contains(&path) {
            fs::remove_file(&path).expect("remove a file");
        }
    }
}
