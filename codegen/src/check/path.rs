//! Key specifiers (`Key`, `DeepKey`, `KeyPath`, `Enrichment`) and what is built from them:
//! `AlertTitle` templates, `GroupBy` and `AlertContext`.
//!
//! Owns the `KeyPath` grammar (`a.b[2].c`, `[*]`, negative indexes) and its error positions.
//! Must not: interpret conditions; `expr` decides what is done with a path.

use std::ops::Range;

use super::{Ctx, Mapping};
use crate::diag::{Diagnostic, Span};
use crate::ir::{
    ContextEntry, ContextValue, Data, DeepWalk, Path, Placeholder, ReturnVal, Segment, Skip, Template,
    TemplatePart,
};
use crate::names;
use crate::yaml::{Node, Value};

pub(crate) const SPECIFIER_KEYS: [&str; 4] = ["Key", "DeepKey", "KeyPath", "Enrichment"];

/// A `KeyPath` error: where in the text, what, and how to fix it.
#[derive(Debug, PartialEq)]
pub struct PathError {
    pub at: Range<usize>,
    pub message: String,
    pub help: &'static str,
}

const PATH_HELP: &str = "a KeyPath is keys separated by `.`, each optionally followed by `[n]` or `[*]`, e.g. `requestParameters.items[0].name`";

/// Parses `a.b[2].c[*].d`: keys separated by dots, each followed by any number of `[n]`
/// (a list index, negative from the end) or `[*]` (every element).
pub fn parse_key_path(text: &str) -> Result<Vec<Segment>, PathError> {
    let err = |at: Range<usize>, message: String| PathError { at, message, help: PATH_HELP };
    if text.is_empty() {
        return Err(err(0..0, "empty KeyPath".into()));
    }
    let mut segments = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        // A key: everything up to `.`, `[` or the end.
        let start = i;
        while i < bytes.len() && !matches!(bytes[i], b'.' | b'[' | b']') {
            i += 1;
        }
        if i == start {
            let what = match bytes.get(i) {
                None if i > 0 => "KeyPath ends with `.`".to_string(),
                Some(b'[') if i == 0 => "KeyPath starts with an index; it must start with a key".to_string(),
                Some(b']') => "`]` without a matching `[`".to_string(),
                _ => "empty key in KeyPath".to_string(),
            };
            return Err(err(i..(i + 1).min(text.len()).max(i), what));
        }
        segments.push(Segment::Key(text[start..i].to_string()));
        // Indexes after the key.
        while i < bytes.len() && bytes[i] == b'[' {
            let open = i;
            let Some(close) = text[open..].find(']').map(|c| open + c) else {
                return Err(err(open..text.len(), "`[` is never closed".into()));
            };
            let inner = &text[open + 1..close];
            if inner == "*" {
                segments.push(Segment::Each);
            } else {
                match inner.parse::<i64>() {
                    Ok(n) if !inner.starts_with('+') => segments.push(Segment::Index(n)),
                    _ => {
                        return Err(err(
                            open..close + 1,
                            format!("`[{inner}]` is not a list index; use `[0]`, `[-1]` or `[*]`"),
                        ));
                    }
                }
            }
            i = close + 1;
        }
        match bytes.get(i) {
            None => return Ok(segments),
            Some(b'.') => i += 1,
            Some(b']') => return Err(err(i..i + 1, "`]` without a matching `[`".into())),
            Some(_) => {
                return Err(err(i..i + 1, "expected `.` or `[` after an index".into()));
            }
        }
    }
}

/// How a path is shown in generated docs and messages.
pub fn path_text(segments: &[Segment]) -> String {
    let mut out = String::new();
    for seg in segments {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
            Segment::Each => out.push_str("[*]"),
        }
    }
    out
}

/// The `}` that closes the placeholder opened at `open`: the first one outside quotes (a quoted
/// default may hold braces).
fn closing_brace(text: &str, open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in text[open + 1..].char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '}') => return Some(open + 1 + i),
            _ => {}
        }
    }
    None
}

/// The inside of `{...}`: KeyPaths separated by `|`, `||` or `??`, optionally ending in a quoted
/// default (which may hold `|`, `{` and `}`), then optionally `!s`.
fn parse_placeholder(inner: &str) -> Result<Placeholder, String> {
    let mut alternatives = Vec::new();
    let mut skips = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut python = false;
    let mut type_name = false;
    let mut splits = Vec::new();
    let mut chars = inner.char_indices().peekable();
    let mut end = inner.len();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '|' | '?') => {
                let skip =
                    match (c, next) {
                        ('|', Some('|')) => Skip::Falsy,
                        ('|', _) => Skip::MissingOrNull,
                        ('?', Some('?')) => Skip::Missing,
                        _ => return Err(
                            "a single `?`: write `??` (use the next alternative when this one is missing)"
                                .into(),
                        ),
                    };
                if skip != Skip::MissingOrNull {
                    chars.next();
                }
                alternatives.push(inner[start..i].trim());
                skips.push(skip);
                start = i + skip.token().len();
            }
            (None, '!') => {
                let (found, last) = conversions(&inner[i..])?;
                splits = found;
                python = last == Some("s");
                type_name = last == Some("type");
                end = i;
                break;
            }
            _ => {}
        }
    }
    alternatives.push(inner[start..end].trim());
    let mut paths = Vec::new();
    let mut default = None;
    for (i, alt) in alternatives.iter().enumerate() {
        let opens_quote = alt.starts_with(['\'', '"']);
        if opens_quote {
            if alt.len() < 2 || !alt.ends_with(&alt[..1]) {
                return Err(format!("the quoted default {alt} is never closed"));
            }
            if i + 1 != alternatives.len() {
                return Err("a quoted default must come last".into());
            }
            default = Some(serde_json::Value::String(alt[1..alt.len() - 1].to_string()));
        } else if let Some(literal) = python_literal(alt).filter(|_| i > 0 && i + 1 == alternatives.len()) {
            default = Some(literal);
        } else if alt.is_empty() {
            return Err(if inner.trim().is_empty() {
                "empty placeholder".into()
            } else {
                "empty alternative".into()
            });
        } else if alt.starts_with('$') {
            return Err(format!("`{alt}` names a TemplateValues entry: write it alone, as `{{{alt}}}`"));
        } else {
            let segments = parse_key_path(alt).map_err(|e| e.message)?;
            paths.push(Path { segments, text: alt.to_string() });
        }
    }
    if paths.is_empty() {
        return Err("no KeyPath before the default".into());
    }
    if matches!(default, Some(serde_json::Value::Object(_))) && (python || type_name || !splits.is_empty()) {
        return Err(
            "a `{}` default is a plain dict, which `!s`, `!type` and `!split` do not print: quote a text default"
                .into(),
        );
    }
    if type_name && !splits.is_empty() {
        return Err("`!type` names the type of the value picked: it takes no `!split`".into());
    }
    Ok(Placeholder { paths, skips, default, splits, python, type_name })
}

/// The inside of `{...}` when it is a call of `deep_walk` (`None` otherwise): quoted keys, then
/// optionally `default='…'` (or `None`) and `return_val='all' | 'first' | 'last'`, as Python
/// writes the call (a trailing comma too); then optionally `!type`.
fn parse_deep_walk(inner: &str) -> Option<Result<DeepWalk, String>> {
    let text = inner.trim_start();
    let (method, text) = match text.strip_prefix("event.") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let args = text.strip_prefix("deep_walk")?.trim_start().strip_prefix('(')?;
    if method {
        return Some(Err("write `deep_walk(…)` without `event.`: it always walks the event".into()));
    }
    Some(deep_walk_call(args))
}

/// The arguments of `deep_walk(` up to its `)`, and what follows.
fn deep_walk_call(mut rest: &str) -> Result<DeepWalk, String> {
    const UNCLOSED: &str = "`deep_walk(` is never closed: end its arguments with `)`";
    let mut keys = Vec::new();
    let mut default: Option<Option<String>> = None;
    let mut return_val: Option<ReturnVal> = None;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(')') {
            rest = after;
            break;
        }
        if rest.is_empty() {
            return Err(UNCLOSED.into());
        }
        if rest.starts_with(['\'', '"']) {
            if default.is_some() || return_val.is_some() {
                return Err("a key after a keyword argument: the keys come first, as in Python".into());
            }
            let (key, after) = quoted(rest)?;
            keys.push(key);
            rest = after;
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let name = &rest[..end];
            let Some(value) = rest[end..].trim_start().strip_prefix('=') else {
                return Err(match name {
                    "" => format!(
                        "expected a quoted key, `default=` or `return_val=`, found `{}`",
                        rest.chars().next().unwrap_or(' ')
                    ),
                    _ => format!("`{name}`: the keys of `deep_walk` are quoted strings, e.g. `'{name}'`"),
                });
            };
            let value = value.trim_start();
            let (value, after) = match value.strip_prefix("None") {
                Some(after) if !after.starts_with(|c: char| c.is_alphanumeric() || c == '_') => (None, after),
                _ if value.starts_with(['\'', '"']) => {
                    let (text, after) = quoted(value)?;
                    (Some(text), after)
                }
                _ => return Err(format!("`{name}=` takes a quoted string")),
            };
            match name {
                "default" if default.is_some() => return Err("`default=` is given twice".into()),
                "default" => default = Some(value),
                "return_val" if return_val.is_some() => return Err("`return_val=` is given twice".into()),
                "return_val" => {
                    return_val = Some(match value.as_deref() {
                        Some("all") => ReturnVal::All,
                        Some("first") => ReturnVal::First,
                        Some("last") => ReturnVal::Last,
                        _ => {
                            return Err("`return_val=` is 'all', 'first' or 'last' (for any other, Panther's deep_walk returns the text 'all')".into());
                        }
                    });
                }
                other => {
                    let help = match crate::names::nearest(other, ["default", "return_val"]) {
                        Some(near) => format!(": did you mean `{near}=`?"),
                        None => ": it takes `default=` and `return_val=`".into(),
                    };
                    return Err(format!("`deep_walk` has no argument `{other}`{help}"));
                }
            }
            rest = after;
        }
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if rest.is_empty() {
            return Err(UNCLOSED.into());
        } else if !rest.starts_with(')') {
            let found = rest.chars().next().unwrap_or(' ');
            return Err(format!("expected `,` or `)` after an argument of `deep_walk`, found `{found}`"));
        }
    }
    if keys.is_empty() {
        return Err(
            "`deep_walk()` names no key: give the keys to walk, e.g. `deep_walk('items', 'id')`".into()
        );
    }
    let tail = rest.trim();
    let conversion = tail.strip_prefix('!').map(str::trim);
    let type_name = match (tail, conversion) {
        ("", _) => false,
        (_, Some("type")) => true,
        (_, Some("s")) => {
            return Err("`deep_walk(…)` prints Python's `str()` of its result already: drop `!s`".into());
        }
        (_, Some(_)) => return Err("after `deep_walk(…)` may come only `!type`".into()),
        _ if tail.starts_with(['|', '?']) => {
            return Err(
                "`deep_walk(…)` takes no fallbacks: its `default=` stands for what is not found".into()
            );
        }
        _ => return Err(format!("unexpected `{tail}` after `deep_walk(…)`")),
    };
    let return_val = return_val.unwrap_or(ReturnVal::All);
    Ok(DeepWalk { keys, default: default.flatten(), return_val, type_name })
}

/// A quoted string at the start of `text` (without escapes), and the text after it.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let quote = text.chars().next().expect("a quote");
    let Some(close) = text[1..].find(quote).map(|i| i + 1) else {
        return Err(format!("the quoted text {text} is never closed"));
    };
    let inner = &text[1..close];
    if inner.contains('\\') {
        return Err(format!(
            "{quote}{inner}{quote} holds a backslash: escapes are not supported, write the text as it is"
        ));
    }
    Ok((inner.to_string(), &text[close + 1..]))
}

/// A last alternative that is a Python literal rather than a key: `[]`, `{}`, `True`, `False`,
/// an integer (`deep_get(..., default=[])`).
fn python_literal(text: &str) -> Option<serde_json::Value> {
    use serde_json::Value;
    match text {
        "[]" => Some(Value::Array(Vec::new())),
        "{}" => Some(Value::Object(serde_json::Map::new())),
        "True" => Some(Value::Bool(true)),
        "False" => Some(Value::Bool(false)),
        _ => text.parse::<i64>().ok().map(Value::from),
    }
}

/// The conversions that end a placeholder: any number of `!split('SEP')[N]`, then perhaps `!s`
/// or `!type`.
fn conversions(mut text: &str) -> Result<(Vec<(String, i64)>, Option<&'static str>), String> {
    const HELP: &str = "after the fallbacks come `!split('SEP')[N]` (any number) and then `!s` or `!type`";
    let mut splits = Vec::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Ok((splits, None));
        }
        let Some(rest) = text.strip_prefix('!') else { return Err(HELP.into()) };
        let rest = rest.trim_start();
        match rest.trim() {
            "s" => return Ok((splits, Some("s"))),
            "type" => return Ok((splits, Some("type"))),
            _ => {}
        }
        let Some(rest) = rest.strip_prefix("split(") else { return Err(HELP.into()) };
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or(HELP)?;
        let close = rest[1..].find(quote).ok_or("the separator of `!split` is never closed")? + 1;
        let sep = &rest[1..close];
        if sep.is_empty() {
            return Err("`!split('')`: Python raises ValueError on an empty separator".into());
        }
        let rest = rest[close + 1..].trim_start();
        let rest = rest.strip_prefix(")").ok_or(HELP)?.trim_start();
        let rest = rest.strip_prefix('[').ok_or("`!split('SEP')` takes an index: `!split(':')[1]`")?;
        let end = rest.find(']').ok_or("the index of `!split` is never closed")?;
        let index: i64 = rest[..end].trim().parse().map_err(|_| "the index of `!split` is an integer")?;
        splits.push((sep.to_string(), index));
        text = &rest[end + 1..];
    }
}

/// The longest key a path may name, in bytes.
const MAX_KEY_BYTES: usize = 4096;

/// Extension: named sets of `AlertContext` entries (`- Preset: aws_rule_context`), as
/// (KeyName, KeyPath, the value when the key is missing) triples, each `event.get(key, default)`,
/// and whether Panther's PantherFlow query ends the set.
pub const CONTEXT_PRESETS: &[(&str, &[(&str, &str, &str)], bool)] = &[(
    "aws_rule_context",
    // panther_aws_helpers.aws_rule_context; its `eventSource` default is upstream's, as written.
    &[
        ("eventName", "eventName", "<MISSING_EVENT_NAME>"),
        ("eventSource", "eventSource", "<MISSING_ACCOUNT_ID>"),
        ("awsRegion", "awsRegion", "<MISSING_AWS_REGION>"),
        ("recipientAccountId", "recipientAccountId", "<MISSING_ACCOUNT_ID>"),
        ("sourceIPAddress", "sourceIPAddress", "<MISSING_SOURCE_IP>"),
        ("userAgent", "userAgent", "<MISSING_USER_AGENT>"),
        ("userIdentity", "userIdentity", "<MISSING_USER_IDENTITY>"),
    ],
    true,
)];

/// The name of the PantherFlow entry of a preset.
pub const PANTHERFLOW_KEY: &str = "PantherFlow Investigation";

impl Ctx<'_> {
    /// The span of bytes `range` of a string scalar's value, when the source spells the value
    /// out as it is (plain, or quoted without escapes); else the whole scalar.
    pub fn inner_span(&self, node: &Node, range: Range<usize>) -> Span {
        let Value::Str(value) = &node.value else { return node.span };
        let raw = &self.file.text[node.span.start..node.span.end.min(self.file.text.len())];
        let offset = if raw == value {
            0
        } else if raw.len() == value.len() + 2 && &raw[1..raw.len() - 1] == value {
            1
        } else {
            return node.span;
        };
        let start = node.span.start + offset + range.start;
        Span::new(start, (node.span.start + offset + range.end).max(start + 1))
    }

    /// The path named by the single key specifier among `m`'s keys: `Ok(None)` when there is
    /// none, `Err(())` when it was reported as malformed.
    pub fn specifier(&mut self, m: &Mapping) -> Result<Option<Path>, ()> {
        let present: Vec<&Node> = SPECIFIER_KEYS.iter().filter_map(|k| m.key(k)).collect();
        if present.len() > 1 {
            let names: Vec<String> = present.iter().map(|k| format!("`{}`", k.key_text())).collect();
            self.report(
                self.error(
                    present[1].span,
                    format!("two key specifiers ({}) in one expression", names.join(" and ")),
                )
                .label("second specifier")
                .related(&self.file.path.clone(), present[0].span, "first specifier")
                .help("use exactly one of `Key`, `DeepKey`, `KeyPath` or `Enrichment`"),
            );
            return Err(());
        }
        let Some(key) = present.first() else { return Ok(None) };
        let name = key.key_text();
        let node = m.get(&name).expect("key present");
        let path = match name.as_str() {
            "Key" => self
                .string(node, "Key")
                .map(|k| Path { segments: vec![Segment::Key(k.into())], text: k.into() }),
            "DeepKey" => self.deep_key(node),
            "KeyPath" => self.key_path(node),
            _ => self.enrichment(node),
        };
        if let Some(p) = &path
            && matches!(p.segments.first(), Some(Segment::Key(k)) if k.is_empty())
        {
            self.report(self.error(node.span, format!("`{name}` is empty")).label("empty key"));
            return Err(());
        }
        if let Some(p) = &path
            && !self.keys_fit(node, p)
        {
            return Err(());
        }
        path.map(Some).ok_or(())
    }

    /// Whether every key of `path` is of a reasonable length; reports the first that is not.
    /// (A key is hashed at compile time; a key of megabytes would stall the Rust compiler.)
    fn keys_fit(&mut self, node: &Node, path: &Path) -> bool {
        let long = path.segments.iter().find_map(|s| match s {
            Segment::Key(k) if k.len() > MAX_KEY_BYTES => Some(k.len()),
            _ => None,
        });
        if let Some(len) = long {
            self.report(
                self.error(
                    node.span,
                    format!("a key of {len} bytes is longer than the limit of {MAX_KEY_BYTES}"),
                )
                .label("key too long")
                .help("event keys are short names; check that a value has not ended up in the key"),
            );
        }
        long.is_none()
    }

    /// A mapping that is nothing but a key specifier (`GroupBy` items, `AlertContext` values,
    /// the operands of a multi-key expression).
    pub fn specifier_node(&mut self, node: &Node, what: &str) -> Option<Path> {
        let m = self.mapping(node, what, &SPECIFIER_KEYS)?;
        match self.specifier(&m) {
            Ok(Some(path)) => Some(path),
            Ok(None) => {
                self.report(
                    self.error(node.span, format!("{what} names no key"))
                        .label("expected `Key`, `DeepKey`, `KeyPath` or `Enrichment`")
                        .help("e.g. `KeyPath: userIdentity.arn`"),
                );
                None
            }
            Err(()) => None,
        }
    }

    pub fn key_path(&mut self, node: &Node) -> Option<Path> {
        let text = self.string(node, "KeyPath")?;
        if text.contains(" | ") {
            self.report(
                Diagnostic::warning(
                    &self.file.path,
                    node.span,
                    format!("KeyPath `{text}` names one key containing ` | `"),
                )
                .label("read as a single key")
                .help("`|` fallbacks work only inside `{...}` placeholders of AlertTitle and KeyTemplate"),
            );
        }
        match parse_key_path(text) {
            Ok(segments) => Some(Path { segments, text: text.to_string() }),
            Err(e) => {
                let span = self.inner_span(node, e.at);
                self.report(
                    self.error(span, format!("bad KeyPath `{text}`: {}", e.message))
                        .label("here")
                        .help(e.help),
                );
                None
            }
        }
    }

    fn deep_key(&mut self, node: &Node) -> Option<Path> {
        let Some(items) = node.as_seq() else {
            self.report(
                self.error(node.span, format!("`DeepKey` must be a list of keys, found {}", node.kind()))
                    .label("expected a list")
                    .help("write `DeepKey: [userIdentity, type]`, or use `KeyPath: userIdentity.type`"),
            );
            return None;
        };
        if items.is_empty() {
            self.report(
                self.error(node.span, "`DeepKey` is empty").label("no keys").help("name at least one key"),
            );
            return None;
        }
        let mut segments = Vec::new();
        for item in items {
            match &item.value {
                Value::Str(s) => segments.push(Segment::Key(s.clone())),
                Value::Int(i) => match i64::try_from(*i) {
                    Ok(i) => segments.push(Segment::Index(i)),
                    Err(_) => {
                        self.report(self.error(item.span, "list index out of range").label("too large"));
                        return None;
                    }
                },
                _ => {
                    self.report(
                        self.error(
                            item.span,
                            format!("`DeepKey` items are keys or list indexes, found {}", item.kind()),
                        )
                        .label("expected a string or an integer"),
                    );
                    return None;
                }
            }
        }
        let text = path_text(&segments);
        Some(Path { segments, text })
    }

    /// `Enrichment: {Table, Selector, FieldPath}` is the path `p_enrichment.Table.Selector.FieldPath`.
    fn enrichment(&mut self, node: &Node) -> Option<Path> {
        let m = self.mapping(node, "Enrichment", &["Table", "Selector", "FieldPath"])?;
        let help = "write `Enrichment: {Table: tor_exit_nodes, Selector: p_any_ip_addresses, FieldPath: ip}`";
        let table = self.required(&m, "Table", "Enrichment", help).and_then(|n| self.string(n, "Table"));
        let selector =
            self.required(&m, "Selector", "Enrichment", help).and_then(|n| self.string(n, "Selector"));
        let field = self.required(&m, "FieldPath", "Enrichment", help).and_then(|n| self.key_path(n));
        let (table, selector, field) = (table?, selector?, field?);
        let mut segments = vec![
            Segment::Key("p_enrichment".into()),
            Segment::Key(table.into()),
            Segment::Key(selector.into()),
        ];
        segments.extend(field.segments);
        let text = path_text(&segments);
        Some(Path { segments, text })
    }

    /// `AlertTitle` (or `KeyTemplate`, named `key`): text with `{key.path}` placeholders;
    /// `{{` and `}}` stand for braces.
    pub fn template(&mut self, node: &Node, key: &str) -> Option<Template> {
        let text = self.string(node, key)?;
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text.char_indices().peekable();
        while let Some((i, c)) = rest.next() {
            match c {
                '{' if rest.peek().is_some_and(|&(_, n)| n == '{') => {
                    rest.next();
                    literal.push('{');
                }
                '}' if rest.peek().is_some_and(|&(_, n)| n == '}') => {
                    rest.next();
                    literal.push('}');
                }
                '{' => {
                    let Some(close) = closing_brace(text, i) else {
                        self.report(
                            self.error(
                                self.inner_span(node, i..text.len()),
                                "`{` in AlertTitle is never closed",
                            )
                            .label("unclosed placeholder")
                            .help("close it with `}`, or write `{{` for a literal brace"),
                        );
                        return None;
                    };
                    let inner = &text[i + 1..close];
                    if let Some(name) = inner.trim().strip_prefix('$') {
                        if !self.template_values.iter().any(|n| n == name) {
                            let known = self.template_values.iter().map(String::as_str);
                            let help = match names::nearest(name, known.clone()) {
                                Some(near) => format!("did you mean `{{${near}}}`?"),
                                None if self.template_values.is_empty() => {
                                    "define it under `TemplateValues:` (a template value may use only those before it)".into()
                                }
                                None => format!(
                                    "the values defined before this template: {}",
                                    known.map(|n| format!("`${n}`")).collect::<Vec<_>>().join(", ")
                                ),
                            };
                            self.report(
                                self.error(
                                    self.inner_span(node, i..close + 1),
                                    format!("unknown template value `${name}` in {key}"),
                                )
                                .label("not defined")
                                .help(help),
                            );
                            return None;
                        }
                        if !literal.is_empty() {
                            parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                        }
                        parts.push(TemplatePart::Value(name.to_string()));
                        while rest.peek().is_some_and(|&(j, _)| j <= close) {
                            rest.next();
                        }
                        continue;
                    }
                    if let Some(walk) = parse_deep_walk(inner) {
                        let walk = match walk {
                            Ok(w) => w,
                            Err(why) => {
                                self.report(
                                    self.error(self.inner_span(node, i..close + 1), format!("bad `deep_walk` placeholder `{{{inner}}}` in {key}: {why}"))
                                        .label("here")
                                        .help("write Panther's `event.deep_walk` as `{deep_walk('responseElements', 'instancesSet', 'items', 'imageId', default='<AMI ID not found>')}`: quoted keys, then optionally `default='…'` and `return_val='all'` (or `'first'`, `'last'`), then optionally `!type`"),
                                );
                                return None;
                            }
                        };
                        if !literal.is_empty() {
                            parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                        }
                        parts.push(TemplatePart::Walk(walk));
                        while rest.peek().is_some_and(|&(j, _)| j <= close) {
                            rest.next();
                        }
                        continue;
                    }
                    let placeholder = match parse_placeholder(inner) {
                        Ok(p) => p,
                        Err(why) => {
                            self.report(
                                self.error(self.inner_span(node, i..close + 1), format!("bad placeholder `{{{inner}}}` in {key}: {why}"))
                                    .label("here")
                                    .help("a placeholder is a KeyPath in braces, e.g. `{userIdentity.arn}`, with optional fallbacks (`{a.b | c.d || e ?? 'default'}`) and conversions (`!split(':')[1]`, `!s`, `!type`); write `{{` for a literal brace"),
                            );
                            return None;
                        }
                    };
                    if !placeholder.paths.iter().all(|p| self.keys_fit(node, p)) {
                        return None;
                    }
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(TemplatePart::Field(placeholder));
                    while rest.peek().is_some_and(|&(j, _)| j <= close) {
                        rest.next();
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Text(literal));
        }
        Some(Template { text: text.to_string(), parts })
    }

    /// `KeyValue: "{a || b | 'default'}"`: one placeholder, whose value is taken as it is.
    fn choice(&mut self, node: &Node) -> Option<ContextValue> {
        let text = self.string(node, "KeyValue")?;
        let inner = text.trim().strip_prefix('{').and_then(|t| t.strip_suffix('}'));
        let parsed = match inner {
            Some(inner) if parse_deep_walk(inner).is_some() => {
                Err("`deep_walk(…)` makes text: use `KeyTemplate` for it".into())
            }
            // One placeholder: no braces inside but quoted ones and a `{}` default.
            Some(inner) if !inner.replace("{}", "").contains(['{', '}']) || inner.contains(['\'', '"']) => {
                parse_placeholder(inner).and_then(|p| {
                    if p.python || p.type_name || p.can_raise() {
                        Err("`!s`, `!type` and `!split` make text: use `KeyTemplate` for that".into())
                    } else {
                        Ok(p)
                    }
                })
            }
            _ => Err("a `KeyValue` string is one placeholder, e.g. `\"{a.b || c.d | 'N/A'}\"`".into()),
        };
        match parsed {
            Ok(p) if p.paths.iter().all(|path| self.keys_fit(node, path)) => Some(ContextValue::Choice(p)),
            Ok(_) => None,
            Err(why) => {
                self.report(
                    self.error(node.span, format!("bad `KeyValue` placeholder: {why}"))
                        .label("here")
                        .help("`KeyValue` takes a key specifier (`{KeyPath: a.b}`) or one placeholder with fallbacks in a string (`\"{a.b | 'N/A'}\"`)"),
                );
                None
            }
        }
    }

    /// `KeyData`: a YAML value as JSON, each string that is one `{placeholder}` replaced by the
    /// value it picks.
    fn data(&mut self, node: &Node) -> Option<Data> {
        Some(match &node.value {
            Value::Str(s) if s.starts_with('{') && s.ends_with('}') && !s.starts_with("{{") => {
                match self.choice(node)? {
                    ContextValue::Choice(p) => Data::Choice(p),
                    _ => unreachable!("a choice"),
                }
            }
            Value::Seq(items) => Data::List(items.iter().map(|i| self.data(i)).collect::<Option<_>>()?),
            Value::Map(entries) => Data::Map(
                entries
                    .iter()
                    .map(|(k, v)| Some((self.string(k, "KeyData key")?.to_string(), self.data(v)?)))
                    .collect::<Option<_>>()?,
            ),
            _ => Data::Constant(node.to_json()),
        })
    }

    pub fn group_by(&mut self, node: &Node) -> Option<Vec<Path>> {
        let items = self.list(node, "GroupBy")?;
        let paths: Vec<Option<Path>> =
            items.iter().map(|item| self.specifier_node(item, "GroupBy item")).collect();
        paths.into_iter().collect()
    }

    /// `Preset: name`: the entries of a built-in AlertContext preset.
    fn context_preset(&mut self, node: &Node) -> Option<Vec<ContextEntry>> {
        let name = self.string(node, "Preset")?;
        let Some((_, entries, pantherflow)) = CONTEXT_PRESETS.iter().find(|(n, _, _)| *n == name) else {
            let known = CONTEXT_PRESETS.iter().map(|(n, _, _)| *n);
            let help = match names::nearest(name, known.clone()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the presets are: {}", known.collect::<Vec<_>>().join(", ")),
            };
            self.report(
                self.error(node.span, format!("unknown AlertContext preset `{name}`"))
                    .label("no such preset")
                    .help(help),
            );
            return None;
        };
        let mut out: Vec<ContextEntry> = entries
            .iter()
            .map(|(key, path, if_missing)| {
                let segments = parse_key_path(path).expect("presets hold valid paths");
                let path = Path { segments, text: (*path).to_string() };
                let choice = Placeholder {
                    paths: vec![path],
                    skips: vec![Skip::Missing],
                    default: Some(serde_json::Value::String((*if_missing).to_string())),
                    splits: Vec::new(),
                    python: false,
                    type_name: false,
                };
                ContextEntry {
                    name: (*key).to_string(),
                    value: ContextValue::Choice(choice),
                    conditions: Vec::new(),
                }
            })
            .collect();
        if *pantherflow {
            out.push(ContextEntry {
                name: PANTHERFLOW_KEY.to_string(),
                value: ContextValue::PantherflowInvestigation,
                conditions: Vec::new(),
            });
        }
        Some(out)
    }

    pub fn alert_context(&mut self, node: &Node) -> Option<Vec<ContextEntry>> {
        let items = self.list(node, "AlertContext")?;
        let mut out: Vec<ContextEntry> = Vec::new();
        let mut seen: Vec<(String, Span)> = Vec::new();
        let mut ok = true;
        for item in items {
            if let Some([(k, v)]) = item.as_map()
                && k.as_str() == Some("Preset")
            {
                match self.context_preset(v) {
                    Some(entries) => {
                        for e in entries {
                            if seen.iter().any(|(n, _)| *n == e.name) {
                                self.report(
                                    self.error(v.span, format!("duplicate AlertContext key `{}`", e.name))
                                        .label("the preset holds it too")
                                        .help("each KeyName appears once in the alert context"),
                                );
                                ok = false;
                            }
                            seen.push((e.name.clone(), v.span));
                            out.push(e);
                        }
                    }
                    None => ok = false,
                }
                continue;
            }
            let known = ["KeyName", "KeyValue", "KeyTemplate", "KeyData", "Conditions", "Preset"];
            let Some(m) = self.mapping(item, "AlertContext entry", &known) else {
                ok = false;
                continue;
            };
            if let Some(preset) = m.key("Preset") {
                self.report(
                    self.error(preset.span, "`Preset` stands alone in its AlertContext entry")
                        .label("beside KeyName or KeyValue")
                        .help("write the preset as its own entry: `- Preset: aws_rule_context`"),
                );
                ok = false;
                continue;
            }
            let help = "write `- KeyName: actor` with `KeyValue: {KeyPath: userIdentity.arn}` (or `KeyTemplate: \"{a}:{b}\"`)";
            let name_node = self.required(&m, "KeyName", "AlertContext entry", help);
            let name = name_node.and_then(|n| self.string(n, "KeyName"));
            let given: Vec<&str> =
                ["KeyValue", "KeyTemplate", "KeyData"].into_iter().filter(|k| m.get(k).is_some()).collect();
            let value = match given.as_slice() {
                ["KeyValue"] => {
                    let n = m.get("KeyValue").expect("given");
                    if matches!(n.value, Value::Str(_)) {
                        self.choice(n)
                    } else {
                        self.specifier_node(n, "KeyValue").map(ContextValue::Path)
                    }
                }
                ["KeyTemplate"] => self
                    .template(m.get("KeyTemplate").expect("given"), "KeyTemplate")
                    .map(ContextValue::Template),
                [_] => self.data(m.get("KeyData").expect("given")).map(ContextValue::Data),
                [] => {
                    self.report(
                        self.error(m.head(), "AlertContext entry has no `KeyValue`")
                            .label("which value?")
                            .help(help),
                    );
                    None
                }
                [_, second, ..] => {
                    let at = m.key(second).map_or(m.head(), |k| k.span);
                    self.report(
                        self.error(at, "an AlertContext entry has one of `KeyValue`, `KeyTemplate` and `KeyData`")
                            .label("second value")
                            .help("`KeyValue` takes a field as it is; `KeyTemplate` renders a string like AlertTitle; `KeyData` builds a list or mapping"),
                    );
                    None
                }
            };
            let conditions = match m.get("Conditions") {
                Some(n) => self.expressions(n, "Conditions", false),
                None => Some(Vec::new()),
            };
            if let (Some(name), Some(node)) = (name, name_node) {
                // A key may be set again by an entry with `Conditions` (Python's
                // `if ...: context[key] = ...`); an unconditional repeat is a mistake.
                if let Some((_, first)) = seen.iter().find(|(n, _)| n == name)
                    && m.get("Conditions").is_none()
                {
                    self.report(
                        self.error(node.span, format!("duplicate AlertContext key `{name}`"))
                            .label("used again here")
                            .related(&self.file.path.clone(), *first, "first used here")
                            .help("each KeyName appears once in the alert context, unless a later entry sets it only under `Conditions`"),
                    );
                    ok = false;
                }
                seen.push((name.to_string(), node.span));
            }
            match (name, value, conditions) {
                (Some(name), Some(value), Some(conditions)) => {
                    out.push(ContextEntry { name: name.to_string(), value, conditions })
                }
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Segment {
        Segment::Key(k.into())
    }

    #[test]
    fn key_paths() {
        assert_eq!(parse_key_path("eventName").unwrap(), vec![key("eventName")]);
        assert_eq!(
            parse_key_path("a.b[2].c[*].d").unwrap(),
            vec![key("a"), key("b"), Segment::Index(2), key("c"), Segment::Each, key("d")]
        );
        assert_eq!(parse_key_path("a[-1]").unwrap(), vec![key("a"), Segment::Index(-1)]);
        assert_eq!(parse_key_path("a[0][1]").unwrap(), vec![key("a"), Segment::Index(0), Segment::Index(1)]);
        assert_eq!(
            parse_key_path("PantherFlow Investigation").unwrap(),
            vec![key("PantherFlow Investigation")]
        );
    }

    #[test]
    fn bad_key_paths() {
        let msg = |t: &str| parse_key_path(t).unwrap_err().message;
        assert_eq!(msg("a..b"), "empty key in KeyPath");
        assert_eq!(msg("a."), "KeyPath ends with `.`");
        assert_eq!(msg(".a"), "empty key in KeyPath");
        assert_eq!(msg("a[1"), "`[` is never closed");
        assert_eq!(msg("a[x]"), "`[x]` is not a list index; use `[0]`, `[-1]` or `[*]`");
        assert_eq!(msg("a]"), "`]` without a matching `[`");
        assert_eq!(msg("[0].a"), "KeyPath starts with an index; it must start with a key");
        assert_eq!(msg("a[0]b"), "expected `.` or `[` after an index");
        assert_eq!(parse_key_path("a[x]").unwrap_err().at, 1..4);
    }

    #[test]
    fn placeholders() {
        let p = parse_placeholder("a.b | c | '{not | found}'").unwrap();
        assert_eq!(p.paths.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(), ["a.b", "c"]);
        assert_eq!(p.default, Some(serde_json::Value::String("{not | found}".into())));
        assert_eq!(parse_placeholder("a | 'open").unwrap_err(), "the quoted default 'open is never closed");
        assert_eq!(parse_placeholder("'x' | a").unwrap_err(), "a quoted default must come last");
        assert_eq!(closing_brace("{a | '}'} rest", 0), Some(8));
    }

    #[test]
    fn deep_walk_calls() {
        let walk = |t: &str| parse_deep_walk(t).expect("a call").expect("valid");
        let w = walk(" deep_walk('a', \"b'c\", default='<{none}>' , return_val='last',) !type ");
        assert_eq!(w.keys, ["a", "b'c"]);
        assert_eq!(w.default.as_deref(), Some("<{none}>"));
        assert_eq!(w.return_val, ReturnVal::Last);
        assert!(w.type_name);
        let w = walk("deep_walk ('a', default=None)");
        assert_eq!((w.default, w.return_val, w.type_name), (None, ReturnVal::All, false));
        assert!(parse_deep_walk("deep_walk").is_none() && parse_deep_walk("deep_walk.id").is_none());
        let why = |t: &str| parse_deep_walk(t).expect("a call").unwrap_err();
        assert!(why("deep_walk()").contains("names no key"));
        assert!(why("deep_walk('a'").contains("never closed"));
        assert!(why("deep_walk(a)").contains("quoted strings"));
        assert!(why("deep_walk(default='x', 'a')").contains("keys come first"));
        assert!(why("deep_walk('a', defualt='x')").contains("did you mean `default=`"));
        assert!(why("deep_walk('a', return_val='All')").contains("'all', 'first' or 'last'"));
        assert!(why("deep_walk('a', default='x', default='y')").contains("twice"));
        assert!(why("deep_walk('a\\n')").contains("backslash"));
        assert!(why("deep_walk('a') !s").contains("drop `!s`"));
        assert!(why("deep_walk('a') | b").contains("no fallbacks"));
        assert!(why("event.deep_walk('a')").contains("without `event.`"));
    }

    #[test]
    fn path_texts() {
        assert_eq!(path_text(&[key("a"), Segment::Index(0), Segment::Each, key("b")]), "a[0][*].b");
    }
}
