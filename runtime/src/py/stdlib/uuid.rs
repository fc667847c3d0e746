//! `str(uuid.uuid4())`: a random version-4 UUID in its canonical form. CPython draws its 122
//! random bits from `os.urandom`, so no two runs agree and no compiled rule can reproduce one;
//! what a rule relies on (a fresh, well-formed value at every call, e.g. a dedup string that
//! never merges alerts) holds here. The bits come from the standard library's randomly keyed
//! SipHash (keys from the operating system's random source) over a process-wide counter: unique
//! and unpredictable enough for identifiers, not a cryptographic generator.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_u64(salt: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(salt);
    h.finish()
}

/// `str(uuid.uuid4())`, e.g. `"1b4e28ba-2fa1-4d2b-883f-0016d3cca427"`.
pub fn uuid4_string() -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64(1).to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64(2).to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_and_fresh() {
        let ids: Vec<String> = (0..1000).map(|_| uuid4_string()).collect();
        for id in &ids {
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{id}");
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(parts[2].starts_with('4') && "89ab".contains(&parts[3][..1]), "{id}");
        }
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }
}
