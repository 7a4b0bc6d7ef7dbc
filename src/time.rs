//! Durations (`90d`, `12h`, `2w`) and dates (`2027-01-01`) as users write them (policies,
//! `--since`, `--older-than`), as Unix seconds. The calendar arithmetic is in `crypto::time`.

use crate::crypto::time::{civil_from_days, days_from_civil, days_in_month};

/// Seconds in a duration written `<number><unit>`, the unit one of `s`, `m`, `h`, `d`, `w`, `y`
/// (365 days); several parts may follow each other (`1w3d`).
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid duration {text:?}: expected e.g. 90d, 12h, 2w or 1y");
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'y' => 365 * 86_400,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(secs)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        rest = &rest[digits + 1..];
    }
    Ok(total)
}

/// A duration as the largest whole unit that divides it: `90d`, `2w`, `36h`.
pub fn format_duration(secs: i64) -> String {
    for (unit, size) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs != 0 && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// Unix seconds of a date `YYYY-MM-DD` (midnight UTC), or of an RFC 3339 UTC time
/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_date(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid date {text:?}: expected YYYY-MM-DD");
    let t = text.trim();
    let (date, time) = match t.split_once(['T', 't', ' ']) {
        Some((d, rest)) => (d, Some(rest)),
        None => (t, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let y: i64 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if let Some(time) = time {
        let time = time.strip_suffix(['Z', 'z']).ok_or_else(bad)?;
        let hms: Vec<&str> = time.split(':').collect();
        let [h, mi, s] = hms[..] else {
            return Err(bad());
        };
        let (h, mi, s): (i64, i64, i64) = (
            h.parse().map_err(|_| bad())?,
            mi.parse().map_err(|_| bad())?,
            s.parse().map_err(|_| bad())?,
        );
        if h > 23 || mi > 59 || s > 60 {
            return Err(bad());
        }
        secs += h * 3_600 + mi * 60 + s;
    }
    Ok(secs)
}

/// `YYYY-MM-DD` of Unix seconds (UTC).
pub fn format_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds.
pub fn format_time(secs: i64) -> String {
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(secs),
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// The current Unix time.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d"), Ok(90 * 86_400));
        assert_eq!(parse_duration("12h"), Ok(12 * 3_600));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        assert_eq!(parse_duration("1w3d"), Ok(10 * 86_400));
        assert_eq!(parse_duration("1y"), Ok(365 * 86_400));
        for bad in ["", "90", "d", "9x", "-3d", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(90 * 86_400), "90d");
        assert_eq!(format_duration(14 * 86_400), "2w");
        assert_eq!(format_duration(36 * 3_600), "36h");
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("2027-01-01"), Ok(1_798_761_600));
        assert_eq!(parse_date("2024-02-29T12:00:00Z"), Ok(1_709_208_000));
        for bad in [
            "2023-02-29",
            "2027-13-01",
            "27-01-01",
            "2027/01/01",
            "2027-01-01T25:00:00Z",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(format_date(1_798_761_600), "2027-01-01");
        assert_eq!(format_time(1_709_208_000), "2024-02-29T12:00:00Z");
        for days in [-800_000i64, -1, 0, 59, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
