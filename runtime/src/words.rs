//! A short string as machine words: its first and last eight bytes and, past sixteen bytes,
//! bytes 8 to 16, so that equal words mean equal strings up to [`WHOLE`] bytes, compared
//! without a loop or a call to `memcmp`. Shared by the view's key tables and the engine's
//! dispatch on field values.
//! Must not: hash or look anything up (its users do, each in its own way).

/// The longest string that [`Ends`] hold whole.
pub(crate) const WHOLE: usize = 24;

/// A key's first and last eight bytes (overlapping, or zero-padded when shorter) as words, and
/// for keys over 16 bytes its bytes 8 to 16: three compares tell whether a key of up to
/// [`WHOLE`] bytes is another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ends {
    pub(crate) head: u64,
    pub(crate) tail: u64,
    pub(crate) mid: u64,
}

impl Ends {
    #[inline]
    pub(crate) fn of(key: &[u8]) -> Ends {
        let n = key.len();
        if n >= 8 {
            let word = |at: usize| u64::from_le_bytes(key[at..at + 8].try_into().expect("eight bytes"));
            Ends { head: word(0), tail: word(n - 8), mid: if n > 16 { word(8) } else { 0 } }
        } else {
            let word = short_word(key);
            Ends { head: word, tail: word, mid: 0 }
        }
    }
}

/// A key of under eight bytes as a little-endian word padded with zeros, from two overlapping
/// loads (the bytes both loads cover are the same, so or-ing them is exact): no copy through a
/// buffer of variable length, which is a call to `memcpy`.
#[inline]
fn short_word(key: &[u8]) -> u64 {
    let n = key.len();
    debug_assert!(n < 8);
    if n >= 4 {
        let lo = u32::from_le_bytes(key[..4].try_into().expect("four bytes"));
        let hi = u32::from_le_bytes(key[n - 4..].try_into().expect("four bytes"));
        u64::from(lo) | u64::from(hi) << (8 * (n - 4))
    } else if n >= 2 {
        let lo = u16::from_le_bytes(key[..2].try_into().expect("two bytes"));
        let hi = u16::from_le_bytes(key[n - 2..].try_into().expect("two bytes"));
        u64::from(lo) | u64::from(hi) << (8 * (n - 2))
    } else {
        key.first().map_or(0, |&b| u64::from(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_padded_words() {
        for len in 0..8 {
            let key: Vec<u8> = (1..=len as u8).map(|b| b'a' + b).collect();
            let mut buf = [0; 8];
            buf[..len].copy_from_slice(&key);
            assert_eq!(short_word(&key), u64::from_le_bytes(buf), "{len} bytes");
        }
    }
}
