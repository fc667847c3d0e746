//! `match` statements rewritten into the `if`/`elif`/`else` Python means by them, before the
//! rest of the front end reads the module (so every analysis of locals and flow sees plain
//! statements).
//!
//! `match s:` evaluates `s` once, into a temporary local, then tries each `case` in order
//! (PEP 634): a literal or dotted-name pattern is `subject == value`, `None`/`True`/`False` is
//! `subject is value`, `p | q` tries each, a guard (`case p if g:`) is tested after its pattern,
//! `case _:` always matches and `case name:` always matches and binds `name`. A `match` with any
//! other pattern (sequences, mappings, classes, `as`, a capture with a guard) is left as it is,
//! and the translation rejects it with [`unsupported`] naming the pattern.

use ruff_python_ast::{self as ast, CmpOp, Expr, ModModule, Pattern, Singleton, Stmt};
use ruff_text_size::{Ranged, TextRange};

/// Rewrites every `match` inside the module's functions that [`unsupported`] accepts, at any
/// depth (one at the module's top level is left to the translation: it is not a function's).
pub fn rewrite(module: &mut ModModule, text: &str) {
    let mut names = Names { text, next: 0 };
    for s in &mut module.body {
        match s {
            Stmt::FunctionDef(f) => body(&mut f.body, &mut names),
            Stmt::ClassDef(c) => {
                for s in &mut c.body {
                    if let Stmt::FunctionDef(f) = s {
                        body(&mut f.body, &mut names);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Fresh names for the subjects, unused anywhere in the file.
struct Names<'t> {
    text: &'t str,
    next: usize,
}

impl Names<'_> {
    fn fresh(&mut self) -> String {
        loop {
            self.next += 1;
            let name = format!("match_subject_{}", self.next);
            if !self.text.contains(&name) {
                return name;
            }
        }
    }
}

fn body(stmts: &mut ast::Suite, names: &mut Names<'_>) {
    let mut i = 0;
    while i < stmts.len() {
        let mut rewrite_here = false;
        match &mut stmts[i] {
            Stmt::FunctionDef(f) => body(&mut f.body, names),
            Stmt::ClassDef(c) => body(&mut c.body, names),
            Stmt::If(s) => {
                body(&mut s.body, names);
                for c in &mut s.elif_else_clauses {
                    body(&mut c.body, names);
                }
            }
            Stmt::For(s) => {
                body(&mut s.body, names);
                body(&mut s.orelse, names);
            }
            Stmt::While(s) => {
                body(&mut s.body, names);
                body(&mut s.orelse, names);
            }
            Stmt::Try(s) => {
                body(&mut s.body, names);
                for h in &mut s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    body(&mut h.body, names);
                }
                body(&mut s.orelse, names);
                body(&mut s.finalbody, names);
            }
            Stmt::With(s) => body(&mut s.body, names),
            Stmt::Match(m) => {
                for c in &mut m.cases {
                    body(&mut c.body, names);
                }
                rewrite_here = unsupported(m).is_none();
            }
            _ => {}
        }
        if rewrite_here {
            let Stmt::Match(m) = stmts.remove(i) else { unreachable!() };
            let replacement = if_chain(m, names.fresh());
            let n = replacement.len();
            for (j, s) in replacement.into_iter().enumerate() {
                stmts.insert(i + j, s);
            }
            i += n;
            continue;
        }
        i += 1;
    }
}

/// The first pattern (or guard) of a `match` that is not rewritten, and why.
pub fn unsupported(m: &ast::StmtMatch) -> Option<(TextRange, String)> {
    let last = m.cases.len().saturating_sub(1);
    for (i, c) in m.cases.iter().enumerate() {
        if let Some(why) = pattern_unsupported(&c.pattern) {
            return Some(why);
        }
        let irrefutable = matches!(&c.pattern, Pattern::MatchAs(a) if a.pattern.is_none());
        if irrefutable && c.guard.is_none() && i != last {
            // CPython refuses to compile it ("makes remaining patterns unreachable").
            return Some((c.pattern.range(), "a `case` that makes the remaining ones unreachable".into()));
        }
        if let (Pattern::MatchAs(a), Some(_)) = (&c.pattern, &c.guard)
            && a.name.is_some()
        {
            return Some((c.pattern.range(), "a capture pattern with a guard in `match`".into()));
        }
    }
    None
}

fn pattern_unsupported(p: &Pattern) -> Option<(TextRange, String)> {
    match p {
        Pattern::MatchValue(_) | Pattern::MatchSingleton(_) => None,
        Pattern::MatchAs(a) if a.pattern.is_none() => None,
        Pattern::MatchOr(o) => o.patterns.iter().find_map(|p| match p {
            Pattern::MatchValue(_) | Pattern::MatchSingleton(_) => None,
            p => Some((p.range(), "this pattern inside `|` in `match`".into())),
        }),
        Pattern::MatchAs(_) => Some((p.range(), "an `as` pattern in `match`".into())),
        Pattern::MatchSequence(_) | Pattern::MatchStar(_) => {
            Some((p.range(), "a sequence pattern in `match`".into()))
        }
        Pattern::MatchMapping(_) => Some((p.range(), "a mapping pattern in `match`".into())),
        Pattern::MatchClass(_) => Some((p.range(), "a class pattern in `match`".into())),
    }
}

/// `subject = s` and the `if`/`elif`/`else` of the cases (or, when the first case always
/// matches, its body).
fn if_chain(m: ast::StmtMatch, subject: String) -> Vec<Stmt> {
    let at = m.subject.range();
    let subject_name = |range: TextRange| {
        Expr::Name(ast::ExprName {
            node_index: Default::default(),
            range,
            id: subject.as_str().into(),
            ctx: ast::ExprContext::Load,
        })
    };
    let mut out = vec![Stmt::Assign(ast::StmtAssign {
        node_index: Default::default(),
        range: at,
        targets: vec![Expr::Name(ast::ExprName {
            node_index: Default::default(),
            range: at,
            id: subject.as_str().into(),
            ctx: ast::ExprContext::Store,
        })],
        value: m.subject,
    })];
    let mut chain: Option<ast::StmtIf> = None;
    for c in m.cases {
        let mut case_body = c.body;
        let test = match &c.pattern {
            Pattern::MatchAs(a) => {
                if let Some(name) = &a.name {
                    // `case name:` binds the subject.
                    case_body.insert(
                        0,
                        Stmt::Assign(ast::StmtAssign {
                            node_index: Default::default(),
                            range: a.range,
                            targets: vec![Expr::Name(ast::ExprName {
                                node_index: Default::default(),
                                range: name.range,
                                id: name.id.clone(),
                                ctx: ast::ExprContext::Store,
                            })],
                            value: Box::new(subject_name(a.range)),
                        }),
                    );
                }
                None
            }
            p => Some(test_of(p, &subject_name)),
        };
        let test = match (test, c.guard) {
            (Some(t), Some(g)) => Some(Expr::BoolOp(ast::ExprBoolOp {
                node_index: Default::default(),
                range: c.range,
                op: ast::BoolOp::And,
                values: vec![t, *g],
            })),
            (t, None) => t,
            (None, Some(g)) => Some(*g),
        };
        match (&mut chain, test) {
            (None, None) => {
                // The first case always matches: the `match` is its body.
                out.extend(case_body);
                return out;
            }
            (None, Some(t)) => {
                chain = Some(ast::StmtIf {
                    node_index: Default::default(),
                    range: c.range,
                    test: Box::new(t),
                    body: case_body,
                    elif_else_clauses: Vec::new(),
                });
            }
            (Some(s), t) => s.elif_else_clauses.push(ast::ElifElseClause {
                node_index: Default::default(),
                range: c.range,
                test: t,
                body: case_body,
            }),
        }
    }
    out.extend(chain.map(Stmt::If));
    out
}

/// The test of a literal, singleton or `|` pattern on the subject.
fn test_of(p: &Pattern, subject: &dyn Fn(TextRange) -> Expr) -> Expr {
    let compare = |op: CmpOp, value: Expr, range: TextRange| {
        Expr::Compare(ast::ExprCompare {
            node_index: Default::default(),
            range,
            left: Box::new(subject(range)),
            ops: vec![op].into_boxed_slice(),
            comparators: vec![value].into_boxed_slice(),
        })
    };
    match p {
        Pattern::MatchValue(v) => compare(CmpOp::Eq, (*v.value).clone(), v.range),
        Pattern::MatchSingleton(s) => {
            let value = match s.value {
                Singleton::None => {
                    Expr::NoneLiteral(ast::ExprNoneLiteral { node_index: Default::default(), range: s.range })
                }
                Singleton::True | Singleton::False => Expr::BooleanLiteral(ast::ExprBooleanLiteral {
                    node_index: Default::default(),
                    range: s.range,
                    value: matches!(s.value, Singleton::True),
                }),
            };
            compare(CmpOp::Is, value, s.range)
        }
        Pattern::MatchOr(o) => Expr::BoolOp(ast::ExprBoolOp {
            node_index: Default::default(),
            range: o.range,
            op: ast::BoolOp::Or,
            values: o.patterns.iter().map(|p| test_of(p, subject)).collect(),
        }),
        // `unsupported` lets no other pattern through.
        _ => unreachable!("pattern checked by `unsupported`"),
    }
}
