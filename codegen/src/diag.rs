//! Diagnostics: what went wrong in a rule file, where, and how to fix it.
//!
//! Owns the [`Diagnostic`] type every stage reports with, and its rendering in the style of
//! rustc (`path:line:col`, the snippet, a caret under the culprit, a help line).
//! Must not: decide what is an error; the stages that find problems build diagnostics.

use annotate_snippets::{AnnotationKind, Group, Level as SnippetLevel, Renderer, Snippet};

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end: end.max(start) }
    }
}

/// One input file: its path as shown to the user (relative to the workspace root, with `/`)
/// and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

impl SourceFile {
    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    pub fn line(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// A second place that explains the first, possibly in another file
/// ("first defined here").
#[derive(Clone, Debug)]
pub struct Related {
    pub path: String,
    pub span: Span,
    pub label: String,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub level: Level,
    pub path: String,
    pub span: Span,
    /// The headline: what is wrong.
    pub message: String,
    /// Shown under the caret; may be empty.
    pub label: String,
    pub related: Vec<Related>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(path: &str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            level: Level::Error,
            path: path.to_string(),
            span,
            message: message.into(),
            label: String::new(),
            related: Vec::new(),
            help: None,
        }
    }

    pub fn warning(path: &str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { level: Level::Warning, ..Diagnostic::error(path, span, message) }
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, path: &str, span: Span, label: impl Into<String>) -> Diagnostic {
        self.related.push(Related { path: path.to_string(), span, label: label.into() });
        self
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// Renders diagnostics like rustc does. `color` adds ANSI styles (for a terminal).
pub fn render(diagnostics: &[Diagnostic], sources: &[SourceFile], color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&render_one(&renderer, d, sources));
        out.push_str("\n\n");
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let files = {
            let mut paths: Vec<&str> =
                diagnostics.iter().filter(|d| d.is_error()).map(|d| d.path.as_str()).collect();
            paths.sort_unstable();
            paths.dedup();
            paths.len()
        };
        out.push_str(&format!(
            "error: {} in {}\n",
            plural(errors, "error", "errors"),
            plural(files, "rule file", "rule files")
        ));
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn render_one(renderer: &Renderer, d: &Diagnostic, sources: &[SourceFile]) -> String {
    let level = match d.level {
        Level::Error => SnippetLevel::ERROR,
        Level::Warning => SnippetLevel::WARNING,
    };
    let find = |path: &str| sources.iter().find(|s| s.path == path);
    let mut group = Group::with_title(level.primary_title(d.message.as_str()));
    if let Some(source) = find(&d.path) {
        let mut snippet = Snippet::source(source.text.as_str())
            .path(d.path.as_str())
            .annotation(AnnotationKind::Primary.span(clamp(d.span, &source.text)).label(d.label.as_str()));
        for r in d.related.iter().filter(|r| r.path == d.path) {
            snippet = snippet.annotation(
                AnnotationKind::Context.span(clamp(r.span, &source.text)).label(r.label.as_str()),
            );
        }
        group = group.element(snippet);
    }
    for r in d.related.iter().filter(|r| r.path != d.path) {
        if let Some(source) = find(&r.path) {
            group = group.element(Snippet::source(source.text.as_str()).path(r.path.as_str()).annotation(
                AnnotationKind::Context.span(clamp(r.span, &source.text)).label(r.label.as_str()),
            ));
        }
    }
    let mut report = vec![group];
    if let Some(help) = &d.help {
        report.push(Group::with_title(SnippetLevel::HELP.secondary_title(help.as_str())));
    }
    renderer.render(&report)
}

/// Keeps a span inside the text and on character boundaries, so rendering never panics.
fn clamp(span: Span, text: &str) -> std::ops::Range<usize> {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let end = floor_char_boundary(text, span.end.min(text.len())).max(start);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile { path: "x.yml".into(), text: "a: 1\nbé: 2\n".into() };
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(5), (2, 1));
        assert_eq!(f.line_col(9), (2, 4));
    }

    #[test]
    fn renders_path_line_column_and_help() {
        let f = SourceFile { path: "rules/x.yml".into(), text: "a: 1\nCondition: IsInn\n".into() };
        let d = Diagnostic::error("rules/x.yml", Span::new(16, 21), "unknown condition `IsInn`")
            .label("not a condition")
            .help("did you mean `IsIn`?");
        let text = render(&[d], &[f], false);
        assert!(text.contains("rules/x.yml:2:12"), "{text}");
        assert!(text.contains("^^^^^ not a condition"), "{text}");
        assert!(text.contains("help: did you mean `IsIn`?"), "{text}");
        assert!(text.ends_with("error: 1 error in 1 rule file\n"), "{text}");
    }
}
