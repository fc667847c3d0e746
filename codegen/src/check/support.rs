//! The analyses that support Python rules: `global` (a helper module, importable by its
//! `GlobalID`) and `datamodel` (`Mappings` of names to paths or methods, for `event.udm`).
//!
//! Must not: read or parse the Python files they name (see `python`).

use super::{Ctx, Mapping};
use crate::diag::{Diagnostic, SourceFile, Span};
use crate::yaml::{self, Node};

/// A helper module.
#[derive(Clone, Debug)]
pub struct Global {
    pub id: String,
    /// The YAML file.
    pub source: String,
    /// The `.py`, relative to the workspace root.
    pub file: String,
    pub span: Span,
}

/// A data model.
#[derive(Clone, Debug)]
pub struct DataModel {
    pub id: String,
    pub source: String,
    pub enabled: bool,
    pub log_types: Vec<String>,
    pub file: Option<String>,
    pub mappings: Vec<ModelMapping>,
}

#[derive(Clone, Debug)]
pub struct ModelMapping {
    pub name: String,
    pub target: Target,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `Path`: a key, or a JSONPath (`$.a.b`).
    Path(String),
    /// `Method`: a function of the model's `.py`.
    Method(String),
}

pub enum Support {
    Global(Global),
    DataModel(DataModel),
}

const GLOBAL_KEYS: &[&str] = &["AnalysisType", "GlobalID", "Filename", "Description", "Tags"];
const MODEL_KEYS: &[&str] = &[
    "AnalysisType",
    "DataModelID",
    "DisplayName",
    "Enabled",
    "Filename",
    "LogTypes",
    "Mappings",
    "Description",
];

/// The `AnalysisType` of a YAML file, if it has a readable one.
pub fn analysis_type(file: &SourceFile) -> Option<String> {
    let (node, _) = yaml::parse(&file.path, &file.text);
    let node = node?;
    let entries = node.as_map()?;
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some("AnalysisType"))
        .and_then(|(_, v)| v.as_str().map(str::to_string))
}

/// Checks a `global` or `datamodel` file.
pub fn check(file: &SourceFile, kind: &str) -> (Option<Support>, Vec<Diagnostic>) {
    let (node, mut diags) = yaml::parse(&file.path, &file.text);
    let mut cx = Ctx { file, diags: Vec::new(), template_values: Vec::new() };
    let out = node.and_then(|node| match kind {
        "global" => cx.global(&node).map(Support::Global),
        _ => cx.data_model(&node).map(Support::DataModel),
    });
    diags.append(&mut cx.diags);
    let ok = !diags.iter().any(Diagnostic::is_error);
    (out.filter(|_| ok), diags)
}

impl Ctx<'_> {
    fn global(&mut self, node: &Node) -> Option<Global> {
        let m = self.mapping(node, "global helper", GLOBAL_KEYS)?;
        let id = self.required(
            &m,
            "GlobalID",
            "global helper",
            "add `GlobalID: module_name` (the name rules import)",
        )?;
        let span = id.span;
        let id = self.module_id(id)?;
        let file = self.required(&m, "Filename", "global helper", "add `Filename: module_name.py`")?;
        let file = self.python_file(file)?;
        self.optional_text(&m, "Description");
        if let Some(n) = m.get("Tags") {
            self.strings(n, "Tags");
        }
        Some(Global { id, source: self.file.path.clone(), file, span })
    }

    fn module_id(&mut self, node: &Node) -> Option<String> {
        let id = self.string(node, "GlobalID")?;
        let valid = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.report(
                self.error(node.span, format!("`GlobalID` `{id}` is not a Python module name"))
                    .label("rules import the helper by this name")
                    .help("use letters, digits and `_`, e.g. `panther_base_helpers`"),
            );
            return None;
        }
        Some(id.to_string())
    }

    fn optional_text(&mut self, m: &Mapping, key: &str) {
        if let Some(n) = m.get(key) {
            self.string(n, key);
        }
    }

    fn data_model(&mut self, node: &Node) -> Option<DataModel> {
        let m = self.mapping(node, "data model", MODEL_KEYS)?;
        let id = self
            .required(&m, "DataModelID", "data model", "add `DataModelID: Standard.Log.Type`")
            .and_then(|n| self.string(n, "DataModelID").map(str::to_string));
        let enabled = m.get("Enabled").map_or(Some(true), |n| self.boolean(n, "Enabled"));
        let log_types = self
            .required(&m, "LogTypes", "data model", "add `LogTypes: [Your.LogType]`")
            .and_then(|n| self.strings(n, "LogTypes"));
        let file = match m.get("Filename") {
            Some(n) => Some(self.python_file(n)?),
            None => None,
        };
        self.optional_text(&m, "DisplayName");
        self.optional_text(&m, "Description");
        let mappings = self.required(
            &m,
            "Mappings",
            "data model",
            "add `Mappings:` with `- Name: …` and `Path:` or `Method:`",
        );
        let mut out = Vec::new();
        let mut ok = true;
        if let Some(items) = mappings.and_then(|n| self.list(n, "Mappings")) {
            for item in items {
                let Some(entry) = self.mapping(item, "data model mapping", &["Name", "Path", "Method"])
                else {
                    ok = false;
                    continue;
                };
                let name = self
                    .required(&entry, "Name", "data model mapping", "add `Name: source_ip`")
                    .and_then(|n| self.string(n, "Name").map(str::to_string));
                let target = match (entry.get("Path"), entry.get("Method")) {
                    (Some(p), None) => self.string(p, "Path").map(|p| Target::Path(p.to_string())),
                    (None, Some(f)) => self.string(f, "Method").map(|f| Target::Method(f.to_string())),
                    _ => {
                        self.report(
                            self.error(entry.head(), "a data model mapping has a `Path` or a `Method`, not both or neither")
                                .help("`Path: $.field.path` reads the event; `Method: function_name` calls the model's Python"),
                        );
                        None
                    }
                };
                if matches!(target, Some(Target::Method(_))) && file.is_none() {
                    self.report(
                        self.error(item.span, "a `Method` mapping needs the data model's `Filename`")
                            .help("add `Filename: model.py` with the function"),
                    );
                    ok = false;
                }
                match (name, target) {
                    (Some(name), Some(target)) => out.push(ModelMapping { name, target, span: item.span }),
                    _ => ok = false,
                }
            }
        }
        if !ok {
            return None;
        }
        Some(DataModel {
            id: id?,
            source: self.file.path.clone(),
            enabled: enabled?,
            log_types: log_types?,
            file,
            mappings: out,
        })
    }
}
