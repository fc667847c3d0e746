//! Fuzz target `rules`: arbitrary bytes as one rule YAML file, through the whole compiler.
//!
//! Checks that loading, parsing, checking, rendering diagnostics, the reference interpreter on
//! the rule's own tests, and emitting never panic (a hang or runaway memory is caught by
//! libFuzzer's `-timeout` and `-rss_limit_mb`), and that the compiler keeps its contracts: bytes
//! that are not UTF-8 are one loader error; a file gives a rule exactly when it has no error;
//! every generated file is Rust that `syn` parses.
//! Must not: judge whether a rule means the right thing (the rule tests and property tests do).
//! The inputs of bugs it found, since fixed, are kept in `regressions/rules/`.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use codegen::{Layout, SourceFile, check, diag, emit, load, reference};
use libfuzzer_sys::fuzz_target;

const NAME: &str = "fuzz/input.yml";

/// A file of this process's own for inputs that are not UTF-8, which only the loader (reading
/// files) can be given.
fn scratch_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| std::env::temp_dir().join(format!("rules-fuzz-{}.yml", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let source = match std::str::from_utf8(data) {
        Ok(text) => SourceFile { path: NAME.to_string(), text: text.to_string() },
        Err(e) => {
            std::fs::write(scratch_file(), data).expect("write the scratch file");
            let base = scratch_file().parent().expect("a temporary folder");
            let (sources, diags) = load::read(&[scratch_file().to_path_buf()], base);
            let _ = std::fs::remove_file(scratch_file());
            assert!(sources.is_empty(), "the loader accepted bytes that are not UTF-8");
            assert!(
                diags.len() == 1
                    && diags[0].is_error()
                    && diags[0].message.contains(&format!("offset {}", e.valid_up_to())),
                "the loader did not report the first invalid byte ({}): {diags:?}",
                e.valid_up_to()
            );
            return;
        }
    };
    let sources = [source];
    let (rules, diags) = check::check_all(&sources);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    // Every diagnostic points into the file it names, so it can be shown.
    let rendered = diag::render(&diags, &sources, false);
    assert!(diags.is_empty() || !rendered.is_empty());
    assert_eq!(rules.len(), usize::from(errors == 0), "a rule iff no error: {diags:?}");
    let Some(rule) = rules.first() else { return };
    for case in &rule.tests {
        let _ = reference::run_test(rule, case);
    }
    // `emit` parses its own tokens with syn (and panics on invalid Rust); the printed text must
    // parse too.
    for file in emit::emit(&rules, &Layout::detections()) {
        if let Err(e) = syn::parse_file(&file.contents) {
            panic!("{} does not parse ({e}):\n{}", file.path, file.contents);
        }
    }
});
