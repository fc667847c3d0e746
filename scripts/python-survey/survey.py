#!/usr/bin/env python3
"""Survey the Python detection rules of a panther-analysis corpus.

Computes, for every rule (AnalysisType rule / scheduled_rule) whose .py exists,
the set of Python "constructs" used by the rule file plus the helper functions
(global helpers, data-model methods) transitively reachable from it, and writes:

  target/python-survey/constructs.tsv   construct, #rules, #tests of those rules
  target/python-survey/rules.tsv        rule id, family, .py path, constructs (+ extras)
  target/python-survey/curve.tsv        greedy coverage curve (all steps)
  target/python-survey/helpers.tsv      reachable helper function -> #rules
  target/python-survey/SUMMARY.md       human-readable summary

Usage: python3 survey.py [CORPUS_DIR] [OUT_DIR]
Read-only on the corpus; single process, stdlib + PyYAML.

Construct naming scheme (prefix:detail):
  node:<AstType>        statement / expression node kinds (Name, Call, Attribute,
                        Constant, Expr, FunctionDef, Return are included too)
  BinOp:<op> UnaryOp:<op> BoolOp:<op> Compare:<op> AugAssign:<op>, Compare:chained
  const:<type>          literal kinds (str, int, float, bool, None, bytes, Ellipsis)
  strfmt:percent        "..." % x (BinOp Mod with a string literal on the left)
  fstring:format_spec, fstring:conversion_r/s/a, fstring:nested_format_spec
  method:<name>         method call on an arbitrary object  (x.lower())
  attr:<name>           non-call attribute read on an arbitrary object (m.start, ip.is_private)
  attr_store:<name>     attribute assignment (obj.x = ...)
  event.<name>          method call on the `event` object (event.get, event.deep_get, event.udm ...)
  event.attr:<name>     attribute read on event;  event.subscript: event[...]
  builtin:<name>        call of a builtin (len, str, sorted ...); builtin:str.lower for
                        calls through builtin types
  builtin_ref:<name>    builtin used as a value (isinstance(x, dict), map(str, ...), key=len)
  exc:<Name>            exception class named in except / raise
  call:<module.path>    call of a stdlib / third-party function (call:re.search,
                        call:datetime.datetime.strptime, call:dateutil.parser.parse)
  ref:<module.path>     non-call reference into stdlib / third-party (ref:re.IGNORECASE)
  cache:<fn>            panther_detection_helpers.caching functions
  call:user_function    call of a function defined in the rule file / a helper module
  call:class_instantiation, call:indirect (call of a local variable / parameter),
  call:global_value (call of a module-level non-def name), call:subscript_result,
  call:call_result, call:unresolved:<name>
  funcref:user_function a user/helper function used as a value (passed, stored)
  kw:<callee>.<kwarg>   keyword argument at a call site (kw:sorted.key, kw:deep_get.default)
  callsite:keyword, callsite:star_args, callsite:double_star_kwargs
  def:default_args, def:varargs, def:kwargs, def:kwonly, def:posonly, def:annotations,
  def:nested, def:generator, def:lambda_default_args, decorator:<name>
  class:base:<Name>, class:method, class:init, class:attr_assign
  assign:unpack, assign:starred_unpack, assign:multi_target, assign:subscript_store,
  for:unpack, for:else, while:else, comp:unpack, comp:if, comp:multi_for, with:as
  try:except_bare, try:except_tuple, try:except_as, try:multi_handler, try:else, try:finally
  slice:step, subscript:negative_index
  global:cross_function (a `global` name written in one function and read in another),
  global:subscript_store, global:mutating_method (module-level containers mutated in a function)
  module:stmt:<Type>    non-def, non-assign, non-import statements at module top level
  lookup:p_enrichment, lookup:LookupTableMatches, pfield:<p_*>  (Panther standard fields)
  udm:path_simple, udm:path_jsonpath, udm:method   (data-model mapping kinds reached via event.udm)
  mock:<objectName>     test cases mocking that object (needs mockable globals/functions)
"""
from __future__ import annotations

import ast
import builtins
import collections
import os
import re
import sys
from pathlib import Path

import yaml

try:
    Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    Loader = yaml.SafeLoader

CORPUS = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / "shared/corpus/panther-analysis")
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).resolve().parents[2] / "target/python-survey")
OUT.mkdir(parents=True, exist_ok=True)

BUILTINS = set(dir(builtins))
CACHE_MODULE = "panther_detection_helpers.caching"
STDLIB = set(getattr(sys, "stdlib_module_names", ()))
# Helpers treated as runtime intrinsics in the "variant B" analysis
INTRINSIC_HELPERS = {("panther_base_helpers", "deep_get"), ("panther_base_helpers", "deep_walk")}

SKIP_NODES = {
    "Load", "Store", "Del", "Module", "alias", "arguments", "arg", "keyword",
    "comprehension", "Import", "ImportFrom", "ExceptHandler", "match_case",
    "withitem", "TypeIgnore",
}
OP_PARENTS = {"BinOp", "UnaryOp", "BoolOp", "Compare", "AugAssign"}
# names of methods / attributes defined by user classes (rule files, helpers, data models);
# filled in main() before any unit is visited.
USER_MEMBERS = set()
BUILTIN_TYPE_MEMBERS = set()
for _t in (str, bytes, dict, list, set, frozenset, tuple, int, float, bool):
    BUILTIN_TYPE_MEMBERS.update(n for n in dir(_t) if not n.startswith("__"))


def user_member(name):
    return name in USER_MEMBERS and name not in BUILTIN_TYPE_MEMBERS


def collect_user_members(mod):
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ClassDef):
            for s in node.body:
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    USER_MEMBERS.add(s.name)
                elif isinstance(s, ast.Assign):
                    for t in s.targets:
                        if isinstance(t, ast.Name):
                            USER_MEMBERS.add(t.id)
            for n in ast.walk(node):
                if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and \
                        isinstance(n.value, ast.Name) and n.value.id == "self":
                    USER_MEMBERS.add(n.attr)


MUTATING_METHODS = {
    "append", "extend", "add", "update", "pop", "popitem", "clear", "setdefault",
    "remove", "insert", "discard", "sort", "reverse",
}


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=Loader)


def parse_py(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    return ast.parse(src, filename=str(path))


# --------------------------------------------------------------------------- modules


class Module:
    """A parsed Python file with its import table and top-level definitions."""

    def __init__(self, name, path, tree, kind):
        self.name = name  # helper GlobalID, or rule id / datamodel id
        self.path = path
        self.tree = tree
        self.kind = kind  # helper | rule | datamodel
        self.imports = {}  # local name -> ("helper", mod, attr|None) | ("ext", dotted)
        self.defs = {}  # top-level name -> list of top-level stmt nodes
        self.funcs = {}  # top-level function name -> node
        self.classes = {}
        self.top = list(tree.body)
        self.global_names = set()  # names declared `global` inside functions

    def index(self, helper_ids):
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in helper_ids:
                        self.imports[a.asname or a.name] = ("helper", a.name, None)
                    elif a.asname:
                        self.imports[a.asname] = ("ext", a.name)
                    else:
                        top = a.name.split(".")[0]
                        self.imports[top] = ("ext", top)
            elif isinstance(node, ast.Global):
                self.global_names.update(node.names)
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                for a in node.names:
                    local = a.asname or a.name
                    if mod in helper_ids:
                        self.imports[local] = ("helper", mod, a.name)
                    elif a.name in helper_ids and not mod:
                        self.imports[local] = ("helper", a.name, None)
                    else:
                        self.imports[local] = ("ext", f"{mod}.{a.name}" if mod else a.name)
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.defs.setdefault(stmt.name, []).append(stmt)
                self.funcs[stmt.name] = stmt
            elif isinstance(stmt, ast.ClassDef):
                self.defs.setdefault(stmt.name, []).append(stmt)
                self.classes[stmt.name] = stmt
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            else:
                for n in ast.walk(stmt):
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                        self.defs.setdefault(n.id, []).append(stmt)
                    elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                        self.defs.setdefault(n.name, []).append(stmt)


def module_def_kind(mod, name):
    stmts = mod.defs.get(name)
    if not stmts:
        return None
    s = stmts[-1]
    if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "func"
    if isinstance(s, ast.ClassDef):
        return "class"
    return "value"


# --------------------------------------------------------------------------- visitor


def dotted(node):
    """Return ['a','b','c'] for a.b.c (base must be a Name) else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def function_locals(fn):
    """Names bound locally in a function/lambda (params + stores), minus global/nonlocal."""
    names, globs = set(), set()
    a = fn.args
    for arg in a.posonlyargs + a.args + a.kwonlyargs:
        names.add(arg.arg)
    if a.vararg:
        names.add(a.vararg.arg)
    if a.kwarg:
        names.add(a.kwarg.arg)
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    for stmt in body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                names.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(n.name)
            elif isinstance(n, (ast.Global, ast.Nonlocal)):
                globs.update(n.names)
            elif isinstance(n, ast.ExceptHandler) and n.name:
                names.add(n.name)
            elif isinstance(n, ast.arg):
                names.add(n.arg)
    return names - globs, globs


class UnitVisitor(ast.NodeVisitor):
    """Collect constructs and outgoing references of one top-level statement."""

    def __init__(self, mod: Module, helpers: dict):
        self.mod = mod
        self.helpers = helpers
        self.c = set()
        self.refs = set()  # (module_name, top-level name) -> other units
        self.scopes = []  # stack of (locals set, nested-def names)
        self.call_funcs = set()  # id() of nodes in call-func position
        self.except_types = set()
        self.fn_stack = []
        self.global_writes = set()  # names declared global and stored
        self.global_reads = collections.defaultdict(set)  # name -> {function names}
        self.user_callee = False
        self.pfields = set()  # Panther standard-field names used as string constants (info only)

    # -- resolution -------------------------------------------------------
    def is_local(self, name):
        return any(name in s[0] for s in self.scopes)

    def resolve_name(self, name):
        """-> (kind, payload) kind in local, nested, module_func, module_class,
        module_value, helper (mod, attr), helper_module, ext dotted, builtin, unknown"""
        for locs, nested in reversed(self.scopes):
            if name in nested:
                return ("nested", name)
            if name in locs:
                return ("local", name)
        k = module_def_kind(self.mod, name)
        if k:
            self.refs.add((self.mod.name, name))
            return ("module_" + k, name)
        if name in self.mod.global_names:
            return ("module_value", name)
        imp = self.mod.imports.get(name)
        if imp:
            if imp[0] == "helper":
                if imp[2] is None:
                    return ("helper_module", imp[1])
                return ("helper", resolve_helper(self.helpers, imp[1], imp[2]))
            return ("ext", imp[1])
        if name in BUILTINS:
            return ("builtin", name)
        return ("unknown", name)

    def helper_target_kind(self, target):
        mod, name = target
        m = self.helpers.get(mod)
        if m is None:
            return "unknown"
        self.refs.add((mod, name))
        return module_def_kind(m, name) or "unknown"

    # -- generic ---------------------------------------------------------
    def visit(self, node):
        t = type(node).__name__
        if t not in SKIP_NODES:
            if t in OP_PARENTS:
                pass
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return  # docstring / bare string: no construct
            elif isinstance(node, ast.Constant):
                v = node.value
                self.c.add("const:" + ("None" if v is None else "Ellipsis" if v is Ellipsis else type(v).__name__))
                if isinstance(v, str):
                    if v == "p_enrichment":
                        self.c.add("lookup:p_enrichment")
                    elif re.fullmatch(r"p_[a-z0-9_]+", v):
                        self.pfields.add(v)
                return
            elif t in ("ListComp", "SetComp", "DictComp", "GeneratorExp", "Lambda"):
                self.c.add("node:" + t)
            elif t.startswith("Async") or t in ("Await",):
                self.c.add("node:" + t)
            elif t.endswith("Op") or t in ("Add", "Sub", "Mult", "Div", "Mod", "Pow", "LShift", "RShift", "BitOr", "BitXor", "BitAnd", "FloorDiv", "MatMult", "And", "Or", "Not", "Invert", "UAdd", "USub", "Eq", "NotEq", "Lt", "LtE", "Gt", "GtE", "Is", "IsNot", "In", "NotIn"):
                return
            else:
                self.c.add("node:" + t)
        return super().visit(node)

    # -- definitions -----------------------------------------------------
    def _visit_args(self, args, lam=False):
        if args.defaults or any(d is not None for d in args.kw_defaults):
            self.c.add("def:lambda_default_args" if lam else "def:default_args")
        if args.vararg:
            self.c.add("def:varargs")
        if args.kwarg:
            self.c.add("def:kwargs")
        if args.kwonlyargs:
            self.c.add("def:kwonly")
        if args.posonlyargs:
            self.c.add("def:posonly")
        for d in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(d)
        if not lam:
            for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if a is not None and a.annotation is not None:
                    self.c.add("def:annotations")

    def visit_FunctionDef(self, node):
        if self.fn_stack:
            self.c.add("def:nested")
        for d in node.decorator_list:
            dn = dotted(d.func if isinstance(d, ast.Call) else d)
            self.c.add("decorator:" + (".".join(dn) if dn else "expr"))
            self.visit(d)
        if node.returns is not None:
            self.c.add("def:annotations")
        self._visit_args(node.args)
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(node)):
            self.c.add("def:generator")
        locs, _ = function_locals(node)
        nested = {s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.scopes.append((locs, nested))
        self.fn_stack.append(node.name)
        for s in node.body:
            self.visit(s)
        self.fn_stack.pop()
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._visit_args(node.args, lam=True)
        locs, _ = function_locals(node)
        self.scopes.append((locs, set()))
        self.visit(node.body)
        self.scopes.pop()

    def visit_ClassDef(self, node):
        for b in node.bases:
            dn = dotted(b)
            self.c.add("class:base:" + (dn[-1] if dn else "expr"))
            self.visit(b)
        for kw in node.keywords:
            self.c.add("class:keyword:" + str(kw.arg))
        for d in node.decorator_list:
            dn = dotted(d.func if isinstance(d, ast.Call) else d)
            self.c.add("decorator:" + (".".join(dn) if dn else "expr"))
        self.scopes.append((set(), set()))
        for s in node.body:
            if isinstance(s, ast.FunctionDef):
                self.c.add("class:init" if s.name == "__init__" else "class:method")
            elif isinstance(s, (ast.Assign, ast.AnnAssign)):
                self.c.add("class:attr_assign")
            self.visit(s)
        self.scopes.pop()

    def visit_AnnAssign(self, node):
        self.c.add("def:annotations")
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def visit_Global(self, node):
        pass

    # -- statements ------------------------------------------------------
    def visit_Assign(self, node):
        if len(node.targets) > 1:
            self.c.add("assign:multi_target")
        for t in node.targets:
            if isinstance(t, (ast.Tuple, ast.List)):
                self.c.add("assign:unpack")
                if any(isinstance(e, ast.Starred) for e in t.elts):
                    self.c.add("assign:starred_unpack")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.c.add("AugAssign:" + type(node.op).__name__)
        self.generic_visit(node)

    def visit_For(self, node):
        if isinstance(node.target, (ast.Tuple, ast.List)):
            self.c.add("for:unpack")
        if node.orelse:
            self.c.add("for:else")
        self.generic_visit(node)

    def visit_While(self, node):
        if node.orelse:
            self.c.add("while:else")
        self.generic_visit(node)

    def visit_With(self, node):
        for it in node.items:
            if it.optional_vars is not None:
                self.c.add("with:as")
        self.generic_visit(node)

    def visit_Try(self, node):
        if len(node.handlers) > 1:
            self.c.add("try:multi_handler")
        for h in node.handlers:
            if h.type is None:
                self.c.add("try:except_bare")
            elif isinstance(h.type, ast.Tuple):
                self.c.add("try:except_tuple")
            if h.name:
                self.c.add("try:except_as")
            if h.type is not None:
                for e in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]):
                    self.except_types.add(id(e))
        if node.orelse:
            self.c.add("try:else")
        if node.finalbody:
            self.c.add("try:finally")
        self.generic_visit(node)

    visit_TryStar = visit_Try

    def visit_Raise(self, node):
        if node.exc is not None:
            e = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            self.except_types.add(id(e))
        if node.cause is not None:
            self.c.add("raise:from")
        self.generic_visit(node)

    # -- expressions -----------------------------------------------------
    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Mod) and (
            (isinstance(node.left, ast.Constant) and isinstance(node.left.value, str))
            or isinstance(node.left, ast.JoinedStr)
        ):
            self.c.add("strfmt:percent")
        else:
            self.c.add("BinOp:" + type(node.op).__name__)
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        self.c.add("UnaryOp:" + type(node.op).__name__)
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        self.c.add("BoolOp:" + type(node.op).__name__)
        self.generic_visit(node)

    def visit_Compare(self, node):
        for op in node.ops:
            self.c.add("Compare:" + type(op).__name__)
        if len(node.ops) > 1:
            self.c.add("Compare:chained")
        self.generic_visit(node)

    def visit_FormattedValue(self, node):
        if node.conversion != -1:
            self.c.add("fstring:conversion_" + chr(node.conversion))
        if node.format_spec is not None:
            self.c.add("fstring:format_spec")
            if any(isinstance(v, ast.FormattedValue) for v in node.format_spec.values):
                self.c.add("fstring:nested_format_spec")
        self.visit(node.value)
        if node.format_spec is not None:
            for v in node.format_spec.values:
                if isinstance(v, ast.FormattedValue):
                    self.visit(v)

    def _comp(self, node):
        for g in node.generators:
            if isinstance(g.target, (ast.Tuple, ast.List)):
                self.c.add("comp:unpack")
            if g.ifs:
                self.c.add("comp:if")
        if len(node.generators) > 1:
            self.c.add("comp:multi_for")
        locs = set()
        for g in node.generators:
            for n in ast.walk(g.target):
                if isinstance(n, ast.Name):
                    locs.add(n.id)
        for n in ast.walk(node):
            if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
                pass  # walrus binds in enclosing scope
        self.scopes.append((locs, set()))
        self.generic_visit(node)
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp

    def visit_Subscript(self, node):
        if isinstance(node.value, ast.Name) and node.value.id == "event" and self.is_local("event"):
            self.c.add("event.subscript")
        sl = node.slice
        if isinstance(sl, ast.Slice) and sl.step is not None:
            self.c.add("slice:step")
        if isinstance(sl, ast.UnaryOp) and isinstance(sl.op, ast.USub):
            self.c.add("subscript:negative_index")
        if isinstance(node.ctx, ast.Store):
            self.c.add("assign:subscript_store")
            if isinstance(node.value, ast.Name) and self.fn_stack and not self.is_local(node.value.id) \
                    and module_def_kind(self.mod, node.value.id) == "value":
                self.c.add("global:subscript_store")
        self.generic_visit(node)

    def visit_Starred(self, node):
        self.generic_visit(node)

    def callee_label(self, func):
        """Classify a call target, add constructs; return short label for kw:."""
        if isinstance(func, ast.Name):
            kind, p = self.resolve_name(func.id)
            if kind == "builtin":
                if id(func) in self.except_types:
                    self.c.add("exc:" + p)
                else:
                    self.c.add("builtin:" + p)
                return p
            if kind == "ext":
                return self.ext_call(p)
            if kind == "module_func" or kind == "nested":
                self.c.add("call:user_function")
                self.user_callee = True
                if kind == "nested":
                    self.c.add("call:nested_function")
                return func.id
            if kind == "module_class":
                self.c.add("call:class_instantiation")
                self.user_callee = True
                return func.id
            if kind == "module_value":
                self.c.add("call:global_value")
                return func.id
            if kind == "helper":
                hk = self.helper_target_kind(p)
                if hk == "class":
                    self.c.add("call:class_instantiation")
                elif hk == "value":
                    self.c.add("call:global_value")
                else:
                    self.c.add("call:user_function")
                self.user_callee = True
                return p[1]
            if kind == "local":
                self.c.add("call:indirect")
                return "<indirect>"
            self.c.add("call:unresolved:" + func.id)
            return func.id
        if isinstance(func, ast.Attribute):
            dn = dotted(func)
            if dn:
                base = dn[0]
                kind, p = self.resolve_name(base)
                if kind == "ext":
                    return self.ext_call(".".join([p] + dn[1:]))
                if kind == "helper_module":
                    tgt = resolve_helper(self.helpers, p, dn[1])
                    hk = self.helper_target_kind(tgt)
                    if len(dn) == 2:
                        self.c.add("call:class_instantiation" if hk == "class" else "call:user_function")
                        self.user_callee = True
                        return dn[1]
                    self.c.add("method:" + func.attr)
                    return func.attr
                if kind == "builtin" and len(dn) == 2:
                    self.c.add(f"builtin:{base}.{dn[1]}")
                    return f"{base}.{dn[1]}"
                if base == "event" and kind == "local" and len(dn) == 2:
                    self.c.add("event." + func.attr)
                    return "event." + func.attr
                if kind == "module_value" and self.fn_stack and len(dn) == 2 and func.attr in MUTATING_METHODS:
                    self.c.add("global:mutating_method")
                if kind in ("helper",) and len(dn) == 2:
                    self.helper_target_kind(p)
            if isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) \
                    and func.value.func.id == "super":
                self.c.add("call:super_method")
                return "super." + func.attr
            if user_member(func.attr) or func.attr.startswith("__"):
                self.c.add("method:user_method")
                self.user_callee = True
                return func.attr
            self.c.add("method:" + func.attr)
            return func.attr
        if isinstance(func, ast.Subscript):
            self.c.add("call:subscript_result")
        elif isinstance(func, ast.Call):
            self.c.add("call:call_result")
        elif isinstance(func, ast.Lambda):
            self.c.add("call:lambda_immediate")
        else:
            self.c.add("call:computed")
        return "<expr>"

    def ext_call(self, full):
        if full.startswith(CACHE_MODULE + "."):
            self.c.add("cache:" + full[len(CACHE_MODULE) + 1:])
            return full[len(CACHE_MODULE) + 1:]
        self.c.add("call:" + full)
        return full

    def visit_Call(self, node):
        self.user_callee = False
        label = self.callee_label(node.func)
        user_callee = self.user_callee
        self.call_funcs.add(id(node.func))
        for a in node.args:
            if isinstance(a, ast.Starred):
                self.c.add("callsite:star_args")
        for kw in node.keywords:
            if kw.arg is None:
                self.c.add("callsite:double_star_kwargs")
            else:
                self.c.add("callsite:keyword")
                if user_callee:
                    # keyword binding to a user-defined signature: one generic feature
                    self.c.add("callsite:keyword_to_user_function")
                else:
                    self.c.add(f"kw:{label}.{kw.arg}")
        self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            is_call = id(node) in self.call_funcs
            is_exc = id(node) in self.except_types
            kind, p = self.resolve_name(node.id)
            if kind in ("module_value",) and self.fn_stack:
                self.global_reads[node.id].add(self.fn_stack[0])
            if is_exc and kind in ("builtin", "unknown"):
                self.c.add("exc:" + node.id)
            elif is_exc and kind == "ext":
                self.c.add("ref:" + p)
            elif is_call:
                pass
            elif kind == "builtin":
                if node.id not in ("True", "False", "None"):
                    self.c.add("builtin_ref:" + node.id)
            elif kind == "ext":
                self.c.add("ref:" + p)
            elif kind in ("module_func", "nested"):
                self.c.add("funcref:user_function")
            elif kind == "helper":
                hk = self.helper_target_kind(p)
                if hk == "func":
                    self.c.add("funcref:user_function")
                elif hk == "class" and is_exc:
                    self.c.add("exc:user_class")
                if p == ("panther_lookuptable_helpers", "LookupTableMatches"):
                    self.c.add("lookup:LookupTableMatches")
            elif kind == "module_class" and is_exc:
                self.c.add("exc:user_class")
            elif kind == "unknown":
                self.c.add("name:unresolved:" + node.id)
        elif isinstance(node.ctx, ast.Store) and self.fn_stack:
            pass

    def visit_Attribute(self, node):
        if id(node) in self.call_funcs:
            # callee already classified; still visit the receiver expression
            dn = dotted(node)
            if dn and len(dn) >= 2:
                kind, _ = self.resolve_name(dn[0])
                if kind in ("ext", "helper_module", "builtin"):
                    return  # module path; no receiver expression to visit
            self.visit(node.value)
            return
        if isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                self.c.add("attr_store:self")
            else:
                self.c.add("attr_store:" + node.attr)
            self.visit(node.value)
            return
        dn = dotted(node)
        if dn:
            kind, p = self.resolve_name(dn[0])
            if kind == "ext":
                self.c.add("ref:" + ".".join([p] + dn[1:]))
                return
            if kind == "helper_module":
                tgt = resolve_helper(self.helpers, p, dn[1])
                hk = self.helper_target_kind(tgt)
                if hk == "func" and len(dn) == 2:
                    self.c.add("funcref:user_function")
                for a in dn[2:]:
                    self.c.add("attr:" + a)
                return
            if kind == "builtin" and len(dn) == 2:
                self.c.add(f"builtin_ref:{dn[0]}.{dn[1]}")
                return
            if dn[0] == "event" and kind == "local" and len(dn) == 2:
                self.c.add("event.attr:" + node.attr)
                return
        self.c.add("attr:user_attr" if user_member(node.attr) else "attr:" + node.attr)
        self.visit(node.value)


def resolve_helper(helpers, mod, name, depth=0):
    """Follow re-exports: (mod, name) -> (defining module, name)."""
    m = helpers.get(mod)
    if m is None or depth > 5:
        return (mod, name)
    if name in m.defs:
        return (mod, name)
    imp = m.imports.get(name)
    if imp and imp[0] == "helper" and imp[2] is not None:
        return resolve_helper(helpers, imp[1], imp[2], depth + 1)
    return (mod, name)


# --------------------------------------------------------------------------- units


class UnitInfo:
    __slots__ = ("constructs", "refs", "global_decl", "global_reads", "fname", "pfields")


UNIT_CACHE = {}


def unit_info(mod: Module, stmt, helpers):
    key = (mod.name, id(stmt))
    if key in UNIT_CACHE:
        return UNIT_CACHE[key]
    v = UnitVisitor(mod, helpers)
    v.visit(stmt)
    info = UnitInfo()
    info.constructs = set(v.c)
    info.pfields = set(v.pfields)
    if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
                             ast.AnnAssign, ast.Import, ast.ImportFrom, ast.Expr)):
        info.constructs.add("module:stmt:" + type(stmt).__name__)
    info.refs = set(v.refs)
    info.global_reads = {k: set(s) for k, s in v.global_reads.items()}
    info.fname = getattr(stmt, "name", None)
    # global names written in this function
    decl = set()
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        gl = set()
        for n in ast.walk(stmt):
            if isinstance(n, ast.Global):
                gl.update(n.names)
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in gl:
                decl.add(n.id)
            # reads of global names inside a function
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in gl:
                info.global_reads.setdefault(n.id, set()).add(stmt.name)
    info.global_decl = decl
    UNIT_CACHE[key] = info
    return info


def reach(roots, modules, helpers, skip=frozenset()):
    """roots: list of (Module, stmt). Returns (constructs, set of (modname, top name) units)."""
    seen_stmt = set()
    reached_names = set()
    constructs = set()
    work = list(roots)
    infos = []
    pfields = set()
    while work:
        mod, stmt = work.pop()
        k = (mod.name, id(stmt))
        if k in seen_stmt:
            continue
        seen_stmt.add(k)
        info = unit_info(mod, stmt, helpers)
        infos.append((mod, info))
        constructs |= info.constructs
        pfields |= info.pfields
        for (mname, name) in info.refs:
            m = modules.get(mname)
            if m is None or (mname, name) in skip:
                continue
            stmts = m.defs.get(name, [])
            if stmts:
                reached_names.add((mname, name))
            for s in stmts:
                work.append((m, s))
    # global:cross_function — per module, a name written (via `global`) in one
    # function and read in another function.
    by_mod = collections.defaultdict(list)
    for mod, info in infos:
        by_mod[mod.name].append(info)
    for infs in by_mod.values():
        writes = collections.defaultdict(set)
        reads = collections.defaultdict(set)
        for info in infs:
            for n in info.global_decl:
                writes[n].add(info.fname)
            for n, fns in info.global_reads.items():
                reads[n] |= fns
        for n, wf in writes.items():
            if reads.get(n, set()) - wf:
                constructs.add("global:cross_function")
    return constructs, reached_names, pfields


# --------------------------------------------------------------------------- pure predicate


ALLOWED_CMP = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def is_const_expr(node, mod, allow_names=True):
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(is_const_expr(e, mod, allow_names) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and is_const_expr(k, mod) for k in node.keys) and all(
            is_const_expr(v, mod) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return is_const_expr(node.operand, mod, allow_names)
    if allow_names and isinstance(node, ast.Name):
        stmts = mod.defs.get(node.id)
        if stmts and len(stmts) == 1 and isinstance(stmts[0], ast.Assign) and len(stmts[0].targets) == 1:
            return is_const_expr(stmts[0].value, mod, False) or (
                isinstance(stmts[0].value, ast.Call) and isinstance(stmts[0].value.func, ast.Name)
                and stmts[0].value.func.id in ("set", "frozenset", "tuple", "list")
                and all(is_const_expr(a, mod, False) for a in stmts[0].value.args))
        return False
    if allow_names and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id in ("set", "frozenset") and all(is_const_expr(a, mod) for a in node.args):
        return True
    return False


def is_str_const(n):
    return isinstance(n, ast.Constant) and isinstance(n.value, (str, int))


def is_accessor(node, mod, ev, local_acc=frozenset(), relaxed=False):
    """event.get("k"[, const]) / deep_get(event, "k", ..., default=c) / event.deep_get(...)
    / event["k"] / chains thereof with constant keys."""
    if relaxed and isinstance(node, ast.Name) and node.id in local_acc:
        return True
    if isinstance(node, ast.Subscript):
        return is_str_const(node.slice) and (
            (isinstance(node.value, ast.Name) and node.value.id == ev)
            or is_accessor(node.value, mod, ev, local_acc, relaxed))
    if isinstance(node, ast.Call):
        f = node.func
        kw_ok = all(k.arg == "default" and is_const_expr(k.value, mod) for k in node.keywords)
        if isinstance(f, ast.Attribute):
            recv_ok = (isinstance(f.value, ast.Name) and f.value.id == ev) or (
                f.attr == "get" and is_accessor(f.value, mod, ev, local_acc, relaxed))
            if f.attr == "get" and recv_ok and 1 <= len(node.args) <= 2 and is_str_const(node.args[0]) \
                    and all(is_const_expr(a, mod) for a in node.args[1:]) and not node.keywords:
                return True
            if f.attr in ("deep_get",) and isinstance(f.value, ast.Name) and f.value.id == ev \
                    and node.args and all(is_str_const(a) for a in node.args) and kw_ok:
                return True
            if relaxed and f.attr in ("lower", "upper", "strip") and not node.args and \
                    is_accessor(f.value, mod, ev, local_acc, relaxed):
                return True
            if relaxed and f.attr == "udm" and isinstance(f.value, ast.Name) and f.value.id == ev \
                    and len(node.args) == 1 and is_str_const(node.args[0]):
                return True
        if isinstance(f, ast.Name):
            imp = mod.imports.get(f.id)
            if f.id == "deep_get" and (imp is None or imp[:2] == ("helper", "panther_base_helpers")) \
                    and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id == ev \
                    and all(is_str_const(a) for a in node.args[1:]) and kw_ok:
                return True
    return False


def is_pred(node, mod, ev, local_acc=frozenset(), relaxed=False):
    P = lambda n: is_pred(n, mod, ev, local_acc, relaxed)  # noqa: E731
    A = lambda n: is_accessor(n, mod, ev, local_acc, relaxed)  # noqa: E731
    if isinstance(node, ast.BoolOp):
        return all(P(v) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return P(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("all", "any") \
            and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple)) and not node.keywords:
        return all(P(e) for e in node.args[0].elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in ("startswith", "endswith") and A(node.func.value) and \
            len(node.args) == 1 and is_const_expr(node.args[0], mod):
        return True
    if relaxed and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "bool" \
            and len(node.args) == 1:
        return P(node.args[0])
    if isinstance(node, ast.Compare):
        ops_ok = all(isinstance(o, ALLOWED_CMP) for o in node.ops) or (
            relaxed and all(isinstance(o, (ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is, ast.IsNot,
                                           ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for o in node.ops))
        if not ops_ok:
            return False
        operands = [node.left] + node.comparators
        if len(operands) != 2:
            return False
        a, b = operands
        return (A(a) and is_const_expr(b, mod)) or (is_const_expr(a, mod) and A(b)) or (
            relaxed and A(a) and A(b))
    if relaxed and isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return True
    return A(node)  # truthiness


def pure_predicate(mod: Module):
    """-> 'strict', 'relaxed' or '' for the rule() function of a rule module."""
    fn = mod.funcs.get("rule")
    if fn is None or not fn.args.args:
        return ""
    ev = fn.args.args[0].arg
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None \
            and is_pred(body[0].value, mod, ev):
        return "strict"
    # relaxed: local accessor bindings, `if pred: return True/False` chains, final return pred,
    # plus is/is not/ordering comparisons and .lower()/.upper()/udm("const") accessors.
    local_acc = set()
    for i, s in enumerate(body):
        last = i == len(body) - 1
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and is_accessor(s.value, mod, ev, frozenset(local_acc), True):
            local_acc.add(s.targets[0].id)
            continue
        if isinstance(s, ast.If) and not s.orelse and len(s.body) == 1 and isinstance(s.body[0], ast.Return) \
                and isinstance(s.body[0].value, ast.Constant) and isinstance(s.body[0].value.value, bool) \
                and is_pred(s.test, mod, ev, frozenset(local_acc), True):
            continue
        if last and isinstance(s, ast.Return) and s.value is not None and \
                is_pred(s.value, mod, ev, frozenset(local_acc), True):
            return "relaxed"
        return ""
    return ""


# --------------------------------------------------------------------------- main


def main():
    # helpers
    helpers = {}
    helper_files = {}
    for y in sorted((CORPUS / "global_helpers").glob("*.yml")):
        d = load_yaml(y)
        if not isinstance(d, dict) or d.get("AnalysisType") != "global":
            continue
        gid = str(d.get("GlobalID"))
        py = y.parent / str(d.get("Filename", ""))
        if py.is_file():
            helper_files[gid] = py
    helper_ids = set(helper_files)
    for gid, py in helper_files.items():
        m = Module(gid, py, parse_py(py), "helper")
        helpers[gid] = m
    for m in helpers.values():
        m.index(helper_ids)

    # data models
    datamodels = []  # (id, logtypes, mappings, Module|None)
    for y in sorted((CORPUS / "data_models").glob("*.yml")):
        d = load_yaml(y)
        if not isinstance(d, dict) or d.get("AnalysisType") != "datamodel":
            continue
        dm_id = str(d.get("DataModelID"))
        mod = None
        if d.get("Filename") and (y.parent / d["Filename"]).is_file():
            mod = Module("dm:" + dm_id, y.parent / d["Filename"], parse_py(y.parent / d["Filename"]), "datamodel")
            mod.index(helper_ids)
        datamodels.append((dm_id, set(d.get("LogTypes") or []), d.get("Mappings") or [], mod))

    modules = dict(helpers)
    for _, _, _, m in datamodels:
        if m is not None:
            modules[m.name] = m

    # rules
    rules = []
    family_stats = collections.defaultdict(lambda: collections.Counter())
    for y in sorted((CORPUS / "rules").rglob("*.yml")):
        try:
            d = load_yaml(y)
        except yaml.YAMLError as e:  # pragma: no cover
            print("YAML error", y, e, file=sys.stderr)
            continue
        if not isinstance(d, dict) or d.get("AnalysisType") not in ("rule", "scheduled_rule"):
            continue
        family = y.relative_to(CORPUS / "rules").parts[0]
        fn = d.get("Filename")
        py = (y.parent / fn) if fn else None
        tests = d.get("Tests") or []
        mocks = collections.Counter()
        n_mock_tests = 0
        for t in tests:
            ms = (t or {}).get("Mocks") or []
            if ms:
                n_mock_tests += 1
            for mk in ms:
                mocks[str(mk.get("objectName"))] += 1
        info = dict(id=str(d.get("RuleID")), family=family, yml=y, py=py, type=d.get("AnalysisType"),
                    logtypes=set(d.get("LogTypes") or []), tests=len(tests),
                    mock_tests=n_mock_tests, mocks=mocks)
        if py is not None and py.is_file():
            family_stats[family]["with_py"] += 1
            rules.append(info)
        elif fn:
            family_stats[family]["py_missing"] += 1
        else:
            family_stats[family]["no_filename"] += 1
        family_stats[family]["tests"] += len(tests)

    for r in rules:
        mod = Module(str(r["py"].relative_to(CORPUS)), r["py"], parse_py(r["py"]), "rule")
        mod.index(helper_ids)
        modules[mod.name] = mod
        r["mod"] = mod
    for m in modules.values():
        collect_user_members(m)

    helper_counts = collections.Counter()
    dm_counts = collections.Counter()
    for r in rules:
        mod = r["mod"]
        roots = [(mod, s) for s in mod.top if not isinstance(s, (ast.Import, ast.ImportFrom))]
        cons, reached, pf = reach(roots, modules, helpers)
        # constructs of the rule file's own code only (no helpers / data models)
        r["direct"] = reach(roots, {mod.name: mod}, helpers)[0] | {
            mock_kind(m, mod, reached, helpers) for m in r["mocks"]}
        extra = set()
        dm_roots = []
        if "event.udm" in cons or "event.udm_path" in cons:
            for dm_id, lts, maps, dmod in datamodels:
                if not (lts & r["logtypes"]):
                    continue
                for mp in maps:
                    if "Method" in mp:
                        extra.add("udm:method")
                        if dmod is not None and mp["Method"] in dmod.defs:
                            for s in dmod.defs[mp["Method"]]:
                                dm_roots.append((dmod, s))
                    elif "Path" in mp:
                        extra.add("udm:path_jsonpath" if str(mp["Path"]).startswith("$") else "udm:path_simple")
        for dmod_, s_ in dm_roots:
            reached.add((dmod_.name, s_.name))
        if dm_roots:
            c2, reached2, pf2 = reach(roots + dm_roots, modules, helpers)
            cons |= c2
            reached |= reached2
            pf |= pf2
        r["pfields"] = pf
        for m in r["mocks"]:
            extra.add(mock_kind(m, mod, reached, helpers))
        cons |= extra
        r["constructs"] = cons
        r["reached"] = {x for x in reached if x[0] != mod.name}
        # variant B: deep_get / deep_walk treated as runtime intrinsics (bodies not counted)
        all_roots = roots + dm_roots
        if reached & INTRINSIC_HELPERS:
            cb, _, _ = reach(all_roots, modules, helpers, skip=INTRINSIC_HELPERS)
            cb |= {"intrinsic:" + k[1] for k in INTRINSIC_HELPERS if k in reached}
            r["constructs_b"] = cb | extra
        else:
            r["constructs_b"] = set(cons)
        for x in r["reached"]:
            if x[0] in helpers and module_def_kind(helpers[x[0]], x[1]) in ("func", "class"):
                helper_counts[f"{x[0]}.{x[1]}"] += 1
            elif x[0].startswith("dm:") and module_def_kind(modules[x[0]], x[1]) == "func":
                dm_counts[f"{x[0][3:]}.{x[1]}"] += 1
        r["pure"] = pure_predicate(mod)

    write_outputs(rules, helper_counts, dm_counts, family_stats, helpers)


# --------------------------------------------------------------------------- outputs


def mock_kind(name, mod, reached, helpers):
    """Classify a mocked objectName: what the test harness must be able to override."""
    if name in ("get_string_set", "put_string_set", "get_counter", "increment_counter", "reset_counter",
                "get_dictionary", "put_dictionary", "set_key_expiration", "check_account_age",
                "add_to_string_set", "remove_from_string_set", "reset_string_set"):
        return "mock:cache_function"
    for m in [mod] + [helpers[a] for a, b in reached if a in helpers and b == name]:
        k = module_def_kind(m, name)
        if k == "func":
            return "mock:user_function"
        if k == "value":
            return "mock:global_value"
    imp = mod.imports.get(name)
    if imp and imp[0] == "helper":
        return "mock:user_function"
    return "mock:unresolved"


def greedy(rule_sets, steps=None):
    """Per-construct greedy: pick the construct completing most rules; tie-break by
    sum over still-uncovered rules containing it of 2^-(missing-1)."""
    missing = [set(s) for s in rule_sets]
    covered = sum(1 for m in missing if not m)
    curve = []
    chosen = set()
    all_c = set().union(*rule_sets) if rule_sets else set()
    while len(chosen) < len(all_c) and (steps is None or len(curve) < steps):
        gain = collections.Counter()
        score = collections.Counter()
        for m in missing:
            if not m:
                continue
            w = 2.0 ** -(len(m) - 1)
            for c in m:
                score[c] += w
            if len(m) == 1:
                gain[next(iter(m))] += 1
        if not score:
            break
        best = max(score, key=lambda c: (gain[c], score[c], c))
        chosen.add(best)
        newly = 0
        for m in missing:
            if best in m:
                m.discard(best)
                if not m:
                    newly += 1
        covered += newly
        curve.append((best, newly, covered))
    return curve


def greedy_bundle(rule_sets):
    """Bundle greedy: repeatedly take the still-missing construct set S of some uncovered
    rule that maximises (#uncovered rules completed by adding S) / |S|, then add the
    constructs of S one by one (most popular first). Returns the same shape as greedy()."""
    pop = collections.Counter(c for s in rule_sets for c in s)
    missing = [set(s) for s in rule_sets]
    covered = sum(1 for m in missing if not m)
    curve = []
    while True:
        open_sets = {}
        for m in missing:
            if m:
                fs = frozenset(m)
                open_sets[fs] = open_sets.get(fs, 0) + 1
        if not open_sets:
            break
        best, best_score = None, None
        for S in open_sets:
            gain = sum(k for T, k in open_sets.items() if T <= S)
            score = (gain / len(S), gain, sum(pop[c] for c in S))
            if best_score is None or score > best_score:
                best, best_score = S, score
        for c in sorted(best, key=lambda c: (-pop[c], c)):
            newly = 0
            for m in missing:
                if c in m:
                    m.discard(c)
                    if not m:
                        newly += 1
            covered += newly
            curve.append((c, newly, covered))
    return curve


def milestones(curve, n):
    out = {}
    for pct in (50, 75, 90, 95, 100):
        need = -(-pct * n // 100)
        for i, (_, _, cov) in enumerate(curve, 1):
            if cov >= need:
                out[pct] = i
                break
    return out


def write_outputs(rules, helper_counts, dm_counts, family_stats, helpers):
    n = len(rules)
    cons_rules = collections.Counter()
    cons_tests = collections.Counter()
    cons_direct = collections.Counter()
    for r in rules:
        for c in r["constructs"]:
            cons_rules[c] += 1
            cons_tests[c] += r["tests"]
        for c in r["direct"]:
            cons_direct[c] += 1
    order = sorted(cons_rules, key=lambda c: (-cons_rules[c], c))
    with open(OUT / "constructs.tsv", "w") as f:
        f.write("construct\trules\ttests\trules_direct\n")
        for c in order:
            f.write(f"{c}\t{cons_rules[c]}\t{cons_tests[c]}\t{cons_direct[c]}\n")
    with open(OUT / "rules.tsv", "w") as f:
        f.write("rule_id\tfamily\tpy_path\tconstructs\tn_constructs\ttests\ttests_with_mocks\tmocked\t"
                "pure_predicate\treachable_helpers\n")
        for r in sorted(rules, key=lambda r: (r["family"], r["id"])):
            f.write("\t".join([
                r["id"], r["family"], str(r["py"].relative_to(CORPUS)),
                ",".join(sorted(r["constructs"])), str(len(r["constructs"])), str(r["tests"]),
                str(r["mock_tests"]), ",".join(f"{k}:{v}" for k, v in sorted(r["mocks"].items())),
                r["pure"] or "no",
                ",".join(sorted(f"{a}.{b}" for a, b in r["reached"] if not a.startswith("dm:"))),
            ]) + "\n")
    with open(OUT / "helpers.tsv", "w") as f:
        f.write("helper\trules\n")
        for h, k in helper_counts.most_common():
            f.write(f"{h}\t{k}\n")
        for h, k in dm_counts.most_common():
            if k:
                f.write(f"datamodel:{h}\t{k}\n")

    curve1 = greedy([r["constructs"] for r in rules])
    curve2 = greedy_bundle([r["constructs"] for r in rules])
    # keep the better of the two heuristics (fewer constructs summed over the milestones)
    def cost(cv):
        m = milestones(cv, n)
        return sum(m.get(p, 10 ** 6) for p in (50, 75, 90, 95))
    curve = min((curve1, curve2), key=cost)
    heur = "per-construct" if curve is curve1 else "bundle"
    curve_b = min((greedy([r["constructs_b"] for r in rules]),
                   greedy_bundle([r["constructs_b"] for r in rules])), key=cost)
    ms1, ms2 = milestones(curve1, n), milestones(curve2, n)
    curve_d = min((greedy([r["direct"] for r in rules]), greedy_bundle([r["direct"] for r in rules])), key=cost)
    ms_d = milestones(curve_d, n)
    with open(OUT / "curve_rule_code_only.tsv", "w") as f:
        f.write("step\tconstruct\tnewly_covered\tcovered\tpct\n")
        for i, (c, nw, cov) in enumerate(curve_d, 1):
            f.write(f"{i}\t{c}\t{nw}\t{cov}\t{100.0 * cov / n:.1f}\n")
    with open(OUT / "curve.tsv", "w") as f:
        f.write("step\tconstruct\tnewly_covered\tcovered\tpct\n")
        for i, (c, nw, cov) in enumerate(curve, 1):
            f.write(f"{i}\t{c}\t{nw}\t{cov}\t{100.0 * cov / n:.1f}\n")
    with open(OUT / "curve_intrinsic_deep_get.tsv", "w") as f:
        f.write("step\tconstruct\tnewly_covered\tcovered\tpct\n")
        for i, (c, nw, cov) in enumerate(curve_b, 1):
            f.write(f"{i}\t{c}\t{nw}\t{cov}\t{100.0 * cov / n:.1f}\n")
    ms = milestones(curve, n)
    ms_b = milestones(curve_b, n)

    secs = collections.OrderedDict((k, []) for k in ("head", "a", "b", "c", "d", "e", "f", "g", "mocks"))
    cur = [secs["head"]]

    def w(line):
        cur[0].append(line)

    def section(key):
        cur[0] = secs[key]
    total_tests = sum(r["tests"] for r in rules)
    w("# Panther-analysis Python rule survey\n")
    w(f"Corpus: `{CORPUS}`. Generated by `target/python-survey/survey.py` (stdlib `ast` + PyYAML).\n")
    n_no = sum(s["py_missing"] + s["no_filename"] for s in family_stats.values())
    w(f"Rules (rule + scheduled_rule) with a .py: **{n}**; without .py: **{n_no}**; "
      f"test cases of rules with .py: **{total_tests}**; distinct constructs: **{len(order)}**; "
      f"helper modules: {len(helpers)}.\n")
    w("Constructs = rule file (all top-level code) + transitively reachable helper functions / "
      "module-level helper globals they reference (not whole helper modules) + data-model Method "
      "functions of the rule's LogTypes when the rule uses `event.udm`. Naming scheme: see the "
      "docstring of survey.py.\n")
    w("Files: `constructs.tsv` (construct, rules, tests, rules_direct), `rules.tsv` (rule id, family, "
      ".py path, constructs, + n_constructs, tests, tests_with_mocks, mocked, pure_predicate, "
      "reachable_helpers), `helpers.tsv`, `curve.tsv`, `curve_intrinsic_deep_get.tsv`, "
      "`curve_rule_code_only.tsv`.\n")
    w("Approximations: call graph by name (no types): `x.m()` on an arbitrary object is "
      "`method:m` (`method:user_method` if `m` is defined by some user class and is not a "
      "str/dict/list/set/int/float/bytes method); a parameter named `event` is taken to be the "
      "PantherEvent; the whole rule file counts (all functions, module-level code); helper "
      "module-level globals are included only when referenced by reachable code; `event.udm` "
      "pulls in every Method of every data model of the rule's LogTypes (over-approximation, e.g. "
      "the CloudTrail model adds ipaddress.IPv4Address/IPv6Address/AddressValueError, the GCP "
      "model adds event.to_dict/json.dumps). Type annotations are ignored except `def:annotations`.\n")

    section("b")
    w("## (b) Greedy coverage curve\n")
    w("Two greedy heuristics were run; the table below lists the better one "
      f"(**{heur}**). *per-construct*: each step adds the construct completing the most rules "
      "(tie-break: closeness of uncovered rules to completion). *bundle*: repeatedly add the "
      "missing-construct set of an uncovered rule that completes the most rules per added "
      "construct. A rule is covered when all its constructs are supported. Full curve: "
      "`curve.tsv`; intrinsic variant: `curve_intrinsic_deep_get.tsv`.\n")
    w("| milestone | per-construct greedy | bundle greedy | best, deep_get/deep_walk as intrinsics "
      "| best, rule-file code only (all helpers/data models native) |")
    w("|---|---|---|---|---|")
    for pct in (50, 75, 90, 95, 100):
        w(f"| {pct}% of {n} rules | {ms1.get(pct, '-')} | {ms2.get(pct, '-')} | {ms_b.get(pct, '-')} "
          f"| {ms_d.get(pct, '-')} |")
    w("")
    w("| step | added construct | newly covered | covered | % |")
    w("|---|---|---|---|---|")
    for i, (c, nw, cov) in enumerate(curve[:100], 1):
        w(f"| {i} | `{c}` | {nw} | {cov} | {100.0 * cov / n:.1f} |")
    w("")

    w("### Checklist: constructs named in the brief (0 = never used by any rule with a .py)\n")
    checklist = [
        "node:For", "node:While", "node:Try", "node:With", "node:Lambda", "node:ListComp",
        "node:DictComp", "node:SetComp", "node:GeneratorExp", "node:JoinedStr", "fstring:format_spec",
        "fstring:conversion_r", "fstring:conversion_s", "fstring:conversion_a", "node:Starred",
        "node:Slice", "slice:step", "node:Subscript", "AugAssign:Add", "node:Global", "node:Nonlocal",
        "global:cross_function", "node:ClassDef", "node:Yield", "node:YieldFrom", "node:Assert",
        "node:Raise", "node:Delete", "node:NamedExpr", "node:IfExp", "node:Set", "node:Dict",
        "assign:unpack", "for:unpack", "comp:unpack", "node:Match", "node:AsyncFunctionDef",
        "node:Await", "def:default_args", "def:varargs", "def:kwargs", "def:kwonly", "def:nested",
        "def:generator", "callsite:keyword", "callsite:keyword_to_user_function",
        "callsite:star_args", "callsite:double_star_kwargs", "funcref:user_function",
        "builtin_ref:str", "call:indirect", "call:subscript_result", "strfmt:percent",
        "method:format", "builtin:sorted", "kw:sorted.key", "builtin:print", "event.udm",
        "event.udm_path", "event.deep_get", "event.deep_walk", "lookup:p_enrichment",
        "lookup:LookupTableMatches", "cache:get_string_set", "cache:put_string_set",
        "cache:increment_counter", "cache:get_counter", "cache:reset_counter",
        "cache:get_dictionary", "cache:put_dictionary", "cache:check_account_age",
        "method:user_method", "call:super_method", "mock:cache_function", "mock:user_function",
        "mock:global_value",
    ]
    w(", ".join(f"`{c}` {cons_rules.get(c, 0)}" for c in checklist) + "\n")
    w("Never used: " + ", ".join(f"`{c}`" for c in checklist if not cons_rules.get(c)) + ".\n")

    section("c")
    w("## (c) Most reachable helper functions\n")
    w("| helper function | rules |")
    w("|---|---|")
    for h, k in helper_counts.most_common(50):
        w(f"| `{h}` | {k} |")
    w("")
    w("Data-model methods reached via `event.udm` (over-approximation: all Method mappings of "
      "the rule's LogTypes):\n")
    w("| data-model function | rules |")
    w("|---|---|")
    for h, k in [x for x in dm_counts.most_common() if x[1]][:25]:
        w(f"| `{h}` | {k} |")
    w("")

    section("d")
    w("## (d) Per family\n")
    w("| family | rules with .py | rules without .py (Filename given, file absent) | no Filename | tests |")
    w("|---|---|---|---|---|")
    for fam in sorted(family_stats):
        s = family_stats[fam]
        w(f"| {fam} | {s['with_py']} | {s['py_missing']} | {s['no_filename']} | {s['tests']} |")
    tot = collections.Counter()
    for s in family_stats.values():
        tot.update(s)
    w(f"| **total** | {tot['with_py']} | {tot['py_missing']} | {tot['no_filename']} | {tot['tests']} |")
    w("")

    fam = "aws_cloudtrail_rules"
    cr = [r for r in rules if r["family"] == fam]
    section("e")
    w(f"## (e) {fam}: constructs needed ({len(cr)} rules with .py, "
      f"{sum(r['tests'] for r in cr)} tests)\n")
    fc = collections.Counter(c for r in cr for c in r["constructs"])
    curve_ct = min((greedy([r["constructs"] for r in cr]), greedy_bundle([r["constructs"] for r in cr])),
                   key=lambda cv: sum(milestones(cv, len(cr)).get(p, 10 ** 6) for p in (50, 75, 90, 95)))
    ms_ct = milestones(curve_ct, len(cr))
    w(f"Union: {len(fc)} constructs. Greedy within the family: "
      + ", ".join(f"{p}% of rules after {ms_ct[p]} constructs" for p in sorted(ms_ct)) + ".\n")
    w("All constructs (rules of the family using each):\n")
    w(", ".join(f"`{c}` {k}" for c, k in sorted(fc.items(), key=lambda x: (-x[1], x[0]))))
    w("")
    hc = collections.Counter(f"{a}.{b}" for r in cr for a, b in r["reached"]
                             if not a.startswith("dm:") and module_def_kind(helpers[a], b) == "func")
    w("\nHelper functions reached by the family: " +
      ", ".join(f"`{h}` {k}" for h, k in hc.most_common()) + "\n")
    w(f"Pure-predicate rule() in family: strict {sum(r['pure'] == 'strict' for r in cr)}, "
      f"relaxed {sum(r['pure'] == 'relaxed' for r in cr)}.\n")

    section("f")
    w("## (f) stdlib / third-party functions and references\n")
    w("`call:` = called, `ref:` = referenced as value/exception/constant, `cache:` = "
      "panther_detection_helpers.caching. Module class: stdlib or third-party.\n")
    w("| construct | module kind | rules | tests | direct |")
    w("|---|---|---|---|---|")
    for c in order:
        if c.startswith(("call:", "ref:", "cache:")) and not c.startswith(
                ("call:user_function", "call:class_instantiation", "call:super_method", "call:indirect", "call:global_value",
                 "call:subscript_result", "call:call_result", "call:computed", "call:lambda_immediate",
                 "call:unresolved", "call:nested_function")):
            modname = c.split(":", 1)[1].split(".")[0]
            kind = "panther runtime" if c.startswith("cache:") else (
                "stdlib" if modname in STDLIB else "third-party")
            w(f"| `{c}` | {kind} | {cons_rules[c]} | {cons_tests[c]} | {cons_direct[c]} |")
    w("")

    strict = [r for r in rules if r["pure"] == "strict"]
    relaxed = [r for r in rules if r["pure"] == "relaxed"]
    section("g")
    w("## (g) Pure-predicate rules\n")
    w(f"- **strict**: `rule()` is a single `return` of and/or/not/all([..])/any([..]) over "
      f"==, !=, in, not in, .startswith/.endswith and truthiness, between event.get(\"c\"[, const]) "
      f"(incl. chained `.get`), deep_get(event, \"c\", ..., default=const), event.deep_get(\"c\", ...), "
      f"event[\"c\"] and constants (literals, or module-level names bound to literals): "
      f"**{len(strict)} / {n}** rules ({100.0 * len(strict) / n:.1f}%).")
    w(f"- **relaxed** (additionally: local variables bound to such accessors, `if pred: return "
      f"True/False` chains, `is`/`is not`/ordering comparisons, .lower()/.upper()/.strip() on "
      f"accessors, event.udm(\"c\"), bool(...)): **{len(relaxed)}** more, "
      f"total {len(strict) + len(relaxed)} ({100.0 * (len(strict) + len(relaxed)) / n:.1f}%).")
    pf = collections.Counter(r["family"] for r in strict)
    w("- strict by family: " + ", ".join(f"{k} {v}" for k, v in pf.most_common()))
    w("- Note: `rule()` being pure does not make the whole rule trivial — title()/alert_context() "
      "etc. often call helpers; see rules.tsv column pure_predicate.\n")

    section("mocks")
    w("## Mocks\n")
    mk = collections.Counter()
    mr = collections.Counter()
    for r in rules:
        for k, v in r["mocks"].items():
            mk[k] += v
            mr[k] += 1
    w(f"Rules with mocked tests: {sum(1 for r in rules if r['mock_tests'])}; test cases with Mocks: "
      f"{sum(r['mock_tests'] for r in rules)} of {total_tests}.\n")
    w("| objectName | rules | test cases |")
    w("|---|---|---|")
    for k, v in mr.most_common():
        w(f"| `{k}` | {v} | {mk[k]} |")
    w("")

    section("a")
    w("## (a) Constructs by rule count\n")
    w("`rules` = rules needing the construct (own code or reachable helpers/data-model methods); "
      "`direct` = rules whose own .py uses it.\n")
    w("| construct | rules | % rules | tests of those rules | direct |")
    w("|---|---|---|---|---|")
    for c in order:
        w(f"| `{c}` | {cons_rules[c]} | {100.0 * cons_rules[c] / n:.1f} | {cons_tests[c]} | {cons_direct[c]} |")
    w("")
    with open(OUT / "SUMMARY.md", "w") as f:
        f.write("\n".join(line for part in secs.values() for line in part) + "\n")
    print(f"rules with .py: {n}; constructs: {len(order)}; milestones: {ms}; intrinsic variant: {ms_b}")


if __name__ == "__main__":
    main()
