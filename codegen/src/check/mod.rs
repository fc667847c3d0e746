//! YAML tree to checked IR, with every problem reported at its YAML location.
//!
//! Owns the rule schema of rule-format.md §1 (keys, types, required and exclusive keys), the
//! rules that span files (duplicate `RuleID`s, module names), and the driver that checks every
//! file and collects all diagnostics in one run. Match expressions, key specifiers and test
//! cases have modules of their own.
//! Must not: read files or print; inputs are [`SourceFile`]s, outputs are IR and diagnostics.

mod expr;
pub use expr::parse_cidr;
mod path;
pub mod support;
mod testcase;

use std::collections::HashMap;

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::ir::{self, Rule, Severity};
use crate::names;
use crate::yaml::{self, Node, Value};

/// Checks every file; returns the rules that passed and all diagnostics (errors and warnings),
/// sorted by file and position. Rules are in the order of `files`.
///
/// `files` may hold Python files (`.py`) too: the rules, helpers and data models that name them
/// find them here; a Python rule that cannot be compiled exactly is an error of that rule.
pub fn check_all(files: &[SourceFile]) -> (Vec<Rule>, Vec<Diagnostic>) {
    let mut rules = Vec::new();
    let mut diags = Vec::new();
    let mut globals = Vec::new();
    let mut models = Vec::new();
    for file in files.iter().filter(|f| !f.path.ends_with(".py")) {
        match support::analysis_type(file).as_deref() {
            Some(kind @ ("global" | "datamodel")) => {
                let (found, mut file_diags) = support::check(file, kind);
                diags.append(&mut file_diags);
                match found {
                    Some(support::Support::Global(g)) => globals.push(g),
                    Some(support::Support::DataModel(m)) => models.push(m),
                    None => {}
                }
            }
            _ => {
                let (rule, mut file_diags) = check_file(file);
                diags.append(&mut file_diags);
                rules.extend(rule);
            }
        }
    }
    diags.extend(cross_file(files, &rules));
    let ids: std::collections::HashSet<&str> =
        diags.iter().filter(|d| d.is_error()).map(|d| d.path.as_str()).collect();
    let mut rules: Vec<Rule> = rules.into_iter().filter(|r| !ids.contains(r.source.as_str())).collect();
    crate::python::link(&mut rules, &globals, &models, files, &mut diags);
    diags.sort_by(|a, b| (&a.path, a.span.start).cmp(&(&b.path, b.span.start)));
    (rules, diags)
}

/// Checks one file on its own. The rule is returned only if the file has no errors.
pub fn check_file(file: &SourceFile) -> (Option<Rule>, Vec<Diagnostic>) {
    let (node, mut diags) = yaml::parse(&file.path, &file.text);
    let mut cx = Ctx { file, diags: Vec::new(), template_values: Vec::new() };
    let rule = match node {
        Some(node) => cx.rule(&node),
        None if diags.is_empty() => {
            cx.report(cx.error(Span::new(0, 0), "empty rule file").help(
                "a rule file holds one mapping with at least `AnalysisType`, `RuleID`, `Enabled`, \
                 `Severity`, `LogTypes` and `Detection`",
            ));
            None
        }
        None => None,
    };
    diags.append(&mut cx.diags);
    let ok = !diags.iter().any(Diagnostic::is_error);
    (rule.filter(|_| ok), diags)
}

/// Rules that no single file can break: unique `RuleID`s and unique module names.
fn cross_file(files: &[SourceFile], rules: &[Rule]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let span_of = |rule: &Rule, key: &str| -> Span {
        files
            .iter()
            .find(|f| f.path == rule.source)
            .and_then(|f| top_level_key_span(f, key))
            .unwrap_or_default()
    };
    let mut by_id: HashMap<&str, &Rule> = HashMap::new();
    let mut by_module: HashMap<&str, &Rule> = HashMap::new();
    for rule in rules {
        if let Some(first) = by_id.insert(&rule.id, rule) {
            diags.push(
                Diagnostic::error(
                    &rule.source,
                    span_of(rule, "RuleID"),
                    format!("duplicate RuleID `{}`", rule.id),
                )
                .label("used again here")
                .related(&first.source, span_of(first, "RuleID"), "first used here")
                .help("every rule needs its own RuleID: rename one of them"),
            );
            by_id.insert(&first.id, first);
        }
        if rule.module == "by_log_type" || rule.module == "presets" {
            diags.push(
                Diagnostic::error(
                    &rule.source,
                    Span::default(),
                    format!("the file name `{}` is reserved", rule.module),
                )
                .help("generated code uses a module of that name: rename the rule file"),
            );
        }
        if let Some(first) = by_module.insert(&rule.module, rule) {
            diags.push(
                Diagnostic::error(
                    &rule.source,
                    Span::default(),
                    format!(
                        "rule files `{}` and `{}` both compile to module `{}`",
                        first.source, rule.source, rule.module
                    ),
                )
                .label("this file")
                .related(&first.source, Span::default(), "and this one")
                .help("generated modules and tests are named after the file name: rename one of the files"),
            );
            by_module.insert(&first.module, first);
        }
    }
    diags
}

pub(crate) fn top_level_key_span(file: &SourceFile, key: &str) -> Option<Span> {
    let (node, _) = yaml::parse(&file.path, &file.text);
    let node = node?;
    let entries = node.as_map()?;
    entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v.span)
}

const RULE_KEYS: &[&str] = &[
    "AnalysisType",
    "RuleID",
    "Enabled",
    "LogTypes",
    "ScheduledQueries",
    "Severity",
    "Detection",
    "Filename",
    "DisplayName",
    "Description",
    "Reference",
    "Runbook",
    "CreatedBy",
    "Status",
    "Tags",
    "OutputIds",
    "SummaryAttributes",
    "Reports",
    "DedupPeriodMinutes",
    "Threshold",
    "CreateAlert",
    "InlineFilters",
    "AlertTitle",
    "AlertContext",
    "GroupBy",
    "DynamicSeverities",
    "TemplateValues",
    "AlertDedup",
    "OnlyUseBaseRiskScore",
    "BaseVersion",
    "Tests",
];

const OTHER_ANALYSIS_TYPES: &[&str] = &[
    "policy",
    "correlation_rule",
    "scheduled_query",
    "saved_query",
    "datamodel",
    "global",
    "pack",
    "lookup_table",
    "scheduled_prompt",
];

/// Where checking one file stands: the file and the diagnostics found so far.
pub(crate) struct Ctx<'s> {
    pub file: &'s SourceFile,
    pub diags: Vec<Diagnostic>,
    /// The `TemplateValues` names a template being checked may use (`{$name}`).
    pub template_values: Vec<String>,
}

/// A YAML mapping whose keys were checked against a list of known keys.
#[derive(Clone, Copy)]
pub(crate) struct Mapping<'n> {
    pub node: &'n Node,
    pub entries: &'n [(Node, Node)],
}

impl<'n> Mapping<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    pub fn key(&self, key: &str) -> Option<&'n Node> {
        self.entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(k, _)| k)
    }

    /// Whether another key of the mapping looks like a misspelling of `key` (it is reported as
    /// unknown, with `key` as the suggestion; reporting `key` missing too would be noise).
    pub fn misspelt(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(k, _)| k.as_str().is_some_and(|k| k != key && names::nearest(k, [key]).is_some()))
    }

    /// Where to point when the mapping lacks a key: its first key, else the mapping itself.
    pub fn head(&self) -> Span {
        self.entries.first().map_or(self.node.span, |(k, _)| k.span)
    }
}

impl<'s> Ctx<'s> {
    pub fn error(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(&self.file.path, span, message)
    }

    pub fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn line(&self, span: Span) -> u32 {
        u32::try_from(self.file.line(span.start)).unwrap_or(u32::MAX)
    }

    /// `node` as a mapping whose keys are all in `known`; unknown keys are reported with the
    /// nearest known one. `what` names the mapping in messages ("rule", "test case").
    pub fn mapping<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Option<Mapping<'n>> {
        let m = self.map_of(node, what)?;
        self.known_keys(&m, what, known);
        Some(m)
    }

    /// `node` as a mapping, whatever its keys.
    pub fn map_of<'n>(&mut self, node: &'n Node, what: &str) -> Option<Mapping<'n>> {
        let Some(entries) = node.as_map() else {
            self.report(
                self.error(node.span, format!("expected a {what} (a mapping), found {}", node.kind()))
                    .label(format!("this should be a {what}")),
            );
            return None;
        };
        Some(Mapping { node, entries })
    }

    /// Reports every key of `m` that is not in `known`, with the nearest known one.
    pub fn known_keys(&mut self, m: &Mapping, what: &str, known: &[&str]) {
        for (key, _) in m.entries {
            match key.as_str() {
                Some(k) if known.contains(&k) => {}
                Some(k) => {
                    let help = match names::nearest(k, known.iter().copied()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("the keys of a {what} are: {}", known.join(", ")),
                    };
                    self.report(
                        self.error(key.span, format!("unknown key `{k}` in {what}"))
                            .label(format!("not a {what} key"))
                            .help(help),
                    );
                }
                None => self.report(
                    self.error(key.span, format!("the keys of a {what} are strings, found {}", key.kind()))
                        .help(format!("the keys of a {what} are: {}", known.join(", "))),
                ),
            }
        }
    }

    /// The value of a required key, or an error at the mapping's head (unless a misspelt key
    /// already reported as unknown was meant to be this one).
    pub fn required<'n>(&mut self, m: &Mapping<'n>, key: &str, what: &str, help: &str) -> Option<&'n Node> {
        let value = m.get(key);
        if value.is_none() && !m.misspelt(key) {
            self.report(
                self.error(m.head(), format!("{what} has no `{key}`"))
                    .label(format!("this {what} needs `{key}`"))
                    .help(help.to_string()),
            );
        }
        value
    }

    pub fn string<'n>(&mut self, node: &'n Node, key: &str) -> Option<&'n str> {
        match &node.value {
            Value::Str(s) => Some(s),
            _ => {
                let help = match &node.value {
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null => {
                        format!("quote it to make it a string: `{key}: \"{}\"`", node.key_text())
                    }
                    _ => format!("`{key}` takes a single string"),
                };
                self.report(
                    self.error(node.span, format!("`{key}` must be a string, found {}", node.kind()))
                        .label("expected a string")
                        .help(help),
                );
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &Node, key: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            other => {
                let mut d = self
                    .error(node.span, format!("`{key}` must be true or false, found {}", node.kind()))
                    .label("expected a boolean");
                if let Value::Str(s) = other
                    && ["yes", "no", "on", "off", "y", "n"].contains(&s.to_ascii_lowercase().as_str())
                {
                    d = d.help(format!("YAML 1.2: only `true` and `false` are booleans; `{s}` is a string"));
                }
                self.report(d);
                None
            }
        }
    }

    /// A whole number in `min..=u32::MAX`.
    pub fn count(&mut self, node: &Node, key: &str, min: u32) -> Option<u32> {
        match node.value {
            Value::Int(i) if i >= i128::from(min) && i <= i128::from(u32::MAX) => Some(i as u32),
            Value::Int(_) => {
                self.report(
                    self.error(node.span, format!("`{key}` must be at least {min}")).label("out of range"),
                );
                None
            }
            _ => {
                self.report(
                    self.error(node.span, format!("`{key}` must be a whole number, found {}", node.kind()))
                        .label("expected an integer"),
                );
                None
            }
        }
    }

    /// A list of strings (`Tags: [a, b]`).
    pub fn strings(&mut self, node: &Node, key: &str) -> Option<Vec<String>> {
        let Some(items) = node.as_seq() else {
            self.report(
                self.error(node.span, format!("`{key}` must be a list of strings, found {}", node.kind()))
                    .label("expected a list")
                    .help(format!("write `{key}: [first, second]` or one `- item` per line")),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.string(item, key) {
                Some(s) => out.push(s.to_string()),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A list of nodes (`Tests:`, `AlertContext:`).
    pub fn list<'n>(&mut self, node: &'n Node, key: &str) -> Option<&'n [Node]> {
        let items = node.as_seq();
        if items.is_none() {
            self.report(
                self.error(node.span, format!("`{key}` must be a list, found {}", node.kind()))
                    .label("expected a list")
                    .help("start each item with `- `"),
            );
        }
        items
    }

    fn severity(&mut self, node: &Node, key: &str) -> Option<Severity> {
        let text = self.string(node, key)?;
        let found =
            Severity::ALL.into_iter().find(|s| s.name() == text || s.name().to_ascii_uppercase() == text);
        if found.is_none() {
            let names = Severity::ALL.map(Severity::name);
            let help = match names::nearest(text, names) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("a severity is one of {}", names.join(", ")),
            };
            self.report(
                self.error(node.span, format!("unknown severity `{text}`"))
                    .label("not a severity")
                    .help(help),
            );
        }
        found
    }

    /// A rule name (`RuleID`, `DisplayName`): non-empty and free of `<>&"%` (Panther's rule).
    fn name(&mut self, node: &Node, key: &str) -> Option<String> {
        let text = self.string(node, key)?;
        if text.trim().is_empty() {
            self.report(self.error(node.span, format!("`{key}` is empty")).label("empty"));
            return None;
        }
        if let Some(bad) = text.chars().find(|c| "<>&\"%".contains(*c)) {
            self.report(
                self.error(node.span, format!("`{key}` contains `{bad}`"))
                    .label("not allowed here")
                    .help(format!("`{key}` may not contain any of < > & \" %")),
            );
            return None;
        }
        Some(text.to_string())
    }

    fn rule(&mut self, node: &Node) -> Option<Rule> {
        let m = self.map_of(node, "rule")?;
        let Some(kind) = m.get("AnalysisType") else {
            // Under `rules/`, a file without a type is taken for a rule: a misspelt
            // `AnalysisType` is reported as an unknown key with its correction.
            self.known_keys(&m, "rule", RULE_KEYS);
            self.required(&m, "AnalysisType", "rule", "add `AnalysisType: rule`");
            return None;
        };
        // With a type, keys are checked once we know this is a rule at all: a policy has others.
        let scheduled = match self.string(kind, "AnalysisType")? {
            "rule" => false,
            "scheduled_rule" => true,
            other if OTHER_ANALYSIS_TYPES.contains(&other) => {
                self.report(
                    self.error(kind.span, format!("`{other}` analyses are not supported yet"))
                        .label("not supported")
                        .help("this compiler handles `rule` and `scheduled_rule` files; move other analyses out of `rules/`"),
                );
                return None;
            }
            other => {
                let known =
                    ["rule", "scheduled_rule"].into_iter().chain(OTHER_ANALYSIS_TYPES.iter().copied());
                let help = match names::nearest(other, known) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "use `rule` or `scheduled_rule`".to_string(),
                };
                self.report(
                    self.error(kind.span, format!("unknown AnalysisType `{other}`"))
                        .label("not an analysis type")
                        .help(help),
                );
                return None;
            }
        };
        self.known_keys(&m, "rule", RULE_KEYS);

        let id = self
            .required(&m, "RuleID", "rule", "add `RuleID: Your.Rule.Name` (unique across the rule set)")
            .and_then(|n| self.name(n, "RuleID"));
        let display_name = m.get("DisplayName").and_then(|n| self.name(n, "DisplayName"));
        let enabled = self
            .required(
                &m,
                "Enabled",
                "rule",
                "add `Enabled: true` (disabled rules are compiled and tested, but not run)",
            )
            .and_then(|n| self.boolean(n, "Enabled"));
        let severity = self
            .required(
                &m,
                "Severity",
                "rule",
                "add `Severity: Medium` (one of Info, Low, Medium, High, Critical)",
            )
            .and_then(|n| self.severity(n, "Severity"));
        let log_types = self.log_types(&m);
        let detection = self.detection(&m);
        let optional_string =
            |cx: &mut Self, key: &str| m.get(key).and_then(|n| cx.string(n, key).map(str::to_string));
        let description = optional_string(self, "Description");
        let reference = optional_string(self, "Reference");
        let runbook = optional_string(self, "Runbook");
        for key in ["CreatedBy", "Status"] {
            optional_string(self, key);
        }
        let optional_strings =
            |cx: &mut Self, key: &str| m.get(key).and_then(|n| cx.strings(n, key)).unwrap_or_default();
        let tags = optional_strings(self, "Tags");
        let output_ids = optional_strings(self, "OutputIds");
        let summary_attributes = optional_strings(self, "SummaryAttributes");
        let reports = m.get("Reports").map(|n| self.reports(n)).unwrap_or_default();
        let dedup_period_minutes = match m.get("DedupPeriodMinutes") {
            None => Some(60),
            Some(n) => self.count(n, "DedupPeriodMinutes", 1).map(|minutes| {
                if minutes < 5 {
                    self.report(
                        Diagnostic::warning(
                            &self.file.path,
                            n.span,
                            "`DedupPeriodMinutes` below 5 is raised to 5",
                        )
                        .label("raised to 5")
                        .help("Panther's shortest dedup window is 5 minutes"),
                    );
                }
                minutes.max(5)
            }),
        };
        let threshold = m.get("Threshold").map_or(Some(1), |n| self.count(n, "Threshold", 1));
        let create_alert = m.get("CreateAlert").map_or(Some(true), |n| self.boolean(n, "CreateAlert"));
        if let Some(n) = m.get("OnlyUseBaseRiskScore") {
            self.boolean(n, "OnlyUseBaseRiskScore");
        }
        if let Some(n) = m.get("BaseVersion") {
            self.count(n, "BaseVersion", 0);
        }
        let filters =
            m.get("InlineFilters").map(|n| self.steps(n, "InlineFilters", true)).unwrap_or(Some(Vec::new()));
        let template_values =
            m.get("TemplateValues").map(|n| self.template_values(n)).unwrap_or(Some(Vec::new()));
        let title = m.get("AlertTitle").and_then(|n| self.template(n, "AlertTitle"));
        let dedup = m.get("AlertDedup").and_then(|n| self.template(n, "AlertDedup"));
        if let (Some(k), Some(_)) = (m.key("AlertDedup"), m.get("GroupBy")) {
            self.report(
                self.error(k.span, "a rule has `GroupBy` or `AlertDedup`, not both")
                    .label("second dedup key")
                    .help("`GroupBy` joins fields with `:`; `AlertDedup` is a template like `AlertTitle`"),
            );
        }
        let group_by = m.get("GroupBy").map(|n| self.group_by(n)).unwrap_or(Some(Vec::new()));
        let context = m.get("AlertContext").map(|n| self.alert_context(n)).unwrap_or(Some(Vec::new()));
        let dynamic_severities =
            m.get("DynamicSeverities").map(|n| self.dynamic_severities(n)).unwrap_or(Some(Vec::new()));
        let tests = m.get("Tests").map(|n| self.tests(n)).unwrap_or(Some(Vec::new()));
        let module = self.module_name();
        let python = match (m.get("Filename"), m.get("Detection")) {
            (Some(n), None) => Some(self.python_file(n)?),
            _ => None,
        };

        Some(Rule {
            source: self.file.path.clone(),
            module: module?,
            id: id?,
            display_name,
            enabled: enabled?,
            scheduled,
            log_types: log_types?,
            severity: severity?,
            description,
            reference,
            runbook,
            tags,
            reports,
            dedup_period_minutes: dedup_period_minutes?,
            threshold: threshold?,
            create_alert: create_alert?,
            summary_attributes,
            output_ids,
            filters: filters?,
            detection: detection?,
            title,
            template_values: template_values?,
            dedup,
            group_by: group_by?,
            context: context?,
            dynamic_severities: dynamic_severities?,
            tests: tests?,
            python: python.map(|file| ir::Python {
                file,
                functions: Vec::new(),
                items: String::new(),
                shared: Vec::new(),
                data_models: Vec::new(),
                lowered: false,
                constants: Vec::new(),
                state: Vec::new(),
            }),
        })
    }

    /// A `Filename`, as a path relative to the workspace root (it names a file beside the YAML).
    pub(crate) fn python_file(&mut self, node: &Node) -> Option<String> {
        let name = self.string(node, "Filename")?;
        if !name.ends_with(".py") || name.contains("..") || name.starts_with('/') {
            self.report(
                self.error(
                    node.span,
                    format!("`Filename` must name a `.py` file beside the YAML, found `{name}`"),
                )
                .label("not a Python file name")
                .help("write the file name only, e.g. `Filename: my_rule.py`"),
            );
            return None;
        }
        let dir = self.file.path.rsplit_once('/').map_or("", |(d, _)| d);
        Some(if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") })
    }

    fn module_name(&mut self) -> Option<String> {
        let stem = self.file.path.rsplit('/').next().unwrap_or(&self.file.path);
        let stem = stem.strip_suffix(".yml").or_else(|| stem.strip_suffix(".yaml")).unwrap_or(stem);
        let module = names::snake_case(stem, "rule_");
        if module.is_none() {
            self.report(
                self.error(Span::default(), format!("cannot name a Rust module after file name `{stem}`"))
                    .help("name rule files with letters, digits and `_`, e.g. `aws_ec2_stopinstances.yml`"),
            );
        }
        module
    }

    fn log_types(&mut self, m: &Mapping) -> Option<Vec<String>> {
        let (key, node) = match (m.get("LogTypes"), m.get("ScheduledQueries")) {
            (Some(n), None) => ("LogTypes", n),
            (None, Some(n)) => ("ScheduledQueries", n),
            (Some(_), Some(_)) => {
                let span = m.key("ScheduledQueries").map_or(m.head(), |k| k.span);
                self.report(
                    self.error(span, "a rule has `LogTypes` or `ScheduledQueries`, not both")
                        .label("second source of events")
                        .help("use `LogTypes` for a streaming rule, `ScheduledQueries` for a scheduled rule"),
                );
                return None;
            }
            (None, None) if m.misspelt("LogTypes") || m.misspelt("ScheduledQueries") => return None,
            (None, None) => {
                self.report(
                    self.error(m.head(), "rule has no `LogTypes`")
                        .label("which events does this rule see?")
                        .help(
                            "add `LogTypes: [AWS.CloudTrail]` (or `ScheduledQueries` for a scheduled rule)",
                        ),
                );
                return None;
            }
        };
        let types = self.strings(node, key)?;
        if types.is_empty() {
            self.report(
                self.error(node.span, format!("`{key}` is empty"))
                    .label("the rule would never run")
                    .help(format!("name at least one, e.g. `{key}: [AWS.CloudTrail]`")),
            );
            return None;
        }
        Some(types)
    }

    fn detection(&mut self, m: &Mapping) -> Option<Vec<ir::Step>> {
        match (m.get("Detection"), m.key("Filename")) {
            (Some(_), Some(file)) => {
                self.report(
                    self.error(file.span, "a rule has `Detection` or `Filename`, not both")
                        .label("remove this")
                        .help("`Detection` holds the declarative logic; `Filename` names a Python file"),
                );
                None
            }
            (None, Some(_)) => Some(Vec::new()),
            (Some(node), None) => self.steps(node, "Detection", false),
            (None, None) if m.misspelt("Detection") => None,
            (None, None) => {
                self.report(
                    self.error(m.head(), "rule has no `Detection`")
                        .label("what does this rule match?")
                        .help("add `Detection:` with a list of match expressions, e.g. `- {Key: eventName, Condition: Equals, Value: StopInstances}`"),
                );
                None
            }
        }
    }

    fn reports(&mut self, node: &Node) -> Vec<(String, Vec<String>)> {
        let Some(m) = self.map_of(node, "Reports mapping") else { return Vec::new() };
        let mut out = Vec::new();
        for (key, value) in m.entries {
            let Some(framework) = key.as_str() else { continue };
            let Some(items) = self.list(value, framework) else { continue };
            let mut ids = Vec::new();
            for item in items {
                match &item.value {
                    Value::Str(s) => ids.push(s.clone()),
                    Value::Int(_) | Value::Float(_) => ids.push(item.key_text()),
                    _ => self.report(
                        self.error(
                            item.span,
                            format!("report items are strings or numbers, found {}", item.kind()),
                        )
                        .label("expected e.g. `TA0004:T1078`"),
                    ),
                }
            }
            out.push((framework.to_string(), ids));
        }
        out
    }

    /// `TemplateValues`: each `{Name, Cases: [{Conditions?, Template}]}` or `{Preset: name}`; a
    /// template may use the values defined before it. Leaves every name in scope for the rule's
    /// other templates.
    fn template_values(&mut self, node: &Node) -> Option<Vec<ir::TemplateValue>> {
        let items = self.list(node, "TemplateValues")?;
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            if let Some([(k, v)]) = item.as_map()
                && k.as_str() == Some("Preset")
            {
                match self.template_values_preset(v) {
                    Some(values) => out.extend(values),
                    None => ok = false,
                }
                continue;
            }
            match self.template_value(item) {
                Some(value) => out.push(value),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// `- Preset: name`: the entries of a built-in preset (`template_presets.yml`), checked as
    /// a rule's own are.
    fn template_values_preset(&mut self, node: &Node) -> Option<Vec<ir::TemplateValue>> {
        const PRESETS: &str = include_str!("template_presets.yml");
        let name = self.string(node, "Preset")?;
        let file = SourceFile { path: "codegen/src/check/template_presets.yml".into(), text: PRESETS.into() };
        let (parsed, _) = yaml::parse(&file.path, &file.text);
        let presets = parsed.as_ref().and_then(Node::as_map).expect("the presets parse");
        let Some((_, entries)) = presets.iter().find(|(k, _)| k.as_str() == Some(name)) else {
            let known = presets.iter().filter_map(|(k, _)| k.as_str());
            let help = match names::nearest(name, known.clone()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the presets are: {}", known.collect::<Vec<_>>().join(", ")),
            };
            self.report(
                self.error(node.span, format!("unknown TemplateValues preset `{name}`"))
                    .label("no such preset")
                    .help(help),
            );
            return None;
        };
        let mut inner = Ctx { file: &file, diags: Vec::new(), template_values: self.template_values.clone() };
        let mut values = inner.template_values(entries);
        assert!(inner.diags.is_empty(), "a built-in preset has errors: {:?}", inner.diags);
        values.iter_mut().flatten().for_each(|v| v.preset = Some(name.to_string()));
        for v in values.iter().flatten() {
            if self.template_values.contains(&v.name) {
                self.report(
                    self.error(node.span, format!("template value `{}` is defined twice", v.name))
                        .label("the preset defines it too")
                        .help("give each template value its own name"),
                );
                return None;
            }
            self.template_values.push(v.name.clone());
        }
        values
    }

    /// One `{Name, Cases}` entry of `TemplateValues`.
    fn template_value(&mut self, item: &Node) -> Option<ir::TemplateValue> {
        const RESERVED: &[&str] = &[
            "decide",
            "alert_title",
            "alert_dedup",
            "group_by",
            "alert_context",
            "dynamic_severity",
            "event",
            // Functions of the prelude that generated templates call.
            "deep_walk",
            "deep_walk_type",
        ];
        let m = self.mapping(item, "template value", &["Name", "Cases"])?;
        let mut ok = true;
        let name_node = self.required(&m, "Name", "template value", "add `Name: kind`");
        let name = name_node.and_then(|n| self.string(n, "Name")).map(str::to_string);
        if let (Some(name), Some(n)) = (&name, name_node) {
            // A Rust function name: lower-case, not a keyword (`snake_case` renames those).
            let snake = name.starts_with(|c: char| c.is_ascii_lowercase())
                && names::snake_case(name, "").is_some_and(|s| s == *name);
            if !snake || RESERVED.contains(&name.as_str()) {
                self.report(
                    self.error(n.span, format!("`{name}` cannot name a template value"))
                        .label("not a lower-case name, or taken")
                        .help("use lower-case letters, digits and `_` (e.g. `db_kind`), not a Rust keyword nor one of the rule's function names"),
                );
                ok = false;
            } else if self.template_values.contains(name) {
                self.report(
                    self.error(n.span, format!("template value `{name}` is defined twice"))
                        .label("again")
                        .help("give each template value its own name"),
                );
                ok = false;
            }
        }
        let cases = self
            .required(
                &m,
                "Cases",
                "template value",
                "add `Cases:` with `- Template: \"...\"` entries (and `Conditions:`)",
            )
            .and_then(|n| self.list(n, "Cases"));
        let mut parsed = Vec::new();
        for case in cases.unwrap_or_default() {
            let Some(c) = self.mapping(case, "template value case", &["Conditions", "Template", "Raise"])
            else {
                ok = false;
                continue;
            };
            let conditions = match c.get("Conditions") {
                Some(n) => self.expressions(n, "Conditions", false),
                None => Some(Vec::new()),
            };
            let (template, raises) = match (c.get("Template"), c.get("Raise")) {
                (Some(n), None) => (self.template(n, "Template"), false),
                (None, Some(n)) => (self.template(n, "Raise"), true),
                (Some(_), Some(_)) => {
                    let at = c.key("Raise").map_or(c.head(), |k| k.span);
                    self.report(
                        self.error(at, "a template value case has `Template` or `Raise`, not both")
                            .label("second outcome")
                            .help("`Template` is the value; `Raise` is the `repr` of the exception the case raises"),
                    );
                    (None, false)
                }
                (None, None) => {
                    self.report(
                        self.error(c.head(), "a template value case has no `Template`")
                            .label("which value?")
                            .help("add `Template: \"text with {placeholders}\"` (or `Raise: \"KeyError('k')\"`)"),
                    );
                    (None, false)
                }
            };
            match (conditions, template) {
                (Some(conditions), Some(template)) => parsed.push(ir::Case { conditions, template, raises }),
                _ => ok = false,
            }
        }
        let name = name.filter(|_| ok)?;
        self.template_values.push(name.clone());
        Some(ir::TemplateValue { name, cases: parsed, preset: None })
    }

    fn dynamic_severities(&mut self, node: &Node) -> Option<Vec<ir::DynamicSeverity>> {
        let items = self.list(node, "DynamicSeverities")?;
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            let Some(m) = self.mapping(item, "dynamic severity", &["ChangeTo", "Conditions"]) else {
                ok = false;
                continue;
            };
            let severity = self
                .required(&m, "ChangeTo", "dynamic severity", "add `ChangeTo: High`")
                .and_then(|n| self.severity(n, "ChangeTo"));
            let conditions = self
                .required(
                    &m,
                    "Conditions",
                    "dynamic severity",
                    "add `Conditions:` with the match expressions that raise the severity",
                )
                .and_then(|n| self.expressions(n, "Conditions", false));
            match (severity, conditions) {
                (Some(severity), Some(conditions)) => out.push(ir::DynamicSeverity { severity, conditions }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests;
