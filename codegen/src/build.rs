//! The driver a crate's `build.rs` calls: compile the rules, refresh (or, in CI, verify) the
//! committed generated code, or write it into `OUT_DIR`, and turn every problem into a
//! compiler-style report on stderr. [`Builder`] is the interface; [`generate`] the step under it.
//!
//! Must not: panic on bad input. A bad rule or stale code exits the build script with status 1
//! and a message that names the YAML line or the command to run.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::diag::render;
use crate::emit::{GeneratedFile, Layout, RUNTIME_CRATE};
use crate::sync::Report;

/// Compiles a crate's rules from its `build.rs`, as `prost-build` compiles `.proto` files.
///
/// Paths given to the builder are relative to the crate (the folder of its `Cargo.toml`,
/// where Cargo runs build scripts); rule folders may be anywhere, and several. Generated
/// headers and error messages show paths relative to the workspace root (the nearest folder up
/// with a `Cargo.toml` holding `[workspace]`, else the crate), where `cargo` is run.
///
/// ```no_run
/// // build.rs: compile `rules/` into `src/rules/` (committed) and `tests/generated/rules.rs`.
/// fn main() {
///     codegen::Builder::new().rules("rules").generated("src/rules").compile();
/// }
/// ```
///
/// See the crate documentation for the two output modes and what the crate includes.
#[derive(Clone, Debug)]
pub struct Builder {
    manifest_dir: Option<PathBuf>,
    root: Option<PathBuf>,
    rules: Vec<PathBuf>,
    output: Output,
    tests: Option<PathBuf>,
    module_path: Option<String>,
    runtime_crate: String,
    check_only: Option<bool>,
}

#[derive(Clone, Debug)]
enum Output {
    /// `OUT_DIR` (or the folder given): two files to `include!`, nothing committed.
    OutDir(Option<PathBuf>),
    /// A module folder in the crate, committed; the tests file beside the crate's tests.
    Committed(PathBuf),
}

/// What a [`Builder`] wrote (or, when checking, found stale), and its warnings.
#[derive(Debug, Default)]
pub struct Generated {
    /// Files written or to write, removed or to remove: paths relative to the workspace root
    /// (committed code) or to the output folder (`OUT_DIR`).
    pub report: Report,
    /// One line per warning: `path:line:col: message`.
    pub warnings: Vec<String>,
}

/// The file of the rule modules, under `OUT_DIR`, in [`Builder::out_dir`] mode.
pub const OUT_DIR_RULES: &str = "rules.rs";
/// The file of the generated tests, under `OUT_DIR`, in [`Builder::out_dir`] mode.
pub const OUT_DIR_TESTS: &str = "rules_tests.rs";

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder with no rule folder yet (`rules` if none is given), writing into `OUT_DIR`
    /// unless [`Builder::generated`] names a folder.
    pub fn new() -> Builder {
        Builder {
            manifest_dir: None,
            root: None,
            rules: Vec::new(),
            output: Output::OutDir(None),
            tests: None,
            module_path: None,
            runtime_crate: RUNTIME_CRATE.into(),
            check_only: None,
        }
    }

    /// A folder of rule files (`*.yml`, `*.yaml`, and the `.py` of Python rules, helpers and
    /// data models), searched recursively; or one rule file. Call it once per folder: all of
    /// them are compiled together (one registry, rule ids unique across them).
    pub fn rules(mut self, dir: impl AsRef<Path>) -> Builder {
        self.rules.push(dir.as_ref().to_path_buf());
        self
    }

    /// Generated code is committed: one module per rule in `dir` (its `mod.rs` is the registry;
    /// the crate declares `pub mod <dir name>;`), and the tests in `tests/generated/rules.rs`
    /// (see [`Builder::tests`]). Locally, a build rewrites what changed; with `CI=true` it
    /// writes nothing and fails if the committed copy is stale.
    pub fn generated(mut self, dir: impl AsRef<Path>) -> Builder {
        self.output = Output::Committed(dir.as_ref().to_path_buf());
        self
    }

    /// Generated code is not committed: written into Cargo's `OUT_DIR` as two files, the rule
    /// modules ([`OUT_DIR_RULES`]) and the tests ([`OUT_DIR_TESTS`]), to `include!`. The default.
    pub fn out_dir(mut self) -> Builder {
        self.output = Output::OutDir(None);
        self
    }

    /// [`Builder::out_dir`] into another folder (for tools and tests; a build script wants
    /// `OUT_DIR`).
    pub fn out_dir_at(mut self, dir: impl AsRef<Path>) -> Builder {
        self.output = Output::OutDir(Some(dir.as_ref().to_path_buf()));
        self
    }

    /// Where the generated tests go when the code is committed (default
    /// `tests/generated/rules.rs`, `include!`d by a test target such as `tests/rules.rs`).
    pub fn tests(mut self, file: impl AsRef<Path>) -> Builder {
        self.tests = Some(file.as_ref().to_path_buf());
        self
    }

    /// The Rust path of the generated registry module as the tests name it from a test target,
    /// when it is not `::<crate>::<module>` (the crate's library name from `CARGO_PKG_NAME`,
    /// and the name of the folder given to [`Builder::generated`], or `rules`): for a `[lib]`
    /// of another name, or a module mounted deeper (`::my_rules::compiled::rules`).
    pub fn module_path(mut self, path: impl Into<String>) -> Builder {
        self.module_path = Some(path.into());
        self
    }

    /// The Rust path of the runtime crate in generated code (default `::detections_runtime`):
    /// for a crate that depends on it under another name, or re-exports it.
    pub fn runtime_crate(mut self, path: impl Into<String>) -> Builder {
        self.runtime_crate = path.into();
        self
    }

    /// The crate's folder (default: `CARGO_MANIFEST_DIR`, else the current folder): for tools
    /// that run the builder outside a build script.
    pub fn manifest_dir(mut self, dir: impl AsRef<Path>) -> Builder {
        self.manifest_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The folder paths are shown from, in generated headers and messages (default: the
    /// workspace root). Relative to the crate.
    pub fn root(mut self, dir: impl AsRef<Path>) -> Builder {
        self.root = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Whether to only verify committed code, never writing (default: whether `CI` is set to
    /// something other than empty, `0` or `false`).
    pub fn check_only(mut self, check: bool) -> Builder {
        self.check_only = Some(check);
        self
    }

    /// Runs the builder from a build script: tells Cargo what to watch (`cargo::rerun-if-changed`
    /// for every rule folder and the committed output; `CI`), compiles, prints each warning as
    /// a Cargo warning, and on any error prints every diagnostic like `rustc` does (file, line,
    /// snippet, help) or the stale-code report, and exits with status 1.
    pub fn compile(self) {
        let started = SystemTime::now();
        let result = self.plan().and_then(|plan| {
            for path in plan.watched() {
                println!("cargo::rerun-if-changed={}", path.display());
            }
            println!("cargo::rerun-if-env-changed=CI");
            println!("cargo::rerun-if-env-changed=CODEGEN_SKIP_REJECTED");
            let generated = plan.run()?;
            if plan.out_dir.is_none() {
                backdate(&plan.root, &generated.report, started);
            }
            Ok(generated)
        });
        match result {
            Ok(generated) => {
                for w in generated.warnings {
                    println!("cargo::warning={w}");
                }
            }
            Err(message) => {
                eprint!("{message}");
                std::process::exit(1);
            }
        }
    }

    /// Compiles and writes (or checks), without Cargo's instructions and without exiting: the
    /// report, or the message a build script would print.
    pub fn generate(&self) -> Result<Generated, String> {
        self.plan()?.run()
    }

    /// The [`Layout`] and root this builder resolves to.
    pub fn layout(&self) -> Result<(PathBuf, Layout), String> {
        let plan = self.plan()?;
        Ok((plan.root, plan.layout))
    }

    fn plan(&self) -> Result<Plan, String> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let manifest_dir = match &self.manifest_dir {
            Some(dir) => cwd.join(dir),
            None => std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| cwd.clone(), PathBuf::from),
        };
        let manifest_dir = normalize(&manifest_dir);
        let root = match &self.root {
            Some(dir) => normalize(&manifest_dir.join(dir)),
            None => workspace_root(&manifest_dir),
        };
        let at = |p: &Path| relative(&normalize(&manifest_dir.join(p)), &root);
        let default_rules = [PathBuf::from("rules")];
        let rules = if self.rules.is_empty() { &default_rules[..] } else { &self.rules[..] };
        let rules_dirs: Vec<String> = rules.iter().map(|r| at(r)).collect();
        let (module_dir, tests_file, module, out_dir) = match &self.output {
            Output::Committed(dir) => {
                let module = normalize(&manifest_dir.join(dir))
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| {
                        format!("error: `{}` is not a folder for generated code\n", dir.display())
                    })?;
                let tests = self.tests.clone().unwrap_or_else(|| PathBuf::from("tests/generated/rules.rs"));
                (at(dir), at(&tests), module, None)
            }
            Output::OutDir(dir) => {
                let dir = match dir {
                    Some(dir) => cwd.join(dir),
                    None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| {
                        String::from(
                            "error: `OUT_DIR` is not set: `codegen::Builder::out_dir` writes where Cargo \
                             tells a build script to; run it from `build.rs`, or commit the code with \
                             `.generated(DIR)`\n",
                        )
                    })?,
                };
                ("rules".into(), OUT_DIR_TESTS.into(), "rules".into(), Some(dir))
            }
        };
        let registry_path = match &self.module_path {
            Some(path) => path.clone(),
            None => {
                let package = std::env::var("CARGO_PKG_NAME").map_err(|_| {
                    String::from(
                        "error: `CARGO_PKG_NAME` is not set: give the generated module's path with \
                         `.module_path(\"::my_crate::rules\")`\n",
                    )
                })?;
                format!("::{}::{module}", package.replace('-', "_"))
            }
        };
        for (what, path) in [("module path", &registry_path), ("runtime crate path", &self.runtime_crate)] {
            if syn::parse_str::<syn::Path>(path).is_err() {
                return Err(format!(
                    "error: the {what} `{path}` is not a Rust path (like `::my_crate::rules`)\n"
                ));
            }
        }
        let check_only = out_dir.is_none() && self.check_only.unwrap_or_else(ci);
        let layout = Layout {
            rules_dirs,
            module_dir,
            tests_file,
            registry_path,
            runtime_path: self.runtime_crate.clone(),
        };
        Ok(Plan { root, layout, out_dir, check_only })
    }
}

/// A builder resolved: what to read, and where to write.
struct Plan {
    root: PathBuf,
    layout: Layout,
    /// `Some` in `OUT_DIR` mode.
    out_dir: Option<PathBuf>,
    check_only: bool,
}

impl Plan {
    fn watched(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.layout.rules_dirs.iter().map(|d| self.root.join(d)).collect();
        if self.out_dir.is_none() {
            // A hand edit of the generated code is undone by the next build.
            paths.push(self.root.join(&self.layout.module_dir));
            paths.push(self.root.join(&self.layout.tests_file));
        }
        paths
    }

    fn run(&self) -> Result<Generated, String> {
        let Some(out_dir) = &self.out_dir else {
            let (report, warnings) = generate(&self.root, &self.layout, self.check_only)?;
            return Ok(Generated { report, warnings });
        };
        let (files, warnings) = compile_rules(&self.root, &self.layout)?;
        let rules = nest(&files, &self.layout.module_dir);
        let tests = files.iter().find(|f| f.path == self.layout.tests_file).map_or("", |f| &f.contents);
        let mut report = Report::default();
        for (name, text) in [(OUT_DIR_RULES, rules.as_str()), (OUT_DIR_TESTS, tests)] {
            let path = out_dir.join(name);
            if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
                std::fs::create_dir_all(out_dir)
                    .and_then(|()| std::fs::write(&path, text))
                    .map_err(|e| format!("error: cannot write {}: {e}\n", path.display()))?;
                report.changed.push(name.to_string());
            }
        }
        Ok(Generated { report, warnings })
    }
}

/// Compiles the rules of `layout.rules_dirs` and syncs the generated files; in `check_only` mode
/// reports a stale copy instead of writing. Returns what changed and one line per warning
/// (`path:line:col: message`), or the report to print on failure. Paths are relative to `root`.
pub fn generate(root: &Path, layout: &Layout, check_only: bool) -> Result<(Report, Vec<String>), String> {
    let (files, warnings) = compile_rules(root, layout)?;
    let report = crate::sync::sync(root, layout, &files, check_only)
        .map_err(|e| format!("error: cannot write the generated code: {e}\n"))?;
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
        message.push_str("help: run `cargo test` without CI=true, and commit the regenerated files\n");
        return Err(message);
    }
    Ok((report, warnings))
}

/// Reads and compiles every rule of `layout.rules_dirs`: the generated files and the warnings,
/// or every error rendered.
fn compile_rules(root: &Path, layout: &Layout) -> Result<(Vec<GeneratedFile>, Vec<String>), String> {
    let mut paths = Vec::new();
    for dir in &layout.rules_dirs {
        let dir = root.join(dir);
        paths.extend(
            crate::load::find(&dir)
                .map_err(|e| format!("error: cannot list the rule files in {}: {e}\n", dir.display()))?,
        );
    }
    // In the order of the folders given; a file reached twice is read once.
    let mut seen = std::collections::BTreeSet::new();
    paths.retain(|p| seen.insert(p.clone()));
    let (sources, mut diags) = crate::load::read(&paths, root);
    // `CODEGEN_SKIP_REJECTED=FILE` (for conformance runs over a whole rule repository): compile
    // the rules that can be compiled, and write every rejection to FILE instead of failing.
    let skip_rejected = std::env::var_os("CODEGEN_SKIP_REJECTED");
    let compiled = match &skip_rejected {
        Some(report) => {
            let mut compiled = crate::compile_keep_going(&sources, layout);
            let rejected: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
            std::fs::write(report, render(&rejected, &sources, false))
                .map_err(|e| format!("error: cannot write {}: {e}\n", report.to_string_lossy()))?;
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
    Ok((compiled.files, warnings))
}

/// The generated module tree under `dir` as one file, each `pub mod name;` replaced by the
/// module's text in braces, for `include!` (which cannot follow `mod name;` to files beside an
/// included file, nor take inner attributes at its top: the registry's `//!` lines are left out).
pub fn nest(files: &[GeneratedFile], dir: &str) -> String {
    let by_path: std::collections::BTreeMap<&str, &str> =
        files.iter().map(|f| (f.path.as_str(), f.contents.as_str())).collect();
    nest_module(&by_path, dir, true)
}

fn nest_module(files: &std::collections::BTreeMap<&str, &str>, dir: &str, top: bool) -> String {
    let text = files.get(format!("{dir}/mod.rs").as_str()).copied().unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if top && (line.starts_with("//!") || line.starts_with("#![")) {
            continue;
        }
        if let Some(name) = line.strip_prefix("pub mod ").and_then(|l| l.strip_suffix(';')) {
            let file = name.trim_start_matches("r#");
            let body = match files.get(format!("{dir}/{file}.rs").as_str()) {
                Some(text) => text.to_string(),
                None => nest_module(files, &format!("{dir}/{file}"), false),
            };
            out.push_str(&format!("pub mod {name} {{\n{body}}}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The nearest folder from `dir` up whose `Cargo.toml` declares a workspace, else `dir`.
fn workspace_root(dir: &Path) -> PathBuf {
    for candidate in dir.ancestors() {
        let Ok(manifest) = std::fs::read_to_string(candidate.join("Cargo.toml")) else { continue };
        let declares = manifest.lines().any(|l| {
            let l = l.trim();
            l == "[workspace]" || l.starts_with("[workspace.") || l.starts_with("[workspace]")
        });
        if declares {
            return candidate.to_path_buf();
        }
    }
    dir.to_path_buf()
}

/// `path` without `.` and with each `..` applied (lexically: the files need not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// `path` relative to `base` (both normalized), with `..` where it is outside, and `/`.
fn relative(path: &Path, base: &Path) -> String {
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return path.display().to_string(); // another drive: nothing to share
    }
    let mut parts: Vec<String> = vec!["..".into(); b.len() - common];
    parts.extend(p[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() { ".".into() } else { parts.join("/") }
}

/// Gives the files the build script just wrote (and their folders) a time from before it ran.
///
/// The build script watches the generated files, so that a hand edit is undone, and Cargo
/// reruns it when a watched file is newer than its last run: without this, the files it wrote
/// itself would make the next `cargo test` rerun it and compile the crate a second time.
/// Best effort: a file system that refuses only costs that second compile.
fn backdate(root: &Path, report: &Report, started: SystemTime) {
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

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn paths_relative_to_the_root() {
        let root = Path::new("/w/main");
        assert_eq!(relative(&normalize(Path::new("/w/main/detections/../rules")), root), "rules");
        assert_eq!(relative(Path::new("/w/main/detections/src/rules"), root), "detections/src/rules");
        assert_eq!(relative(Path::new("/w/shared/rules"), root), "../shared/rules");
        assert_eq!(relative(Path::new("/w/main"), root), ".");
        assert_eq!(normalize(Path::new("/a/./b/../../c")), Path::new("/c"));
    }

    #[test]
    fn nesting_inlines_every_module_file() {
        let file =
            |path: &str, contents: &str| GeneratedFile { path: path.into(), contents: contents.into() };
        let files = [
            file(
                "rules/mod.rs",
                "// @generated\n//! Registry.\n/// A.\npub mod a;\npub mod by_log_type;\npub static ALL: u8 = 0;\n",
            ),
            file("rules/a.rs", "// @generated\n//! Rule a.\npub static RULE: u8 = 1;\n"),
            file("rules/by_log_type/mod.rs", "//! Index.\npub mod x;\n"),
            file("rules/by_log_type/x.rs", "use super::super::a;\n"),
        ];
        assert_eq!(
            nest(&files, "rules"),
            "// @generated\n/// A.\npub mod a {\n// @generated\n//! Rule a.\npub static RULE: u8 = 1;\n}\n\
             pub mod by_log_type {\n//! Index.\npub mod x {\nuse super::super::a;\n}\n}\npub static ALL: u8 = 0;\n"
        );
    }
}
