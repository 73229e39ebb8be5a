//! Date normalisation to ISO 8601 ("YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ").

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn fmt_utc(dt: DateTime<Utc>) -> String {
    dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Unix seconds (or milliseconds, when the value is too large for seconds)
/// to "YYYY-MM-DDTHH:MM:SSZ".
pub fn from_unix(v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    let secs = if v.abs() >= 1e11 { v / 1000.0 } else { v };
    Utc.timestamp_opt(secs.floor() as i64, 0)
        .single()
        .map(fmt_utc)
}

fn month_from_name(w: &str) -> Option<u32> {
    if w.len() < 3 {
        return None;
    }
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lw = w.to_ascii_lowercase();
    let lw = if lw == "sept" { "sep".to_string() } else { lw };
    NAMES
        .iter()
        .position(|n| n.starts_with(lw.as_str()))
        .map(|i| i as u32 + 1)
}

fn is_ignorable_word(w: &str) -> bool {
    let lw = w.to_ascii_lowercase();
    const WORDS: [&str; 15] = [
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "st", "nd", "rd",
        "th", "of",
    ];
    WORDS.contains(&lw.as_str())
        || [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ]
        .contains(&lw.as_str())
        || lw == "at"
        || lw == "on"
}

fn two_digit_year(y: i32) -> i32 {
    if y < 50 {
        2000 + y
    } else {
        1900 + y
    }
}

/// Parse "HH:MM[:SS[.frac]]".
fn parse_time(t: &str) -> Option<NaiveTime> {
    let mut parts = t.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: u32 = match parts.next() {
        Some(s) => {
            let whole = s.split(['.', ',']).next()?;
            whole.parse().ok()?
        }
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    NaiveTime::from_hms_opt(h, m, s.min(59))
}

/// Offset in seconds for "+0100", "+01:00", "-05", "Z", "UTC", "GMT", "EST"...
fn parse_offset(t: &str) -> Option<i32> {
    match t.to_ascii_uppercase().as_str() {
        "Z" | "UTC" | "GMT" | "UT" => return Some(0),
        "EST" => return Some(-5 * 3600),
        "EDT" => return Some(-4 * 3600),
        "CST" => return Some(-6 * 3600),
        "CDT" => return Some(-5 * 3600),
        "MST" => return Some(-7 * 3600),
        "MDT" => return Some(-6 * 3600),
        "PST" => return Some(-8 * 3600),
        "PDT" => return Some(-7 * 3600),
        "BST" => return Some(3600),
        "CET" => return Some(3600),
        "CEST" => return Some(2 * 3600),
        _ => {}
    }
    let sign = match t.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = t[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn finish(date: NaiveDate, time: Option<NaiveTime>, offset: Option<i32>) -> String {
    match time {
        None => fmt_date(date),
        Some(t) => {
            let naive = NaiveDateTime::new(date, t);
            let utc = naive - chrono::Duration::seconds(offset.unwrap_or(0) as i64);
            fmt_utc(Utc.from_utc_datetime(&utc))
        }
    }
}

/// Normalise a date string to ISO 8601: "YYYY-MM-DD" when it has no time of
/// day, else "YYYY-MM-DDTHH:MM:SSZ" converted to UTC (times without a zone
/// are taken as UTC). Accepts RFC 3339, RFC 2822, "2004-01-05", "2004/01/05",
/// "20040105", "05-JAN-2004 15:01:01.79" (Reuters), "January 5, 2004",
/// "5 January 2004", "Jan 5, 2004", "Monday, 5 Jan 2004 10:00 GMT",
/// "01/05/2004" (month first unless the first number is > 12) and unix
/// seconds / milliseconds given as a string of 9-13 digits. None otherwise.
pub fn normalize_date(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() < 4 || s.len() > 100 {
        return None;
    }
    let b = s.as_bytes();
    // All digits: YYYYMMDD or unix time.
    if b.iter().all(u8::is_ascii_digit) {
        return match b.len() {
            8 => {
                let y = s[..4].parse().ok()?;
                let m = s[4..6].parse().ok()?;
                let d = s[6..].parse().ok()?;
                NaiveDate::from_ymd_opt(y, m, d).map(fmt_date)
            }
            9..=13 => from_unix(s.parse::<f64>().ok()?),
            _ => None,
        };
    }
    if b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && matches!(b[4], b'-' | b'/' | b'.')
    {
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(fmt_utc(dt.with_timezone(&Utc)));
        }
        return parse_iso_like(s);
    }
    if b[0].is_ascii_alphabetic()
        && s.contains(':')
        && (s.contains('+')
            || s.contains('-')
            || s.ends_with("GMT")
            || s.ends_with("UT")
            || s.ends_with('Z'))
    {
        if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
            return Some(fmt_utc(dt.with_timezone(&Utc)));
        }
    }
    parse_loose(s)
}

/// "YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|±HH:MM| UTC]", also with / or . between
/// the date parts.
fn parse_iso_like(s: &str) -> Option<String> {
    let sep = s.as_bytes()[4];
    let (date_part, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let mut it = date_part.split(sep as char);
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    if rest.is_empty() {
        return Some(fmt_date(date));
    }
    // split time from zone
    let zstart = rest
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == 'Z' || c == 'z' || c == '+' || c == '-' || c == ' ')
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    let time = parse_time(&rest[..zstart])?;
    let zone = rest[zstart..].trim();
    let offset = if zone.is_empty() {
        0
    } else {
        parse_offset(zone)?
    };
    Some(finish(date, Some(time), Some(offset)))
}

/// Token-based parser for the remaining human formats.
fn parse_loose(s: &str) -> Option<String> {
    let mut month: Option<u32> = None;
    let mut nums: Vec<(u32, usize)> = Vec::new(); // (value, digit count)
    let mut time: Option<NaiveTime> = None;
    let mut offset: Option<i32> = None;
    let mut pm: Option<bool> = None;

    for raw in s.split(|c: char| c.is_whitespace() || c == ',') {
        if raw.is_empty() {
            continue;
        }
        if raw.contains(':') && raw.as_bytes()[0].is_ascii_digit() {
            // time, possibly with glued zone ("10:00Z", "10:00+01:00")
            let zi = raw
                .char_indices()
                .find(|&(_, c)| c == 'Z' || c == '+' || c == '-')
                .map(|(i, _)| i);
            let (t, z) = match zi {
                Some(i) => (&raw[..i], Some(&raw[i..])),
                None => (raw, None),
            };
            let t = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            time = Some(parse_time(t)?);
            if let Some(z) = z {
                offset = Some(parse_offset(z)?);
            }
            continue;
        }
        if time.is_some() && (raw.starts_with('+') || raw.starts_with('-')) {
            offset = Some(parse_offset(raw)?);
            continue;
        }
        // date pieces separated by - / .
        for tok in raw.split(['-', '/', '.']) {
            if tok.is_empty() {
                continue;
            }
            let tb = tok.as_bytes();
            if tb.iter().all(u8::is_ascii_digit) {
                if tb.len() > 4 {
                    return None;
                }
                nums.push((tok.parse().ok()?, tb.len()));
            } else if tb[0].is_ascii_digit() {
                // "5th", "1st"
                let n: String = tok.chars().take_while(|c| c.is_ascii_digit()).collect();
                let suffix = &tok[n.len()..];
                if !matches!(
                    suffix.to_ascii_lowercase().as_str(),
                    "st" | "nd" | "rd" | "th"
                ) {
                    return None;
                }
                nums.push((n.parse().ok()?, n.len()));
            } else if let Some(m) = month_from_name(tok).filter(|_| month.is_none()) {
                month = Some(m);
            } else if matches!(tok.to_ascii_lowercase().as_str(), "am" | "a" | "m") {
                if tok.eq_ignore_ascii_case("am") {
                    pm = Some(false);
                }
            } else if tok.eq_ignore_ascii_case("pm") || tok.eq_ignore_ascii_case("p") {
                pm = Some(true);
            } else if let Some(o) = parse_offset(tok).filter(|_| time.is_some()) {
                offset = Some(o);
            } else if is_ignorable_word(tok) {
            } else {
                return None;
            }
        }
    }

    let (y, m, d) = match (month, nums.as_slice()) {
        (Some(m), [(a, la), (b, lb)]) => {
            if *la == 4 {
                (*a as i32, m, *b)
            } else if *lb == 4 || *lb == 2 && *a <= 31 {
                let y = if *lb == 4 {
                    *b as i32
                } else {
                    two_digit_year(*b as i32)
                };
                (y, m, *a)
            } else {
                return None;
            }
        }
        (None, [(a, la), (b, _), (c, lc)]) => {
            if *la == 4 {
                (*a as i32, *b, *c)
            } else if *lc == 4 || *lc == 2 {
                let y = if *lc == 4 {
                    *c as i32
                } else {
                    two_digit_year(*c as i32)
                };
                if *a > 12 {
                    (y, *b, *a)
                } else {
                    (y, *a, *b)
                }
            } else {
                return None;
            }
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let time = match (time, pm) {
        (Some(t), Some(is_pm)) => {
            use chrono::Timelike;
            let h = t.hour() % 12 + if is_pm { 12 } else { 0 };
            Some(NaiveTime::from_hms_opt(h, t.minute(), t.second())?)
        }
        (t, _) => t,
    };
    Some(finish(date, time, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Option<String> {
        normalize_date(s)
    }

    #[test]
    fn formats() {
        assert_eq!(n("2004-01-05").as_deref(), Some("2004-01-05"));
        assert_eq!(n("2004/01/05").as_deref(), Some("2004-01-05"));
        assert_eq!(n("20040105").as_deref(), Some("2004-01-05"));
        assert_eq!(
            n("2004-01-05T10:20:30Z").as_deref(),
            Some("2004-01-05T10:20:30Z")
        );
        assert_eq!(
            n("2004-01-05T10:20:30.123+02:00").as_deref(),
            Some("2004-01-05T08:20:30Z")
        );
        assert_eq!(
            n("2004-01-05 10:20").as_deref(),
            Some("2004-01-05T10:20:00Z")
        );
        assert_eq!(
            n("2004-01-05T23:20:00-0200").as_deref(),
            Some("2004-01-06T01:20:00Z")
        );
        assert_eq!(
            n("Mon, 05 Jan 2004 15:01:01 +0100").as_deref(),
            Some("2004-01-05T14:01:01Z")
        );
        assert_eq!(
            n("Mon, 5 Jan 2004 15:01:01 GMT").as_deref(),
            Some("2004-01-05T15:01:01Z")
        );
        assert_eq!(
            n("26-FEB-1987 15:01:01.79").as_deref(),
            Some("1987-02-26T15:01:01Z")
        );
        assert_eq!(
            n(" 5-MAR-1987 09:14:20.30").as_deref(),
            Some("1987-03-05T09:14:20Z")
        );
        assert_eq!(n("January 5, 2004").as_deref(), Some("2004-01-05"));
        assert_eq!(n("5 January 2004").as_deref(), Some("2004-01-05"));
        assert_eq!(n("Jan 5, 2004").as_deref(), Some("2004-01-05"));
        assert_eq!(n("Jan. 5, 2004").as_deref(), Some("2004-01-05"));
        assert_eq!(
            n("Monday, January 5th, 2004").as_deref(),
            Some("2004-01-05")
        );
        assert_eq!(
            n("Sept 30, 2004 3:15 pm").as_deref(),
            Some("2004-09-30T15:15:00Z")
        );
        assert_eq!(n("01/05/2004").as_deref(), Some("2004-01-05"));
        assert_eq!(n("25/12/2004").as_deref(), Some("2004-12-25"));
        assert_eq!(n("1073260800").as_deref(), Some("2004-01-05T00:00:00Z"));
        assert_eq!(
            from_unix(1073260800.0).as_deref(),
            Some("2004-01-05T00:00:00Z")
        );
        assert_eq!(
            from_unix(1073260800000.0).as_deref(),
            Some("2004-01-05T00:00:00Z")
        );
    }

    #[test]
    fn rejects() {
        for s in [
            "",
            "yesterday",
            "2004-13-01",
            "Feb 30, 2004",
            "hello world 2004",
            "12",
            "2004-01-05Tnope",
        ] {
            assert_eq!(n(s), None, "{s}");
        }
    }
}
