//! Writes the rule set of the differential tests: `tests/rules/generated/gen_NNN.yml`.
//!
//! ```text
//! cargo run -p integration-tests --example generate_rules
//! ```
//!
//! Seeded (the same seed writes the same files); the output is committed and compiled by
//! `tests/build.rs` like any rule set. Each rule is built around a *witness*: a random event,
//! and expressions constructed to hold or fail on it as the generator decides (a value copied
//! from the event holds for `Equals`, a fresh one fails; an `All` that should fail gets one
//! failing child; a list comprehension that should hold gets elements chosen to pass, …). So
//! the expectations of each rule's two tests come from the construction, not from any engine:
//! the witness matches, with the title, dedup string, context and severity the construction
//! implies; the witness without the field of the first detection step does not. Before writing,
//! every expectation is also checked with the reference interpreter: a disagreement is a bug
//! in this generator or in the interpreter, and stops the run.
//!
//! Every condition, specifier form, combinator (empty and nested), list comprehension (nested
//! too), multi-key expression (every condition that takes a value) and alert output is used by
//! at least one rule: the first rules
//! are each forced to use one feature, and the run fails if any feature is left unused.
//! If a change here makes the rules fail to compile, `tests/build.rs` stops every build of
//! this crate, this example included: delete `tests/rules/generated/` and run it again.
//! Must not: read anything but its arguments, or write outside `tests/rules/generated/`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use detect::corpus::Rng;
use serde_json::{Map, Value, json};

const SEED: u64 = 0x6E4E_5EED_0006;
const COUNT: usize = 220;
const LOG_TYPES: &[&str] = &["Generated.Alpha", "Generated.Beta", "Generated.Gamma"];
const EVENT_NAMES: &[&str] = &["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"];

/// Strings of witnesses: none holds `~` (fresh strings start with it, so they are never equal
/// to, contained in or matching a witness string), and none holds `Σ` (whose lower case
/// depends on its neighbours, so a substring's lower case might not be one of the whole's).
const STRINGS: &[&str] = &[
    "alpha",
    "Beta-Gamma",
    "svc-deploy",
    "Admin",
    "naïve café",
    "Straße",
    "日本語のテキスト",
    "emoji 😀 inside",
    "ǅungla",
    "a*b?c[d]e",
    "quote\" and back\\slash",
    "tab\tand\nnewline",
    "",
    "x",
    "UPPER lower 123",
    "path/to/file.txt",
    "İstanbul",
    "{braces} and {{double}}",
];

/// IP-like strings and what they are: (text, is v4, is v6, public, private).
const IPS: &[(&str, bool, bool, bool, bool)] = &[
    ("8.8.8.8", true, false, true, false),
    ("10.1.2.3", true, false, false, true),
    ("192.168.1.20", true, false, false, true),
    ("100.64.0.1", true, false, false, false),
    ("127.0.0.1", true, false, false, true),
    ("2001:db8::1", false, true, false, true),
    ("2606:4700:4700::1111", false, true, true, false),
    ("fe80::1", false, true, false, true),
    ("::ffff:10.0.0.1", false, true, false, true),
];
const NOT_IPS: &[&str] = &["not-an-ip", "1.2.3", "10.0.0.0/8", "256.1.1.1", ""];

/// Addresses or networks, with CIDRs that overlap them and CIDRs that do not.
const IN_CIDR: &[(&str, &[&str], &[&str])] = &[
    (
        "10.1.2.3",
        &["10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0"],
        &["192.168.0.0/16", "11.0.0.0/8", "2001:db8::/32"],
    ),
    ("8.8.8.8", &["8.8.0.0/16", "8.8.8.8/32"], &["8.8.4.0/24", "10.0.0.0/8", "::/0"]),
    ("192.168.1.20", &["192.168.1.0/24", "192.168.0.0/16"], &["192.168.2.0/24"]),
    ("2001:db8::1", &["2001:db8::/32", "::/0"], &["2001:db9::/32", "10.0.0.0/8"]),
    ("10.0.0.0/8", &["10.1.0.0/16", "10.0.0.0/8", "8.0.0.0/6"], &["11.0.0.0/8", "172.16.0.0/12"]),
    ("::ffff:10.0.0.1", &["::ffff:0:0/96"], &["10.0.0.0/8", "fe80::/10"]),
];
/// Networks, with addresses they contain and addresses they do not.
const CIDR_HOLDS: &[(&str, &[&str], &[&str])] = &[
    ("10.0.0.0/8", &["10.9.8.7", "10.0.0.0"], &["11.0.0.1", "2001:db8::1"]),
    ("192.168.0.0/16", &["192.168.255.255"], &["192.169.0.0", "10.0.0.1"]),
    ("2001:db8::/32", &["2001:db8:ffff::1"], &["2001:db9::1", "10.0.0.1"]),
    ("10.1.2.3", &["10.1.2.3"], &["10.1.2.4"]),
];

/// Numbers at the edges, with a constant and how they compare (`Less`: the event's is less).
const BIG: &[(&str, &str, std::cmp::Ordering)] = {
    use std::cmp::Ordering::*;
    &[
        ("9007199254740993", "9007199254740992.0", Greater),
        ("18446744073709551615", "18446744073709551616.0", Less),
        ("18446744073709551615", "18446744073709551614", Greater),
        ("18446744073709551615", "18446744073709551615", Equal),
        ("-9223372036854775808", "-9223372036854775807", Less),
        ("-9223372036854775808", "-9223372036854775808.0", Equal),
        ("1e300", "1000000", Greater),
        ("-0.0", "0", Equal),
        ("123456789012345678901234567890", "123456789012345678901234567890", Equal),
        ("123456789012345678901234567890", "1.2345678901234568e29", Equal),
        ("123456789012345678901234567890", "18446744073709551615", Greater),
    ]
};

/// Every condition: name, kind, negated form.
const CONDITIONS: &[(&str, Kind, bool)] = &[
    ("Equals", Kind::Equals, false),
    ("DoesNotEqual", Kind::Equals, true),
    ("IEquals", Kind::IEquals, false),
    ("IDoesNotEqual", Kind::IEquals, true),
    ("StartsWith", Kind::Starts(false), false),
    ("DoesNotStartWith", Kind::Starts(false), true),
    ("IStartsWith", Kind::Starts(true), false),
    ("IDoesNotStartWith", Kind::Starts(true), true),
    ("EndsWith", Kind::Ends(false), false),
    ("DoesNotEndWith", Kind::Ends(false), true),
    ("IEndsWith", Kind::Ends(true), false),
    ("IDoesNotEndWith", Kind::Ends(true), true),
    ("Contains", Kind::Contains(false), false),
    ("DoesNotContain", Kind::Contains(false), true),
    ("IContains", Kind::Contains(true), false),
    ("IDoesNotContain", Kind::Contains(true), true),
    ("Has", Kind::Has, false),
    ("DoesNotHave", Kind::Has, true),
    ("IsGreaterThan", Kind::Order(std::cmp::Ordering::Greater, false), false),
    ("IsGreaterThanOrEqual", Kind::Order(std::cmp::Ordering::Greater, true), false),
    ("IsGreaterThanOrEquals", Kind::Order(std::cmp::Ordering::Greater, true), false),
    ("IsLessThan", Kind::Order(std::cmp::Ordering::Less, false), false),
    ("IsLessThanOrEqual", Kind::Order(std::cmp::Ordering::Less, true), false),
    ("IsLessThanOrEquals", Kind::Order(std::cmp::Ordering::Less, true), false),
    ("IsIn", Kind::IsIn, false),
    ("IsNotIn", Kind::IsIn, true),
    ("Exists", Kind::Exists, false),
    ("DoesNotExist", Kind::Exists, true),
    ("IsNull", Kind::IsNull, false),
    ("IsNotNull", Kind::IsNull, true),
    ("IsNullOrEmpty", Kind::IsNullOrEmpty, false),
    ("IsNotNullOrEmpty", Kind::IsNullOrEmpty, true),
    ("IsIPAddress", Kind::Ip(0), false),
    ("IsIPv4Address", Kind::Ip(1), false),
    ("IsIPv6Address", Kind::Ip(2), false),
    ("IsIPAddressPublic", Kind::Ip(3), false),
    ("IsIPAddressPrivate", Kind::Ip(4), false),
    ("IsIPAddressInCIDR", Kind::InCidr, false),
    ("IsIPAddressNotInCIDR", Kind::InCidr, true),
    ("CIDRContainsIPAddresses", Kind::CidrHolds, false),
    ("CIDRDoesNotContainIPAddresses", Kind::CidrHolds, true),
    ("MatchesGlob", Kind::Glob, false),
    ("DoesNotMatchGlob", Kind::Glob, true),
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Equals,
    IEquals,
    /// `true`: the case-insensitive form.
    Starts(bool),
    Ends(bool),
    Contains(bool),
    Has,
    /// The ordering that holds, and whether equality holds too.
    Order(std::cmp::Ordering, bool),
    IsIn,
    Exists,
    IsNull,
    IsNullOrEmpty,
    /// 0 any, 1 v4, 2 v6, 3 public, 4 private: an index into the flags of [`IPS`].
    Ip(usize),
    InCidr,
    CidrHolds,
    Glob,
}

/// Features the rule set must use, beyond the condition names; each is forced into a rule.
const FEATURES: &[&str] = &[
    "spec:Key",
    "spec:DeepKey",
    "spec:KeyPath.",
    "spec:KeyPath[n]",
    "spec:KeyPath[-n]",
    "spec:KeyPath[*]",
    "spec:Enrichment",
    "comb:All",
    "comb:Any",
    "comb:OnlyOne",
    "comb:None",
    "comb:All[]",
    "comb:Any[]",
    "comb:OnlyOne[]",
    "comb:None[]",
    "comb:nested",
    "always:AlwaysTrue",
    "always:AlwaysFalse",
    "elements:AnyElement",
    "elements:AllElements",
    "elements:NoElement",
    "elements:OnlyOneElement",
    "elements:nested",
    "elements:itself",
    "predicate:Value:false",
    "filters",
    "title",
    "title:fallback",
    "title:repeated",
    "group_by",
    "context:KeyValue",
    "context:KeyTemplate",
    "context:Preset",
    "dynamic_severities",
    "scheduled",
    "disabled",
    "signal",
];

/// Whether a condition takes a value, and so can compare two fields (a multi-key expression).
fn takes_value(kind: Kind) -> bool {
    !matches!(kind, Kind::Exists | Kind::IsNull | Kind::IsNullOrEmpty | Kind::Ip(_))
}

/// `multi:<condition>` for every condition that can compare two fields: features too.
fn multi_features() -> Vec<String> {
    CONDITIONS.iter().filter(|c| takes_value(c.1)).map(|c| format!("multi:{}", c.0)).collect()
}

/// Where an expression sits: `InlineFilters` leaves pass on a missing field and a null field
/// fails positive conditions; list elements may be tested themselves.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Detection,
    Filter,
    Element,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Index(i64),
    Each,
}

/// A key specifier as the YAML writes it.
#[derive(Clone, Debug)]
enum Spec {
    Key(String),
    DeepKey(Vec<Value>),
    KeyPath(String),
    Enrichment { table: String, selector: String, field: String },
}

#[derive(Clone, Debug)]
enum Operand {
    None,
    Value(Value),
    Values(Vec<Value>),
}

#[derive(Clone, Debug)]
enum Expr {
    Always(bool),
    Comb(&'static str, Vec<Expr>),
    /// `spec` is `None` for a list element tested itself.
    Leaf {
        spec: Option<Spec>,
        cond: &'static str,
        operand: Operand,
    },
    Multi {
        cond: &'static str,
        left: Spec,
        right: Spec,
    },
    Elements {
        spec: Spec,
        cond: &'static str,
        body: Vec<Expr>,
    },
}

struct Gen {
    rng: Rng,
    next_id: u64,
    fresh: u64,
    /// Features used so far (condition names and [`FEATURES`]).
    used: BTreeSet<String>,
    /// The feature the rule being built must use, until it does.
    force: Option<String>,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("crate in a workspace").to_path_buf();
    let out = root.join("tests/rules/generated");
    let mut g = Gen { rng: Rng::new(SEED), next_id: 1, fresh: 1, used: BTreeSet::new(), force: None };
    let mut forced: Vec<String> = CONDITIONS.iter().map(|c| c.0.to_string()).collect();
    forced.extend(FEATURES.iter().map(|f| f.to_string()));
    forced.extend(multi_features());
    let mut files = Vec::new();
    for i in 0..COUNT {
        // The first rules each owe one feature; a feature a rule could not fit moves on.
        if g.force.is_none() && !forced.is_empty() {
            g.force = Some(forced.remove(0));
        }
        files.push((format!("gen_{i:03}.yml"), g.rule(i)));
    }
    let multi = multi_features();
    let mut missing: Vec<&str> = CONDITIONS
        .iter()
        .map(|c| c.0)
        .chain(FEATURES.iter().copied())
        .chain(multi.iter().map(String::as_str))
        .filter(|f| !g.used.contains(*f))
        .collect();
    missing.extend(forced.iter().map(String::as_str));
    assert!(missing.is_empty(), "the generated rules do not use: {missing:?}; raise COUNT or change SEED");
    verify(&files);
    if out.exists() {
        for entry in std::fs::read_dir(&out).expect("list the old rules") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yml") {
                std::fs::remove_file(&path).expect("remove an old rule");
            }
        }
    }
    std::fs::create_dir_all(&out).expect("create tests/rules/generated");
    for (name, text) in &files {
        std::fs::write(out.join(name), text).expect("write a rule");
    }
    eprintln!("wrote {} rules to {}", files.len(), out.display());
}

/// Checks every file with codegen and runs its tests with the reference interpreter.
fn verify(files: &[(String, String)]) {
    let sources: Vec<codegen::SourceFile> = files
        .iter()
        .map(|(name, text)| codegen::SourceFile {
            path: format!("tests/rules/generated/{name}"),
            text: text.clone(),
        })
        .collect();
    let (rules, diags) = codegen::check::check_all(&sources);
    if !diags.is_empty() {
        panic!("generated rules do not check:\n{}", codegen::diag::render(&diags, &sources, false));
    }
    assert_eq!(rules.len(), files.len());
    for rule in &rules {
        for case in &rule.tests {
            if let Err(why) = codegen::reference::run_test(rule, case) {
                panic!(
                    "{}: test `{}`: the construction and the interpreter disagree:\n  {why}",
                    rule.source, case.name
                );
            }
        }
    }
}

impl Gen {
    fn use_feature(&mut self, f: &str) {
        if self.force.as_deref() == Some(f) {
            self.force = None;
        }
        self.used.insert(f.to_string());
    }

    fn forced(&self, prefix: &str) -> Option<&str> {
        self.force.as_deref().filter(|f| f.starts_with(prefix))
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn fresh_string(&mut self) -> String {
        self.fresh += 1;
        format!("~nope-{}", self.fresh)
    }

    /// A constant that equals no value of any witness.
    fn fresh_value(&mut self) -> Value {
        match self.rng.below(4) {
            0 | 1 => Value::String(self.fresh_string()),
            2 => json!(987_654.25),
            _ => json!(-31_337_000),
        }
    }

    fn string(&mut self) -> String {
        self.rng.pick(STRINGS).to_string()
    }

    // ---- witnesses -------------------------------------------------------------------------

    /// A random event. No object has two keys equal ignoring ASCII case, and every element of
    /// every list is distinct from every other list element (objects by their `n`), so that a
    /// list comprehension can tell the elements apart.
    fn witness(&mut self) -> Value {
        let mut m = Map::new();
        let r = &mut self.rng;
        m.insert("eventName".into(), json!(r.pick(EVENT_NAMES)));
        let mut put = |g: &mut Gen, p: f64, key: &str, f: &mut dyn FnMut(&mut Gen) -> Value| {
            if g.rng.chance(p) {
                let v = f(g);
                m.insert(key.into(), v);
            }
        };
        put(self, 0.9, "s", &mut |g| json!(g.string()));
        put(self, 0.6, "t", &mut |g| json!(g.string()));
        put(self, 0.8, "n", &mut |g| json!(g.rng.below(2000) as i64 - 500));
        put(self, 0.6, "f", &mut |g| json!(g.rng.below(400) as f64 / 4.0 - 50.0));
        put(self, 0.6, "b", &mut |g| json!(g.rng.chance(0.5)));
        put(self, 0.5, "z", &mut |_| Value::Null);
        put(self, 0.6, "e", &mut |g| {
            g.rng.pick(&[json!(0), json!(""), json!([]), json!({}), json!(false), json!(0.0)]).clone()
        });
        put(self, 0.7, "ip", &mut |g| {
            if g.rng.chance(0.8) { json!(g.rng.pick(IPS).0) } else { json!(g.rng.pick(NOT_IPS)) }
        });
        put(self, 0.5, "net", &mut |g| json!(g.rng.pick(CIDR_HOLDS).0));
        put(self, 0.4, "big", &mut |g| serde_json::from_str(g.rng.pick(BIG).0).expect("a number"));
        put(self, 0.4, "dotted.key", &mut |g| json!(g.string()));
        put(self, 0.3, "dotted", &mut |g| json!({"key": g.string()}));
        put(self, 0.3, "with space", &mut |g| json!(g.string()));
        put(self, 0.3, "ключ", &mut |g| json!(g.string()));
        put(self, 0.7, "user", &mut |g| {
            let mut u = Map::new();
            u.insert("name".into(), json!(g.string()));
            if g.rng.chance(0.7) {
                u.insert("id".into(), json!(g.rng.below(100)));
            }
            if g.rng.chance(0.7) {
                u.insert("admin".into(), json!(g.rng.chance(0.5)));
            }
            if g.rng.chance(0.6) {
                let tags = g.words(3);
                u.insert("tags".into(), tags);
            }
            if g.rng.chance(0.4) {
                u.insert("Role".into(), json!(g.string()));
            }
            Value::Object(u)
        });
        put(self, 0.85, "items", &mut |g| {
            let n = g.rng.below(4);
            Value::Array((0..n).map(|_| g.item()).collect())
        });
        put(self, 0.6, "nums", &mut |g| {
            let n = g.rng.below(5);
            Value::Array((0..n).map(|_| json!(1000 + g.id() as i64)).collect())
        });
        put(self, 0.6, "words", &mut |g| g.words(4));
        put(self, 0.4, "ips", &mut |g| {
            let mut all: Vec<&str> = IPS.iter().map(|i| i.0).collect();
            let n = g.rng.below(4) as usize;
            Value::Array((0..n).map(|_| json!(all.remove(g.rng.below(all.len() as u64) as usize))).collect())
        });
        put(self, 0.3, "matrix", &mut |g| json!([[g.id(), g.id()], [g.id(), g.id(), g.id()]]));
        put(
            self,
            0.3,
            "p_enrichment",
            &mut |g| json!({"tor_exit_nodes": {"p_any_ip_addresses": {"exit": {"country": g.rng.pick(&["DE", "US"]), "ip": g.rng.pick(IPS).0}}}}),
        );
        put(self, 0.5, "pair", &mut |g| {
            let a = g.rng.below(50) as i64;
            let lo = g.rng.below(50) as f64 + 0.5;
            json!({"a": a, "b": a as f64, "c": a + 1, "lo": lo, "hi": lo + 1.0})
        });
        Value::Object(m)
    }

    /// A list of distinct strings (unique across the event).
    fn words(&mut self, max: u64) -> Value {
        let n = self.rng.below(max + 1);
        Value::Array(
            (0..n)
                .map(|_| {
                    let base = *self.rng.pick(&["w", "Wort", "ü", "x y"]);
                    json!(format!("{base}-{}", self.id()))
                })
                .collect(),
        )
    }

    fn item(&mut self) -> Value {
        let mut m = Map::new();
        m.insert("n".into(), json!(self.id()));
        if self.rng.chance(0.7) {
            m.insert("name".into(), json!(self.string()));
        }
        if self.rng.chance(0.6) {
            m.insert("v".into(), json!(self.rng.below(20) as i64 - 5));
        }
        if self.rng.chance(0.5) {
            m.insert("ok".into(), json!(self.rng.chance(0.5)));
        }
        if self.rng.chance(0.5) {
            let tags = self.words(3);
            m.insert("tags".into(), tags);
        }
        if self.rng.chance(0.5) {
            let n = self.rng.below(3);
            let sub = (0..n)
                .map(|_| {
                    let x =
                        if self.rng.chance(0.5) { json!(self.string()) } else { json!(self.rng.below(9)) };
                    json!({"n": self.id(), "x": x})
                })
                .collect();
            m.insert("sub".into(), Value::Array(sub));
        }
        Value::Object(m)
    }

    // ---- rules -----------------------------------------------------------------------------

    fn rule(&mut self, index: usize) -> String {
        let w = self.witness();
        let id = format!("Generated.R{index:03}");
        let mut y = String::new();
        let _ = writeln!(
            y,
            "# Generated by `cargo run -p integration-tests --example generate_rules`: do not edit."
        );
        let scheduled = self.rng.chance(0.05) || self.forced("scheduled").is_some();
        if scheduled {
            self.use_feature("scheduled");
        }
        let _ = writeln!(y, "AnalysisType: {}", if scheduled { "scheduled_rule" } else { "rule" });
        let _ = writeln!(y, "RuleID: {}", quote(&id));
        let display_name = self.rng.chance(0.4).then(|| format!("Generated rule {index}"));
        if let Some(d) = &display_name {
            let _ = writeln!(y, "DisplayName: {}", quote(d));
        }
        if self.rng.chance(0.2) {
            let _ = writeln!(y, "Description: {}", quote(&format!("Built around a random event ({index}).")));
        }
        let disabled = self.rng.chance(0.05) || self.forced("disabled").is_some();
        if disabled {
            self.use_feature("disabled");
        }
        let _ = writeln!(y, "Enabled: {}", !disabled);
        let severity = *self.rng.pick(&["Info", "Low", "Medium", "High", "Critical"]);
        let _ = writeln!(
            y,
            "Severity: {}",
            if self.rng.chance(0.2) { severity.to_ascii_uppercase() } else { severity.to_string() }
        );
        let n_types = 1 + self.rng.below(2) as usize;
        let mut types: Vec<&str> = Vec::new();
        while types.len() < n_types {
            let t = *self.rng.pick(LOG_TYPES);
            if !types.contains(&t) {
                types.push(t);
            }
        }
        let types: Vec<String> = types.iter().map(|t| quote(t)).collect();
        let _ = writeln!(
            y,
            "{}: [{}]",
            if scheduled { "ScheduledQueries" } else { "LogTypes" },
            types.join(", ")
        );
        if self.rng.chance(0.2) {
            let _ = writeln!(y, "Tags: [\"generated\", {}]", quote(&format!("batch-{}", index % 7)));
        }
        if self.rng.chance(0.2) {
            let _ = writeln!(y, "DedupPeriodMinutes: {}", 5 + self.rng.below(120));
        }
        if self.rng.chance(0.1) {
            let _ = writeln!(y, "Threshold: {}", 1 + self.rng.below(5));
        }
        if self.rng.chance(0.1) || self.forced("signal").is_some() {
            self.use_feature("signal");
            let _ = writeln!(y, "CreateAlert: false");
        }

        // InlineFilters: each holds on the witness.
        if self.rng.chance(0.2) || self.forced("filters").is_some() {
            self.use_feature("filters");
            let n = 1 + self.rng.below(2);
            let filters: Vec<Expr> = (0..n).map(|_| self.make(&[(&w, true)], 1, Place::Filter)).collect();
            let _ = writeln!(y, "InlineFilters:");
            for f in &filters {
                write_expr(&mut y, 2, f);
            }
        }

        // Detection: an anchor (a positive test of a present field, false once it is removed),
        // then steps that all hold on the witness.
        let (anchor, anchor_key) = self.anchor(&w);
        let mut steps = vec![anchor];
        let extra = self.rng.below(3) + u64::from(self.force.is_some());
        for _ in 0..extra {
            steps.push(self.make(&[(&w, true)], 0, Place::Detection));
        }
        // A feature still owed is given more chances in this rule.
        for _ in 0..4 {
            if self.force.is_none() {
                break;
            }
            steps.push(self.make(&[(&w, true)], 0, Place::Detection));
        }
        let _ = writeln!(y, "Detection:");
        for s in &steps {
            write_expr(&mut y, 2, s);
        }

        // Alert outputs, with what they render to on the witness.
        let mut title_text = None;
        if self.rng.chance(0.5) || self.forced("title").is_some() {
            let (template, rendered) = self.title(&w);
            self.use_feature("title");
            let _ = writeln!(y, "AlertTitle: {}", quote(&template));
            title_text = Some(rendered);
        }
        let mut dedup = title_text.clone().unwrap_or_default();
        let group_by = self.rng.chance(0.3) || self.forced("group_by").is_some();
        if group_by {
            self.use_feature("group_by");
            let n = 1 + self.rng.below(3);
            let _ = writeln!(y, "GroupBy:");
            let mut parts = Vec::new();
            for _ in 0..n {
                let (segs, spec) = self.any_field(&w);
                parts.push(display(resolve(&w, &segs).as_ref()));
                let _ = writeln!(y, "  - {}", spec_flow(&spec));
            }
            dedup = parts.join(":");
        }
        if !group_by && self.rng.chance(0.15) {
            self.use_feature("alert_dedup");
            let (template, rendered) = self.title(&w);
            let _ = writeln!(y, "AlertDedup: {}", quote(&template));
            dedup = rendered;
        }
        let mut context = Map::new();
        if self.rng.chance(0.3) || self.forced("context:").is_some() {
            let _ = writeln!(y, "AlertContext:");
            let n = 1 + self.rng.below(3);
            for i in 0..n {
                let choice = match self.forced("context:") {
                    Some("context:Preset") => 2,
                    Some("context:KeyTemplate") => 1,
                    Some(_) => 0,
                    None => self.rng.below(10),
                };
                if choice == 2 && !context.keys().any(|k| PRESET.iter().any(|(p, _)| p == k)) {
                    self.use_feature("context:Preset");
                    let _ = writeln!(y, "  - Preset: aws_rule_context");
                    // `event.get(key, "<MISSING_...>")` each, then Panther's PantherFlow query
                    // (the witnesses have no log type, no time, no indicators).
                    for (key, if_missing) in PRESET {
                        context.insert(
                            key.to_string(),
                            resolve(&w, &[Seg::Key(key.to_string())])
                                .unwrap_or_else(|| Value::String(if_missing.to_string())),
                        );
                    }
                    assert!(w.as_object().is_some_and(|m| !m.keys().any(|k| {
                        let k = k.to_lowercase();
                        k == "p_log_type" || k == "p_event_time" || k.starts_with("p_any_")
                    })));
                    context.insert(
                        "PantherFlow Investigation".into(),
                        Value::String(PANTHERFLOW_WITHOUT_P_KEYS.into()),
                    );
                } else if choice == 1 {
                    self.use_feature("context:KeyTemplate");
                    let (template, rendered) = self.title(&w);
                    let _ = writeln!(
                        y,
                        "  - KeyName: {}\n    KeyTemplate: {}",
                        quote(&format!("t{i}")),
                        quote(&template)
                    );
                    context.insert(format!("t{i}"), Value::String(rendered));
                } else {
                    self.use_feature("context:KeyValue");
                    let (segs, spec) = self.any_field(&w);
                    let name = format!("k{i}");
                    let _ = writeln!(y, "  - KeyName: {}\n    KeyValue: {}", quote(&name), spec_flow(&spec));
                    context.insert(name, resolve(&w, &segs).unwrap_or(Value::Null));
                }
            }
        }
        let mut expected_severity = severity.to_string();
        if self.rng.chance(0.25) || self.forced("dynamic_severities").is_some() {
            let mut entries = String::new();
            let mut decided = false;
            for _ in 0..1 + self.rng.below(3) {
                let target = *self.rng.pick(&["Info", "Low", "Medium", "High", "Critical"]);
                let holds = self.rng.chance(0.5);
                let n = self.rng.below(3);
                // Conditions hold together, or one of them fails (so there is at least one).
                let Some(truths) = truth_vector(&mut self.rng, "All", holds, n as usize) else { continue };
                let _ = writeln!(entries, "  - ChangeTo: {target}");
                if truths.is_empty() {
                    let _ = writeln!(entries, "    Conditions: []");
                } else {
                    let _ = writeln!(entries, "    Conditions:");
                    for t in truths {
                        let e = self.make(&[(&w, t)], 1, Place::Detection);
                        write_expr(&mut entries, 6, &e);
                    }
                }
                if holds && !decided {
                    decided = true;
                    expected_severity = target.to_string();
                }
            }
            if !entries.is_empty() {
                self.use_feature("dynamic_severities");
                let _ = write!(y, "DynamicSeverities:\n{entries}");
            }
        }

        let title = match &title_text {
            Some(t) if !t.is_empty() => t.clone(),
            _ => display_name.clone().unwrap_or_else(|| id.clone()),
        };
        let dedup = if dedup.is_empty() { format!("defaultDedupString:{id}") } else { dedup };
        let _ = writeln!(y, "Tests:");
        let _ = writeln!(y, "  - Name: witness matches");
        let _ = writeln!(y, "    ExpectedResult: true");
        let _ = writeln!(y, "    ExpectedTitle: {}", quote(&title));
        let _ = writeln!(y, "    ExpectedDedup: {}", quote(&dedup));
        let _ = writeln!(y, "    ExpectedSeverity: {expected_severity}");
        if !context.is_empty() {
            let _ = writeln!(y, "    ExpectedAlertContext: {}", json_flow(&Value::Object(context)));
        }
        let _ = writeln!(y, "    Log: {}", json_flow(&w));
        let mut without = w.clone();
        without.as_object_mut().expect("an object").shift_remove(&anchor_key);
        let _ = writeln!(y, "  - Name: witness without the first field");
        let _ = writeln!(y, "    ExpectedResult: false");
        let _ = writeln!(y, "    Log: {}", json_flow(&without));
        y
    }

    /// The first step: a condition that holds on a present field and fails when it is missing,
    /// often `eventName` (on which the engine dispatches). Returns it and the top-level key.
    fn anchor(&mut self, w: &Value) -> (Expr, String) {
        if self.rng.chance(0.5) {
            let name = w["eventName"].clone();
            let spec = if self.rng.chance(0.8) {
                Spec::Key("eventName".into())
            } else {
                Spec::KeyPath("EVENTNAME".into())
            };
            let e = if self.rng.chance(0.5) {
                Expr::Leaf { spec: Some(spec), cond: "Equals", operand: Operand::Value(name) }
            } else {
                let mut values = vec![name];
                values.extend(EVENT_NAMES.iter().filter(|_| self.rng.chance(0.3)).map(|n| json!(n)));
                values.dedup();
                Expr::Leaf { spec: Some(spec), cond: "IsIn", operand: Operand::Values(values) }
            };
            return (e, "eventName".into());
        }
        for _ in 0..200 {
            let segs = self.pick_path(w);
            let Some(v) = resolve(w, &segs) else { continue };
            let Some(spec) = self.spec(&segs) else { continue };
            let positives: Vec<&(&str, Kind, bool)> = CONDITIONS
                .iter()
                .filter(|c| !c.2 && !matches!(c.1, Kind::IsNull | Kind::IsNullOrEmpty))
                .collect();
            let (name, kind, _) = **self.rng.pick(&positives);
            if let Some(operand) = self.operand(kind, Some(&v), true) {
                let Seg::Key(top) = &segs[0] else { unreachable!("paths start with a key") };
                self.use_feature(name);
                return (Expr::Leaf { spec: Some(spec), cond: name, operand }, top.clone());
            }
        }
        unreachable!("every witness has eventName");
    }

    /// A template and what it renders to on `w`.
    fn title(&mut self, w: &Value) -> (String, String) {
        let mut template = String::new();
        let mut rendered = String::new();
        // Placeholders so far: a later one may repeat a path with other fallbacks.
        let mut earlier: Vec<Vec<Seg>> = Vec::new();
        for _ in 0..1 + self.rng.below(4) {
            match self.rng.below(6) {
                0 => {
                    template.push_str("{{");
                    rendered.push('{');
                }
                1 => {
                    template.push_str("}} ");
                    rendered.push_str("} ");
                }
                2 => {
                    let t = *self.rng.pick(&[
                        "Alert: ",
                        " in ",
                        " ünïcödé ",
                        " \"quoted\" ",
                        " back\\slash ",
                        " # ",
                    ]);
                    template.push_str(t);
                    rendered.push_str(t);
                }
                _ => {
                    // A placeholder: a path (maybe one used before), maybe with fallbacks (each
                    // separator passing over what it says) and a default, maybe with `!s`.
                    let mut alternatives: Vec<(String, Option<Value>)> = Vec::new();
                    let n = if self.rng.chance(0.3) { 2 } else { 1 };
                    for k in 0..n {
                        let segs = match earlier.first() {
                            Some(first) if k == 0 && self.rng.chance(0.3) => {
                                self.use_feature("title:repeated");
                                first.clone()
                            }
                            _ => self.pick_path(w),
                        };
                        let Some(text) = key_path_text(&segs, true) else { continue };
                        alternatives.push((text, resolve(w, &segs)));
                        earlier.push(segs);
                    }
                    if alternatives.is_empty() {
                        continue;
                    }
                    if let Some(d) = self.rng.chance(0.3).then(|| *self.rng.pick(&["none", "{x|y}", ""])) {
                        alternatives.push((format!("'{d}'"), Some(Value::String(d.to_string()))));
                    }
                    if alternatives.len() > 1 {
                        self.use_feature("title:fallback");
                    }
                    template.push('{');
                    // Each alternative is taken unless the separator after it passes it over;
                    // the last one is taken as it is.
                    let mut chosen = None;
                    template.push_str(&alternatives[0].0);
                    for (i, (text, _)) in alternatives.iter().enumerate().skip(1) {
                        let (sep, passes): (&str, fn(&Option<Value>) -> bool) = match self.rng.below(3) {
                            0 => (" | ", |v| v.as_ref().is_none_or(Value::is_null)),
                            1 => {
                                self.use_feature("title:fallback_falsy");
                                (" || ", |v| v.as_ref().is_none_or(|v| !python_truthy(v)))
                            }
                            _ => {
                                self.use_feature("title:fallback_missing");
                                (" ?? ", |v| v.is_none())
                            }
                        };
                        let before = &alternatives[i - 1].1;
                        if chosen.is_none() && !passes(before) {
                            chosen = Some(before.clone());
                        }
                        template.push_str(sep);
                        template.push_str(text);
                    }
                    let chosen = chosen.unwrap_or_else(|| alternatives.last().expect("one").1.clone());
                    // `!s` where Python's `str()` is plain to state: None, booleans, integers, text.
                    let python = match &chosen {
                        None | Some(Value::Null) => Some("None".to_string()),
                        Some(Value::Bool(b)) => Some(if *b { "True" } else { "False" }.to_string()),
                        Some(Value::Number(n)) if !n.is_f64() => Some(n.to_string()),
                        Some(Value::String(s)) => Some(s.clone()),
                        _ => None,
                    }
                    .filter(|_| self.rng.chance(0.3));
                    if python.is_some() {
                        self.use_feature("title:python_str");
                        template.push_str(" !s");
                    }
                    template.push('}');
                    rendered.push_str(&python.unwrap_or_else(|| display(chosen.as_ref())));
                }
            }
        }
        (template, rendered)
    }

    // ---- expressions -----------------------------------------------------------------------

    /// An expression that holds on each subject exactly when its `bool` says so.
    fn make(&mut self, targets: &[(&Value, bool)], depth: u32, place: Place) -> Expr {
        let single = targets.len() == 1;
        let forced = self.force.clone();
        let forced = forced.as_deref().unwrap_or("");
        let choice = if forced.starts_with("comb:") || forced.starts_with("always:") {
            1
        } else if forced.starts_with("elements:") && place != Place::Filter {
            2
        } else if forced.starts_with("multi:") && single && place != Place::Filter {
            3
        } else if depth >= 3 {
            0
        } else {
            match self.rng.below(20) {
                0..=10 => 0,
                11..=15 => 1,
                16..=18 => 2,
                _ => 3,
            }
        };
        let made = match choice {
            1 => self.combinator(targets, depth, place),
            2 if place != Place::Filter => self.elements(targets, depth),
            3 if single && place != Place::Filter => self.multi(targets[0].0, targets[0].1),
            _ => None,
        };
        if let Some(e) = made {
            return e;
        }
        if single { self.leaf(targets[0].0, targets[0].1, place) } else { self.split(targets, place) }
    }

    fn combinator(&mut self, targets: &[(&Value, bool)], depth: u32, place: Place) -> Option<Expr> {
        if let Some(f) = self.forced("always:") {
            let want = f == "always:AlwaysTrue";
            self.use_feature(f.to_string().as_str());
            return Some(self.embed(Expr::Always(want), want, targets, depth, place));
        }
        let forced = self.forced("comb:").map(str::to_string);
        let (name, empty) = match forced.as_deref() {
            Some("comb:nested") | None => {
                (*self.rng.pick(&["All", "Any", "OnlyOne", "None"]), self.rng.chance(0.1))
            }
            Some(f) => (
                ["All", "Any", "OnlyOne", "None"].into_iter().find(|n| f[5..].starts_with(n))?,
                f.ends_with("[]"),
            ),
        };
        if empty {
            // `All: []` and `None: []` hold, `Any: []` and `OnlyOne: []` fail, for every subject.
            let holds = matches!(name, "All" | "None");
            self.use_feature(&format!("comb:{name}[]"));
            let e = Expr::Comb(name, Vec::new());
            return Some(if targets.iter().all(|t| t.1 == holds) {
                e
            } else {
                self.embed(e, holds, targets, depth, place)
            });
        }
        let k = 1 + self.rng.below(3) as usize;
        let mut vectors = Vec::new();
        for t in targets {
            vectors.push(truth_vector(&mut self.rng, name, t.1, k)?);
        }
        self.use_feature(&format!("comb:{name}"));
        if depth >= 1 {
            self.use_feature("comb:nested");
        }
        let children = (0..k)
            .map(|j| {
                let child: Vec<(&Value, bool)> =
                    targets.iter().zip(&vectors).map(|(t, v)| (t.0, v[j])).collect();
                // A nested combinator is wanted: make the first child one.
                if j == 0 && forced.as_deref() == Some("comb:nested") {
                    self.force = Some("comb:All".into());
                }
                self.make(&child, depth + 1, place)
            })
            .collect();
        Some(Expr::Comb(name, children))
    }

    /// `e`, which holds (or fails) for every subject alike, in a combinator that gives each
    /// subject its verdict: `All: [e, x]` when `e` holds, `Any: [e, x]` when it fails.
    fn embed(&mut self, e: Expr, holds: bool, targets: &[(&Value, bool)], depth: u32, place: Place) -> Expr {
        let rest = self.make(targets, depth + 1, place);
        Expr::Comb(
            if holds { "All" } else { "Any" },
            if self.rng.chance(0.5) { vec![e, rest] } else { vec![rest, e] },
        )
    }

    /// A list comprehension over a list field of the subjects.
    fn elements(&mut self, targets: &[(&Value, bool)], depth: u32) -> Option<Expr> {
        let forced = self.forced("elements:").map(str::to_string);
        for _ in 0..30 {
            // A list field of the first subject (the others are the same kind of element).
            let lists: Vec<Vec<Seg>> = all_paths(targets[0].0)
                .into_iter()
                .filter(|p| {
                    !p.contains(&Seg::Each) && matches!(resolve(targets[0].0, p), Some(Value::Array(_)))
                })
                .filter(|p| p.last() != Some(&Seg::Key("matrix".into())))
                .collect();
            if lists.is_empty() {
                return None;
            }
            let segs = self.rng.pick(&lists).clone();
            let Some(spec) = self.spec(&segs) else { continue };
            let name = match forced.as_deref() {
                Some(
                    f @ ("elements:AnyElement"
                    | "elements:AllElements"
                    | "elements:NoElement"
                    | "elements:OnlyOneElement"),
                ) => f["elements:".len()..].to_string(),
                _ => self.rng.pick(&["AnyElement", "AllElements", "NoElement", "OnlyOneElement"]).to_string(),
            };
            // Which elements pass, per subject.
            let mut body_targets: Vec<(&Value, bool)> = Vec::new();
            let mut ok = true;
            for t in targets {
                match resolve(t.0, &segs) {
                    Some(Value::Array(items)) => {
                        let Some(pass) = pass_vector(&mut self.rng, &name, t.1, items.len()) else {
                            ok = false;
                            break;
                        };
                        let Some(Value::Array(items)) = get(t.0, &segs) else {
                            unreachable!("resolved above")
                        };
                        body_targets.extend(items.iter().zip(pass));
                    }
                    _ => {
                        // Missing or not a list: only `NoElement` holds.
                        if (name == "NoElement") != t.1 {
                            ok = false;
                            break;
                        }
                    }
                }
            }
            if !ok {
                continue;
            }
            // The kind of element (when no list has any, from the list's name).
            let scalars = match body_targets.first() {
                Some(t) => !t.0.is_object(),
                None => {
                    matches!(segs.last(), Some(Seg::Key(k)) if ["nums", "words", "ips", "tags", "e"].contains(&k.as_str()))
                }
            };
            if forced.as_deref() == Some("elements:itself") && !scalars {
                continue;
            }
            if forced.as_deref() == Some("elements:nested")
                && !body_targets.iter().any(|t| t.0.get("sub").is_some() || t.0.get("tags").is_some())
            {
                continue;
            }
            self.use_feature(&format!("elements:{name}"));
            if depth > 0 && targets[0].0.get("n").is_some() {
                self.use_feature("elements:nested");
            }
            if forced.as_deref() == Some("elements:nested") {
                self.force = Some("elements:AnyElement".into());
            }
            let n = 1 + self.rng.below(2) as usize;
            let vectors: Vec<Vec<bool>> = body_targets
                .iter()
                .map(|t| truth_vector(&mut self.rng, "All", t.1, n).expect("n >= 1"))
                .collect();
            let dummy = if scalars { json!("w-0") } else { json!({"n": 0, "tags": [], "sub": []}) };
            let body = (0..n)
                .map(|j| {
                    let child: Vec<(&Value, bool)> = if body_targets.is_empty() {
                        vec![(&dummy, self.rng.chance(0.5))]
                    } else {
                        body_targets.iter().zip(&vectors).map(|(t, v)| (t.0, v[j])).collect()
                    };
                    self.make(&child, depth + 1, Place::Element)
                })
                .collect();
            return Some(Expr::Elements { spec, cond: leak(name), body });
        }
        None
    }

    /// A multi-key expression: a condition between two fields of `subject`, with any condition
    /// that takes a value (the second field's value in its place).
    fn multi(&mut self, subject: &Value, want: bool) -> Option<Expr> {
        let forced = self.forced("multi:").map(|f| f["multi:".len()..].to_string());
        let ops: Vec<(&'static str, Kind, bool)> =
            CONDITIONS.iter().filter(|c| takes_value(c.1)).copied().collect();
        for _ in 0..80 {
            let (op, kind, negated) = match &forced {
                Some(f) => *ops.iter().find(|o| o.0 == f)?,
                None => *self.rng.pick(&ops),
            };
            let (a, b) = self.multi_paths(subject, kind);
            let (va, vb) = (resolve(subject, &a), resolve(subject, &b));
            let (Some(sa), Some(sb)) = (self.spec(&a), self.spec(&b)) else { continue };
            let holds = match (&va, &vb) {
                (Some(x), Some(y)) => multi_holds(kind, x, y).map(|h| h != negated),
                // A missing field, on either side: the positive form fails.
                _ => Some(negated),
            };
            if holds == Some(want) {
                self.use_feature(&format!("multi:{op}"));
                return Some(Expr::Multi { cond: op, left: sa, right: sb });
            }
        }
        None
    }

    /// Two paths of `subject` for a multi-key `kind`: often related (one path twice, an element
    /// and its list, two strings, two addresses or networks), so that the conditions hold now
    /// and then.
    fn multi_paths(&mut self, subject: &Value, kind: Kind) -> (Vec<Seg>, Vec<Seg>) {
        let paths = all_paths(subject);
        let of = |pred: &dyn Fn(&Value) -> bool| -> Vec<Vec<Seg>> {
            paths.iter().filter(|p| resolve(subject, p).is_some_and(|v| pred(&v))).cloned().collect()
        };
        match self.rng.below(6) {
            0 => {
                let a = self.pick_path(subject);
                (a.clone(), a)
            }
            1 => {
                let elements: Vec<Vec<Seg>> =
                    paths.iter().filter(|p| matches!(p.last(), Some(Seg::Index(_)))).cloned().collect();
                if elements.is_empty() {
                    return (self.pick_path(subject), self.pick_path(subject));
                }
                let element = self.rng.pick(&elements).clone();
                let list = element[..element.len() - 1].to_vec();
                let element_first = match kind {
                    Kind::IsIn => true,
                    Kind::Contains(_) | Kind::Has => false,
                    _ => self.rng.chance(0.5),
                };
                if element_first { (element, list) } else { (list, element) }
            }
            2 | 3 => {
                let texts = if matches!(kind, Kind::InCidr | Kind::CidrHolds) {
                    of(&|v| v.as_str().is_some_and(|t| t.contains(['.', ':'])))
                } else {
                    of(&|v| v.is_string())
                };
                if texts.is_empty() {
                    return (self.pick_path(subject), self.pick_path(subject));
                }
                (self.rng.pick(&texts).clone(), self.rng.pick(&texts).clone())
            }
            _ => (self.pick_path(subject), self.pick_path(subject)),
        }
    }

    /// A leaf that tells subjects apart when they want different verdicts: their ids (objects)
    /// or themselves (distinct scalars); a leaf that holds or fails alike otherwise.
    fn split(&mut self, targets: &[(&Value, bool)], place: Place) -> Expr {
        let want_all = targets[0].1;
        if targets.iter().all(|t| t.1 == want_all) {
            let uniform = match self.rng.below(4) {
                0 => Some(Expr::Always(want_all)),
                1 => {
                    // A fresh constant equals none of them.
                    let spec = targets[0].0.is_object().then(|| Spec::Key("n".into()));
                    let fresh = self.fresh_value();
                    Some(Expr::Leaf {
                        spec,
                        cond: if want_all { "DoesNotEqual" } else { "Equals" },
                        operand: Operand::Value(fresh),
                    })
                }
                2 if targets[0].0.is_object() => Some(Expr::Leaf {
                    spec: Some(Spec::Key(if self.rng.chance(0.5) { "n" } else { "N" }.into())),
                    cond: if want_all { "Exists" } else { "DoesNotExist" },
                    operand: Operand::None,
                }),
                _ => None,
            };
            if let Some(e) = uniform {
                return e;
            }
        }
        let ids = |pass: bool| -> Vec<Value> {
            targets
                .iter()
                .filter(|t| t.1 == pass)
                .map(|t| t.0.get("n").cloned().unwrap_or_else(|| t.0.clone()))
                .collect()
        };
        let spec = targets[0].0.is_object().then(|| {
            if place == Place::Element && self.rng.chance(0.3) {
                Spec::DeepKey(vec![json!("n")])
            } else {
                Spec::Key("n".into())
            }
        });
        if targets[0].0.is_object() || place == Place::Element {
            if spec.is_none() {
                self.use_feature("elements:itself");
            }
            let (cond, mut values) =
                if self.rng.chance(0.5) { ("IsIn", ids(true)) } else { ("IsNotIn", ids(false)) };
            if values.is_empty() {
                values.push(self.fresh_value());
            }
            return Expr::Leaf { spec, cond, operand: Operand::Values(values) };
        }
        unreachable!("several subjects are list elements")
    }

    /// A single condition on a field of one subject, holding exactly when `want`.
    fn leaf(&mut self, subject: &Value, want: bool, place: Place) -> Expr {
        let forced = self
            .force
            .clone()
            .filter(|f| CONDITIONS.iter().any(|c| c.0 == f) || f == "predicate:Value:false");
        for attempt in 0..400 {
            let (segs, spec) = if place == Place::Element && !subject.is_object() {
                (Vec::new(), None)
            } else {
                let segs = self.pick_path(subject);
                match self.spec(&segs) {
                    Some(s) => (segs, Some(s)),
                    None => continue,
                }
            };
            let v = resolve(subject, &segs);
            let (name, kind, negated) = match forced.as_deref() {
                Some(f) if attempt < 300 && f != "predicate:Value:false" => {
                    *CONDITIONS.iter().find(|c| c.0 == f).expect("known")
                }
                _ => *self.rng.pick(CONDITIONS),
            };
            // Predicates may carry `Value: true`, or `Value: false` which inverts them.
            let predicate = matches!(kind, Kind::Exists | Kind::IsNull | Kind::IsNullOrEmpty | Kind::Ip(_));
            let inverted =
                predicate && (self.rng.chance(0.15) || forced.as_deref() == Some("predicate:Value:false"));
            let negative = negated != inverted;
            // In InlineFilters a missing field passes, and a null one passes only negated tests.
            let verdict_fixed = match (place, &v) {
                (Place::Filter, None) => Some(true),
                (Place::Filter, Some(Value::Null)) => Some(negative),
                _ => None,
            };
            let operand = match verdict_fixed {
                Some(fixed) if fixed != want => continue,
                Some(_) => {
                    let holds = self.rng.chance(0.5);
                    self.operand(kind, v.as_ref(), holds).or_else(|| self.operand(kind, v.as_ref(), !holds))
                }
                None => self.operand(kind, v.as_ref(), want != negative),
            };
            let Some(mut operand) = operand else { continue };
            if spec.is_none() {
                self.use_feature("elements:itself");
            }
            if predicate {
                operand = if inverted {
                    self.use_feature("predicate:Value:false");
                    Operand::Value(json!(false))
                } else if self.rng.chance(0.1) {
                    Operand::Value(json!(true))
                } else {
                    Operand::None
                };
            }
            self.use_feature(name);
            return Expr::Leaf { spec, cond: name, operand };
        }
        Expr::Always(want)
    }

    /// The operand that makes the positive form of `kind` hold on `v` (or fail), if any.
    fn operand(&mut self, kind: Kind, v: Option<&Value>, holds: bool) -> Option<Operand> {
        let text = v.and_then(Value::as_str);
        let one = |x: Value| Some(Operand::Value(x));
        match kind {
            Kind::Exists => (v.is_some() == holds).then_some(Operand::None),
            Kind::IsNull => (matches!(v, None | Some(Value::Null)) == holds).then_some(Operand::None),
            Kind::IsNullOrEmpty => (v.is_none_or(python_false) == holds).then_some(Operand::None),
            Kind::Ip(flag) => {
                let is = text.and_then(|t| IPS.iter().find(|i| i.0 == t)).is_some_and(|i| match flag {
                    0 => true,
                    1 => i.1,
                    2 => i.2,
                    3 => i.3,
                    _ => i.4,
                });
                let known = text.is_none_or(|t| {
                    IPS.iter().any(|i| i.0 == t) || NOT_IPS.contains(&t) || !t.contains(['.', ':'])
                });
                (known && is == holds).then_some(Operand::None)
            }
            Kind::Equals => {
                if holds {
                    let v = v?;
                    if !is_scalar(v) {
                        return None;
                    }
                    one(self.same_number(v))
                } else {
                    one(self.fresh_for(v))
                }
            }
            Kind::IsIn => {
                let mut values: Vec<Value> = (0..self.rng.below(3)).map(|_| self.fresh_for(v)).collect();
                if holds {
                    let v = v?;
                    if !is_scalar(v) {
                        return None;
                    }
                    let at = self.rng.below(values.len() as u64 + 1) as usize;
                    values.insert(at, self.same_number(v));
                } else if values.is_empty() {
                    values.push(self.fresh_for(v));
                }
                Some(Operand::Values(values))
            }
            Kind::IEquals => match (text, holds) {
                (Some(t), true) => one(json!(self.flip_case(t))),
                (_, true) => None,
                (_, false) => one(json!(self.fresh_string())),
            },
            Kind::Starts(i) | Kind::Ends(i) => match (text, holds) {
                (Some(t), true) => {
                    let chars: Vec<char> = t.chars().collect();
                    let n = self.rng.below(chars.len() as u64 + 1) as usize;
                    let part: String = if matches!(kind, Kind::Starts(_)) {
                        chars[..n].iter().collect()
                    } else {
                        chars[chars.len() - n..].iter().collect()
                    };
                    one(json!(if i { self.flip_case(&part) } else { part }))
                }
                (_, true) => None,
                (_, false) => one(json!(self.fresh_string())),
            },
            Kind::Contains(i) => match (v, holds) {
                (Some(Value::String(t)), true) => {
                    let part = self.substring(t);
                    one(json!(if i { self.flip_case(&part) } else { part }))
                }
                (Some(Value::Array(items)), true) if !items.is_empty() => {
                    let e = self.rng.pick(items).clone();
                    match (&e, i) {
                        (Value::String(s), _) => {
                            let part = self.substring(s);
                            one(json!(if i { self.flip_case(&part) } else { part }))
                        }
                        (_, false) if is_scalar(&e) => one(self.same_number(&e)),
                        _ => None,
                    }
                }
                (_, true) => None,
                (_, false) => one(if i { json!(self.fresh_string()) } else { self.fresh_for(v) }),
            },
            Kind::Has => match (v, holds) {
                (Some(Value::String(t)), true) => one(json!(self.substring(t))),
                (Some(Value::Array(items)), true) if !items.is_empty() => {
                    let e = self.rng.pick(items).clone();
                    is_scalar(&e).then(|| Operand::Value(self.same_number(&e)))
                }
                (Some(Value::Object(m)), true) if !m.is_empty() => {
                    let keys: Vec<&String> = m.keys().collect();
                    one(json!(self.rng.pick(&keys)))
                }
                (_, true) => None,
                (_, false) => one(self.fresh_for(v)),
            },
            Kind::Order(order, or_equal) => {
                let v = v?;
                let Some(x) = normal_number(v) else {
                    if let Some(text) = v.as_number().map(|n| n.to_string()) {
                        // An edge number: a constant from the table, whose ordering is known.
                        let rows: Vec<_> = BIG
                            .iter()
                            .filter(|(e, _, _)| {
                                serde_json::from_str::<Value>(e)
                                    .ok()
                                    .and_then(|e| e.as_number().map(|n| n.to_string()))
                                    == Some(text.clone())
                            })
                            .collect();
                        if rows.is_empty() {
                            return None;
                        }
                        let (_, lit, cmp) = **self.rng.pick(&rows);
                        let h = cmp == order || (or_equal && cmp == std::cmp::Ordering::Equal);
                        return (h == holds)
                            .then(|| Operand::Value(serde_json::from_str(lit).expect("number")));
                    }
                    // Not a number: the comparison fails whatever the constant.
                    return (!holds).then(|| Operand::Value(json!(self.rng.below(10))));
                };
                let d = if self.rng.chance(0.5) { 1.0 } else { 0.5 };
                let lit = match (holds, or_equal && self.rng.chance(0.5)) {
                    (true, true) => x,
                    (true, false) => {
                        if order == std::cmp::Ordering::Greater {
                            x - d
                        } else {
                            x + d
                        }
                    }
                    (false, _) if !or_equal && self.rng.chance(0.4) => x,
                    (false, _) => {
                        if order == std::cmp::Ordering::Greater {
                            x + d
                        } else {
                            x - d
                        }
                    }
                };
                // Whole numbers as integers (or as floats, which compare equal).
                one(if lit.fract() == 0.0 && self.rng.chance(0.7) { json!(lit as i64) } else { json!(lit) })
            }
            Kind::Glob => match (text, holds) {
                (Some(t), true) => one(json!(self.glob(t))),
                (_, true) => None,
                (_, false) => one(json!(format!("{}*", self.fresh_string()))),
            },
            Kind::InCidr => {
                let row = text.and_then(|t| IN_CIDR.iter().find(|r| r.0 == t));
                let outside = |g: &mut Gen, row: Option<&(&str, &[&str], &[&str])>| -> Vec<Value> {
                    let pool: Vec<&str> = match row {
                        Some(r) => r.2.to_vec(),
                        None => vec!["10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0", "::/0"],
                    };
                    (0..1 + g.rng.below(2)).map(|_| json!(g.rng.pick(&pool))).collect()
                };
                match (row, holds) {
                    (Some(r), true) => {
                        let mut values = if self.rng.chance(0.5) { outside(self, row) } else { Vec::new() };
                        values.push(json!(self.rng.pick(r.1)));
                        Some(self.value_or_values(values))
                    }
                    (None, true) => None,
                    // Anything that is not an address overlaps nothing.
                    (None, false)
                        if text
                            .is_none_or(|t| t.parse::<std::net::IpAddr>().is_err() && !t.contains('/')) =>
                    {
                        let values = outside(self, None);
                        Some(self.value_or_values(values))
                    }
                    (None, false) => None,
                    (Some(_), false) => {
                        let values = outside(self, row);
                        Some(self.value_or_values(values))
                    }
                }
            }
            Kind::CidrHolds => {
                let row = text.and_then(|t| CIDR_HOLDS.iter().find(|r| r.0 == t));
                match (row, holds) {
                    (Some(r), true) => {
                        let mut values: Vec<Value> =
                            if self.rng.chance(0.5) { vec![json!(self.rng.pick(r.2))] } else { Vec::new() };
                        values.push(json!(self.rng.pick(r.1)));
                        Some(self.value_or_values(values))
                    }
                    (Some(r), false) => {
                        let values = vec![json!(self.rng.pick(r.2))];
                        Some(self.value_or_values(values))
                    }
                    (None, false) if text.is_none_or(|t| !t.contains(['.', ':'])) => {
                        Some(self.value_or_values(vec![json!("10.0.0.1")]))
                    }
                    _ => None,
                }
            }
        }
    }

    fn value_or_values(&mut self, values: Vec<Value>) -> Operand {
        if values.len() == 1 && self.rng.chance(0.5) {
            Operand::Value(values[0].clone())
        } else {
            Operand::Values(values)
        }
    }

    /// A constant equal to no value of any event (of the type of `v`, when it is a boolean).
    fn fresh_for(&mut self, v: Option<&Value>) -> Value {
        match v {
            Some(Value::Bool(b)) if self.rng.chance(0.5) => json!(!b),
            Some(Value::Number(_)) if self.rng.chance(0.5) => json!(-31_337_001.5),
            _ => self.fresh_value(),
        }
    }

    /// `v` itself, or a number equal to it written another way (`5` as `5.0`).
    fn same_number(&mut self, v: &Value) -> Value {
        if let Some(i) = v.as_i64()
            && i.unsigned_abs() < 1 << 52
            && self.rng.chance(0.3)
        {
            return json!(i as f64);
        }
        if let Some(f) = v.as_f64()
            && v.is_f64()
            && f.fract() == 0.0
            && f.abs() < 1e15
            && self.rng.chance(0.3)
        {
            return json!(f as i64);
        }
        v.clone()
    }

    /// ASCII letters with their case flipped at random (Unicode letters are left alone, so
    /// the lower case of the result is the lower case of `t`).
    fn flip_case(&mut self, t: &str) -> String {
        t.chars()
            .map(
                |c| {
                    if c.is_ascii_alphabetic() && self.rng.chance(0.5) { (c as u8 ^ 0x20) as char } else { c }
                },
            )
            .collect()
    }

    fn substring(&mut self, t: &str) -> String {
        let chars: Vec<char> = t.chars().collect();
        let a = self.rng.below(chars.len() as u64 + 1) as usize;
        let b = a + self.rng.below((chars.len() - a) as u64 + 1) as usize;
        chars[a..b].iter().collect()
    }

    /// A glob that matches `t`: some characters become `?` or `[c]`, a run becomes `*`, and
    /// the glob's own special characters are bracketed.
    fn glob(&mut self, t: &str) -> String {
        let chars: Vec<char> = t.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match self.rng.below(8) {
                0 => out.push('?'),
                1 => {
                    out.push('*');
                    i += self.rng.below((chars.len() - i) as u64) as usize;
                }
                2 if c != ']' && c != '!' => out.push_str(&format!("[{c}]")),
                _ if matches!(c, '*' | '?' | '[') => out.push_str(&format!("[{c}]")),
                _ => out.push(c),
            }
            i += 1;
        }
        if chars.is_empty() && self.rng.chance(0.5) {
            out.push('*');
        }
        out
    }

    // ---- paths -----------------------------------------------------------------------------

    /// A path of `subject`: one that resolves, often, else one that does not.
    fn pick_path(&mut self, subject: &Value) -> Vec<Seg> {
        let mut paths = all_paths(subject);
        if paths.is_empty() || self.rng.chance(0.12) {
            // Missing: an absent key, an index past the end, a key below a scalar.
            let mut p = paths.first().cloned().unwrap_or_default();
            match self.rng.below(3) {
                0 => p = vec![Seg::Key("absent".into())],
                1 if !p.is_empty() => p.push(Seg::Key("absent".into())),
                _ => {
                    p = vec![Seg::Key("absent".into()), Seg::Index(-7)];
                }
            }
            paths.push(p.clone());
            return p;
        }
        // Prefer the forced specifier form's paths.
        if let Some(f) = self.forced("spec:") {
            let want = f.to_string();
            let fits: Vec<Vec<Seg>> = paths.iter().filter(|p| spec_fits(&want, p)).cloned().collect();
            if !fits.is_empty() {
                return self.rng.pick(&fits).clone();
            }
        }
        self.rng.pick(&paths).clone()
    }

    /// A path reading `w`, with its specifier.
    fn any_field(&mut self, w: &Value) -> (Vec<Seg>, Spec) {
        loop {
            let segs = self.pick_path(w);
            if let Some(spec) = self.spec(&segs) {
                return (segs, spec);
            }
        }
    }

    /// How a rule names `segs`: any form that can, keys maybe in another case.
    fn spec(&mut self, segs: &[Seg]) -> Option<Spec> {
        // Keys in another ASCII case resolve to the same key (no object has two keys equal
        // ignoring case), except keys holding no ASCII letter.
        let segs: Vec<Seg> = segs
            .iter()
            .map(|s| match s {
                Seg::Key(k) if self.rng.chance(0.15) => Seg::Key(self.flip_case(k)),
                other => other.clone(),
            })
            .collect();
        let mut forms = Vec::new();
        if let [Seg::Key(k)] = segs.as_slice() {
            forms.push(("spec:Key", Spec::Key(k.clone())));
        }
        if !segs.contains(&Seg::Each) {
            let items = segs
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => json!(k),
                    Seg::Index(i) => json!(i),
                    Seg::Each => unreachable!(),
                })
                .collect();
            forms.push(("spec:DeepKey", Spec::DeepKey(items)));
        }
        if let Some(text) = key_path_text(&segs, false) {
            let form = if segs.contains(&Seg::Each) {
                "spec:KeyPath[*]"
            } else if segs.iter().any(|s| matches!(s, Seg::Index(i) if *i < 0)) {
                "spec:KeyPath[-n]"
            } else if segs.iter().any(|s| matches!(s, Seg::Index(_))) {
                "spec:KeyPath[n]"
            } else {
                "spec:KeyPath."
            };
            if form != "spec:KeyPath." || segs.len() > 1 {
                forms.push((form, Spec::KeyPath(text.clone())));
            } else {
                forms.push(("spec:KeyPath", Spec::KeyPath(text)));
            }
        }
        if let [Seg::Key(p), Seg::Key(table), Seg::Key(selector), rest @ ..] = segs.as_slice()
            && p == "p_enrichment"
            && !rest.is_empty()
            && let Some(field) = key_path_text(rest, false)
        {
            forms.push((
                "spec:Enrichment",
                Spec::Enrichment { table: table.clone(), selector: selector.clone(), field },
            ));
        }
        if forms.is_empty() {
            return None;
        }
        let i = match self.forced("spec:") {
            Some(f) => forms.iter().position(|(n, _)| *n == f).unwrap_or(0),
            None => self.rng.below(forms.len() as u64) as usize,
        };
        let (name, spec) = forms.swap_remove(i);
        self.use_feature(name);
        Some(spec)
    }
}

/// `aws_rule_context`'s keys and what each is when missing (upstream's texts).
const PRESET: &[(&str, &str)] = &[
    ("eventName", "<MISSING_EVENT_NAME>"),
    ("eventSource", "<MISSING_ACCOUNT_ID>"),
    ("awsRegion", "<MISSING_AWS_REGION>"),
    ("recipientAccountId", "<MISSING_ACCOUNT_ID>"),
    ("sourceIPAddress", "<MISSING_SOURCE_IP>"),
    ("userAgent", "<MISSING_USER_AGENT>"),
    ("userIdentity", "<MISSING_USER_IDENTITY>"),
];

/// Panther's `pantherflow_investigation` of an event without `p_log_type`, `p_event_time` and
/// `p_any_*` keys, as CPython prints it.
const PANTHERFLOW_WITHOUT_P_KEYS: &str = "union panther_signals.public.correlation_signals\n    , panther_logs.public.\n| where p_event_time between time.parse_timestamp('') - time.parse_timespan('30m') .. time.parse_timestamp('') + time.parse_timespan('30m')\n| sort p_event_time";

/// Python's truth value of a JSON value.
fn python_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Whether `segs` is a path the specifier form `form` is about.
fn spec_fits(form: &str, segs: &[Seg]) -> bool {
    let has = |f: &dyn Fn(&Seg) -> bool| segs.iter().any(f);
    match form {
        "spec:Key" => segs.len() == 1,
        "spec:DeepKey" => !has(&|s| *s == Seg::Each) && segs.len() > 1,
        "spec:KeyPath." => segs.len() > 1 && segs.iter().all(|s| matches!(s, Seg::Key(_))),
        "spec:KeyPath[n]" => {
            has(&|s| matches!(s, Seg::Index(i) if *i >= 0)) && !has(&|s| matches!(s, Seg::Index(i) if *i < 0))
        }
        "spec:KeyPath[-n]" => has(&|s| matches!(s, Seg::Index(i) if *i < 0)),
        "spec:KeyPath[*]" => has(&|s| *s == Seg::Each),
        "spec:Enrichment" => segs.first() == Some(&Seg::Key("p_enrichment".into())) && segs.len() >= 4,
        _ => true,
    }
}

/// `a.b[0][*].c`, when every key can be written in a KeyPath (and, in a placeholder, between
/// braces and bars).
fn key_path_text(segs: &[Seg], placeholder: bool) -> Option<String> {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        match s {
            Seg::Key(k) => {
                let bad = k.is_empty()
                    || k.contains(['.', '[', ']'])
                    || (placeholder && (k.contains(['|', '{', '}', '\'', '"']) || k.trim() != k));
                if bad {
                    return None;
                }
                if i > 0 {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(n) if i > 0 => out.push_str(&format!("[{n}]")),
            Seg::Each if i > 0 => out.push_str("[*]"),
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The value at `segs`, which are exact keys and indexes.
fn get<'v>(v: &'v Value, segs: &[Seg]) -> Option<&'v Value> {
    segs.iter().try_fold(v, |v, s| match (s, v) {
        (Seg::Key(k), Value::Object(m)) => m.get(k),
        (Seg::Index(i), Value::Array(items)) => {
            let i = if *i < 0 { items.len() as i64 + i } else { *i };
            items.get(usize::try_from(i).ok()?)
        }
        _ => None,
    })
}

/// Every path of `v` that resolves: keys, indexes from both ends, and `[*]` projections.
fn all_paths(v: &Value) -> Vec<Vec<Seg>> {
    fn walk(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>, depth: usize) {
        if depth > 6 {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    prefix.push(Seg::Key(k.clone()));
                    out.push(prefix.clone());
                    walk(child, prefix, out, depth + 1);
                    prefix.pop();
                }
            }
            Value::Array(items) if !prefix.is_empty() => {
                let len = items.len() as i64;
                for (i, item) in items.iter().enumerate() {
                    let index = if i % 2 == 1 { i as i64 - len } else { i as i64 };
                    prefix.push(Seg::Index(index));
                    out.push(prefix.clone());
                    walk(item, prefix, out, depth + 1);
                    prefix.pop();
                }
                prefix.push(Seg::Each);
                out.push(prefix.clone());
                let mut below = Vec::new();
                for item in items {
                    let mut p = prefix.clone();
                    walk(item, &mut p, &mut below, depth + 1);
                }
                prefix.pop();
                for p in below {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out, 0);
    out
}

/// The value at `segs` (rule-format.md §2): keys exactly, else ignoring ASCII case; indexes
/// from either end; `[*]` the list of what the rest finds under each element.
fn resolve(v: &Value, segs: &[Seg]) -> Option<Value> {
    let Some((first, rest)) = segs.split_first() else { return Some(v.clone()) };
    match (first, v) {
        (Seg::Key(k), Value::Object(m)) => {
            let found =
                m.get(k).or_else(|| m.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v))?;
            resolve(found, rest)
        }
        (Seg::Index(i), Value::Array(items)) => {
            let i = if *i < 0 { items.len() as i64 + i } else { *i };
            items.get(usize::try_from(i).ok()?).and_then(|x| resolve(x, rest))
        }
        (Seg::Each, Value::Array(items)) => {
            Some(Value::Array(items.iter().filter_map(|x| resolve(x, rest)).collect()))
        }
        _ => None,
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

fn python_false(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// A witness number small enough that `f64` holds it, and sums with it, exactly.
fn normal_number(v: &Value) -> Option<f64> {
    let f = if let Some(i) = v.as_i64() {
        (i.unsigned_abs() < 1 << 40).then_some(i as f64)?
    } else if v.is_f64() {
        let f = v.as_f64()?;
        (f.abs() < 1e9 && (f * 4.0).fract() == 0.0 && !(f == 0.0 && f.is_sign_negative())).then_some(f)?
    } else {
        return None;
    };
    Some(f)
}

/// Whether the positive form of the multi-key condition `kind` holds on two present values
/// (rule-format.md §3.1, the second value in place of `Value`), when it is plain to see.
fn multi_holds(kind: Kind, x: &Value, y: &Value) -> Option<bool> {
    let (xs, ys) = (x.as_str(), y.as_str());
    let lower = |s: &str| s.to_lowercase();
    // Any element of `items` for which `f` holds (`None` when one is unclear).
    let any = |items: &[Value], f: &dyn Fn(&Value) -> Option<bool>| -> Option<bool> {
        let mut found = false;
        for item in items {
            found |= f(item)?;
        }
        Some(found)
    };
    Some(match kind {
        Kind::Equals => json_eq(x, y)?,
        Kind::IEquals => matches!((xs, ys), (Some(a), Some(b)) if lower(a) == lower(b)),
        Kind::Starts(i) => match (xs, ys) {
            (Some(a), Some(b)) if i => lower(a).starts_with(&lower(b)),
            (Some(a), Some(b)) => a.starts_with(b),
            _ => false,
        },
        Kind::Ends(i) => match (xs, ys) {
            (Some(a), Some(b)) if i => lower(a).ends_with(&lower(b)),
            (Some(a), Some(b)) => a.ends_with(b),
            _ => false,
        },
        // The second value must be one a `Value` can be: a string (or, case-sensitively, a
        // number or a boolean).
        Kind::Contains(i) if !is_scalar(y) || (i && ys.is_none()) => false,
        Kind::Contains(i) => match x {
            Value::String(a) => match ys {
                Some(b) if i => lower(a).contains(&lower(b)),
                Some(b) => a.contains(b),
                None => false,
            },
            Value::Array(items) => any(items, &|e| match (e, ys) {
                (Value::String(s), Some(b)) if i => Some(lower(s).contains(&lower(b))),
                (Value::String(s), Some(b)) => Some(s.contains(b)),
                _ if i => Some(false),
                _ => json_eq(e, y),
            })?,
            _ => false,
        },
        Kind::Has if !is_scalar(y) => false,
        Kind::Has => match (x, ys) {
            (Value::Array(items), _) => any(items, &|e| json_eq(e, y))?,
            (Value::String(a), Some(b)) => a.contains(b),
            (Value::Object(m), Some(b)) => m.keys().any(|k| k.eq_ignore_ascii_case(b)),
            _ => false,
        },
        Kind::Order(order, or_equal) => match (normal_number(x), normal_number(y)) {
            (Some(a), Some(b)) => {
                let cmp = a.partial_cmp(&b)?;
                cmp == order || (or_equal && cmp == std::cmp::Ordering::Equal)
            }
            _ if !x.is_number() || !y.is_number() => false,
            _ => return None,
        },
        Kind::IsIn => match y {
            Value::Array(items) => any(items, &|e| json_eq(x, e))?,
            _ => false,
        },
        Kind::InCidr => match (xs.and_then(network), ys.and_then(network)) {
            (Some(a), Some(b)) => overlap(a, b),
            _ => false,
        },
        Kind::CidrHolds => {
            let address = ys.filter(|t| t.parse::<std::net::IpAddr>().is_ok()).and_then(network);
            match (xs.and_then(network), address) {
                (Some(a), Some(b)) => overlap(a, b),
                _ => false,
            }
        }
        // Globs without special characters match themselves only; others are not worked out.
        Kind::Glob => match (xs, ys) {
            (Some(a), Some(g)) if !g.contains(['*', '?', '[']) => a == g,
            (Some(_), Some(_)) => return None,
            _ => false,
        },
        Kind::Exists | Kind::IsNull | Kind::IsNullOrEmpty | Kind::Ip(_) => unreachable!("takes no value"),
    })
}

/// JSON equality of two witness values (numbers by value), when it is plain to see.
fn json_eq(a: &Value, b: &Value) -> Option<bool> {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) if a == b => Some(true),
        (Value::Number(_), Value::Number(_)) => Some(normal_number(a)? == normal_number(b)?),
        (Value::Array(x), Value::Array(y)) => {
            let mut all = x.len() == y.len();
            for (p, q) in x.iter().zip(y) {
                all &= json_eq(p, q)?;
            }
            Some(all)
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut all = x.len() == y.len();
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => all &= json_eq(v, w)?,
                    None => all = false,
                }
            }
            Some(all)
        }
        _ if std::mem::discriminant(a) != std::mem::discriminant(b) => Some(false),
        _ => Some(a == b),
    }
}

/// `address` or `address/prefix` as an event writes it (nothing around them, a prefix of ASCII
/// digits no wider than the address): the address bits, the prefix, and whether it is IPv4.
fn network(text: &str) -> Option<(u128, u32, bool)> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let (bits, v4) = match addr.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => (u128::from(u32::from(a)), true),
        std::net::IpAddr::V6(a) => (u128::from(a), false),
    };
    let width = if v4 { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u32>().ok().filter(|n| *n <= width)?
        }
        Some(_) => return None,
    };
    Some((bits, prefix, v4))
}

/// Whether two networks share an address.
fn overlap(a: (u128, u32, bool), b: (u128, u32, bool)) -> bool {
    let width = if a.2 { 32 } else { 128 };
    let shift = width - a.1.min(b.1);
    a.2 == b.2 && (shift >= 128 || a.0 >> shift == b.0 >> shift)
}

/// Title placeholders render strings as they are, null and missing as nothing, the rest as
/// compact JSON.
fn display(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Truths for `k` children of the combinator `name` so that it gives `want`; `None` if none do.
fn truth_vector(rng: &mut Rng, name: &str, want: bool, k: usize) -> Option<Vec<bool>> {
    let mut v: Vec<bool> = (0..k).map(|_| rng.chance(0.5)).collect();
    let count = |v: &[bool]| v.iter().filter(|&&b| b).count();
    let pick = |rng: &mut Rng| rng.below(k as u64) as usize;
    match (name, want) {
        ("All", true) | ("None", false) if k == 0 => return (name == "All").then_some(v),
        ("All", true) => v.iter_mut().for_each(|b| *b = true),
        ("All", false) => {
            if k == 0 {
                return None;
            }
            if count(&v) == k {
                let i = pick(rng);
                v[i] = false;
            }
        }
        ("Any", true) => {
            if k == 0 {
                return None;
            }
            if count(&v) == 0 {
                let i = pick(rng);
                v[i] = true;
            }
        }
        ("Any", false) => v.iter_mut().for_each(|b| *b = false),
        ("None", true) => v.iter_mut().for_each(|b| *b = false),
        ("None", false) => {
            if count(&v) == 0 {
                let i = pick(rng);
                v[i] = true;
            }
        }
        ("OnlyOne", true) => {
            if k == 0 {
                return None;
            }
            v.iter_mut().for_each(|b| *b = false);
            let i = pick(rng);
            v[i] = true;
        }
        ("OnlyOne", false) => {
            if count(&v) == 1 {
                if k == 1 {
                    v[0] = false;
                } else {
                    v.iter_mut().for_each(|b| *b = true);
                }
            }
        }
        _ => unreachable!("combinator {name}"),
    }
    Some(v)
}

/// Which of `len` elements pass, for the quantifier `name` to give `want`.
fn pass_vector(rng: &mut Rng, name: &str, want: bool, len: usize) -> Option<Vec<bool>> {
    let (comb, want) = match name {
        "AnyElement" => ("Any", want),
        "AllElements" => ("All", want),
        "NoElement" => ("None", want),
        _ => ("OnlyOne", want),
    };
    if len == 0 {
        // Empty lists: `AllElements` and `NoElement` hold, the others fail.
        return (matches!(comb, "All" | "None") == want).then(Vec::new);
    }
    truth_vector(rng, comb, want, len)
}

// ---- YAML ---------------------------------------------------------------------------------

/// A YAML double-quoted scalar: JSON's escapes, which YAML shares, for anything that is not
/// printable (and for the characters YAML 1.1 took for line breaks).
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// JSON written as a YAML flow collection (a space after every `,` and `:`).
fn json_flow(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(items) => format!("[{}]", items.iter().map(json_flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter().map(|(k, v)| format!("{}: {}", quote(k), json_flow(v))).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

fn spec_flow(spec: &Spec) -> String {
    match spec {
        Spec::Key(k) => format!("{{Key: {}}}", quote(k)),
        Spec::KeyPath(p) => format!("{{KeyPath: {}}}", quote(p)),
        Spec::DeepKey(items) => format!("{{DeepKey: {}}}", json_flow(&Value::Array(items.clone()))),
        Spec::Enrichment { table, selector, field } => format!(
            "{{Enrichment: {{Table: {}, Selector: {}, FieldPath: {}}}}}",
            quote(table),
            quote(selector),
            quote(field)
        ),
    }
}

/// One match expression as a list item at `indent` spaces.
fn write_expr(y: &mut String, indent: usize, e: &Expr) {
    let pad = " ".repeat(indent);
    let spec_line = |y: &mut String, spec: &Spec| {
        let flow = spec_flow(spec);
        // `{Key: x}` without its braces: the specifier's key and value.
        let _ = writeln!(y, "{pad}- {}", &flow[1..flow.len() - 1]);
    };
    match e {
        Expr::Always(b) => {
            let _ = writeln!(y, "{pad}- Condition: {}", if *b { "AlwaysTrue" } else { "AlwaysFalse" });
        }
        Expr::Comb(name, children) if children.is_empty() => {
            let _ = writeln!(y, "{pad}- {name}: []");
        }
        Expr::Comb(name, children) => {
            let _ = writeln!(y, "{pad}- {name}:");
            for c in children {
                write_expr(y, indent + 4, c);
            }
        }
        Expr::Leaf { spec, cond, operand } => {
            match spec {
                Some(s) => {
                    spec_line(y, s);
                    let _ = writeln!(y, "{pad}  Condition: {cond}");
                }
                None => {
                    let _ = writeln!(y, "{pad}- Condition: {cond}");
                }
            }
            match operand {
                Operand::None => {}
                Operand::Value(v) => {
                    let _ = writeln!(y, "{pad}  Value: {}", json_flow(v));
                }
                Operand::Values(vs) => {
                    let _ = writeln!(y, "{pad}  Values: {}", json_flow(&Value::Array(vs.clone())));
                }
            }
        }
        Expr::Multi { cond, left, right } => {
            let _ = writeln!(y, "{pad}- Condition: {cond}");
            let _ = writeln!(y, "{pad}  Values: [{}, {}]", spec_flow(left), spec_flow(right));
        }
        Expr::Elements { spec, cond, body } => {
            spec_line(y, spec);
            let _ = writeln!(y, "{pad}  Condition: {cond}");
            let _ = writeln!(y, "{pad}  Expressions:");
            for b in body {
                write_expr(y, indent + 4, b);
            }
        }
    }
}
