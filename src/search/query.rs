//! Turning a user's query string into a tantivy query.
//!
//! The syntax is tantivy's (terms, "phrases", AND / OR / NOT, +/-, `field:term`, ranges), plus
//! plain dates in date ranges: `date:[2004-01-01 TO 2004-12-31]`, `date:2004`, `date:2004-03`,
//! which we rewrite to the RFC 3339 instants tantivy expects, covering whole days/months/years,
//! and single-term fuzzy and prefix terms, `chemezof~1` and `petro*` (optionally `field:`-ed),
//! which we expand into the index terms they match (at most [`MAX_EXPANSIONS`], most frequent
//! first) so that ranking and highlighting see exactly the matching terms.
//!
//! No field boost is set here: the ranker ([`super::rank`]) scores headline and body itself.

use std::collections::HashMap;

use anyhow::{bail, Result};
use once_cell::sync::Lazy;
use regex::Regex;
use tantivy::query::{
    BooleanQuery, EmptyQuery, Occur, Query, QueryParser, QueryParserError, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use crate::index::schema::{text_analyzer, QUERY_FIELDS};
use crate::index::NewsIndex;

/// A fuzzy or prefix term expands to at most this many index terms.
pub const MAX_EXPANSIONS: usize = 64;
/// Largest edit distance accepted after `~`.
pub const MAX_EDIT_DISTANCE: u32 = 2;

/// How bare terms combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conjunction {
    /// Any term may match; more matching terms rank higher.
    #[default]
    Any,
    /// Every bare term must match.
    All,
}

/// Parses `text` into a query over passage documents (fuzzy and prefix terms expanded against
/// the index's current searcher).
pub fn parse_query(index: &NewsIndex, text: &str, conj: Conjunction) -> Result<Box<dyn Query>> {
    parse_query_with(index, &index.searcher(), text, conj)
}

/// Parses `text` into a query over passage documents; fuzzy and prefix terms are expanded
/// against the index seen by `searcher`.
pub fn parse_query_with(
    index: &NewsIndex,
    searcher: &Searcher,
    text: &str,
    conj: Conjunction,
) -> Result<Box<dyn Query>> {
    let f = &index.fields;
    let mut parser = QueryParser::for_index(&index.index, vec![f.headline, f.body]);
    if conj == Conjunction::All {
        parser.set_conjunction_by_default();
    }
    let rewritten = rewrite_dates(text)?;
    if rewritten.trim().is_empty() {
        bail!("empty query");
    }
    let (rewritten, specials) = extract_specials(&rewritten)?;
    let rewritten = escape_prose(&rewritten);
    let query = parser
        .parse_query(&rewritten)
        .map_err(|e| anyhow::anyhow!("invalid query {text:?}: {}", explain(&e)))?;
    if specials.is_empty() {
        return Ok(query);
    }
    let mut cache = HashMap::new();
    substitute(query, &specials, searcher, &mut cache)
}

/// A fuzzy (`word~N`) or prefix (`word*`) term of the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Special {
    Fuzzy(String, u32),
    Prefix(String),
}

const PLACEHOLDER: &str = "zzqx";

static SPECIAL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"^([+-]?)(?:(\w+):)?([\p{L}\p{N}][\p{L}\p{N}_]*)(?:(\*)|~(\d+))$").unwrap()
});

/// Replaces each fuzzy/prefix term outside quotes by a placeholder term `zzqxNq` that the
/// parser keeps whole; returns the rewritten text and the terms, by placeholder number.
pub fn extract_specials(text: &str) -> Result<(String, Vec<Special>)> {
    let mut out = String::with_capacity(text.len());
    let mut specials = Vec::new();
    let mut in_quote = false;
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String, specials: &mut Vec<Special>| -> Result<()> {
        // The regex is only compiled (a few ms: Unicode classes) for a token that could match.
        let maybe = token.ends_with('*') || token.contains('~');
        if let Some(c) = maybe.then(|| SPECIAL.captures(token)).flatten() {
            let word = c[3].to_lowercase();
            let sp = if c.get(4).is_some() {
                Special::Prefix(word)
            } else {
                let d: u32 = c[5].parse().unwrap_or(u32::MAX);
                if d > MAX_EDIT_DISTANCE {
                    bail!("fuzzy distance {d} in {token:?}: at most {MAX_EDIT_DISTANCE}");
                }
                Special::Fuzzy(word, d)
            };
            out.push_str(&c[1]);
            if let Some(field) = c.get(2) {
                out.push_str(field.as_str());
                out.push(':');
            }
            out.push_str(&format!("{PLACEHOLDER}{}q", specials.len()));
            specials.push(sp);
        } else {
            out.push_str(token);
        }
        token.clear();
        Ok(())
    };
    for ch in text.chars() {
        if ch == '"' {
            in_quote = !in_quote;
            token.push(ch);
        } else if !in_quote && (ch.is_whitespace() || ch == '(' || ch == ')') {
            flush(&mut token, &mut out, &mut specials)?;
            out.push(ch);
        } else {
            token.push(ch);
        }
    }
    if !in_quote {
        flush(&mut token, &mut out, &mut specials)?;
    } else {
        out.push_str(&token);
    }
    Ok((out, specials))
}

/// Escapes what tantivy's syntax would misread in text pasted from an article, outside
/// double quotes: an apostrophe inside a word (`Reagan's`; tantivy opens a single-quoted
/// phrase there and fails, "Syntax Error"), `<` or `>` opening a word (`<IBM>`, a ticker in
/// Reuters headlines; tantivy reads a range without a field), a colon ending a word
/// (`Update: oil`, `http://...`; tantivy reads a field name) and a dash between spaces
/// (`Spotlight - Japan`; tantivy reads an operator missing its term). Range and field syntax
/// (`date:>2004`, `headline:oil`) is left alone, and so is a quote opening a word (`'oil
/// price'`, a phrase).
pub fn escape_prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_quote = false;
    let mut in_single_quote = false;
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let after_word = prev.is_some_and(|p| p.is_alphanumeric());
        let opens_word = prev.is_none_or(|p| p.is_whitespace() || p == '(' || p == '+' || p == '-');
        // What the user escaped stays as it is.
        let escaped = prev == Some('\\');
        let escape = !in_quote
            && !escaped
            && match c {
                '\'' if in_single_quote => {
                    in_single_quote = false;
                    false
                }
                '\'' if !after_word => {
                    in_single_quote = true;
                    false
                }
                '\'' => true,
                '<' | '>' => opens_word,
                ':' => after_word && next.is_none_or(|n| n.is_whitespace() || n == '/'),
                _ => false,
            };
        if c == '"' && !escaped {
            in_quote = !in_quote;
        }
        // A dash between spaces (`Spotlight - Japan`) applies to no term: it is punctuation.
        let dash = !in_quote
            && !escaped
            && (c == '-' || c == '+')
            && opens_word
            && next.is_none_or(char::is_whitespace);
        if escape {
            out.push('\\');
        }
        out.push(if dash { ' ' } else { c });
        prev = Some(c);
    }
    out
}

type Cache = HashMap<(Field, usize), Vec<Term>>;

/// Rebuilds the parsed query with each placeholder term replaced by its expansion.
fn substitute(
    query: Box<dyn Query>,
    specials: &[Special],
    searcher: &Searcher,
    cache: &mut Cache,
) -> Result<Box<dyn Query>> {
    if let Some(bq) = query.downcast_ref::<BooleanQuery>() {
        let mut clauses = Vec::with_capacity(bq.clauses().len());
        for (occur, sub) in bq.clauses() {
            clauses.push((
                *occur,
                substitute(sub.box_clone(), specials, searcher, cache)?,
            ));
        }
        let mut nb = BooleanQuery::new(clauses);
        nb.set_minimum_number_should_match(bq.get_minimum_number_should_match());
        return Ok(Box::new(nb));
    }
    if let Some(tq) = query.downcast_ref::<TermQuery>() {
        let term = tq.term();
        if let Some(n) = term
            .value()
            .as_str()
            .and_then(|s| s.strip_prefix(PLACEHOLDER))
            .and_then(|s| s.strip_suffix('q'))
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&n| n < specials.len())
        {
            let field = term.field();
            let terms = match cache.entry((field, n)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(expand(searcher, field, &specials[n])?)
                }
            };
            if terms.is_empty() {
                return Ok(Box::new(EmptyQuery));
            }
            let clauses: Vec<(Occur, Box<dyn Query>)> = terms
                .iter()
                .map(|t| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        t.clone(),
                        IndexRecordOption::WithFreqsAndPositions,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            return Ok(Box::new(BooleanQuery::new(clauses)));
        }
    }
    Ok(query)
}

/// The index terms of `field` matching a fuzzy or prefix term, most frequent first.
pub fn expand(searcher: &Searcher, field: Field, sp: &Special) -> Result<Vec<Term>> {
    let mut df: HashMap<Vec<u8>, u64> = HashMap::new();
    for r in searcher.segment_readers() {
        let inv = r.inverted_index(field)?;
        let dict = inv.terms();
        match sp {
            Special::Prefix(p) => {
                let mut s = dict.range().ge(p.as_bytes()).into_stream()?;
                while s.advance() {
                    if !s.key().starts_with(p.as_bytes()) {
                        break;
                    }
                    *df.entry(s.key().to_vec()).or_default() += s.value().doc_freq as u64;
                }
            }
            Special::Fuzzy(w, d) => {
                let mut forms = vec![w.clone()];
                let mut a = text_analyzer();
                let mut ts = a.token_stream(w);
                while let Some(t) = ts.next() {
                    if !forms.contains(&t.text) {
                        forms.push(t.text.clone());
                    }
                }
                let forms: Vec<Vec<char>> = forms.iter().map(|f| f.chars().collect()).collect();
                let mut s = dict.stream()?;
                while s.advance() {
                    let Ok(key) = std::str::from_utf8(s.key()) else {
                        continue;
                    };
                    let key: Vec<char> = key.chars().collect();
                    if forms.iter().any(|f| within_distance(f, &key, *d)) {
                        *df.entry(s.key().to_vec()).or_default() += s.value().doc_freq as u64;
                    }
                }
            }
        }
    }
    let mut v: Vec<(Vec<u8>, u64)> = df.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(MAX_EXPANSIONS);
    Ok(v.into_iter()
        .map(|(k, _)| Term::from_field_text(field, &String::from_utf8_lossy(&k)))
        .collect())
}

/// Whether the Damerau-Levenshtein (optimal string alignment) distance of `a` and `b` is at
/// most `max`.
pub fn within_distance(a: &[char], b: &[char], max: u32) -> bool {
    let max = max as usize;
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let (n, m) = (a.len(), b.len());
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return false;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m] <= max
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
        QueryParserError::SyntaxError(_) => "syntax error: check that quotes and parentheses \
            are closed and that AND, OR, NOT, + and - have a term to apply to; put a word in \
            double quotes to search it as it is"
            .into(),
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
    // Most queries have no date clause: skip compiling and running the regexes.
    if !text.to_ascii_lowercase().contains("date:") {
        return Ok(text.to_string());
    }
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
    fn specials_become_placeholders() {
        let (t, s) = extract_specials("petro* AND +headline:chemezof~1 \"oil pri*\" x").unwrap();
        assert_eq!(t, "zzqx0q AND +headline:zzqx1q \"oil pri*\" x");
        assert_eq!(
            s,
            vec![
                Special::Prefix("petro".into()),
                Special::Fuzzy("chemezof".into(), 1)
            ]
        );
        assert!(extract_specials("abc~5").is_err());
    }

    #[test]
    fn edit_distance() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(within_distance(&c("chemezof"), &c("chemezov"), 1));
        assert!(within_distance(&c("abcd"), &c("abdc"), 1));
        assert!(!within_distance(&c("abc"), &c("xyz"), 2));
        assert!(within_distance(&c("oil"), &c("oil"), 0));
    }

    #[test]
    fn prose_is_escaped_and_syntax_kept() {
        assert_eq!(escape_prose("Reagan's budget"), "Reagan\\'s budget");
        assert_eq!(escape_prose("Avnet <Avt> Files"), "Avnet \\<Avt> Files");
        assert_eq!(escape_prose("Update: oil"), "Update\\: oil");
        assert_eq!(
            escape_prose("Spotlight - Japan growth -"),
            "Spotlight   Japan growth  "
        );
        assert_eq!(
            escape_prose("see http://example.com/x"),
            "see http\\://example.com/x"
        );
        for kept in [
            "headline:oil",
            "date:>2004",
            "'oil price'",
            "people:'x y'",
            "\"Reagan's budget\"",
            "+oil -gas (a OR b)",
            "Reagan\\'s \\<IBM>",
        ] {
            assert_eq!(escape_prose(kept), kept);
        }
    }

    #[test]
    fn bad_dates_are_refused() {
        assert!(rewrite_dates("date:[2004-13-01 TO 2005]").is_err());
    }
}
