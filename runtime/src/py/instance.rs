//! Objects of the classes a rule's Python defines (`class IPInfoASN(LookupTableMatches):`).
//!
//! The compiler resolves everything about a class at build time (its methods, through its
//! bases, are Rust functions; a call `x.m()` compares the receiver's class with each class of
//! the program that has `m`), so an instance only knows its class (module and name, its
//! identity), the names its class and bases define (for `hasattr`), and holds its attributes
//! (`self.x = …`, in assignment order). Classes compile only without special methods other than
//! `__init__`, so an instance is true, equal only to itself and hashable, as CPython's default
//! `object` behaviour says; its `repr` (CPython prints its memory address) is an error.

use std::cell::RefCell;
use std::rc::Rc;

use super::{Exc, Obj, R};

/// A class, as the compiler writes it at each instantiation.
#[derive(Debug)]
pub struct Class {
    /// The module that defines it (its Python name).
    pub module: &'static str,
    pub name: &'static str,
    /// The methods of the class and its bases.
    pub methods: &'static [&'static str],
}

/// An instance: its class and its attributes.
#[derive(Debug)]
pub struct Instance<'e> {
    pub class: &'static Class,
    attrs: RefCell<Vec<(&'static str, Obj<'e>)>>,
}

/// A new instance of `class`, without attributes (`__init__` is called by the compiled code).
pub fn instance<'e>(class: &'static Class) -> Obj<'e> {
    Obj::Instance(Rc::new(Instance { class, attrs: RefCell::new(Vec::new()) }))
}

/// The class of an instance (`None` for other values), as `(module, name)`.
pub fn class_of(x: &Obj<'_>) -> Option<(&'static str, &'static str)> {
    match x {
        Obj::Instance(i) => Some((i.class.module, i.class.name)),
        _ => None,
    }
}

/// `x.name` for an attribute some class of the program sets: the instance's attribute, else
/// `AttributeError` (a value of another type has no such attribute, unless its type has it,
/// which is not modelled).
pub fn getattr<'e>(x: &Obj<'e>, name: &str) -> R<Obj<'e>> {
    match x {
        Obj::Instance(i) => {
            i.attrs.borrow().iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).ok_or_else(|| {
                if i.class.methods.contains(&name) {
                    Exc::unsupported(format!("the method `{name}` of `{}` as a value", i.class.name))
                } else {
                    Exc::attribute_error(x, name)
                }
            })
        }
        _ => match super::hasattr(x, &Obj::str(name)) {
            Ok(false) => Err(Exc::attribute_error(x, name)),
            _ => Err(Exc::unsupported(format!("the attribute `{name}` of a '{}'", x.type_name()))),
        },
    }
}

/// `x.name = value`.
pub fn setattr<'e>(x: &Obj<'e>, name: &'static str, value: Obj<'e>) -> R<()> {
    match x {
        Obj::Instance(i) => {
            let mut attrs = i.attrs.borrow_mut();
            match attrs.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => attrs.push((name, value)),
            }
            Ok(())
        }
        _ => Err(Exc::attribute_error(x, name)),
    }
}

/// Whether an instance has the attribute (its own, or a method of its class).
pub fn has(i: &Instance<'_>, name: &str) -> bool {
    i.class.methods.contains(&name) || i.attrs.borrow().iter().any(|(n, _)| *n == name)
}

/// What `__init__` returned: it must be `None`.
pub fn init_result(r: Obj<'_>) -> R<()> {
    match r {
        Obj::None => Ok(()),
        other => Err(Exc::type_error(format!("__init__() should return None, not '{}'", other.type_name()))),
    }
}

/// A method call on a value whose class has no such method (or that is no instance):
/// `AttributeError`, unless a built-in type has it (which is not modelled).
pub fn no_method<'e>(x: &Obj<'e>, name: &str) -> R<Obj<'e>> {
    match x {
        Obj::Instance(_) => Err(Exc::attribute_error(x, name)),
        _ => match super::hasattr(x, &Obj::str(name)) {
            Ok(false) => Err(Exc::attribute_error(x, name)),
            _ => Err(Exc::unsupported(format!("the method `{name}` of a '{}'", x.type_name()))),
        },
    }
}
