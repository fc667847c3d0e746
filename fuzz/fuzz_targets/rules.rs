//! Fuzz target `rules`: arbitrary bytes as one rule YAML file, through the whole compiler.
//!
//! Checks that loading, parsing, checking, rendering diagnostics, the reference interpreter on
//! the rule's own tests, and emitting never panic (a hang or runaway memory is caught by
//! libFuzzer's `-timeout` and `-rss_limit_mb`), and that the compiler keeps its contracts: bytes
//! that are not UTF-8 are one loader error; a file gives a rule exactly when it has no error;
//! every generated file is Rust that `syn` parses.
//! Must not: judge whether a rule means the right thing (the rule tests and property tests do).
//!
//! With `FUZZ_KNOWN_BUGS=1` in the environment, contract breaches already reported (listed in
//! [`known_bug`]) are skipped, so that a long run can look for new ones; without it they crash
//! (and `regressions/rules/` reproduces them).

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, OnceLock};

use codegen::{Layout, SourceFile, check, diag, emit, load, names, reference, yaml};
use libfuzzer_sys::fuzz_target;

const NAME: &str = "fuzz/input.yml";

/// A file of this process's own for inputs that are not UTF-8, which only the loader (reading
/// files) can be given.
fn scratch_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| std::env::temp_dir().join(format!("rules-fuzz-{}.yml", std::process::id())))
}

static SKIP_KNOWN: LazyLock<bool> = LazyLock::new(|| std::env::var_os("FUZZ_KNOWN_BUGS").is_some());

/// Whether `text` meets a breach already reported, which `FUZZ_KNOWN_BUGS` skips:
/// - a top-level mapping without `AnalysisType` but with a key close to it (`AnalysisTyp`,
///   `anal`) gives no rule and no diagnostic at all: `required` stays silent because the
///   misspelt key "is reported as unknown", but unknown keys are only reported once the
///   `AnalysisType` is known (`regressions/rules/misspelt_analysis_type.yml`).
fn known_bug(text: &str) -> bool {
    let Some(entries) = yaml::parse(NAME, text).0.and_then(|n| n.as_map().map(<[_]>::to_vec)) else {
        return false;
    };
    let keys = || entries.iter().filter_map(|(k, _)| k.as_str());
    !keys().any(|k| k == "AnalysisType") && keys().any(|k| names::nearest(k, ["AnalysisType"]).is_some())
}

fuzz_target!(|data: &[u8]| {
    let source = match std::str::from_utf8(data) {
        Ok(text) => SourceFile { path: NAME.to_string(), text: text.to_string() },
        Err(e) => {
            std::fs::write(scratch_file(), data).expect("write the scratch file");
            let base = scratch_file().parent().expect("a temporary folder");
            let (sources, diags) = load::read(&[scratch_file().to_path_buf()], base);
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
    if rules.len() != usize::from(errors == 0) && *SKIP_KNOWN && known_bug(&sources[0].text) {
        return;
    }
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
