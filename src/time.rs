//! Durations (`90d`, `12h`, `2w`) and dates (`2027-01-01`) as users write them (policies,
//! `--since`, `--older-than`), as Unix seconds; the civil calendar; and timestamps as sops writes
//! and reads them (`lastmodified`, YAML `!!timestamp` values). The one home of calendar code:
//! it imports nothing from the rest of the crate.

use std::time::{SystemTime, UNIX_EPOCH};

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

// --- Timestamps as sops writes and reads them. ---

/// Now, in UTC, RFC 3339 to whole seconds: `2026-11-22T07:35:20Z`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The MAC's AAD for a stored `lastmodified`: sops parses it as RFC 3339 and formats it again
/// with Go's `time.RFC3339`, which drops fractional seconds and writes a zero offset as `Z`.
/// None when the string is not RFC 3339.
pub fn aad_for_lastmodified(stored: &str) -> Option<String> {
    let b = stored.as_bytes();
    if b.len() < 20 || !digits(&b[0..4]) || b[4] != b'-' || !digits(&b[5..7]) || b[7] != b'-' {
        return None;
    }
    if !digits(&b[8..10]) || !matches!(b[10], b'T' | b't') || !digits(&b[11..13]) || b[13] != b':' {
        return None;
    }
    if !digits(&b[14..16]) || b[16] != b':' || !digits(&b[17..19]) {
        return None;
    }
    let mut rest = &stored[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let zone = match rest {
        "Z" | "z" | "+00:00" | "-00:00" => "Z".to_string(),
        z if z.len() == 6
            && matches!(z.as_bytes()[0], b'+' | b'-')
            && digits(&z.as_bytes()[1..3])
            && z.as_bytes()[3] == b':'
            && digits(&z.as_bytes()[4..6]) =>
        {
            z.to_string()
        }
        _ => return None,
    };
    Some(format!("{}T{}{}", &stored[..10], &stored[11..19], zone))
}

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

/// A YAML plain scalar that go-yaml v3 reads as a timestamp, in the form sops encrypts it
/// (Go `time.MarshalText`, RFC 3339 with nanoseconds, trailing zeros trimmed). None otherwise.
///
/// go-yaml accepts `2006-1-2T15:4:5.999999999Z07:00` (also with `t`), `2006-1-2 15:4:5.999999999`
/// and `2006-1-2`; the first four characters must be digits followed by `-`.
pub fn canonical_yaml_timestamp(s: &str) -> Option<String> {
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some((&s[i..i + 1], &s[i + 1..]))),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || !num(y, 4) || !num(m, 2) || !num(d, 2) {
        return None;
    }
    let (mo, da): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&mo) || da < 1 || da > days_in_month(y.parse().ok()?, mo) {
        return None;
    }
    let date = format!("{y}-{mo:02}-{da:02}");
    let Some((sep, time)) = time else {
        return Some(format!("{date}T00:00:00Z"));
    };
    // The zone: required after T/t, absent after a space.
    let (clock, zone) = if sep == " " {
        (time, "Z".to_string())
    } else {
        let zi = time.rfind(['Z', '+', '-'])?;
        let zone = &time[zi..];
        let zone = match zone {
            "Z" => "Z".to_string(),
            z if z.len() == 6
                && z.as_bytes()[3] == b':'
                && num(&z[1..3], 2)
                && num(&z[4..6], 2) =>
            {
                if &z[1..] == "00:00" {
                    "Z".to_string()
                } else {
                    z.to_string()
                }
            }
            _ => return None,
        };
        (&time[..zi], zone)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((hms, frac))
            if !frac.is_empty() && frac.len() <= 9 && frac.bytes().all(|c| c.is_ascii_digit()) =>
        {
            (hms, frac.trim_end_matches('0'))
        }
        Some(_) => return None,
        None => (clock, ""),
    };
    let mut hp = hms.split(':');
    let (h, mi, se) = (hp.next()?, hp.next()?, hp.next()?);
    if hp.next().is_some() || !num(h, 2) || !num(mi, 2) || !num(se, 2) {
        return None;
    }
    let (h, mi, se): (u32, u32, u32) = (h.parse().ok()?, mi.parse().ok()?, se.parse().ok()?);
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Some(format!("{date}T{h:02}:{mi:02}:{se:02}{frac}{zone}"))
}

fn num(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|c| c.is_ascii_digit())
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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

    #[test]
    fn lastmodified_aad_drops_fractions_and_writes_zero_offset_as_z() {
        assert_eq!(
            aad_for_lastmodified("2026-11-22T07:35:20Z").unwrap(),
            "2026-11-22T07:35:20Z"
        );
        assert_eq!(
            aad_for_lastmodified("2026-11-22T07:35:20.123Z").unwrap(),
            "2026-11-22T07:35:20Z"
        );
        assert_eq!(
            aad_for_lastmodified("2026-11-22T07:35:20+00:00").unwrap(),
            "2026-11-22T07:35:20Z"
        );
        assert_eq!(
            aad_for_lastmodified("2026-11-22T07:35:20+02:00").unwrap(),
            "2026-11-22T07:35:20+02:00"
        );
        assert!(aad_for_lastmodified("yesterday").is_none());
    }

    #[test]
    fn yaml_timestamps_become_rfc3339() {
        assert_eq!(
            canonical_yaml_timestamp("2024-01-15").unwrap(),
            "2024-01-15T00:00:00Z"
        );
        assert_eq!(
            canonical_yaml_timestamp("2024-1-5").unwrap(),
            "2024-01-05T00:00:00Z"
        );
        assert_eq!(
            canonical_yaml_timestamp("2024-01-15T10:20:30.500Z").unwrap(),
            "2024-01-15T10:20:30.5Z"
        );
        assert_eq!(
            canonical_yaml_timestamp("2024-01-15 10:20:30").unwrap(),
            "2024-01-15T10:20:30Z"
        );
        assert_eq!(
            canonical_yaml_timestamp("2024-01-15T10:20:30+01:00").unwrap(),
            "2024-01-15T10:20:30+01:00"
        );
        assert!(canonical_yaml_timestamp("2024-13-15").is_none());
        assert!(canonical_yaml_timestamp("1.2.3").is_none());
    }

    #[test]
    fn now_is_rfc3339_utc() {
        let now = now_rfc3339();
        assert_eq!(aad_for_lastmodified(&now).unwrap(), now);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
    }
}
