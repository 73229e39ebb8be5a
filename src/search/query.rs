//! Turning a user's query string into a tantivy query.
//!
//! The syntax is tantivy's (terms, "phrases", AND / OR / NOT, +/-, `field:term`, ranges), plus
//! plain dates in date ranges: `date:[2004-01-01 TO 2004-12-31]`, `date:2004`, `date:2004-03`,
//! which we rewrite to the RFC 3339 instants tantivy expects, covering whole days/months/years.

use anyhow::{bail, Result};
use once_cell::sync::Lazy;
use regex::Regex;
use tantivy::query::{Query, QueryParser, QueryParserError};

use crate::index::schema::QUERY_FIELDS;
use crate::index::NewsIndex;

/// Boost of a headline match relative to a body match.
pub const HEADLINE_BOOST: f32 = 2.0;

/// How bare terms combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conjunction {
    /// Any term may match; more matching terms rank higher.
    #[default]
    Any,
    /// Every bare term must match.
    All,
}

/// Parses `text` into a query over passage documents.
pub fn parse_query(index: &NewsIndex, text: &str, conj: Conjunction) -> Result<Box<dyn Query>> {
    let f = &index.fields;
    let mut parser = QueryParser::for_index(&index.index, vec![f.headline, f.body]);
    parser.set_field_boost(f.headline, HEADLINE_BOOST);
    if conj == Conjunction::All {
        parser.set_conjunction_by_default();
    }
    let rewritten = rewrite_dates(text)?;
    if rewritten.trim().is_empty() {
        bail!("empty query");
    }
    parser
        .parse_query(&rewritten)
        .map_err(|e| anyhow::anyhow!("invalid query {text:?}: {}", explain(&e)))
}

fn explain(e: &QueryParserError) -> String {
    match e {
        QueryParserError::FieldDoesNotExist(field) => format!(
            "unknown field `{field}` (fields: {})",
            QUERY_FIELDS.join(", ")
        ),
        QueryParserError::AllButQueryForbidden => {
            "a query needs at least one term that must or may match, not only NOT terms".into()
        }
        QueryParserError::DateFormatError(_) => {
            "dates are written YYYY, YYYY-MM, YYYY-MM-DD or as RFC 3339 instants".into()
        }
        other => other.to_string(),
    }
}

static DATE_RANGE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)\bdate:\s*([\[{])\s*(\S+)\s+TO\s+([^\]}\s]+)\s*([\]}])").unwrap()
});
static DATE_SINGLE: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"\bdate:(\d{4}(?:-\d{2}(?:-\d{2})?)?)(?:\s|$|\))").unwrap());

/// Rewrites plain dates in `date:` clauses to RFC 3339 ranges.
fn rewrite_dates(text: &str) -> Result<String> {
    let mut err = None;
    let out = DATE_RANGE.replace_all(text, |c: &regex::Captures| {
        let lo = bound(&c[2], c[1].starts_with('['), false);
        let hi = bound(&c[3], c[4].starts_with(']'), true);
        let req = required_prefix(text, c.get(0).unwrap().start());
        match (lo, hi) {
            (Some(lo), Some(hi)) => format!("{req}date:{}{lo} TO {hi}{}", &c[1], &c[4]),
            _ => {
                err = Some(format!("bad date in {:?}", &c[0]));
                c[0].to_string()
            }
        }
    });
    if let Some(e) = err {
        bail!("{e}: dates are written YYYY, YYYY-MM or YYYY-MM-DD");
    }
    let out = DATE_SINGLE.replace_all(&out, |c: &regex::Captures| {
        let d = &c[1];
        let tail = &c[0][5 + d.len()..];
        let req = required_prefix(&out, c.get(0).unwrap().start());
        match (bound(d, true, false), bound(d, true, true)) {
            (Some(lo), Some(hi)) => format!("{req}date:[{lo} TO {hi}]{tail}"),
            _ => c[0].to_string(),
        }
    });
    Ok(out.into_owned())
}

/// A date clause is a filter: it is made required (`+`) unless the user already gave it an
/// operator (`+`, `-`, AND, OR, NOT).
fn required_prefix(text: &str, at: usize) -> &'static str {
    let before = &text[..at];
    if before.ends_with(['+', '-']) {
        return "";
    }
    let last_word = before.split_whitespace().next_back().unwrap_or("");
    if matches!(last_word, "AND" | "OR" | "NOT" | "&&" | "||" | "!") {
        ""
    } else {
        "+"
    }
}

/// One range bound as RFC 3339. `upper_inclusive` picks the end of the period for an
/// inclusive upper bound; every other bound is the start of the period.
fn bound(s: &str, inclusive: bool, upper: bool) -> Option<String> {
    use chrono::NaiveDate;
    if s == "*" {
        return Some("*".into());
    }
    if s.contains('T') {
        return Some(s.to_string()); // already an instant
    }
    let parts: Vec<&str> = s.split('-').collect();
    let y: i32 = parts.first()?.parse().ok()?;
    let m: u32 = parts.get(1).map_or(Some(1), |m| m.parse().ok())?;
    let d: u32 = parts.get(2).map_or(Some(1), |d| d.parse().ok())?;
    let start = NaiveDate::from_ymd_opt(y, m, d)?;
    if !(upper && inclusive) {
        return Some(format!("{}T00:00:00Z", start.format("%Y-%m-%d")));
    }
    let end = match parts.len() {
        1 => NaiveDate::from_ymd_opt(y, 12, 31)?,
        2 => NaiveDate::from_ymd_opt(
            if m == 12 { y + 1 } else { y },
            if m == 12 { 1 } else { m + 1 },
            1,
        )?
        .pred_opt()?,
        _ => start,
    };
    Some(format!("{}T23:59:59Z", end.format("%Y-%m-%d")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_date_ranges_become_whole_days() {
        assert_eq!(
            rewrite_dates("oil date:[2004-01-01 TO 2004-12-31]").unwrap(),
            "oil +date:[2004-01-01T00:00:00Z TO 2004-12-31T23:59:59Z]"
        );
        assert_eq!(
            rewrite_dates("date:[1987-02 TO 1987-03}").unwrap(),
            "+date:[1987-02-01T00:00:00Z TO 1987-03-01T00:00:00Z}"
        );
        assert_eq!(
            rewrite_dates("date:2024-02 steel").unwrap(),
            "+date:[2024-02-01T00:00:00Z TO 2024-02-29T23:59:59Z] steel"
        );
        assert_eq!(
            rewrite_dates("steel OR -date:[* TO 2005]").unwrap(),
            "steel OR -date:[* TO 2005-12-31T23:59:59Z]"
        );
    }

    #[test]
    fn bad_dates_are_refused() {
        assert!(rewrite_dates("date:[2004-13-01 TO 2005]").is_err());
    }
}
