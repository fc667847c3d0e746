//! Hostile rules: rule files that try to break the build. Each must either compile to correct
//! code or be rejected with a clear message naming the problem; none may make codegen panic or
//! emit Rust that does not compile.
//!
//! By default (fast, no build): every case goes through codegen's API (`check` and `emit`, as
//! `build.rs` runs them); a rejected case must give the expected error; an accepted case must
//! emit files that `syn` parses and that hold nothing `rustc` refuses before parsing (a bare
//! carriage return, a text-direction control character), and its events must get the expected
//! verdicts from the reference interpreter.
//!
//! On demand (`cargo test -p integration-tests --test hostile_rules -- --ignored`, about a
//! minute the first time): the accepted cases are written, with their events as `Tests:`, into
//! a scratch crate under `target/hostile-rules/`, built against `detections-runtime` by path, and its
//! generated tests run: the real compiler and the compiled code (both paths) have the last word.
//!
//! Bugs these tests found (all fixed in codegen since, in d894e38) stay as regression cases in
//! `fixed_bugs_stay_fixed` and in the scratch crate: a key named `exactly_one` read twice under
//! `OnlyOne` (a local shadowed the runtime function: E0618); carriage returns and text-direction
//! controls from user text in doc comments or raw strings (refused by `rustc` before parsing);
//! the index `[-9223372036854775808]` (codegen panicked); a key of a megabyte (`rustc`'s const
//! evaluation of its hash gave up; such keys are now rejected); a path repeated in one template
//! with different fallbacks (the generated title dropped them, disagreeing with the
//! interpreter); constant-folded bodies and lone-placeholder `KeyTemplate`s (code that compiled
//! with warnings).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use codegen::{Layout, SourceFile};
use serde_json::{Value, json};

/// A hostile rule set: files (name, YAML) and what must happen to them.
struct Case {
    name: &'static str,
    files: Vec<(String, String)>,
    expect: Expect,
}

enum Expect {
    /// Rejected: every listed text appears in the rendered errors.
    Rejected(&'static [&'static str]),
    /// Accepted: the events (JSON) of each rule (by file) give these verdicts.
    Compiles(Vec<(usize, Value, bool)>),
}

fn layout() -> Layout {
    Layout {
        rules_dirs: vec!["rules".into()],
        module_dir: "src/rules".into(),
        tests_file: "tests/generated/rules.rs".into(),
        registry_path: "::scratch::rules".into(),
        runtime_path: codegen::emit::RUNTIME_CRATE.into(),
    }
}

/// A rule file with the keys every rule needs, then `body` (YAML, top-level keys).
fn rule(id: &str, body: &str) -> String {
    format!(
        "AnalysisType: rule\nRuleID: {}\nEnabled: true\nSeverity: Low\nLogTypes: [Hostile.Log]\n{body}",
        yaml_quote(id)
    )
}

/// A YAML double-quoted string (JSON escapes are YAML escapes too).
fn yaml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn one(name: &'static str, yaml: String, events: Vec<(Value, bool)>) -> Case {
    Case {
        name,
        files: vec![(format!("{name}.yml"), yaml)],
        expect: Expect::Compiles(events.into_iter().map(|(e, v)| (0, e, v)).collect()),
    }
}

fn rejected(name: &'static str, files: Vec<(&str, String)>, messages: &'static [&'static str]) -> Case {
    Case {
        name,
        files: files.into_iter().map(|(n, y)| (n.to_string(), y)).collect(),
        expect: Expect::Rejected(messages),
    }
}

/// Keys that are Rust keywords, not identifiers, or names the generated code uses itself.
fn keywords() -> Case {
    let keys = [
        "match",
        "self",
        "Self",
        "fn",
        "async",
        "r#raw",
        "123",
        "_",
        "ключ",
        "😀",
        "*/",
        "/*",
        "#",
        "a\"#b",
        "event",
        "_event",
        "value",
        "element",
        "element2",
        "filter",
        "context",
        "RULE",
        "rule",
        "rule_field",
        "E",
        "Some",
        "None",
        "true",
        "false",
        "f64",
        "u64",
        "str",
        "String",
        "Ordering",
        "Json",
        "Lit",
        "Cidr",
        "Val",
        "Key",
        "Index",
        "Each",
        "format",
        "crate",
        "super",
        "mod",
        "type",
        "struct",
    ];
    let mut body = String::from("AlertTitle: \"");
    for k in ["match", "self", "event", "value", "element", "filter", "context", "format", "RULE", "E"] {
        let _ = write!(body, "{{{k}}} ");
    }
    body.push_str("\"\nGroupBy:\n  - Key: async\n  - Key: type\nAlertContext:\n");
    for k in ["fn", "*/", "a\"#b", "Some"] {
        let _ = writeln!(body, "  - KeyName: {}\n    KeyValue: {{Key: {}}}", yaml_quote(k), yaml_quote(k));
    }
    body.push_str("Detection:\n");
    // Each key is read twice in its step (a local variable named after it), and compared.
    for k in keys {
        let q = yaml_quote(k);
        let _ = writeln!(
            body,
            "  - Any:\n      - {{Key: {q}, Condition: Equals, Value: 1}}\n      - {{Key: {q}, Condition: DoesNotExist}}"
        );
    }
    body.push_str("  - {KeyPath: type.struct, Condition: IsNotIn, Values: [2]}\n");
    let yaml = rule("Hostile.Keywords", &body);
    let all_one: serde_json::Map<String, Value> = keys.iter().map(|k| (k.to_string(), json!(1))).collect();
    one(
        "keywords",
        yaml,
        vec![
            (json!({}), true),
            (Value::Object(all_one), true),
            (json!({"match": 2}), false),
            (json!({"Self": 1, "r#raw": "1"}), false),
            (json!({"type": {"struct": 2}}), false),
        ],
    )
}

/// Paths whose constant names collide once sanitised: they must stay different fields.
fn path_collisions() -> Case {
    let body = r#"Detection:
  - {Key: eventName, Condition: Equals, Value: a}
  - {Key: event_name, Condition: Equals, Value: b}
  - {Key: EVENT-NAME, Condition: Equals, Value: c}
  - {Key: event.name, Condition: Equals, Value: d}
  - {KeyPath: event.name, Condition: Equals, Value: e}
  - {DeepKey: [event, name], Condition: Equals, Value: e}
  - {KeyPath: "list[0]", Condition: Equals, Value: f}
  - {KeyPath: "list[-1]", Condition: Equals, Value: g}
  - {KeyPath: "list[*]", Condition: Contains, Value: f}
  - {KeyPath: "list_0", Condition: DoesNotExist}
  - {KeyPath: "list_last", Condition: DoesNotExist}
  - {KeyPath: "list_each", Condition: DoesNotExist}
  - {KeyPath: "a.b.c", Condition: Equals, Value: 1}
  - {KeyPath: "x.b.c", Condition: Equals, Value: 2}
  - {KeyPath: "b_c", Condition: Equals, Value: 3}
  - {KeyPath: "B_C", Condition: Equals, Value: 3}
AlertTitle: "{eventName}/{event_name}/{EVENT-NAME}/{event.name}/{list[0]}/{list[-1]}/{b_c}"
"#;
    let good = json!({
        "eventName": "a", "event_name": "b", "EVENT-NAME": "c", "event.name": "d", "event": {"name": "e"},
        "list": ["f", "g"], "a": {"b": {"c": 1}}, "x": {"b": {"c": 2}}, "b_c": 3
    });
    let mut swapped = good.clone();
    swapped["event_name"] = json!("a");
    // `B_C` is `b_c` ignoring case, unless the event has a `B_C` of its own.
    let mut b_c = good.clone();
    b_c["B_C"] = json!(4);
    one(
        "path_collisions",
        rule("Hostile.PathCollisions", body),
        vec![(good, true), (swapped, false), (b_c, false)],
    )
}

/// Strings with quotes, backslashes, comment and raw-string terminators, NUL and escapes.
fn strings() -> Case {
    let nasty = [
        "\"",
        "\"#",
        "\"##",
        "#\"",
        "\\",
        "\\\"",
        "*/",
        "/*",
        "/**/",
        "//",
        "#",
        "#[test]",
        "\u{0}",
        "a\u{0}b",
        "\t",
        "\n",
        "\u{7f}",
        "\u{2028}",
        "\u{85}",
        "é",
        "😀",
        "\u{fffd}",
        "{}",
        "{0}",
        "{:?}",
        "}{",
        "'",
        "r#\"",
        "\"#;fn x(){}//",
    ];
    let values: Vec<String> = nasty.iter().map(|s| yaml_quote(s)).collect();
    let body = format!(
        r####"DisplayName: {display}
Description: {description}
Reference: {reference}
Runbook: {runbook}
Tags: [{tags}]
Reports: {{"MITRE */ #": ["T#1", "a\u0000"]}}
AlertTitle: {title}
AlertContext:
  - KeyName: {key_name}
    KeyTemplate: {template}
  - KeyName: "*/"
    KeyValue: {{Key: "\"#"}}
Detection:
  - Key: "\"#"
    Condition: IsIn
    Values: [{values}]
  - Key: "\"#"
    Condition: DoesNotEqual
    Value: "\"#;panic!()//"
  - Key: "\"#"
    Condition: DoesNotMatchGlob
    Values: ["*\"###*", "[\u0000]x"]
  - Key: "*/"
    Condition: IsNotIn
    Values: ["\"", "\\"]
"####,
        display = yaml_quote("Display */ # ## \u{2028} end"),
        description = yaml_quote("desc */ /* #[ \"## \u{0} NUL \t tab\nsecond line `tick` [link] <html> \\"),
        reference = yaml_quote("https://x.example/a\"#b */ and more"),
        runbook = yaml_quote("rb \u{0} */"),
        tags = ["t\"#", "t\u{0}", "*/"].map(yaml_quote).join(", "),
        title = yaml_quote("t {{}} {{x}} {a|'}'} {a|'{{'} \u{0} \"# \\ {{0}} {{:?}} */"),
        key_name = yaml_quote("k\u{0}\"#"),
        template = yaml_quote("{a}\u{0}\"#{{}}"),
        values = values.join(", "),
    );
    let events = nasty.iter().map(|s| (json!({ "\"#": s }), true)).chain([
        (json!({"\"#": "\"#;panic!()//"}), false),
        (json!({"\"#": "not listed"}), false),
        (json!({"\"#": "\"", "*/": "\\"}), false),
    ]);
    one("strings", rule("Hostile.Strings", &body), events.collect())
}

/// Titles full of braces: escaped, in defaults, repeated placeholders, format syntax.
fn titles() -> Case {
    let body = r#"AlertTitle: "{{}} {{{a}}} {a}{a} {b|'}'} {c|'{'} {d|'{{x}}'} {missing|'}{'} {{0}} {{:?}} {{a}} %s {{}}"
GroupBy:
  - KeyPath: a
  - Key: "{a}"
Detection:
  - {Key: a, Condition: Exists}
Tests:
  - Name: braces
    ExpectedResult: true
    ExpectedTitle: "{} {x} xx y z w }{ {0} {:?} {a} %s {}"
    ExpectedDedup: "x:"
    Log: {"a": "x", "b": "y", "c": "z", "d": "w"}
  - Name: missing
    ExpectedResult: true
    ExpectedTitle: "{} {}  } { {{x}} }{ {0} {:?} {a} %s {}"
    Log: {"a": null}
"#;
    one("titles", rule("Hostile.Titles", body), vec![(json!({"a": "x"}), true), (json!({}), false)])
}

/// Rule ids differing only in punctuation, log types that sanitise alike, file names that are
/// keywords or names the generated code uses: all distinct rules.
fn name_collisions() -> Case {
    let mut files = Vec::new();
    let stems = [
        "self",
        "test",
        "std",
        "core",
        "alloc",
        "crate",
        "super",
        "mod",
        "case",
        "rules",
        "detections",
        "scratch",
        "filter",
        "context",
        "exactly_one",
        "rule",
        "log_type",
        "all",
        "r#raw",
        "type",
        "a-b.c",
    ];
    let ids = ["Hostile.A-B", "Hostile.A_B", "Hostile.A.B", "Hostile.A B", "Hostile.a-b"];
    let log_types = ["Hostile.Log", "Hostile-Log", "hostile_log", "HOSTILE LOG", "Hostile.Log "];
    for (i, stem) in stems.iter().enumerate() {
        let id = ids.get(i).map_or_else(|| format!("Hostile.File.{stem}"), |s| s.to_string());
        let log_type = log_types[i % log_types.len()];
        let yaml = format!(
            "AnalysisType: rule\nRuleID: {}\nEnabled: true\nSeverity: Low\nLogTypes: [{}]\nDetection:\n  - {{Key: n, Condition: Equals, Value: {i}}}\n",
            yaml_quote(&id),
            yaml_quote(log_type)
        );
        files.push((format!("{stem}.yml"), yaml));
    }
    let events =
        (0..stems.len()).map(|i| (i, json!({ "n": i }), true)).chain([(3, json!({"n": 4}), false)]).collect();
    Case { name: "name_collisions", files, expect: Expect::Compiles(events) }
}

/// `IsIn` with 50,000 strings (some of them odd).
fn huge_values() -> Case {
    let values: Vec<String> =
        (0..50_000).map(|i| yaml_quote(&format!("v{i}{}", ["", "\"", "\\", "é"][i % 4]))).collect();
    let body = format!("Detection:\n  - Key: v\n    Condition: IsIn\n    Values: [{}]\n", values.join(", "));
    one(
        "huge_values",
        rule("Hostile.HugeValues", &body),
        vec![(json!({"v": "v0"}), true), (json!({"v": "v49998\\"}), true), (json!({"v": "v50000"}), false)],
    )
}

/// Combinators nested `depth` deep around one condition; the verdict is the condition's,
/// inverted once per `None`.
fn nested(depth: usize) -> (String, usize) {
    let names = ["All", "Any", "OnlyOne", "None"];
    let mut text = String::from("Detection:\n");
    let mut nones = 0;
    for d in 0..depth {
        let name = names[d % 4];
        nones += usize::from(name == "None");
        let _ = writeln!(text, "{}- {name}:", "  ".repeat(d + 1));
    }
    let _ = writeln!(text, "{}- {{Key: x, Condition: Equals, Value: 1}}", "  ".repeat(depth + 1));
    (text, nones)
}

/// Combinators nested 200 deep, or as deep as the YAML limit (1000 levels) allows: 498.
fn deep_combinators(name: &'static str, depth: usize) -> Case {
    let (body, nones) = nested(depth);
    let holds = nones % 2 == 0;
    one(
        name,
        rule(&format!("Hostile.{name}"), &body),
        vec![(json!({"x": 1}), holds), (json!({"x": 2}), !holds), (json!({}), !holds)],
    )
}

/// Strings of a megabyte: a value, a title, a description (and a key of a kilobyte).
fn long_strings() -> Case {
    long_strings_with_key("long_strings", "k".repeat(1 << 10))
}

/// Strings of a megabyte (a value, a title, a description) and a key of `key`.
fn long_strings_with_key(name: &'static str, key: String) -> Case {
    let long = "ab\"c\\".repeat(200_000);
    let body = format!(
        "Description: {}\nAlertTitle: {}\nDetection:\n  - Key: {}\n    Condition: Equals\n    Value: {}\n",
        yaml_quote(&long),
        yaml_quote(&format!("{long}{{a}}")),
        yaml_quote(&key),
        yaml_quote(&long)
    );
    let mut event = serde_json::Map::new();
    event.insert(key.clone(), json!(long));
    let mut other = serde_json::Map::new();
    other.insert(key, json!(format!("{long}x")));
    one(
        name,
        rule(&format!("Hostile.{name}"), &body),
        vec![(Value::Object(event), true), (Value::Object(other), false)],
    )
}

/// Numbers at the edges of what a rule may write.
fn numbers() -> Case {
    let body = r#"Detection:
  - {Key: a, Condition: IsIn, Values: [18446744073709551615, -9223372036854775808, 1e308, -0.0, 123456789012345678901234567890, .inf, -.inf]}
  - {Key: b, Condition: IsGreaterThan, Value: -.inf}
  - {Key: b, Condition: IsLessThan, Value: .inf}
  - {KeyPath: "c[9223372036854775807]", Condition: DoesNotExist}
  - {DeepKey: [c, -9223372036854775807], Condition: DoesNotExist}
"#;
    one(
        "numbers",
        rule("Hostile.Numbers", body),
        vec![
            (json!({"a": 18_446_744_073_709_551_615u64, "b": 0}), true),
            (json!({"a": i64::MIN, "b": 1e308}), true),
            (json!({"a": 0, "b": -1}), true),
            (json!({"a": 1.2345678901234568e29, "b": 0}), true),
            (json!({"a": 18_446_744_073_709_551_614u64, "b": 0}), false),
            (json!({"a": 1e308, "b": "0"}), false),
        ],
    )
}

/// The large cases: seconds each in a debug build of codegen (one test each, to run in
/// parallel).
fn large_cases() -> Vec<Case> {
    vec![
        huge_values(),
        long_strings(),
        deep_combinators("deep_combinators", 200),
        deep_combinators("deepest_combinators", 498),
    ]
}

/// The cases that compile (or that are rejected) today, apart from the large ones.
fn cases() -> Vec<Case> {
    let mut deep_yaml = String::from("Detection:\n  - ");
    deep_yaml.push_str(&"{All: [".repeat(600));
    deep_yaml.push_str("{Key: x, Condition: Exists}");
    deep_yaml.push_str(&"]}".repeat(600));
    deep_yaml.push('\n');
    let bomb = {
        let mut y = String::from(
            "Detection:\n  - {Key: x, Condition: Exists}\nReports:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
        );
        for i in 1..8 {
            let _ = writeln!(
                y,
                "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]",
                p = i - 1
            );
        }
        y
    };
    vec![
        keywords(),
        path_collisions(),
        strings(),
        titles(),
        name_collisions(),
        numbers(),
        rejected(
            "test_names_collide",
            vec![(
                "t.yml",
                rule(
                    "Hostile.T",
                    "Detection:\n  - {Key: x, Condition: Exists}\nTests:\n  - {Name: a-b, ExpectedResult: true, Log: {x: 1}}\n  - {Name: a_b, ExpectedResult: true, Log: {x: 1}}\n",
                ),
            )],
            &["test names `a-b` and `a_b` both become the test function `a_b`"],
        ),
        rejected(
            "keyword_test_names_collide",
            vec![(
                "t.yml",
                rule(
                    "Hostile.T",
                    "Detection:\n  - {Key: x, Condition: Exists}\nTests:\n  - {Name: self, ExpectedResult: true, Log: {x: 1}}\n  - {Name: Self, ExpectedResult: true, Log: {x: 1}}\n",
                ),
            )],
            &["both become the test function `self_`"],
        ),
        rejected(
            "file_names_collide",
            vec![
                ("a-b.yml", rule("Hostile.X", "Detection:\n  - {Key: x, Condition: Exists}\n")),
                ("a_b.yml", rule("Hostile.Y", "Detection:\n  - {Key: x, Condition: Exists}\n")),
            ],
            &["rule files `rules/a-b.yml` and `rules/a_b.yml` both compile to module `a_b`"],
        ),
        rejected(
            "file_name_without_letters",
            vec![("---.yml", rule("Hostile.X", "Detection:\n  - {Key: x, Condition: Exists}\n"))],
            &["cannot name a Rust module after file name `---`"],
        ),
        rejected(
            "reserved_file_name",
            vec![("by_log_type.yml", rule("Hostile.X", "Detection:\n  - {Key: x, Condition: Exists}\n"))],
            &["the file name `by_log_type` is reserved"],
        ),
        rejected(
            "duplicate_rule_ids",
            vec![
                ("a.yml", rule("Hostile.Same", "Detection:\n  - {Key: x, Condition: Exists}\n")),
                ("b.yml", rule("Hostile.Same", "Detection:\n  - {Key: x, Condition: Exists}\n")),
            ],
            &["duplicate RuleID `Hostile.Same`"],
        ),
        rejected(
            "quote_in_rule_id",
            vec![("q.yml", rule("Hostile.\"Quoted\"", "Detection:\n  - {Key: x, Condition: Exists}\n"))],
            &["`RuleID` contains `\"`"],
        ),
        rejected(
            "empty_key",
            vec![("e.yml", rule("Hostile.E", "Detection:\n  - {Key: \"\", Condition: Exists}\n"))],
            &["`Key` is empty"],
        ),
        rejected(
            "bad_key_path",
            vec![("e.yml", rule("Hostile.E", "Detection:\n  - {KeyPath: \"a..b\", Condition: Exists}\n"))],
            &["bad KeyPath `a..b`: empty key in KeyPath"],
        ),
        rejected(
            "nan",
            vec![("e.yml", rule("Hostile.E", "Detection:\n  - {Key: a, Condition: Equals, Value: .nan}\n"))],
            &["NaN is equal to nothing"],
        ),
        rejected(
            "empty_values",
            vec![("e.yml", rule("Hostile.E", "Detection:\n  - {Key: a, Condition: IsIn, Values: []}\n"))],
            &["`Values` is empty"],
        ),
        rejected(
            "index_beyond_64_bits",
            vec![(
                "e.yml",
                rule(
                    "Hostile.E",
                    "Detection:\n  - {DeepKey: [a, 9223372036854775808], Condition: Exists}\n  - {KeyPath: \"a[99999999999999999999]\", Condition: Exists}\n",
                ),
            )],
            &["list index out of range", "`[99999999999999999999]` is not a list index"],
        ),
        rejected(
            "nesting_beyond_the_limit",
            vec![("e.yml", rule("Hostile.E", &deep_yaml))],
            &["nesting deeper than 1000 levels"],
        ),
        rejected(
            "alias_bomb",
            vec![("e.yml", rule("Hostile.E", &bomb))],
            &["aliases expand to too large a document"],
        ),
        rejected("not_a_rule", vec![("e.yml", "\u{0}\u{feff}{[".to_string())], &["error"]),
    ]
}

/// Codegen's verdict on a set of files: the rules and generated files, or the rendered errors.
fn compile(
    files: &[(String, String)],
) -> Result<(Vec<codegen::ir::Rule>, Vec<codegen::GeneratedFile>), String> {
    let sources: Vec<SourceFile> =
        files.iter().map(|(n, t)| SourceFile { path: format!("rules/{n}"), text: t.clone() }).collect();
    let compiled = codegen::compile(&sources, &layout());
    let errors: Vec<_> = compiled.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if errors.is_empty() {
        Ok((compiled.rules, compiled.files))
    } else {
        Err(codegen::diag::render(&errors, &sources, false))
    }
}

/// What `rustc` refuses in any source file before parsing it: a bare carriage return (in a
/// comment or a literal) and the Unicode text-direction controls (deny-by-default lints).
fn lexical_problems(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.contains('\r') {
            out.push(format!("line {}: a bare carriage return", n + 1));
        }
        if let Some(c) = line.chars().find(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        {
            out.push(format!("line {}: the text-direction control U+{:04X}", n + 1, c as u32));
        }
    }
    out
}

/// Checks that generated files parse as Rust and hold nothing `rustc` refuses lexically.
fn valid_rust(files: &[codegen::GeneratedFile]) -> Result<(), String> {
    for f in files {
        syn::parse_file(&f.contents).map_err(|e| format!("{}: not Rust: {e}", f.path))?;
        let problems = lexical_problems(&f.contents);
        if !problems.is_empty() {
            return Err(format!("{}: {}", f.path, problems.join("; ")));
        }
    }
    Ok(())
}

#[test]
fn hostile_rules_compile_or_are_rejected_clearly() {
    check_all(cases());
}

#[test]
fn huge_values_list_compiles() {
    check_all(vec![huge_values()]);
}

#[test]
fn megabyte_strings_compile() {
    check_all(vec![long_strings()]);
}

#[test]
fn deeply_nested_combinators_compile() {
    check_all(vec![deep_combinators("deep_combinators", 200), deep_combinators("deepest_combinators", 498)]);
}

fn check_all(cases: Vec<Case>) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| check(case).err().map(|why| format!("{}: {why}", case.name)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs codegen on a case as a build script would, on a thread with the stack of a main thread
/// (8 MiB: checking deeply nested expressions recurses), and checks the outcome.
fn check(case: &Case) -> Result<(), String> {
    let files = case.files.clone();
    let result = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || compile(&files))
        .expect("spawn a thread")
        .join();
    match (result, &case.expect) {
        (Err(_), _) => Err("codegen panicked".to_string()),
        (Ok(Err(errors)), Expect::Rejected(messages)) => match messages.iter().find(|m| !errors.contains(*m))
        {
            Some(m) => Err(format!("rejected, but without `{m}`:\n{errors}")),
            None => Ok(()),
        },
        (Ok(Ok(_)), Expect::Rejected(_)) => Err("accepted; expected a clear error".into()),
        (Ok(Err(errors)), Expect::Compiles(_)) => Err(format!("rejected:\n{}", cut(&errors))),
        (Ok(Ok((rules, files))), Expect::Compiles(events)) => {
            valid_rust(&files)?;
            for (file, event, expected) in events {
                let rule = &rules[*file];
                let matched = codegen::reference::decide(rule, event).is_none();
                if matched != *expected {
                    return Err(format!(
                        "{}: the interpreter says {matched} on {}",
                        rule.source,
                        cut(&event.to_string())
                    ));
                }
                if matched {
                    // The outputs of a match must be computable.
                    let _ = codegen::reference::outputs(rule, event);
                }
            }
            Ok(())
        }
    }
}

fn cut(text: &str) -> String {
    if text.len() < 2000 {
        text.to_string()
    } else {
        format!("{}…", &text[..text.floor_char_boundary(2000)])
    }
}

// ---- regressions: bugs these tests found, fixed in codegen (d894e38) ---------------------------

/// A key named `exactly_one`, read twice in one step with `OnlyOne`: the step read it into a
/// local named `exactly_one`, which shadowed the runtime's `exactly_one` function the `OnlyOne`
/// calls (`error[E0618]: expected function, found Val<'_>`).
fn exactly_one_local() -> Case {
    let body = "Detection:\n  - OnlyOne:\n      - {Key: exactly_one, Condition: Equals, Value: a}\n      - {Key: exactly_one, Condition: Equals, Value: b}\n";
    one(
        "exactly_one_local",
        rule("Hostile.ExactlyOne", body),
        vec![(json!({"exactly_one": "a"}), true), (json!({"exactly_one": "c"}), false)],
    )
}

/// Carriage returns in user text that lands in doc comments (`Description`, `AlertTitle`, a
/// key, a log type, a rule id): were written as they are (`bare CR not allowed in doc-comment`).
fn carriage_returns() -> Case {
    let body = format!(
        "Description: {}\nAlertTitle: {}\nDetection:\n  - {{Key: {}, Condition: DoesNotExist}}\n",
        yaml_quote("carriage\rreturn"),
        yaml_quote("title\r{a}"),
        yaml_quote("a\rb")
    );
    let yaml = rule("Hostile.Cr\r", &body).replace("[Hostile.Log]", "[\"Hostile\\rLog\"]");
    one("carriage_returns", yaml, vec![(json!({}), true), (json!({"a\rb": 1}), false)])
}

/// Text-direction controls (U+202A..U+202E, U+2066..U+2069) in user text that lands in a doc
/// comment or a raw string literal: were written as they are (deny-by-default lints).
fn direction_controls() -> Case {
    let body = format!(
        "DisplayName: {}\nDetection:\n  - {{Key: {}, Condition: DoesNotExist}}\n  - {{Key: q, Condition: DoesNotEqual, Value: {}}}\n",
        yaml_quote("display \u{202e} name"),
        yaml_quote("a\u{2066}b"),
        yaml_quote("x\u{202e}\"y")
    );
    one(
        "direction_controls",
        rule("Hostile.Bidi", &body),
        vec![(json!({}), true), (json!({"q": "x\u{202e}\"y"}), false)],
    )
}

/// `KeyPath: a[-9223372036854775808]` (a valid `i64`): naming its constant negated the index,
/// which overflowed (codegen panicked).
fn most_negative_index() -> Case {
    let body = "Detection:\n  - {KeyPath: \"a[-9223372036854775808]\", Condition: DoesNotExist}\n";
    one("most_negative_index", rule("Hostile.MinIndex", body), vec![(json!({"a": [1]}), true)])
}

/// Constant folding left `event` or `element` unused, and a `KeyTemplate` of one placeholder
/// (or of text only) got needless braces: warnings (seen by building).
fn folded_constants() -> Case {
    let body = r#"AlertTitle: "constant title"
AlertContext:
  - KeyName: lone
    KeyTemplate: "{a}"
  - KeyName: text
    KeyTemplate: "only text"
DynamicSeverities:
  - ChangeTo: High
    Conditions: []
Detection:
  - {KeyPath: list, Condition: AnyElement, Expressions: [{Condition: AlwaysTrue}]}
  - {KeyPath: list, Condition: NoElement, Expressions: [{Any: []}]}
"#;
    one(
        "folded_constants",
        rule("Hostile.Folded", body),
        vec![(json!({"list": [1]}), true), (json!({"list": []}), false)],
    )
}

/// A path in placeholders of one template with different fallbacks (or none): the generated
/// title read it into one local, made for the first placeholder, and rendered `[] [] []` where
/// the interpreter renders `[] [default] [from b]` (seen by building: the test pins the title).
fn repeated_placeholder() -> Case {
    let body = r#"AlertTitle: "[{a}] [{a|'default'}] [{a|b}]"
Detection:
  - {Key: x, Condition: DoesNotExist}
Tests:
  - Name: each placeholder on its own
    ExpectedResult: true
    ExpectedTitle: "[] [default] [from b]"
    Log: {"b": "from b"}
"#;
    one("repeated_placeholder", rule("Hostile.RepeatedPlaceholder", body), vec![(json!({"b": 1}), true)])
}

fn regressions() -> Vec<Case> {
    vec![
        exactly_one_local(),
        carriage_returns(),
        direction_controls(),
        most_negative_index(),
        folded_constants(),
        repeated_placeholder(),
        // A key of a megabyte made `rustc` give up const-evaluating its path hash; keys are now
        // limited, with a clear error (4,096 bytes pass: `key_at_the_limit`).
        rejected(
            "megabyte_key",
            vec![("k.yml", long_strings_with_key("megabyte_key", "k".repeat(1 << 20)).files[0].1.clone())],
            &["a key of 1048576 bytes is longer than the limit of 4096"],
        ),
        long_strings_with_key("key_at_the_limit", "k".repeat(4096)),
    ]
}

#[test]
fn fixed_bugs_stay_fixed() {
    check_all(regressions());
    // The local that shadowed `exactly_one` (and its kin) is gone for good.
    let (_, files) = compile(&exactly_one_local().files).expect("accepted");
    for f in ["exactly_one", "filter", "context"] {
        assert!(
            files.iter().all(|file| !file.contents.contains(&format!("let {f} ="))),
            "a local shadows `{f}`"
        );
    }
}

// ---- the real compiler -------------------------------------------------------------------------

/// Writes every accepted case into a scratch crate, builds it and runs its generated tests;
/// the build must not warn either.
#[test]
#[ignore = "slow: builds a scratch crate (about a minute the first time); run with --ignored"]
fn scratch_crate_builds_and_passes_its_tests() {
    let cases: Vec<Case> = cases()
        .into_iter()
        .chain(large_cases())
        .chain(regressions())
        .filter(|c| matches!(c.expect, Expect::Compiles(_)))
        .collect();
    let (ok, log) = build_scratch("all", &cases);
    assert!(ok, "the scratch crate failed:\n{log}");
    let warnings: Vec<&str> = log.lines().filter(|l| l.starts_with("warning")).collect();
    assert!(warnings.is_empty(), "the generated code warns:\n{log}");
}

/// A crate under `target/hostile-rules/<name>/` whose `build.rs` compiles `rules/` with codegen,
/// as `tests/build.rs` does, with each case's events as `Tests:`; then `cargo test` in it.
/// Returns whether it passed, and its output.
fn build_scratch(name: &str, cases: &[Case]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let dir = target.join("hostile-rules").join(name);
    let rules = dir.join("rules");
    let _ = std::fs::remove_dir_all(&rules);
    for sub in ["rules", "src", "tests"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create the scratch crate");
    }
    let write =
        |path: &str, text: &str| std::fs::write(dir.join(path), text).expect("write the scratch crate");
    let path = |p: &Path| p.display().to_string().replace('\\', "/");
    write(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"hostile-rules-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [lib]\nname = \"scratch\"\n\n\
             [dependencies]\ndetections-runtime = {{ path = \"{d}\" }}\n\n[build-dependencies]\ncodegen = {{ path = \"{c}\" }}\n\n\
             [profile.dev.build-override]\nopt-level = 1\n\n[workspace]\n",
            d = path(&root.join("runtime")),
            c = path(&root.join("codegen")),
        ),
    );
    // The workspace's lock file: the same versions, so the shared target directory is reused.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");
    write(
        "build.rs",
        "fn main() {\n    codegen::Builder::new().rules(\"rules\").generated(\"src/rules\").module_path(\"::scratch::rules\").compile();\n}\n",
    );
    write("src/lib.rs", "pub mod rules;\n");
    write("tests/rules.rs", "include!(\"generated/rules.rs\");\n");
    for case in cases {
        let Expect::Compiles(events) = &case.expect else { continue };
        for (i, (file, yaml)) in case.files.iter().enumerate() {
            // The events of this file, as test cases (the names stay plain).
            let mut text = yaml.clone();
            let mine: Vec<&(usize, Value, bool)> = events.iter().filter(|e| e.0 == i).collect();
            if !mine.is_empty() && !yaml.contains("\nTests:") {
                text.push_str("Tests:\n");
                for (n, (_, event, expected)) in mine.iter().enumerate() {
                    let _ = writeln!(
                        text,
                        "  - Name: event {n}\n    ExpectedResult: {expected}\n    Log: {}",
                        json_yaml(event)
                    );
                }
            }
            let subdir = rules.join(case.name);
            std::fs::create_dir_all(&subdir).expect("create a rules folder");
            std::fs::write(subdir.join(file), text).expect("write a rule");
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["test", "--quiet", "--offline"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("CI")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    let log =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), log)
}

/// JSON as a YAML flow mapping (keys and strings double-quoted, YAML-escaped).
fn json_yaml(v: &Value) -> String {
    match v {
        Value::String(s) => yaml_quote(s),
        Value::Array(items) => format!("[{}]", items.iter().map(json_yaml).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            // A key of more than 1024 characters must be explicit (`? key`) in YAML.
            let member = |(k, v): (&String, &Value)| {
                let explicit = if k.chars().count() > 1000 { "? " } else { "" };
                format!("{explicit}{}: {}", yaml_quote(k), json_yaml(v))
            };
            format!("{{{}}}", m.iter().map(member).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}
