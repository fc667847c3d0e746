//! Names: Rust identifiers made from user text, and "did you mean" suggestions.
//!
//! Owns the sanitising rules (snake case, keywords, leading digits) that make rule files and
//! test names into module and function names, and the nearest-name search used by diagnostics.
//! Must not: decide what a collision means; callers report it with both locations.

/// Rust's strict and reserved keywords (2024 edition), which cannot name a module or function.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static",
    "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual",
    "where", "while", "yield",
];

/// Snake case from arbitrary text: ASCII letters and digits kept (lower-cased), everything else a
/// single `_`. Returns `None` when nothing is left. Keywords get a trailing `_`; a leading digit
/// gets `prefix` in front. "CloudTrail Instances" becomes `cloudtrail_instances`.
pub fn snake_case(text: &str, prefix: &str) -> Option<String> {
    words(text, prefix, false)
}

/// `base`, or the first of `base_2`, `base_3`, … that `taken` does not hold: names that
/// sanitising made equal stay apart.
pub fn unique(base: &str, taken: &[String]) -> String {
    std::iter::once(base.to_string())
        .chain((2..).map(|i| format!("{base}_{i}")))
        .find(|name| !taken.contains(name))
        .expect("a free name")
}

/// SCREAMING_SNAKE_CASE for constants, splitting camelCase: `eventName` becomes `EVENT_NAME`.
pub fn constant_case(text: &str) -> String {
    words(text, "F", true).unwrap_or_else(|| "FIELD".into()).trim_end_matches('_').to_ascii_uppercase()
}

fn words(text: &str, prefix: &str, split_camel: bool) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        if c.is_ascii_alphanumeric() {
            // `eventName` -> event_name, `sourceIPAddress` -> source_ip_address.
            let boundary = split_camel
                && c.is_ascii_uppercase()
                && prev.is_some_and(|p| {
                    p.is_ascii_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
                });
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        return None;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, prefix);
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    Some(out)
}

/// The candidate nearest to `wrong`: an exact match ignoring case, else the first that `wrong`
/// abbreviates (`Expected` for `ExpectedResult`), else the one within a small edit distance
/// (a typo, not a different word).
pub fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_lower = wrong.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    let mut prefix_of: Option<&str> = None;
    for c in candidates {
        let c_lower = c.to_lowercase();
        if c_lower == wrong_lower {
            return Some(c);
        }
        if wrong.len() >= 4 && c_lower.starts_with(&wrong_lower) && prefix_of.is_none() {
            prefix_of = Some(c);
        }
        let d = distance(&wrong_lower, &c_lower);
        if d <= (c.len().max(wrong.len()) / 3).max(1) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    prefix_of.or(best.map(|(_, c)| c))
}

/// Optimal string alignment distance: Levenshtein plus transposition of neighbours.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_of_test_names() {
        assert_eq!(
            snake_case("CloudTrail Instances Were Stopped", "case_").unwrap(),
            "cloudtrail_instances_were_stopped"
        );
        assert_eq!(snake_case("True positive", "case_").unwrap(), "true_positive");
        assert_eq!(snake_case("  --weird--  name!! ", "case_").unwrap(), "weird_name");
        assert_eq!(snake_case("403 forbidden", "case_").unwrap(), "case_403_forbidden");
        assert_eq!(snake_case("match", "case_").unwrap(), "match_");
        assert_eq!(snake_case("Self", "case_").unwrap(), "self_");
        assert_eq!(snake_case("!!!", "case_"), None);
        assert_eq!(snake_case("aws_ec2_stopinstances", "rule_").unwrap(), "aws_ec2_stopinstances");
        assert_eq!(snake_case("eventName", "f").unwrap(), "eventname");
    }

    #[test]
    fn nearest_names() {
        let conditions = ["IsIn", "IsNotIn", "Equals", "IEquals", "Contains"];
        assert_eq!(nearest("IsInn", conditions), Some("IsIn"));
        assert_eq!(nearest("isin", conditions), Some("IsIn"));
        assert_eq!(nearest("Equal", conditions), Some("Equals"));
        assert_eq!(nearest("Contians", conditions), Some("Contains"));
        assert_eq!(nearest("Frobnicate", conditions), None);
        assert_eq!(nearest("Expected", ["Name", "ExpectedResult", "ExpectedTitle"]), Some("ExpectedResult"));
    }

    #[test]
    fn constants() {
        assert_eq!(constant_case("eventName"), "EVENT_NAME");
        assert_eq!(constant_case("p_enrichment"), "P_ENRICHMENT");
        assert_eq!(constant_case("userAgent2x"), "USER_AGENT2X");
        assert_eq!(constant_case("hostPID"), "HOST_PID");
        assert_eq!(constant_case("sourceIPAddress"), "SOURCE_IP_ADDRESS");
    }
}
