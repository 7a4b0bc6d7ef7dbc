//! Commit dates as the history commands print and read them.

use crate::time::civil_from_days;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_in_the_commit_offset() {
        assert_eq!(format_date(1_763_643_780, 3600), "2025-11-20 14:03 +01:00");
        assert_eq!(format_date(0, -5 * 3600 - 1800), "1969-12-31 18:30 -05:30");
    }
}
