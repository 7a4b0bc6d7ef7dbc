//! Timestamps as sops writes and reads them: `lastmodified` and YAML `!!timestamp` values.
//! Plain text handling of fixed formats; no clock arithmetic beyond the civil calendar.

use std::time::{SystemTime, UNIX_EPOCH};

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
