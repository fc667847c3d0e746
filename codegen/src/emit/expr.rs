//! Match expressions to Rust boolean expressions, and key paths to named constants.
//!
//! Every condition becomes one method call on the value the path finds
//! (`event.field(&EVENT_NAME).equals("StopInstances")`; a multi-key one passes the second field,
//! `event.field(&ARN).starts_with_field(&event.field(&PREFIX))`); combinators become `&&`, `||`
//! and `!`; list comprehensions become closures over the elements. Constants are prepared here:
//! lower-cased strings are already in the IR, string sets are sorted, CIDRs become `Cidr`s.
//! Must not: decide semantics; the runtime methods carry them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::{doc_safe, str_lit};
use crate::ir::{Cidr, CompareOp, Expr, IpKind, Lit, Num, Ordering, Path, Quantifier, Segment, Test};
use crate::names;

/// The named constants of one rule module: its paths, and its long or repeated string sets.
pub(crate) struct Paths {
    names: BTreeMap<Path, Ident>,
    order: Vec<Path>,
    /// Sets of strings (sorted, as `lit_set` prints them) hoisted into a `static`, in order of
    /// first use, with their names and the path of their first use.
    sets: Vec<(Vec<String>, Ident, String)>,
    /// Names the module has already (a Python rule's constants and state).
    reserved: Vec<String>,
    /// Path constants other modules read (a preset's, which its rules list in `fields`).
    public: bool,
}

impl Paths {
    /// Names every path, in the order given (first use first): the last key in
    /// SCREAMING_SNAKE_CASE, with more of the path in front when two paths would share a name.
    /// Names already taken in the module (a Python rule's constants) are left to it.
    pub fn reserving(paths: impl IntoIterator<Item = Path>, reserved: &[String]) -> Paths {
        let mut order: Vec<Path> = Vec::new();
        for p in paths {
            if !order.contains(&p) {
                order.push(p);
            }
        }
        // The words of a path: its keys, each with the indexes that follow it
        // (`flags[0]` is `flags_0`, `items[*]` is `items_each`).
        let words = |p: &Path| -> Vec<String> {
            let mut words: Vec<String> = Vec::new();
            for seg in &p.segments {
                match (seg, words.last_mut()) {
                    (Segment::Key(k), _) => words.push(k.clone()),
                    // `[-1]` is `_last`, `[-2]` `_last1`, … (`-(i + 1)` cannot overflow).
                    (Segment::Index(i), Some(w)) if *i < 0 => w.push_str(&format!("_last{}", -(i + 1))),
                    (Segment::Index(i), Some(w)) => w.push_str(&format!("_{i}")),
                    (Segment::Each, Some(w)) => w.push_str("_each"),
                    (_, None) => {}
                }
            }
            words.iter_mut().for_each(|w| *w = w.replace("_last0", "_last"));
            words
        };
        let keys = words;
        let name_with = |p: &Path, n: usize| -> String {
            let k = keys(p);
            let start = k.len().saturating_sub(n);
            let mut name = names::constant_case(&k[start..].join("_"));
            if matches!(name.as_str(), "RULE") {
                name.push_str("_FIELD");
            }
            name
        };
        let mut names = BTreeMap::new();
        let mut taken: Vec<String> = reserved.to_vec();
        for p in &order {
            let depth = keys(p).len().max(1);
            // The shortest suffix of keys that no other path of the rule shares.
            let mut chosen = None;
            for n in 1..=depth {
                let candidate = name_with(p, n);
                // Another path could want this name too, unless this is our last option (the
                // others can grow longer names).
                let clash = n < depth
                    && order.iter().any(|q| q != p && name_with(q, n.min(keys(q).len().max(1))) == candidate);
                if !clash && !taken.contains(&candidate) {
                    chosen = Some(candidate);
                    break;
                }
            }
            // Paths that differ only in indexes: number them.
            let name = chosen.unwrap_or_else(|| {
                let base = name_with(p, depth);
                (1..).map(|i| format!("{base}_{i}")).find(|c| !taken.contains(c)).expect("unbounded")
            });
            taken.push(name.clone());
            names.insert(p.clone(), Ident::new(&name, Span::call_site()));
        }
        Paths { names, order, sets: Vec::new(), reserved: reserved.to_vec(), public: false }
    }

    /// The path constants made `pub`.
    pub fn public(self) -> Paths {
        Paths { public: true, ..self }
    }

    /// Names the string sets of `exprs` that are long (more than [`HOIST_OVER`] strings) or
    /// searched (more than [`SCAN_AT_MOST`]) and used more than once, so that `decide` reads `is_in_sorted(IMAGE_ID_VALUES)` and a set
    /// written once in the YAML (or through an alias) is printed once.
    pub fn hoisting_sets<'e>(mut self, exprs: impl IntoIterator<Item = &'e Expr>) -> Paths {
        let mut uses: Vec<(Vec<String>, &Path, usize)> = Vec::new();
        fn walk<'e>(expr: &'e Expr, subject: &'e Path, uses: &mut Vec<(Vec<String>, &'e Path, usize)>) {
            match expr {
                Expr::All(xs) | Expr::Any(xs) | Expr::None(xs) | Expr::OnlyOne(xs) => {
                    xs.iter().for_each(|x| walk(x, subject, uses))
                }
                Expr::Test { path, test: Test::IsIn(set), .. } => {
                    let Some(strs) = sorted_strs(set) else { return };
                    let path = if path.segments.is_empty() { subject } else { path };
                    match uses.iter_mut().find(|(s, _, _)| *s == strs) {
                        Some(u) => u.2 += 1,
                        None => uses.push((strs, path, 1)),
                    }
                }
                Expr::Elements { path, body, .. } => body.iter().for_each(|x| walk(x, path, uses)),
                Expr::Always(_) | Expr::Test { .. } | Expr::Compare { .. } => {}
            }
        }
        let none = Path { text: String::new(), segments: Vec::new() };
        for e in exprs {
            walk(e, &none, &mut uses);
        }
        let mut taken: Vec<String> =
            self.names.values().map(Ident::to_string).chain(self.reserved.iter().cloned()).collect();
        for (strs, path, count) in uses {
            if strs.len() <= HOIST_OVER && (count < 2 || strs.len() <= SCAN_AT_MOST) {
                continue;
            }
            let base = match self.names.get(path) {
                Some(ident) => format!("{ident}_VALUES"),
                None => "VALUES".to_string(),
            };
            let name = std::iter::once(base.clone())
                .chain((2..).map(|i| format!("{base}_{i}")))
                .find(|c| !taken.contains(c))
                .expect("unbounded");
            taken.push(name.clone());
            self.sets.push((strs, Ident::new(&name, Span::call_site()), path.text.clone()));
        }
        self
    }

    /// The name of a hoisted set.
    fn set(&self, set: &[Lit]) -> Option<&Ident> {
        let strs = sorted_strs(set)?;
        self.sets.iter().find(|(s, _, _)| *s == strs).map(|(_, ident, _)| ident)
    }

    /// Every constant, in order.
    pub fn idents(&self) -> impl Iterator<Item = &Ident> {
        self.order.iter().map(|p| &self.names[p])
    }

    pub fn ident(&self, path: &Path) -> &Ident {
        &self.names[path]
    }

    /// `/// \`a.b[*].c\`` + `static C: Path = Path::new(&[Key("a"), Key("b"), Each, Key("c")]);`
    /// (`static`: one address per path, which the event view recognises without comparing keys).
    pub fn constants(&self) -> TokenStream {
        let vis = if self.public { quote!(pub) } else { quote!() };
        let consts = self.order.iter().map(|p| {
            let name = &self.names[p];
            let doc = doc_safe(&format!(" `{}`", p.text));
            let value = path_tokens(p);
            quote! {
                #[doc = #doc]
                #vis static #name: Path = #value;
            }
        });
        let sets = self.sets.iter().map(|(strs, name, path)| {
            let doc = if path.is_empty() {
                format!(" The {} values an `IsIn` tests.", strs.len())
            } else {
                doc_safe(&format!(" The {} values `{path}` is tested against (`IsIn`).", strs.len()))
            };
            let strs = strs.iter().map(|s| str_lit(s));
            quote! {
                #[doc = #doc]
                static #name: &[&str] = &[#(#strs),*];
            }
        });
        quote!(#(#consts)* #(#sets)*)
    }
}

/// An `IsIn` of more strings than this gets a named `static` (as does a searched one used twice).
const HOIST_OVER: usize = 32;

/// The strings of a set of strings only, sorted and without repeats (as `lit_set` prints them).
fn sorted_strs(set: &[Lit]) -> Option<Vec<String>> {
    let mut strs = set
        .iter()
        .map(|l| if let Lit::Str(s) = l { Some(s.clone()) } else { None })
        .collect::<Option<Vec<_>>>()?;
    strs.sort();
    strs.dedup();
    Some(strs)
}

/// `Path::new(&[Key("a"), Index(0), Each])`: a path as a constant expression.
pub(crate) fn path_tokens(path: &Path) -> TokenStream {
    let segs = path.segments.iter().map(|s| match s {
        Segment::Key(k) => {
            let k = str_lit(k);
            quote!(Key(#k))
        }
        Segment::Index(i) => {
            let i = Literal::i64_unsuffixed(*i);
            quote!(Index(#i))
        }
        Segment::Each => quote!(Each),
    });
    quote!(Path::new(&[#(#segs),*]))
}

/// Every path an expression reads, in order of appearance.
pub(crate) fn paths_of(expr: &Expr, out: &mut Vec<Path>) {
    match expr {
        Expr::Always(_) => {}
        Expr::All(xs) | Expr::Any(xs) | Expr::OnlyOne(xs) | Expr::None(xs) => {
            xs.iter().for_each(|x| paths_of(x, out))
        }
        Expr::Test { path, .. } if path.segments.is_empty() => {}
        Expr::Test { path, .. } => out.push(path.clone()),
        Expr::Compare { left, right, .. } => out.extend([left.clone(), right.clone()]),
        Expr::Elements { path, body, .. } => {
            out.push(path.clone());
            body.iter().for_each(|x| paths_of(x, out));
        }
    }
}

/// A boolean expression under construction, so that negations and parentheses come out minimal.
#[derive(Clone)]
pub(crate) enum Code {
    Atom(TokenStream),
    Not(Box<Code>),
    And(Vec<Code>),
    Or(Vec<Code>),
}

impl Code {
    /// The negation, with De Morgan applied when a part is already negated, so that the code
    /// never reads `!(!a || b)`.
    pub fn not(self) -> Code {
        let has_not = |parts: &[Code]| parts.iter().any(|p| matches!(p, Code::Not(_)));
        match self {
            Code::Not(inner) => *inner,
            Code::And(parts) if has_not(&parts) => Code::Or(parts.into_iter().map(Code::not).collect()),
            Code::Or(parts) if has_not(&parts) => Code::And(parts.into_iter().map(Code::not).collect()),
            other => Code::Not(Box::new(other)),
        }
    }

    pub fn and(mut parts: Vec<Code>) -> Code {
        match parts.len() {
            0 => Code::Atom(quote!(true)),
            1 => parts.pop().expect("one"),
            _ => Code::And(parts),
        }
    }

    fn or(mut parts: Vec<Code>) -> Code {
        match parts.len() {
            0 => Code::Atom(quote!(false)),
            1 => parts.pop().expect("one"),
            _ => Code::Or(parts),
        }
    }

    pub fn tokens(&self) -> TokenStream {
        match self {
            Code::Atom(t) => t.clone(),
            Code::Not(inner) => match &**inner {
                Code::Atom(t) => quote!(!#t),
                other => {
                    let t = other.tokens();
                    quote!(!(#t))
                }
            },
            // `||` inside `&&` (and, for the reader, `&&` inside `||`) gets parentheses.
            Code::And(parts) => {
                let parts =
                    parts.iter().map(|p| if matches!(p, Code::Or(_)) { p.paren() } else { p.tokens() });
                quote!(#(#parts)&&*)
            }
            Code::Or(parts) => {
                let parts =
                    parts.iter().map(|p| if matches!(p, Code::And(_)) { p.paren() } else { p.tokens() });
                quote!(#(#parts)||*)
            }
        }
    }

    fn paren(&self) -> TokenStream {
        let t = self.tokens();
        quote!((#t))
    }
}

/// Translates expressions over one event variable.
pub(crate) struct Emitter<'p> {
    pub paths: &'p Paths,
    /// Fields of the event already read into locals (a step that reads a field more than once
    /// reads it once, before its test).
    pub locals: BTreeMap<Path, Ident>,
}

/// How many times `expr` reads each path of its own subject (not of list elements).
pub(crate) fn reads(expr: &Expr, out: &mut BTreeMap<Path, usize>) {
    match expr {
        Expr::Always(_) => {}
        Expr::All(xs) | Expr::Any(xs) | Expr::None(xs) | Expr::OnlyOne(xs) => {
            xs.iter().for_each(|x| reads(x, out))
        }
        Expr::Test { path, .. } if !path.segments.is_empty() => *out.entry(path.clone()).or_default() += 1,
        Expr::Test { .. } => {}
        Expr::Compare { left, right, .. } => {
            *out.entry(left.clone()).or_default() += 1;
            *out.entry(right.clone()).or_default() += 1;
        }
        Expr::Elements { path, .. } => *out.entry(path.clone()).or_default() += 1,
    }
}

impl Emitter<'_> {
    /// `subject.field(&PATH)`, or the local that already holds it.
    fn read(&self, subject: &Ident, path: &Path) -> TokenStream {
        match self.locals.get(path) {
            Some(local) if subject == "event" => quote!(#local),
            _ => {
                let name = self.paths.ident(path);
                quote!(#subject.field(&#name))
            }
        }
    }

    /// `expr` evaluated against the value named `subject` (`event`, or a list element).
    /// `filter` applies the InlineFilters rules to every leaf.
    pub fn expr(&self, expr: &Expr, subject: &Ident, filter: bool) -> Code {
        match expr {
            Expr::Always(b) => Code::Atom(quote!(#b)),
            Expr::All(xs) => Code::and(xs.iter().map(|x| self.expr(x, subject, filter)).collect()),
            Expr::Any(xs) => Code::or(xs.iter().map(|x| self.expr(x, subject, filter)).collect()),
            Expr::None(xs) => Code::or(xs.iter().map(|x| self.expr(x, subject, filter)).collect()).not(),
            Expr::OnlyOne(xs) => {
                let parts = xs.iter().map(|x| self.expr(x, subject, filter).tokens());
                Code::Atom(quote!(exactly_one([#(#parts),*])))
            }
            Expr::Test { path, test, negated } => {
                // An empty path is the list element itself.
                let value =
                    if path.segments.is_empty() { quote!(#subject) } else { self.read(subject, path) };
                if filter {
                    let v = format_ident!("value");
                    let holds = test_call(&quote!(#v), test, self.paths);
                    Code::Atom(quote!(filter(#value, #negated, |#v| #holds)))
                } else {
                    let call = Code::Atom(test_call(&value, test, self.paths));
                    if *negated { call.not() } else { call }
                }
            }
            Expr::Compare { left, op, right, negated } => {
                let (l, r) = (self.read(subject, left), self.read(subject, right));
                let method = match op {
                    CompareOp::Equals => "same_as",
                    CompareOp::IEquals => "iequals_field",
                    CompareOp::StartsWith => "starts_with_field",
                    CompareOp::IStartsWith => "istarts_with_field",
                    CompareOp::EndsWith => "ends_with_field",
                    CompareOp::IEndsWith => "iends_with_field",
                    CompareOp::Contains => "contains_field",
                    CompareOp::IContains => "icontains_field",
                    CompareOp::Has => "has_field",
                    CompareOp::IsIn => "is_in_field",
                    CompareOp::InCidr => "in_cidr_field",
                    CompareOp::CidrContains => "cidr_contains_field",
                    CompareOp::MatchesGlob => "matches_glob_field",
                    CompareOp::Ordering(o) => {
                        let test = match o {
                            Ordering::Greater => quote!(is_gt),
                            Ordering::GreaterOrEqual => quote!(is_ge),
                            Ordering::Less => quote!(is_lt),
                            Ordering::LessOrEqual => quote!(is_le),
                        };
                        let call = Code::Atom(quote!(#l.compare_with(&#r).is_some_and(Ordering::#test)));
                        return if *negated { call.not() } else { call };
                    }
                };
                let method = format_ident!("{}", method);
                let call = Code::Atom(quote!(#l.#method(&#r)));
                if *negated { call.not() } else { call }
            }
            Expr::Elements { path, quantifier, body } => {
                let list = self.read(subject, path);
                let element = element_name(subject);
                let body = Code::and(body.iter().map(|x| self.expr(x, &element, false)).collect()).tokens();
                // A body of constants (after folding) reads no element.
                let param = if mentions(&body, &element) { quote!(#element) } else { quote!(_) };
                let method = match quantifier {
                    Quantifier::Any => quote!(any_element),
                    Quantifier::All => quote!(all_elements),
                    Quantifier::None => quote!(no_element),
                    Quantifier::OnlyOne => quote!(only_one_element),
                };
                Code::Atom(quote!(#list.#method(|#param| #body)))
            }
        }
    }
}

/// Whether `tokens` use the variable `name` (so that an unused parameter can be `_`).
pub(crate) fn mentions(tokens: &TokenStream, name: &Ident) -> bool {
    tokens.clone().into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == *name,
        proc_macro2::TokenTree::Group(g) => mentions(&g.stream(), name),
        _ => false,
    })
}

/// `element` inside the first list comprehension, `element2` inside one nested in it, …
fn element_name(subject: &Ident) -> Ident {
    let s = subject.to_string();
    match s.strip_prefix("element") {
        None => format_ident!("element"),
        Some("") => format_ident!("element2"),
        Some(n) => format_ident!("element{}", n.parse::<u32>().unwrap_or(1) + 1),
    }
}

/// An `IsIn` of more strings than this searches a sorted list.
const SCAN_AT_MOST: usize = 8;

/// The method call that tests `value` for the positive form of `test`.
fn test_call(value: &TokenStream, test: &Test, constants: &Paths) -> TokenStream {
    let (method, arg) = match test {
        Test::Equals(l) => ("equals", lit(l)),
        Test::IEquals(s) => ("iequals", str_lit(s)),
        Test::StartsWith(s) => ("starts_with", str_lit(s)),
        Test::IStartsWith(s) => ("istarts_with", str_lit(s)),
        Test::EndsWith(s) => ("ends_with", str_lit(s)),
        Test::IEndsWith(s) => ("iends_with", str_lit(s)),
        Test::Contains(l) => ("contains", lit(l)),
        Test::IContains(s) => ("icontains", str_lit(s)),
        Test::Has(l) => ("has", lit(l)),
        Test::Compare(o, n) => {
            let method = match o {
                Ordering::Greater => "greater_than",
                Ordering::GreaterOrEqual => "at_least",
                Ordering::Less => "less_than",
                Ordering::LessOrEqual => "at_most",
            };
            (method, num(n))
        }
        Test::IsIn(set) => {
            // Many strings (sorted by `lit_set`) are searched, not scanned.
            let method = if set.len() > SCAN_AT_MOST && set.iter().all(|l| matches!(l, Lit::Str(_))) {
                "is_in_sorted"
            } else {
                "is_in"
            };
            match constants.set(set) {
                Some(name) => (method, quote!(#name)),
                None => {
                    let set = lit_set(set);
                    (method, quote!(&[#(#set),*]))
                }
            }
        }
        Test::MatchesGlob(globs) => {
            let globs = globs.iter().map(|g| str_lit(g));
            ("matches_glob", quote!(&[#(#globs),*]))
        }
        Test::Exists => ("exists", quote!()),
        Test::IsNull => ("is_null", quote!()),
        Test::IsNullOrEmpty => ("is_null_or_empty", quote!()),
        Test::IsIp(kind) => {
            let method = match kind {
                IpKind::Any => "is_ip",
                IpKind::V4 => "is_ipv4",
                IpKind::V6 => "is_ipv6",
                IpKind::Public => "is_public_ip",
                IpKind::Private => "is_private_ip",
            };
            (method, quote!())
        }
        Test::InCidr(cidrs) => {
            let cidrs = cidrs.iter().map(cidr);
            ("in_cidr", quote!(&[#(#cidrs),*]))
        }
        Test::CidrContains(addrs) => {
            let hosts =
                addrs.iter().map(|a| cidr(&Cidr { addr: *a, prefix: if a.is_ipv4() { 32 } else { 128 } }));
            ("cidr_contains", quote!(&[#(#hosts),*]))
        }
    };
    let method = format_ident!("{}", method);
    quote!(#value.#method(#arg))
}

/// The set of an `IsIn`: plain literals when they share a type (sorted strings read well and
/// are stable), `Lit::…` values when they mix types.
fn lit_set(set: &[Lit]) -> Vec<TokenStream> {
    let all_num = set.iter().all(|l| matches!(l, Lit::Num(_)));
    let all_bool = set.iter().all(|l| matches!(l, Lit::Bool(_)));
    if let Some(strs) = sorted_strs(set) {
        strs.iter().map(|s| str_lit(s)).collect()
    } else if all_bool || (all_num && set.iter().all(|l| matches!(l, Lit::Num(Num::Int(_))))) {
        set.iter().map(lit).collect()
    } else {
        set.iter()
            .map(|l| match l {
                Lit::Str(s) => {
                    let s = str_lit(s);
                    quote!(Lit::Str(#s))
                }
                Lit::Num(n) => {
                    let n = num(n);
                    quote!(Lit::from(#n))
                }
                Lit::Bool(b) => quote!(Lit::Bool(#b)),
            })
            .collect()
    }
}

fn lit(l: &Lit) -> TokenStream {
    match l {
        Lit::Str(s) => str_lit(s),
        Lit::Num(n) => num(n),
        Lit::Bool(b) => quote!(#b),
    }
}

/// A typed number literal: `443i64`, `1.5f64`, `18446744073709551615u64`.
fn num(n: &Num) -> TokenStream {
    match n {
        Num::Int(i) => {
            let l = Literal::i64_suffixed(*i);
            quote!(#l)
        }
        Num::UInt(u) => {
            let l = Literal::u64_suffixed(*u);
            quote!(#l)
        }
        Num::Float(f) if f.is_infinite() && *f > 0.0 => quote!(f64::INFINITY),
        Num::Float(f) if f.is_infinite() => quote!(f64::NEG_INFINITY),
        Num::Float(f) => {
            let l = Literal::f64_suffixed(*f);
            quote!(#l)
        }
    }
}

fn cidr(c: &Cidr) -> TokenStream {
    let prefix = Literal::u8_unsuffixed(c.prefix);
    match c.addr {
        IpAddr::V4(a) => {
            let octets = a.octets().map(Literal::u8_unsuffixed);
            quote!(Cidr::v4([#(#octets),*], #prefix))
        }
        IpAddr::V6(a) => {
            let segments = a
                .segments()
                .map(|s| if s == 0 { quote!(0) } else { format!("{s:#x}").parse().expect("hex literal") });
            quote!(Cidr::v6([#(#segments),*], #prefix))
        }
    }
}
