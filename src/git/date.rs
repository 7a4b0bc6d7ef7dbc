//! Commit dates as the history commands print and read them.

use crate::crypto::time::civil_from_days;

/// `2026-11-20 14:03 +01:00`: the local time of the commit in its own offset.
pub fn format_date(seconds: i64, offset: i32) -> String {
    let local = seconds + i64::from(offset);
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let rem = local.rem_euclid(86_400);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} {sign}{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        off / 3600,
        off % 3600 / 60
    )
}

/// `2026-11-20`, in UTC.
pub fn format_day(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Seconds since the epoch of a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then_some(days * 86_400)
}

/// A length of time such as `90d`, `12h`, `2w`, `30m`, `45s`, `1y` (365 days), in seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok()?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => return None,
    };
    n.checked_mul(unit_seconds)
}

/// Howard Hinnant's civil-to-days algorithm, the inverse of `civil_from_days`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_in_the_commit_offset() {
        assert_eq!(format_date(1_763_643_780, 3600), "2025-11-20 14:03 +01:00");
        assert_eq!(format_date(0, -5 * 3600 - 1800), "1969-12-31 18:30 -05:30");
        assert_eq!(format_day(1_763_643_780), "2025-11-20");
    }

    #[test]
    fn days_and_durations_parse() {
        assert_eq!(parse_day("2025-11-20"), Some(1_763_596_800));
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2025-02-30"), None);
        assert_eq!(parse_day("soon"), None);
        assert_eq!(parse_duration("90d"), Some(90 * 86_400));
        assert_eq!(parse_duration("2w"), Some(14 * 86_400));
        assert_eq!(parse_duration("12h"), Some(43_200));
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
