//! YAML text to a tree of [`Node`]s that remember their byte spans.
//!
//! Owns: parsing (via `granit-parser`), YAML 1.2 core-schema typing of plain scalars (only
//! `true`/`false` are booleans; `yes`, `on` and timestamps stay strings), anchors and aliases,
//! and the structural errors every rule file must be free of: syntax errors, duplicate keys,
//! several documents, unsupported tags, runaway nesting or alias expansion.
//! Must not: know what a rule is; `check` gives the tree its meaning.

use std::collections::HashMap;

use granit_parser::{ErrorKind, Event, Options, Parser, ScalarStyle, ScanError, Tag};

use crate::diag::{Diagnostic, Span};

/// Deeper nesting than this is refused: no real rule needs it, and it bounds the
/// recursion of every later stage.
pub const MAX_DEPTH: usize = 1000;
/// Bounds alias expansion ("billion laughs").
pub const MAX_NODES: usize = 2_000_000;

#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    /// Integers of either sign up to 128 bits; larger ones become floats.
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// What kind of value this is, for messages ("expected a list, found a string").
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The event JSON a test log stands for. Map keys that are not strings are written as
    /// the scalar they are (`1: x` becomes `"1": "x"`), as YAML-to-JSON converters do.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => {
                if let Ok(i) = i64::try_from(*i) {
                    J::from(i)
                } else if let Ok(u) = u64::try_from(*i) {
                    J::from(u)
                } else {
                    float_json(*i as f64)
                }
            }
            Value::Float(f) => float_json(*f),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                J::Object(entries.iter().map(|(k, v)| (k.key_text(), v.to_json())).collect())
            }
        }
    }

    /// A mapping key as text.
    pub fn key_text(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Seq(_) | Value::Map(_) => self.to_json().to_string(),
        }
    }
}

/// JSON has no NaN or infinity; such a YAML float in a test log becomes `null`.
fn float_json(f: f64) -> serde_json::Value {
    serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Parses one YAML document. Returns the tree, if it could be built, and every problem found;
/// duplicate keys are reported without stopping (the first occurrence is kept).
pub fn parse(path: &str, text: &str) -> (Option<Node>, Vec<Diagnostic>) {
    let mut builder = Builder { path, diags: Vec::new(), anchors: HashMap::new(), nodes: 0 };
    match builder.run(text) {
        Ok(node) => (node, builder.diags),
        Err(d) => {
            builder.diags.push(*d);
            (None, builder.diags)
        }
    }
}

enum Frame {
    Seq { items: Vec<Node>, start: usize, anchor: usize },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, start: usize, anchor: usize },
}

struct Builder<'p> {
    path: &'p str,
    diags: Vec<Diagnostic>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

type Fatal = Box<Diagnostic>;

impl Builder<'_> {
    fn run(&mut self, text: &str) -> Result<Option<Node>, Fatal> {
        let mut options = Options::default();
        options.flow_nesting_limit = MAX_DEPTH;
        options.block_nesting_limit = MAX_DEPTH;
        let mut parser = Parser::new_from_str_with_options(text, options);
        let mut stack: Vec<Frame> = Vec::new();
        let mut document: Option<Node> = None;
        let mut documents = 0;
        while let Some(next) = parser.next_event() {
            let (event, span) = next.map_err(|e| self.syntax_error(text, &e))?;
            let start = span.start.byte_offset().unwrap_or(0);
            let end = span.end.byte_offset().unwrap_or(start);
            let node = match event {
                Event::DocumentStart(..) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(self.fatal(
                            Span::new(start, end.max(start + 3)),
                            "a rule file holds one YAML document, found a second",
                            "one rule per file: move this rule into a file of its own",
                        ));
                    }
                    continue;
                }
                Event::SequenceStart(_, anchor, tag) => {
                    self.check_tag(tag.as_deref(), "seq", start)?;
                    self.push(&mut stack, Frame::Seq { items: Vec::new(), start, anchor })?;
                    continue;
                }
                Event::MappingStart(_, anchor, tag) => {
                    self.check_tag(tag.as_deref(), "map", start)?;
                    let frame = Frame::Map { entries: Vec::new(), key: None, start, anchor };
                    self.push(&mut stack, frame)?;
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (value, start, anchor) = match stack.pop() {
                        Some(Frame::Seq { items, start, anchor }) => (Value::Seq(items), start, anchor),
                        Some(Frame::Map { entries, start, anchor, .. }) => {
                            (Value::Map(entries), start, anchor)
                        }
                        None => continue,
                    };
                    self.anchored(anchor, Node { value, span: Span::new(start, end) })
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let value = self.scalar(&text, style, tag.as_deref(), Span::new(start, end))?;
                    self.anchored(anchor, Node { value, span: Span::new(start, end) })
                }
                Event::Alias(id) => match self.anchors.get(&id) {
                    Some(target) => {
                        self.nodes += count(target);
                        if self.nodes > MAX_NODES {
                            return Err(self.fatal(
                                Span::new(start, end),
                                "aliases expand to too large a document",
                                "a rule needs no alias bombs; write the values out",
                            ));
                        }
                        Node { value: target.value.clone(), span: Span::new(start, end) }
                    }
                    None => {
                        return Err(self.fatal(
                            Span::new(start, end),
                            "alias to an unknown anchor",
                            "define the anchor (`&name`) before using it (`*name`)",
                        ));
                    }
                },
                _ => continue,
            };
            self.nodes += 1;
            match stack.last_mut() {
                None => document = Some(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map { entries, key, .. }) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => {
                        if let Some((first, _)) = entries.iter().find(|(e, _)| same_key(e, &k)) {
                            self.diags.push(
                                Diagnostic::error(
                                    self.path,
                                    k.span,
                                    format!("duplicate key `{}`", k.key_text()),
                                )
                                .label("defined again here")
                                .related(self.path, first.span, "first defined here")
                                .help("a mapping holds each key once: remove or merge one of them"),
                            );
                        } else {
                            entries.push((k, node));
                        }
                    }
                },
            }
        }
        Ok(document)
    }

    fn push(&mut self, stack: &mut Vec<Frame>, frame: Frame) -> Result<(), Fatal> {
        if stack.len() >= MAX_DEPTH {
            let start = match &frame {
                Frame::Seq { start, .. } | Frame::Map { start, .. } => *start,
            };
            return Err(self.fatal(
                Span::new(start, start + 1),
                format!("nesting deeper than {MAX_DEPTH} levels"),
                "flatten the expression: no rule needs this depth",
            ));
        }
        stack.push(frame);
        Ok(())
    }

    fn anchored(&mut self, anchor: usize, node: Node) -> Node {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        node
    }

    fn check_tag(&self, tag: Option<&Tag>, expected: &str, at: usize) -> Result<(), Fatal> {
        match tag {
            None => Ok(()),
            Some(t) if t.is_yaml_core_schema_tag(expected) => Ok(()),
            Some(t) => Err(self.unsupported_tag(t, at)),
        }
    }

    fn unsupported_tag(&self, tag: &Tag, at: usize) -> Fatal {
        self.fatal(
            Span::new(at, at + 1),
            format!("unsupported YAML tag `{}`", tag.original()),
            "remove the tag: rule files use plain YAML values",
        )
    }

    fn scalar(&self, text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Result<Value, Fatal> {
        let Some(tag) = tag else {
            return Ok(if style == ScalarStyle::Plain {
                resolve_plain(text)
            } else {
                Value::Str(text.into())
            });
        };
        let core = ["str", "int", "float", "bool", "null"]
            .into_iter()
            .find(|suffix| tag.is_yaml_core_schema_tag(suffix));
        let resolved = resolve_plain(text);
        let ok = match (core, &resolved) {
            (Some("str"), _) => return Ok(Value::Str(text.into())),
            (Some("int"), Value::Int(_)) => true,
            (Some("float"), Value::Float(_)) => true,
            (Some("float"), Value::Int(i)) => return Ok(Value::Float(*i as f64)),
            (Some("bool"), Value::Bool(_)) | (Some("null"), Value::Null) => true,
            (None, _) => return Err(self.unsupported_tag(tag, span.start)),
            _ => false,
        };
        if ok {
            Ok(resolved)
        } else {
            Err(self.fatal(
                span,
                format!("`{text}` is not a valid `{}`", tag.original()),
                "remove the tag or fix the value",
            ))
        }
    }

    fn syntax_error(&self, text: &str, e: &ScanError) -> Fatal {
        let m = e.marker();
        let at = m
            .byte_offset()
            .unwrap_or_else(|| text.char_indices().nth(m.index()).map_or(text.len(), |(i, _)| i));
        let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
        if matches!(e.kind(), ErrorKind::RecursionLimitExceeded) {
            return self.fatal(
                Span::new(at, end),
                format!("nesting deeper than {MAX_DEPTH} levels"),
                "flatten the expression: no rule needs this depth",
            );
        }
        Box::new(
            Diagnostic::error(self.path, Span::new(at, end), format!("invalid YAML: {}", e.info()))
                .help("fix the YAML syntax; quote strings that contain `: `, `#`, `{` or `[`"),
        )
    }

    fn fatal(&self, span: Span, message: impl Into<String>, help: &str) -> Fatal {
        Box::new(Diagnostic::error(self.path, span, message).help(help))
    }
}

fn count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count).sum(),
        Value::Map(entries) => entries.iter().map(|(k, v)| count(k) + count(v)).sum(),
        _ => 0,
    }
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Seq(_) | Value::Map(_), _) | (_, Value::Seq(_) | Value::Map(_)) => false,
        _ => a.key_text() == b.key_text() && a.kind() == b.kind(),
    }
}

/// YAML 1.2 core schema for plain scalars. `true`/`false` in any case are booleans
/// (rule-format §1); everything that is not null, a boolean or a number is a string.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if let Some(int) = resolve_int(text) {
        return int;
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

fn resolve_int(text: &str) -> Option<Value> {
    let (radix, digits) = if let Some(hex) = text.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = text.strip_prefix("0o") {
        (8, oct)
    } else {
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(match text.parse::<i128>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(text.parse().ok()?),
        });
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i128::from_str_radix(digits, radix).ok().map(Value::Int)
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let b = text.strip_prefix(['-', '+']).unwrap_or(text).as_bytes();
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - from
    };
    let mut i = 0;
    let int_digits = digits(&mut i);
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac_digits = digits(&mut i);
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Value {
        let (node, diags) = parse("t.yml", text);
        assert!(diags.is_empty(), "{diags:?}");
        node.unwrap().value
    }

    #[test]
    fn yaml_1_2_typing() {
        assert!(matches!(resolve_plain("yes"), Value::Str(_)));
        assert!(matches!(resolve_plain("on"), Value::Str(_)));
        assert!(matches!(resolve_plain("No"), Value::Str(_)));
        assert!(matches!(resolve_plain("TRUE"), Value::Bool(true)));
        assert!(matches!(resolve_plain("False"), Value::Bool(false)));
        assert!(matches!(resolve_plain("2023-07-19"), Value::Str(_)));
        assert!(matches!(resolve_plain("12.12.12.12"), Value::Str(_)));
        assert!(matches!(resolve_plain("443"), Value::Int(443)));
        assert!(matches!(resolve_plain("-7"), Value::Int(-7)));
        assert!(matches!(resolve_plain("0x1F"), Value::Int(31)));
        assert!(matches!(resolve_plain("0o17"), Value::Int(15)));
        assert!(matches!(resolve_plain("1.5"), Value::Float(f) if f == 1.5));
        assert!(matches!(resolve_plain("1e3"), Value::Float(f) if f == 1000.0));
        assert!(matches!(resolve_plain(".5"), Value::Float(f) if f == 0.5));
        assert!(matches!(resolve_plain("~"), Value::Null));
        assert!(matches!(resolve_plain("1_000"), Value::Str(_)));
        assert!(matches!(resolve_plain("0b101"), Value::Str(_)));
        assert!(matches!(resolve_plain("e5"), Value::Str(_)));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let Value::Map(m) = one("a: \"443\"\nb: 'true'\nc: 443\n") else { panic!() };
        assert!(matches!(m[0].1.value, Value::Str(ref s) if s == "443"));
        assert!(matches!(m[1].1.value, Value::Str(ref s) if s == "true"));
        assert!(matches!(m[2].1.value, Value::Int(443)));
    }

    #[test]
    fn spans_are_byte_ranges() {
        let text = "key: value\nlist:\n  - é\n  - x\n";
        let Value::Map(m) = one(text) else { panic!() };
        let span = m[0].1.span;
        assert_eq!(&text[span.start..span.end], "value");
        let Value::Seq(items) = &m[1].1.value else { panic!() };
        assert_eq!(&text[items[1].span.start..items[1].span.end], "x");
    }

    #[test]
    fn duplicate_keys_are_reported_and_first_kept() {
        let (node, diags) = parse("t.yml", "a: 1\nb: 2\na: 3\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "duplicate key `a`");
        let Value::Map(m) = node.unwrap().value else { panic!() };
        assert_eq!(m.len(), 2);
        assert!(matches!(m[0].1.value, Value::Int(1)));
    }

    #[test]
    fn anchors_and_aliases_expand() {
        let Value::Map(m) = one("a: &x [1, 2]\nb: *x\n") else { panic!() };
        assert!(matches!(&m[1].1.value, Value::Seq(s) if s.len() == 2));
    }

    #[test]
    fn syntax_errors_point_into_the_file() {
        let (node, diags) = parse("t.yml", "a: [1, 2\nb: 3\n");
        assert!(node.is_none());
        assert!(diags[0].message.starts_with("invalid YAML"), "{:?}", diags[0]);
    }

    #[test]
    fn second_document_is_refused() {
        let (_, diags) = parse("t.yml", "a: 1\n---\nb: 2\n");
        assert_eq!(diags[0].message, "a rule file holds one YAML document, found a second");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let (_, diags) = parse("t.yml", &text);
        assert_eq!(diags[0].message, format!("nesting deeper than {MAX_DEPTH} levels"));
        let text = "[".repeat(MAX_DEPTH - 1) + &"]".repeat(MAX_DEPTH - 1);
        assert!(parse("t.yml", &text).1.is_empty());
    }

    #[test]
    fn core_tags() {
        let Value::Map(m) = one("a: !!str 443\nb: !!float 1\n") else { panic!() };
        assert!(matches!(m[0].1.value, Value::Str(ref s) if s == "443"));
        assert!(matches!(m[1].1.value, Value::Float(f) if f == 1.0));
        let (_, diags) = parse("t.yml", "a: !custom x\n");
        assert!(diags[0].message.contains("unsupported YAML tag"), "{:?}", diags[0]);
    }

    #[test]
    fn log_to_json() {
        let (node, _) = parse("t.yml", "a: [1, 'x', ~, 1.5, true]\n2: {b: yes}\n");
        assert_eq!(node.unwrap().to_json().to_string(), r#"{"a":[1,"x",null,1.5,true],"2":{"b":"yes"}}"#);
    }
}
