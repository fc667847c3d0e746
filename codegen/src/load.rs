//! Finding and reading rule files: the input edge of the compiler.
//!
//! Owns which files are rules (`*.yml` and `*.yaml`, recursively, sorted by path) and how their
//! paths are shown (relative to a base folder, with `/`). Unreadable files become diagnostics.
//! Must not: parse YAML (see `yaml`) or judge rules (see `check`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, SourceFile, Span};

/// Every rule file under `dir` (or `dir` itself, if it is a file), sorted by path.
pub fn find(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return Ok(out);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if is_rule_file(&path) || path.extension().is_some_and(|e| e == "py") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn is_rule_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

/// Reads `paths`, naming each relative to `base` (as the user should see it). A file that
/// cannot be read, or is not UTF-8, is a diagnostic, and the others are still read.
pub fn read(paths: &[PathBuf], base: &Path) -> (Vec<SourceFile>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for path in paths {
        let shown = display_path(path, base);
        match fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => files.push(SourceFile { path: shown, text }),
                Err(e) => diags.push(
                    Diagnostic::error(
                        &shown,
                        Span::default(),
                        format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
                    )
                    .help("save the rule file as UTF-8"),
                ),
            },
            Err(e) => {
                diags.push(Diagnostic::error(&shown, Span::default(), format!("cannot read the file: {e}")))
            }
        }
    }
    (files, diags)
}

/// `path` relative to `base` when it is inside it, with `/` separators.
pub fn display_path(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
