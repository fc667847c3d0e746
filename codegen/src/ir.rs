//! The checked intermediate representation of a rule.
//!
//! Owns the typed, validated form of everything a rule says: metadata, key paths, match
//! expressions with their conditions, alert outputs and test cases. Every string here is already
//! validated; every constant is already prepared (lower-cased for `I…` conditions, CIDRs parsed).
//! Must not: refer to YAML syntax or to Rust syntax. A front end other than Panther YAML can
//! produce it, and `emit` (or an interpreter) consumes it.

use std::net::IpAddr;

/// One rule file, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The YAML file, relative to the workspace root, with `/` separators.
    pub source: String,
    /// The Rust module name, derived from the file stem.
    pub module: String,
    pub id: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub scheduled: bool,
    /// `LogTypes`, or the `ScheduledQueries` of a scheduled rule.
    pub log_types: Vec<String>,
    pub severity: Severity,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub runbook: Option<String>,
    pub tags: Vec<String>,
    pub reports: Vec<(String, Vec<String>)>,
    pub dedup_period_minutes: u32,
    pub threshold: u32,
    pub create_alert: bool,
    pub summary_attributes: Vec<String>,
    pub output_ids: Vec<String>,
    /// `InlineFilters`: run before the detection, with the missing/null rules of §4.3.
    pub filters: Vec<Step>,
    /// `Detection`: all steps must hold.
    pub detection: Vec<Step>,
    pub title: Option<Template>,
    /// `TemplateValues` (an extension): named strings for templates (`{$name}`), each the
    /// template of its first case whose conditions hold.
    pub template_values: Vec<TemplateValue>,
    /// `AlertDedup` (an extension): the dedup string as a template, in place of `GroupBy`.
    pub dedup: Option<Template>,
    pub group_by: Vec<Path>,
    pub context: Vec<ContextEntry>,
    pub dynamic_severities: Vec<DynamicSeverity>,
    pub tests: Vec<TestCase>,
    /// A rule whose logic is Python (`Filename`): the compiled functions. Its `detection` is
    /// empty; its outputs come from the Python functions.
    pub python: Option<Python>,
}

/// A Python rule, compiled by the Python front end to Rust over the runtime's `py` values.
/// The code is Rust source text: the Python front end has its own emitter.
#[derive(Clone, Debug, PartialEq)]
pub struct Python {
    /// The `.py` file, relative to the workspace root.
    pub file: String,
    /// The Panther functions the file defines (`rule`, `title`, …).
    pub functions: Vec<String>,
    /// Rust items of the rule's module (its functions and constants).
    pub items: String,
    /// Definitions of helper modules the rule needs, shared with other rules.
    pub shared: Vec<SharedItem>,
    /// The log types with a data model, and the Rust module of each model.
    pub data_models: Vec<(String, String)>,
    /// `rule()` is exactly the rule's `detection` (lowered): the engine need not run it.
    pub lowered: bool,
    /// The Rust names of the constants in `items` (other names of the module must differ).
    pub constants: Vec<String>,
    /// The Rust names of its module-state variables in `items` (`global X`: `py::Global`
    /// statics).
    pub state: Vec<String>,
}

/// One compiled definition of a helper module (a `global` or a data model's `.py`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SharedItem {
    /// The Rust module (under the generated `py` module).
    pub module: String,
    /// The `.py` it comes from.
    pub source: String,
    /// The definition's name, for a stable order.
    pub name: String,
    pub items: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

/// A top-level expression of `Detection` or `InlineFilters`, with the YAML line it starts on:
/// a failing test names the step that decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub line: u32,
    pub expr: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `AlwaysTrue` / `AlwaysFalse`.
    Always(bool),
    All(Vec<Expr>),
    Any(Vec<Expr>),
    OnlyOne(Vec<Expr>),
    None(Vec<Expr>),
    /// A condition on one field. `negated` is the `DoesNot…`/`IsNot…` form (or `Value: false` on
    /// a predicate): kept apart from `Not` because inline filters treat a null field differently
    /// for negated conditions.
    Test {
        path: Path,
        test: Test,
        negated: bool,
    },
    /// Multi-key: a condition between two fields of the event.
    Compare {
        left: Path,
        op: CompareOp,
        right: Path,
        negated: bool,
    },
    /// List comprehension: `body` (all of it) tested against each element of the list at `path`.
    Elements {
        path: Path,
        quantifier: Quantifier,
        body: Vec<Expr>,
    },
}

/// The positive form of a single-field condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    Equals(Lit),
    /// Case-insensitive; the constant is already lower-cased (Unicode, as Python's `str.lower`).
    IEquals(String),
    StartsWith(String),
    IStartsWith(String),
    EndsWith(String),
    IEndsWith(String),
    Contains(Lit),
    IContains(String),
    Has(Lit),
    Compare(Ordering, Num),
    IsIn(Vec<Lit>),
    /// Extension: the string field matches one of these shell-style globs (Python's `fnmatch`).
    MatchesGlob(Vec<String>),
    Exists,
    IsNull,
    IsNullOrEmpty,
    IsIp(IpKind),
    InCidr(Vec<Cidr>),
    CidrContains(Vec<IpAddr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ordering {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpKind {
    Any,
    V4,
    V6,
    Public,
    Private,
}

/// The positive form of a multi-key condition: the first field tested against the second
/// field's value, which stands where a single-field condition has its `Value` (rule-format.md
/// §3.1). A missing second field makes every one of them false (the negated forms true).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CompareOp {
    /// JSON equality (numbers by value, structural for lists and maps, `null` equals `null`).
    Equals,
    /// Both strings, equal once lower-cased (Python's `str.lower`, on both sides).
    IEquals,
    /// Both strings: a prefix / suffix / substring, case-sensitively or (`I…`) after
    /// lower-casing both.
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    /// The second field a string, number or boolean (what a `Value` may be): `Contains` as with
    /// that constant.
    Contains,
    /// The second field a string: `IContains` as with that constant.
    IContains,
    /// The second field a string, number or boolean: `Has` as with that constant.
    Has,
    /// The second field a list: the first equals (as multi-key `Equals` does) one element.
    IsIn,
    /// Both numbers, compared exactly.
    Ordering(Ordering),
    /// The second field a string that parses as a CIDR (or an address): the first field's
    /// address or network overlaps it.
    InCidr,
    /// The second field a string that parses as an IP address: the first field's network
    /// contains it.
    CidrContains,
    /// The second field a string: a glob (Python's `fnmatch`) that the first field matches.
    MatchesGlob,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    Any,
    All,
    None,
    OnlyOne,
}

/// A constant from the rule, with the type it was written with (`443` is not `"443"`).
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Str(String),
    Num(Num),
    Bool(bool),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i64),
    UInt(u64),
    Float(f64),
}

/// A network with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// A key specifier resolved to one path. `text` is how the rule wrote it, for docs and messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path {
    pub segments: Vec<Segment>,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A map key, looked up exactly first, then ASCII case-insensitively.
    Key(String),
    /// A list index; negative counts from the end, as in Python.
    Index(i64),
    /// `[*]`: the rest of the path under every element.
    Each,
}

/// `AlertTitle`: literal text and `{key.path}` placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub text: String,
    pub parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Field(Placeholder),
    /// `{$name}`: a `TemplateValues` entry.
    Value(String),
    /// `{deep_walk('a', 'b', default='D')}` (an extension): Panther's `event.deep_walk`.
    Walk(DeepWalk),
}

/// `{deep_walk('k1', 'k2', …, default='D', return_val='all')}`: Python's `str()` of Panther's
/// `event.deep_walk(*keys, default=D, return_val=…)`, as an f-string prints it (or, with `!type`,
/// the name of its type). It walks the raw event: keys match exactly, a list along the way is
/// walked item by item (nested lists too), and the values found are kept once each in the order
/// first seen (`1`, `1.0` and `True` are one value), the elements of a list value one by one; an
/// item without the key gives `default` (when it is not `None`). It raises where Python does:
/// a value found that is not hashable (an object, or a list inside a list value); and where it
/// reads an integer beyond 64 bits, which compiled rules do not hold.
#[derive(Clone, Debug, PartialEq)]
pub struct DeepWalk {
    /// At least one.
    pub keys: Vec<String>,
    /// `default=`: a string, or Python's `None` when absent.
    pub default: Option<String>,
    pub return_val: ReturnVal,
    /// `!type`: the name of the result's Python type (`str`, `list`, `NoneType`, …).
    pub type_name: bool,
}

/// `deep_walk`'s `return_val`: which of the values found it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnVal {
    /// `"all"`: the only value, or the list of them.
    All,
    First,
    Last,
}

impl ReturnVal {
    /// As Python writes it.
    pub fn name(self) -> &'static str {
        match self {
            ReturnVal::All => "all",
            ReturnVal::First => "first",
            ReturnVal::Last => "last",
        }
    }
}

/// `{a.b}`, or with fallbacks (an extension): `{a.b | c.d || e ?? 'default'}` takes the
/// alternatives in order, passing over a value as the separator after it says (see [`Skip`]);
/// the last alternative is taken as it is. `!s` at the end renders Python's `str()` of the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Placeholder {
    pub paths: Vec<Path>,
    /// The separator after each alternative but the last (the default, when there is one, is
    /// the last alternative).
    pub skips: Vec<Skip>,
    /// A quoted string, or a Python literal (`[]`, `{}`, `True`, `False`, an integer).
    pub default: Option<serde_json::Value>,
    /// `!split('SEP')[N]`, in order: Python's `value.split(SEP)[N]` of the value picked, which
    /// raises (making the whole output Panther's fallback) when it is not a string or has no
    /// piece `N`.
    pub splits: Vec<(String, i64)>,
    /// `!s`: the value as Python's `str()` prints what Panther's event returns (`None`, `True`,
    /// `['a', 'b']`), as an f-string does; otherwise rule-format.md §4.4's rendering.
    pub python: bool,
    /// `!type`: the name of the value's Python type as Panther hands it out (`NoneType`, `int`,
    /// `str`, `ImmutableList`, …), for the text of a `Raise`.
    pub type_name: bool,
}

/// When a placeholder passes over an alternative for the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// `|`: missing or `null` (Panther's `deep_get(..., default=)`).
    MissingOrNull,
    /// `||`: any value Python treats as false (Python's `or`).
    Falsy,
    /// `??`: missing only (Python's `event.get(key, default)`).
    Missing,
}

impl Skip {
    pub fn token(self) -> &'static str {
        match self {
            Skip::MissingOrNull => "|",
            Skip::Falsy => "||",
            Skip::Missing => "??",
        }
    }
}

impl Placeholder {
    pub fn path(path: Path) -> Placeholder {
        Placeholder {
            paths: vec![path],
            skips: Vec::new(),
            default: None,
            splits: Vec::new(),
            python: false,
            type_name: false,
        }
    }

    /// Whether rendering it can raise, as Python's `split(...)[n]` does.
    pub fn can_raise(&self) -> bool {
        !self.splits.is_empty()
    }
}

/// A `TemplateValues` entry: `{$name}` renders the template of the first case whose conditions
/// all hold (a case without conditions always holds), else nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateValue {
    pub name: String,
    pub cases: Vec<Case>,
    /// The built-in preset it comes from (`TemplateValues: [{Preset: name}]`), if any: compiled
    /// once, in the generated `presets` module, rather than in each rule that uses it.
    pub preset: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub conditions: Vec<Expr>,
    pub template: Template,
    /// `Raise:` rather than `Template:`: the case raises, its text the exception's `repr`, as
    /// Python does where the port's upstream raises.
    pub raises: bool,
}

impl Rule {
    /// Whether rendering `template` can raise: a placeholder that splits, a `deep_walk` (which
    /// may find an unhashable value), or a template value whose template can.
    pub fn can_raise(&self, template: &Template) -> bool {
        template.parts.iter().any(|p| match p {
            TemplatePart::Text(_) => false,
            TemplatePart::Field(f) => f.can_raise(),
            TemplatePart::Walk(_) => true,
            TemplatePart::Value(name) => self.value_can_raise(name),
        })
    }

    pub fn value_can_raise(&self, name: &str) -> bool {
        self.template_values
            .iter()
            .find(|v| v.name == name)
            .is_some_and(|v| v.cases.iter().any(|c| c.raises || self.can_raise(&c.template)))
    }

    /// Whether the alert context can raise (then it is Panther's `{"_error": ...}`).
    pub fn context_can_raise(&self) -> bool {
        self.context.iter().any(|c| match &c.value {
            ContextValue::Template(t) => self.can_raise(t),
            ContextValue::PantherflowInvestigation => true,
            ContextValue::Path(_) | ContextValue::Choice(_) | ContextValue::Data(_) => false,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContextEntry {
    pub name: String,
    pub value: ContextValue,
    /// `Conditions` (an extension): the entry sets its key only when they all hold, as Python's
    /// `if ...: context[key] = value`; a later entry of the same key replaces an earlier one.
    pub conditions: Vec<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ContextValue {
    /// `KeyValue`: the value at a path, as it is (`null` when missing).
    Path(Path),
    /// `KeyTemplate` (an extension): a string rendered as `AlertTitle` is.
    Template(Template),
    /// `KeyValue: "{a || b | 'default'}"` (an extension): the value a placeholder picks, as it
    /// is (the default as a string; `null` when nothing is found).
    Choice(Placeholder),
    /// `KeyData` (an extension): a YAML value built into JSON, each string that is one
    /// placeholder replaced by the value it picks.
    Data(Data),
    /// Panther's `pantherflow_investigation(event)` (in the `aws_rule_context` preset): a
    /// PantherFlow query for the events around this one.
    PantherflowInvestigation,
}

/// A `KeyData` value.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Written as it is.
    Constant(serde_json::Value),
    /// A string that is one placeholder: the value it picks (`null` when none).
    Choice(Placeholder),
    List(Vec<Data>),
    Map(Vec<(String, Data)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct DynamicSeverity {
    pub severity: Severity,
    pub conditions: Vec<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    pub name: String,
    /// The Rust test function name (snake case, unique within the rule).
    pub function: String,
    /// Line of the test case in the YAML file.
    pub line: u32,
    pub expected: bool,
    /// The event, as compact JSON.
    pub log: String,
    /// Extensions beyond Panther's format: expected alert outputs.
    pub expect: Expectations,
    /// `Mocks:` (Python rules): a function of the rule's module that returns this value.
    pub mocks: Vec<Mock>,
}

/// One `Mocks:` entry: `objectName` and its `returnValue` (a string or a boolean, as Panther's
/// schema allows).
#[derive(Clone, Debug, PartialEq)]
pub struct Mock {
    pub name: String,
    pub value: MockValue,
    /// Line of the entry in the rule file.
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MockValue {
    Str(String),
    Bool(bool),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectations {
    pub title: Option<String>,
    pub dedup: Option<String>,
    pub severity: Option<Severity>,
    /// Compact JSON of the expected alert context object.
    pub context: Option<String>,
}

impl Rule {
    /// The title when the rule has no `AlertTitle`.
    pub fn default_title(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.id)
    }
}
