//! Timestamps on the wire: epoch seconds as ISO 8601 in UTC, the one format both the legacy
//! NemoVideo dialect (`expires_at` before 4.4) and the MCP tasks extension
//! (`createdAt`, `lastUpdatedAt`) use.

/// `secs` (since the Unix epoch, UTC) as ISO 8601 with a `Z` suffix, whole seconds
/// (`2026-12-07T00:12:06Z`), proleptic Gregorian. Days to civil date: Howard Hinnant's
/// `civil_from_days` (howardhinnant.github.io/date_algorithms.html).
pub fn iso8601(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn timestamps_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_796_601_126), "2026-12-06T23:52:06Z");
        assert_eq!(iso8601(1_796_601_600), "2026-12-07T00:00:00Z");
    }
}
