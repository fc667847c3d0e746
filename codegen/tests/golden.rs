//! Golden tests of the generator: each rule under `tests/golden/` must compile to exactly the
//! Rust in its `.rs` file (which the `integration-tests` crate compiles, so the golden code is
//! known to build). After an intended change of the emitter,
//! `BLESS=1 cargo test -p codegen --test golden` rewrites them; review the diff.

use std::fs;
use std::path::Path;

use codegen::SourceFile;

#[test]
fn rules_compile_to_their_golden_rust() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("BLESS").is_some();
    let mut cases: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    cases.retain(|p| p.extension().is_some_and(|e| e == "yml"));
    cases.sort();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let file = SourceFile {
            path: format!("codegen/tests/golden/{name}"),
            text: fs::read_to_string(&case).unwrap(),
        };
        let (rule, diags) = codegen::check::check_file(&file);
        let rule = rule.unwrap_or_else(|| {
            panic!("{}", codegen::diag::render(&diags, std::slice::from_ref(&file), false))
        });
        let actual = codegen::emit::rule_module(&rule, &codegen::Layout::detections());
        let golden = case.with_extension("rs");
        if bless {
            fs::write(&golden, &actual).unwrap();
        } else if fs::read_to_string(&golden).ok().as_deref() != Some(actual.as_str()) {
            failures.push(format!("{name}: the generated Rust differs from {}:\n{actual}", golden.display()));
        }
    }
    assert!(failures.is_empty(), "{}\n(run with BLESS=1 to accept)", failures.join("\n"));
}

#[test]
fn output_is_byte_identical_for_identical_input() {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/every_construct.yml"))
            .unwrap();
    let sources = [SourceFile { path: "rules/every_construct.yml".into(), text }];
    let layout = codegen::Layout::detections();
    let first = codegen::compile(&sources, &layout);
    let second = codegen::compile(&sources, &layout);
    assert!(!first.files.is_empty());
    assert_eq!(first.files, second.files);
}
