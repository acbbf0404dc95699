//! Small helpers of the store: which ids are safe as file names, and the clock.

/// Ids that are safe as file names: ASCII letters, digits, `_` and `-`, 1–128 long.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_ids_are_refused() {
        assert!(is_safe_id("render_abc-1"));
        assert!(!is_safe_id("../x"));
        assert!(!is_safe_id(""));
        assert!(!is_safe_id("a/b"));
    }
}
