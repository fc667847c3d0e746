//! `difflib.SequenceMatcher(None, a, b).ratio()` on two strings, ported from CPython 3.11's
//! `difflib` (Python Software Foundation License): the matching blocks that
//! `get_matching_blocks` finds (longest match first, then both sides of it, with the
//! "popular" characters of a `b` of 200 or more left out of the index when `autojunk` is on, as
//! CPython does), and `2.0 * matches / (len(a) + len(b))`.
//!
//! Only strings are compared here; other sequences (lists of hashable items) are an error.

use std::collections::HashMap;

use super::super::{Exc, Obj, R};

/// `SequenceMatcher(None, a, b, autojunk=autojunk).ratio()`.
pub fn ratio<'e>(a: &Obj<'e>, b: &Obj<'e>, autojunk: bool) -> R<Obj<'e>> {
    let (Obj::Str(a), Obj::Str(b)) = (a, b) else {
        return Err(Exc::unsupported(format!(
            "difflib.SequenceMatcher on a '{}' and a '{}' (only strings are modelled)",
            a.type_name(),
            b.type_name()
        )));
    };
    let a: Vec<char> = a.as_str().chars().collect();
    let b: Vec<char> = b.as_str().chars().collect();
    let length = a.len() + b.len();
    if length == 0 {
        return Ok(Obj::Float(1.0));
    }
    Ok(Obj::Float(2.0 * matching_characters(&a, &b, autojunk) as f64 / length as f64))
}

/// The total size of `get_matching_blocks()`.
fn matching_characters(a: &[char], b: &[char], autojunk: bool) -> usize {
    // `__chain_b`: where each character of `b` occurs; without `isjunk` nothing is junk, and
    // with `autojunk` a character of more than 1% of a long `b` is left out of the index.
    let mut b2j: HashMap<char, Vec<usize>> = HashMap::new();
    for (j, c) in b.iter().enumerate() {
        b2j.entry(*c).or_default().push(j);
    }
    if autojunk && b.len() >= 200 {
        let ntest = b.len() / 100 + 1;
        b2j.retain(|_, js| js.len() <= ntest);
    }
    let mut total = 0;
    let mut queue = vec![(0, a.len(), 0, b.len())];
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest_match(a, b, &b2j, (alo, ahi, blo, bhi));
        if k > 0 {
            total += k;
            if alo < i && blo < j {
                queue.push((alo, i, blo, j));
            }
            if i + k < ahi && j + k < bhi {
                queue.push((i + k, ahi, j + k, bhi));
            }
        }
    }
    total
}

/// `find_longest_match(alo, ahi, blo, bhi)`: the earliest longest block of the index, then
/// extended over equal characters on both sides (which reaches the popular ones).
fn longest_match(
    a: &[char],
    b: &[char],
    b2j: &HashMap<char, Vec<usize>>,
    (alo, ahi, blo, bhi): (usize, usize, usize, usize),
) -> (usize, usize, usize) {
    let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0);
    let mut j2len: HashMap<usize, usize> = HashMap::new();
    for (i, c) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut next = HashMap::new();
        for &j in b2j.get(c).map_or(&[][..], Vec::as_slice) {
            if j < blo {
                continue;
            }
            if j >= bhi {
                break;
            }
            let k = if j == 0 { 0 } else { j2len.get(&(j - 1)).copied().unwrap_or(0) } + 1;
            next.insert(j, k);
            if k > bestsize {
                (besti, bestj, bestsize) = (i + 1 - k, j + 1 - k, k);
            }
        }
        j2len = next;
    }
    while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
        (besti, bestj, bestsize) = (besti - 1, bestj - 1, bestsize + 1);
    }
    while besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] == b[bestj + bestsize] {
        bestsize += 1;
    }
    (besti, bestj, bestsize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: &str, b: &str) -> f64 {
        match ratio(&Obj::str(a), &Obj::str(b), true).unwrap() {
            Obj::Float(f) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ratios_as_cpython_computes_them() {
        // Values printed by CPython 3.11.
        assert_eq!(r("", ""), 1.0);
        assert_eq!(r("", "google.com"), 0.0);
        assert_eq!(r("google.com", "gooogle.com"), 0.9523809523809523);
        assert_eq!(r("abcd", "bcde"), 0.75);
        assert_eq!(r("private", "pirate"), 0.7692307692307693);
    }
}
