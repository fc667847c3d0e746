//! Module state: the module variables a rule's functions assign (`global X`), which CPython keeps
//! between calls, between Panther's functions of one event and between events of one process.
//!
//! Each such variable is a [`Global`] `static` of the rule's generated module; what it holds is
//! per thread (a slot of this thread's table, at the index the variable takes on first use): a
//! thread is one Python process, whose module was just imported (the variable holds its
//! module-level value, or is unbound) until the engine or a test resets it ([`reset`]).
//! Compiled code reads and writes it through [`load`] and [`store`]: a direct reference, never a
//! look-up by name.
//!
//! Values outlive the event they came from, so they are kept detached from it: strings are copied,
//! as are tuples and `re` matches (immutable, so a copy behaves as the original). A list, dict or
//! set is kept only through [`store_fresh`], which the compiler emits where a copy is exact (see
//! there). What cannot be kept exactly (other mutable containers, whose aliases would stop seeing
//! each other's changes; parts of the event; functions) is remembered by its type only, and
//! reading it raises an error the rule's `except` never catches: never a different answer.
//!
//! Must not: know which rule runs; generated code names the variables.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Const, Dict, Exc, Obj, R, Str};

/// What a module variable holds between calls.
#[derive(Debug)]
enum Stored {
    /// What the module's import gave it (its module-level value, or unbound).
    Imported,
    Value(Obj<'static>),
    /// A value that cannot be kept exactly: its Python type.
    Unsupported(&'static str),
}

/// One module variable of a rule: its name and its module-level value (what it holds now is
/// per thread).
#[derive(Debug)]
pub struct Global {
    name: &'static str,
    /// The value the module's import gives it, or `None` when the module never assigns it.
    initial: Option<&'static Const>,
    /// Its slot in every thread's table, numbered on first use.
    index: OnceLock<usize>,
}

impl Global {
    pub const fn new(name: &'static str, initial: Option<&'static Const>) -> Global {
        Global { name, initial, index: OnceLock::new() }
    }

    fn index(&self) -> usize {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        *self.index.get_or_init(|| NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Runs `f` on what the variable holds on this thread.
    fn with<T>(&self, f: impl FnOnce(&mut Stored) -> T) -> T {
        let i = self.index();
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            if slots.len() <= i {
                slots.resize_with(i + 1, || Stored::Imported);
            }
            f(&mut slots[i])
        })
    }
}

thread_local! {
    /// What each module variable holds on this thread, by the variable's index.
    static SLOTS: RefCell<Vec<Stored>> = const { RefCell::new(Vec::new()) };
}

/// Reads module variable `g`: CPython's `NameError` when it was never assigned.
pub fn load<'e>(g: &'static Global) -> R<Obj<'e>> {
    g.with(|value| match value {
        Stored::Imported => match g.initial {
            Some(c) => Ok(Obj::from_const(c)),
            None => Err(name_error(g)),
        },
        Stored::Value(v) => Ok(attach(v)),
        Stored::Unsupported(kind) => Err(Exc::unsupported(format!(
            "module variable `{}` holds a `{kind}` between function calls: compiled rules keep only \
             immutable values (numbers, strings, tuples, `re` objects) in module state, and lists, \
             dicts and sets of them that the assignment builds",
            g.name
        ))),
    })
}

fn name_error(g: &Global) -> Exc {
    Exc::new("NameError", format!("name '{}' is not defined", g.name))
}

/// `X = value` in a function that declares `global X`.
pub fn store(g: &'static Global, value: &Obj<'_>) {
    let stored = match detach(value) {
        Ok(v) => Stored::Value(v),
        Err(kind) => Stored::Unsupported(kind),
    };
    g.with(|slot| *slot = stored);
}

/// `X = value` in a function that declares `global X`, where `value` is built by the assignment
/// itself (a display, a comprehension, `list()`/`dict()`/`set()`/`sorted()`, a binary operation)
/// and every read of `X` in the module only inspects or copies it (`len(X)`, `list(X)`, `x in X`,
/// `X | y`, iteration, …): the compiler proves both before it emits this call.
///
/// A list, dict or set is then kept as a copy, and every read gets a copy of its own. This is
/// exact: no other reference to the fresh container exists when it is stored, no read lets one
/// escape (none is bound to a name, put in a container, returned or passed to a function that
/// could keep it), and nothing changes `X` in place, so no code can tell a copy from the original
/// by a change made through one and missed by the other (and `X is …` is not among the reads the
/// compiler accepts). Its items must be immutable (numbers, strings, tuples of them, …: `detach`
/// keeps nothing else), since an item that is itself a container may be shared with other names;
/// one that is not makes the variable unreadable, as [`store`] does.
pub fn store_fresh(g: &'static Global, value: &Obj<'_>) {
    let copy = |items: &[Obj<'_>]| items.iter().map(detach).collect::<Result<Vec<_>, _>>();
    let stored = match value {
        Obj::List(items) => copy(&items.borrow()).map(|v| Obj::List(Rc::new(RefCell::new(v)))),
        Obj::Set(items) => copy(&items.borrow()).map(|v| Obj::Set(Rc::new(RefCell::new(v)))),
        Obj::Dict(d) => d
            .borrow()
            .entries
            .iter()
            .map(|(k, v)| Ok((detach(k)?, detach(v)?)))
            .collect::<Result<Vec<_>, _>>()
            .map(|entries| Obj::Dict(Rc::new(RefCell::new(Dict { entries })))),
        other => detach(other),
    };
    let stored = match stored {
        Ok(v) => Stored::Value(v),
        // The container's type when an item cannot be kept: what a read reports.
        Err(_) if matches!(value, Obj::List(_) | Obj::Set(_) | Obj::Dict(_)) => {
            Stored::Unsupported(value.type_name())
        }
        Err(kind) => Stored::Unsupported(kind),
    };
    g.with(|slot| *slot = stored);
}

thread_local! {
    /// What the running test case assigned to the module variables it mocks, by name: the
    /// variable's value for the rest of the case, dropped when the case ends (`patch.multiple`
    /// then restores the original). Lifetimes erased: see [`load_mocked`].
    static PATCHED: RefCell<Vec<(&'static str, Obj<'static>)>> = const { RefCell::new(Vec::new()) };
}

/// Reads module variable `g`, which some test case of the rule mocks: while one does, the
/// test's `MagicMock`, or what the case assigned to it since (the very object: the case keeps
/// one event, so lists, dicts and sets stay shared as in CPython); otherwise [`load`].
pub fn load_mocked<'e>(g: &'static Global) -> R<Obj<'e>> {
    if !super::is_mocked(g.name) {
        return load(g);
    }
    let patched = PATCHED.with(|p| p.borrow().iter().find(|(n, _)| *n == g.name).map(|(_, v)| v.clone()));
    Ok(match patched {
        // SAFETY: the value was stored during this test case, whose event outlives the case
        // (`with_mocks` drops the value when the case ends, before its caller drops the event),
        // and no other event is evaluated inside a case: every borrow it holds is still valid.
        #[allow(unsafe_code)]
        Some(v) => unsafe { std::mem::transmute::<Obj<'static>, Obj<'e>>(v) },
        None => Obj::Native(Rc::new(super::stdlib::Native::MagicMock(g.name))),
    })
}

/// `X = value` for a module variable some test case mocks: while one does, the value of `X`
/// for the rest of that case (see [`load_mocked`]); otherwise [`store`].
pub fn store_mocked(g: &'static Global, value: &Obj<'_>) {
    if !super::is_mocked(g.name) {
        return store(g, value);
    }
    // SAFETY: see `load_mocked`; the value is dropped when the case ends.
    #[allow(unsafe_code)]
    let value = unsafe { std::mem::transmute::<Obj<'_>, Obj<'static>>(value.clone()) };
    PATCHED.with(|p| {
        let mut p = p.borrow_mut();
        match p.iter_mut().find(|(n, _)| *n == g.name) {
            Some(slot) => slot.1 = value,
            None => p.push((g.name, value)),
        }
    });
}

/// The start of a test case's mocks: what earlier (enclosing) cases patched is set aside.
pub(crate) fn begin_patch() -> Vec<(&'static str, Obj<'static>)> {
    PATCHED.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// The end of a test case's mocks: what it assigned to mocked variables is dropped.
pub(crate) fn end_patch(previous: Vec<(&'static str, Obj<'static>)>) {
    let ended = PATCHED.with(|p| std::mem::replace(&mut *p.borrow_mut(), previous));
    drop(ended);
}

/// Resets every variable of `state` to its module-level value (a fresh import), on this thread.
pub fn reset(state: &[&'static Global]) {
    for g in state {
        g.with(|value| *value = Stored::Imported);
    }
}

/// A value that no longer borrows from the event, or the type of one that cannot be kept.
fn detach(x: &Obj<'_>) -> Result<Obj<'static>, &'static str> {
    Ok(match x {
        Obj::None => Obj::None,
        Obj::Bool(b) => Obj::Bool(*b),
        Obj::Int(i) => Obj::Int(*i),
        Obj::Float(f) => Obj::Float(*f),
        Obj::Str(Str::Owned(s)) => Obj::Str(Str::Owned(s.clone())),
        Obj::Str(Str::Borrowed(s)) => Obj::Str(Str::Owned(Rc::from(*s))),
        Obj::Const(c) => Obj::Const(c),
        Obj::Regex(r) => Obj::Regex(r.clone()),
        Obj::Native(n) => Obj::Native(n.clone()),
        Obj::Match(m) => Obj::Match(Rc::new(m.detach())),
        Obj::Tuple(items) => Obj::Tuple(items.iter().map(detach).collect::<Result<Rc<[_]>, _>>()?),
        Obj::List(_)
        | Obj::Dict(_)
        | Obj::Set(_)
        | Obj::Json(_)
        | Obj::Event(_)
        | Obj::Func(_)
        | Obj::Instance(_)
        | Obj::NamedTuple(_) => {
            return Err(x.type_name());
        }
    })
}

/// A detached value, as a value of the running function.
fn attach<'e>(x: &Obj<'static>) -> Obj<'e> {
    match x {
        Obj::None => Obj::None,
        Obj::Bool(b) => Obj::Bool(*b),
        Obj::Int(i) => Obj::Int(*i),
        Obj::Float(f) => Obj::Float(*f),
        Obj::Str(Str::Owned(s)) => Obj::Str(Str::Owned(s.clone())),
        Obj::Str(Str::Borrowed(s)) => Obj::Str(Str::Borrowed(s)),
        Obj::Const(c) => Obj::Const(c),
        Obj::Regex(r) => Obj::Regex(r.clone()),
        Obj::Native(n) => Obj::Native(n.clone()),
        Obj::Match(m) => Obj::Match(m.clone()),
        Obj::Tuple(items) => Obj::Tuple(items.iter().map(attach).collect()),
        // Kept by `store_fresh` only: each read gets its own copy (see there).
        Obj::List(items) => Obj::list(items.borrow().iter().map(attach).collect()),
        Obj::Set(items) => Obj::Set(Rc::new(RefCell::new(items.borrow().iter().map(attach).collect()))),
        Obj::Dict(d) => Obj::Dict(Rc::new(RefCell::new(Dict {
            entries: d.borrow().entries.iter().map(|(k, v)| (attach(k), attach(v))).collect(),
        }))),
        Obj::Json(_) | Obj::Event(_) | Obj::Func(_) | Obj::Instance(_) | Obj::NamedTuple(_) => {
            unreachable!("detach keeps no event part, function or object")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NEVER: Global = Global::new("NEVER", None);
    static COUNT: Global = Global::new("COUNT", Some(&Const::Int(0)));

    #[test]
    fn unassigned_is_a_name_error_until_stored() {
        reset(&[&NEVER]);
        let e = load(&NEVER).unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str(), e.internal),
            ("NameError", "name 'NEVER' is not defined", false)
        );
        store(&NEVER, &Obj::Int(7));
        assert!(matches!(load(&NEVER), Ok(Obj::Int(7))));
        reset(&[&NEVER]);
        assert!(load(&NEVER).is_err());
    }

    #[test]
    fn values_outlive_the_event_they_came_from() {
        reset(&[&COUNT]);
        assert!(matches!(load(&COUNT), Ok(Obj::Int(0))));
        {
            let text = String::from("from the event");
            store(&COUNT, &Obj::tuple(vec![Obj::str(&text), Obj::Int(2)]));
        }
        let got = load(&COUNT).unwrap();
        assert_eq!(crate::py::repr(&got), "('from the event', 2)");
    }

    #[test]
    fn mutable_containers_raise_when_read_back() {
        reset(&[&COUNT]);
        store(&COUNT, &Obj::list(vec![Obj::Int(1)]));
        let e = load(&COUNT).unwrap_err();
        assert!(e.internal && e.message.contains("`list`"), "{e}");
        store(&COUNT, &Obj::tuple(vec![Obj::list(Vec::new())]));
        assert!(load(&COUNT).unwrap_err().internal);
    }

    #[test]
    fn fresh_containers_are_kept_as_copies() {
        reset(&[&COUNT]);
        {
            let text = String::from("from the event");
            let set = Obj::set(vec![Obj::str(&text), Obj::Int(2), Obj::tuple(vec![Obj::str("t")])]).unwrap();
            store_fresh(&COUNT, &set);
            // A change to what was stored (none can happen in compiled code) is not seen.
            if let Obj::Set(items) = &set {
                items.borrow_mut().clear();
            }
        }
        let first = load(&COUNT).unwrap();
        assert_eq!(crate::py::repr(&first), "{'from the event', 2, ('t',)}");
        // Each read is a copy of its own.
        if let Obj::Set(items) = &first {
            items.borrow_mut().clear();
        }
        assert_eq!(crate::py::repr(&load(&COUNT).unwrap()), "{'from the event', 2, ('t',)}");
        let dict = Obj::dict(vec![(Obj::str("k"), Obj::list(vec![Obj::Int(1)]))]).unwrap();
        store_fresh(&COUNT, &dict);
        let e = load(&COUNT).unwrap_err();
        assert!(e.internal && e.message.contains("`dict`"), "{e}");
        store_fresh(&COUNT, &Obj::list(vec![Obj::Int(1), Obj::str("a")]));
        assert_eq!(crate::py::repr(&load(&COUNT).unwrap()), "[1, 'a']");
        store_fresh(&COUNT, &Obj::Int(3));
        assert!(matches!(load(&COUNT), Ok(Obj::Int(3))));
    }
}
