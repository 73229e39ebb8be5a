//! What an article document stores so that `mentions` can print every mention without opening
//! the article: one compact record per (article, entity), the values of the `mention_data`
//! field, kept in each segment's mention file (see [`super::mention_store`]), read without
//! touching the document store.
//!
//! Layout (varints are LEB128, offsets are char offsets into the body, or into the headline for
//! a headline mention):
//!
//! ```text
//! surname    varint len + surname key ("person:chemezov")
//! key        varint len + entity key ("person:sergei chemezov")
//! date       0, or 1 + varint len + the article's date string
//! headline   varint len + the article's headline
//! canonical  varint len + the entity's canonical name as written in the article
//! contexts   varint n, then per context:
//!              flags (bit 0: in the headline; bit 1: the whole headline, no text follows)
//!              varint char start, varint len + text (unless bit 1)
//! mentions   varint n, then per mention (in text order, headline first):
//!              varint context, varint char offset in the context, varint char length,
//!              flags (bit 0: its own canonical name follows, varint len + text)
//! ```
//!
//! The mention file sorts records by their key, the surname key then the entity key, which puts
//! all the records of one surname side by side, and within them all the records of one entity
//! (and the repeated keys cost little: blocks are compressed). A name's records are one run
//! ([`prefix`]); listing them reads their own blocks and nothing else: the cost follows the
//! number of mentions, not the size of the articles.
//!
//! A mention's context is the sentence around it, cut at a paragraph break and at most
//! [`CONTEXT_REACH`] bytes either side of the mention (at a word boundary); overlapping contexts
//! of one entity in one article are stored once.

use crate::entities::Mention;
use crate::search::highlight::to_char_offsets;

/// How far a context reaches either side of its mention, in bytes, at most.
pub const CONTEXT_REACH: usize = 80;

/// Headlines longer than this (bytes) are stored cut (at a char boundary); a headline mention
/// beyond the cut keeps its own context.
pub const HEADLINE_CAP: usize = 600;

/// The bytes every record of one surname (`key` None) or of one entity starts with.
pub fn prefix(surname: &str, key: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    put_str(&mut out, surname);
    if let Some(key) = key {
        put_str(&mut out, key);
    }
    out
}

/// Encodes the record of one entity in one article. `headline_mentions` and `body_mentions`
/// are that entity's mentions (byte offsets), in text order.
pub fn encode(
    surname: &str,
    key: &str,
    date: Option<&str>,
    headline: &str,
    body: &str,
    headline_mentions: &[&Mention],
    body_mentions: &[&Mention],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 160 * (headline_mentions.len() + body_mentions.len()));
    put_str(&mut out, surname);
    put_str(&mut out, key);
    match date {
        Some(d) => {
            out.push(1);
            put_str(&mut out, d);
        }
        None => out.push(0),
    }
    let stored_headline = cut(headline, HEADLINE_CAP);
    put_str(&mut out, stored_headline);
    let canonical = headline_mentions
        .iter()
        .chain(body_mentions)
        .next()
        .map_or("", |m| m.canonical.as_str());
    put_str(&mut out, canonical);

    struct Ctx {
        headline: bool,
        whole: bool,
        start: usize,
        end: usize,
    }
    // (context, mention byte start, mention byte end) per mention, then char offsets.
    let mut contexts: Vec<Ctx> = Vec::new();
    let mut mention_ctx: Vec<usize> = Vec::new();
    for (part, text, ms) in [
        (true, headline, headline_mentions),
        (false, body, body_mentions),
    ] {
        for m in ms {
            let (s, e) = if part && m.end <= stored_headline.len() {
                (0, stored_headline.len())
            } else {
                context(text, m.start, m.end)
            };
            let whole = part && s == 0 && e == stored_headline.len();
            match contexts.last_mut() {
                Some(c) if c.headline == part && s <= c.end && !c.whole && !whole => {
                    c.start = c.start.min(s);
                    c.end = c.end.max(e);
                }
                Some(c) if c.headline == part && c.whole && whole => {}
                _ => contexts.push(Ctx {
                    headline: part,
                    whole,
                    start: s,
                    end: e,
                }),
            }
            mention_ctx.push(contexts.len() - 1);
        }
    }
    // Char offsets: contexts and mentions of each part, in one pass per part.
    let mut ctx_chars = vec![(0usize, 0usize); contexts.len()];
    let mut mention_chars = Vec::with_capacity(mention_ctx.len());
    for (part, text, ms) in [
        (true, headline, headline_mentions),
        (false, body, body_mentions),
    ] {
        let idx: Vec<usize> = (0..contexts.len())
            .filter(|&i| contexts[i].headline == part)
            .collect();
        let spans: Vec<(usize, usize)> = idx
            .iter()
            .map(|&i| (contexts[i].start, contexts[i].end))
            .collect();
        for (i, c) in idx.into_iter().zip(to_char_offsets(text, &spans)) {
            ctx_chars[i] = c;
        }
        let spans: Vec<(usize, usize)> = ms.iter().map(|m| (m.start, m.end)).collect();
        mention_chars.extend(to_char_offsets(text, &spans));
    }
    put_var(&mut out, contexts.len() as u64);
    for (c, &(cs, _)) in contexts.iter().zip(&ctx_chars) {
        out.push(u8::from(c.headline) | (u8::from(c.whole) << 1));
        put_var(&mut out, cs as u64);
        if !c.whole {
            let text = if c.headline { headline } else { body };
            put_str(&mut out, &text[c.start..c.end]);
        }
    }
    put_var(&mut out, mention_ctx.len() as u64);
    let all = headline_mentions.iter().chain(body_mentions);
    for ((m, &ci), &(s, e)) in all.zip(&mention_ctx).zip(&mention_chars) {
        put_var(&mut out, ci as u64);
        put_var(&mut out, (s - ctx_chars[ci].0) as u64);
        put_var(&mut out, (e - s) as u64);
        if m.canonical == canonical {
            out.push(0);
        } else {
            out.push(1);
            put_str(&mut out, &m.canonical);
        }
    }
    out
}

/// The context of the mention at bytes `s..e` of `text`: byte range of the sentence around
/// it, within one paragraph and at most [`CONTEXT_REACH`] bytes either side, cut at word
/// boundaries, trimmed.
pub fn context(text: &str, s: usize, e: usize) -> (usize, usize) {
    let b = text.as_bytes();
    // Left edge.
    let mut lo = s.saturating_sub(CONTEXT_REACH);
    while !text.is_char_boundary(lo) {
        lo += 1;
    }
    let mut start = None;
    let mut i = s;
    while i > lo {
        i -= 1;
        if b[i] == b'\n' && blank_line_before(b, i) {
            start = Some(i + 1);
            break;
        }
        if b[i].is_ascii_whitespace() && i > 0 && sentence_end(b, i - 1) {
            start = Some(i + 1);
            break;
        }
    }
    let start = start.unwrap_or_else(|| {
        if lo == 0 {
            0
        } else {
            // Cut at the first word boundary after `lo`.
            b[lo..s]
                .iter()
                .position(|c| c.is_ascii_whitespace())
                .map_or(lo, |p| lo + p + 1)
        }
    });
    // Right edge.
    let mut hi = (e + CONTEXT_REACH).min(b.len());
    while !text.is_char_boundary(hi) {
        hi -= 1;
    }
    let mut end = None;
    for j in e..hi {
        if b[j] == b'\n' && blank_line_after(b, j) {
            end = Some(j);
            break;
        }
        if sentence_end(b, j) && (j + 1 == b.len() || b[j + 1].is_ascii_whitespace()) {
            end = Some(j + 1);
            break;
        }
    }
    let end = end.unwrap_or_else(|| {
        if hi == b.len() {
            hi
        } else {
            b[e..hi]
                .iter()
                .rposition(|c| c.is_ascii_whitespace())
                .map_or(hi, |p| e + p)
        }
    });
    // Trim, never into the mention.
    let mut start = start.min(s);
    while start < s && b[start].is_ascii_whitespace() {
        start += 1;
    }
    let mut end = end.max(e);
    while end > e && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    (start, end)
}

/// Whether the line break at `i` ends a blank line (a paragraph break): only spaces between it
/// and the line break before it.
fn blank_line_before(b: &[u8], i: usize) -> bool {
    b[..i]
        .iter()
        .rev()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\r'))
        .is_some_and(|&c| c == b'\n')
}

/// Whether the line break at `j` starts a blank line.
fn blank_line_after(b: &[u8], j: usize) -> bool {
    b[j + 1..]
        .iter()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\r'))
        .is_none_or(|&c| c == b'\n')
}

/// Whether byte `i` ends a sentence: `.`, `!` or `?` (possibly followed by a closing quote or
/// bracket at `i`), not after a short capitalised abbreviation or initial ("Mr.", "J.").
fn sentence_end(b: &[u8], i: usize) -> bool {
    let mut k = i;
    while k > 0 && matches!(b[k], b'"' | b'\'' | b')') {
        k -= 1;
    }
    match b[k] {
        b'!' | b'?' => true,
        b'.' => {
            let word_start = b[..k]
                .iter()
                .rposition(|c| !c.is_ascii_alphabetic())
                .map_or(0, |p| p + 1);
            let word = &b[word_start..k];
            !(word.len() <= 3 && word.first().is_some_and(|c| c.is_ascii_uppercase()))
        }
        _ => false,
    }
}

/// `s` cut to at most `max` bytes, at a char boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut n = max;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

pub(super) fn put_var(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_var(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The varint at the start of `b`, and its length in bytes (None if cut short or too long).
pub(super) fn read_var(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The length of a record's key, what records are sorted by: its surname key and entity key
/// (see [`prefix`]). None if the record is cut short.
pub fn key_len(record: &[u8]) -> Option<usize> {
    let mut r = Reader { b: record, at: 0 };
    for _ in 0..2 {
        let n = usize::try_from(r.var()?).ok()?;
        r.at = r.at.checked_add(n).filter(|&end| end <= record.len())?;
    }
    Some(r.at)
}

/// A reader over a record; every getter returns None on a damaged record.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn var(&mut self) -> Option<u64> {
        let (v, n) = read_var(self.b.get(self.at..)?)?;
        self.at += n;
        Some(v)
    }

    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.var()? as usize;
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        std::str::from_utf8(s).ok()
    }
}

/// The article-level part of a record: what ordering and the article line need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header<'a> {
    pub surname: &'a str,
    pub key: &'a str,
    pub date: Option<&'a str>,
    pub headline: &'a str,
    pub canonical: &'a str,
    /// Where the contexts start.
    rest: usize,
}

pub fn header(b: &[u8]) -> Option<Header<'_>> {
    let mut r = Reader { b, at: 0 };
    let surname = r.str()?;
    let key = r.str()?;
    let date = match r.byte()? {
        0 => None,
        _ => Some(r.str()?),
    };
    let headline = r.str()?;
    let canonical = r.str()?;
    Some(Header {
        surname,
        key,
        date,
        headline,
        canonical,
        rest: r.at,
    })
}

/// One decoded mention, borrowing from its record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decoded<'a> {
    pub in_headline: bool,
    pub canonical: &'a str,
    /// Char offsets of the mention in the body (or headline).
    pub start: usize,
    pub end: usize,
    /// The context and its char offsets in the body (or headline).
    pub context: &'a str,
    pub context_start: usize,
    pub context_end: usize,
    /// Byte offsets of the mention inside `context`.
    pub byte_start: usize,
    pub byte_end: usize,
}

/// Decodes every mention of a record, in order (headline first, then the body).
pub fn decode<'a>(b: &'a [u8], h: &Header<'a>, out: &mut Vec<Decoded<'a>>) -> Option<()> {
    let mut r = Reader { b, at: h.rest };
    let n = r.var()? as usize;
    // (in headline, char start, text, char len)
    let mut ctxs: Vec<(bool, usize, &str, usize)> = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let flags = r.byte()?;
        let start = r.var()? as usize;
        let text = if flags & 2 != 0 { h.headline } else { r.str()? };
        ctxs.push((flags & 1 != 0, start, text, usize::MAX));
    }
    let m = r.var()? as usize;
    for _ in 0..m {
        let ci = r.var()? as usize;
        let off = r.var()? as usize;
        let len = r.var()? as usize;
        let canonical = if r.byte()? & 1 != 0 {
            r.str()?
        } else {
            h.canonical
        };
        let c = ctxs.get_mut(ci)?;
        if c.3 == usize::MAX {
            c.3 = c.2.chars().count();
        }
        let (in_headline, cs, text, clen) = *c;
        let byte_start = char_to_byte(text, off)?;
        let byte_end = byte_start + char_to_byte(&text[byte_start..], len)?;
        out.push(Decoded {
            in_headline,
            canonical,
            start: cs + off,
            end: cs + off + len,
            context: text,
            context_start: cs,
            context_end: cs + clen,
            byte_start,
            byte_end,
        });
    }
    Some(())
}

/// Byte offset of char `n` of `s` (None past the end).
fn char_to_byte(s: &str, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(0);
    }
    match s.char_indices().nth(n) {
        Some((b, _)) => Some(b),
        None if s.chars().count() == n => Some(s.len()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::EntityType;

    fn m(text: &str, word: &str, canonical: &str) -> Mention {
        let start = text.find(word).unwrap();
        Mention {
            start,
            end: start + word.len(),
            kind: EntityType::Person,
            surface: word.to_string(),
            canonical: canonical.to_string(),
        }
    }

    #[test]
    fn contexts_are_the_sentence_around_the_mention() {
        let t = "First one. Mr. Chemezov said so. Last one.";
        let s = t.find("Chemezov").unwrap();
        let (a, b) = context(t, s, s + 8);
        assert_eq!(&t[a..b], "Mr. Chemezov said so.");
        let long = format!("{} Chemezov {}", "word ".repeat(60), "tail ".repeat(60));
        let s = long.find("Chemezov").unwrap();
        let (a, b) = context(&long, s, s + 8);
        assert!(b - a <= 2 * CONTEXT_REACH + 8);
        assert!(long[a..b].starts_with("word") && long[a..b].ends_with("tail"));
        let t = "It was pushed by Chancellor Gordon Brown. Rover confirmed it.";
        let s = t.find("Gordon").unwrap();
        let (a, b) = context(t, s, s + "Gordon Brown".len());
        assert_eq!(&t[a..b], "It was pushed by Chancellor Gordon Brown.");
        let (a, b) = context("é Chemezov ü", 3, 11);
        assert_eq!(&"é Chemezov ü"[a..b], "é Chemezov ü");
    }

    /// A surname's prefix starts every record of every entity with that surname, and no
    /// other: "Chemezovs" is not "Chemezov" (the prefix is length-prefixed).
    #[test]
    fn prefixes_match_exactly_their_records() {
        let surname = prefix("person:chemezov", None);
        let full = prefix("person:chemezov", Some("person:sergei chemezov"));
        let other = prefix("person:chemezov", Some("person:nadia chemezov"));
        for rec in [&full, &other] {
            assert!(rec.starts_with(&surname));
        }
        assert!(!other.starts_with(&full));
        assert!(!prefix("person:chemezovs", Some("person:chemezovs")).starts_with(&surname));
        assert!(!prefix("org:chemezov", Some("org:chemezov")).starts_with(&surname));
    }

    #[test]
    fn records_round_trip() {
        let headline = "Chemezov wins";
        let body =
            "Ünïcode first. Sergei Chemezov spoke.\n\nLater Chemezov left, Chemezov's car stayed.";
        let hm = [m(headline, "Chemezov", "Sergei Chemezov")];
        let mut b2 = m(body, "Later Chemezov", "Sergei Chemezov");
        b2.start += 6;
        b2.surface = "Chemezov".into();
        let b3_start = body.rfind("Chemezov").unwrap();
        let b3 = Mention {
            start: b3_start,
            end: b3_start + 8,
            kind: EntityType::Person,
            surface: "Chemezov".into(),
            canonical: "SERGEI CHEMEZOV".into(),
        };
        let bm = [m(body, "Sergei Chemezov", "Sergei Chemezov"), b2, b3];
        let hr: Vec<&Mention> = hm.iter().collect();
        let br: Vec<&Mention> = bm.iter().collect();
        let rec = encode(
            "person:chemezov",
            "person:sergei chemezov",
            Some("2004-01-02"),
            headline,
            body,
            &hr,
            &br,
        );
        let h = header(&rec).unwrap();
        assert!(rec.starts_with(&prefix("person:chemezov", Some("person:sergei chemezov"))));
        assert_eq!(h.surname, "person:chemezov");
        assert_eq!(h.key, "person:sergei chemezov");
        assert_eq!(h.date, Some("2004-01-02"));
        assert_eq!(h.headline, headline);
        let mut out = Vec::new();
        decode(&rec, &h, &mut out).unwrap();
        assert_eq!(out.len(), 4);
        assert!(out[0].in_headline && out[0].context == headline);
        assert_eq!(out[3].canonical, "SERGEI CHEMEZOV");
        for (d, src) in out.iter().zip(hm.iter().chain(&bm)) {
            let text = if d.in_headline { headline } else { body };
            let chars: Vec<char> = text.chars().collect();
            let surface: String = chars[d.start..d.end].iter().collect();
            assert_eq!(surface, src.surface);
            assert_eq!(&d.context[d.byte_start..d.byte_end], src.surface);
            let ctx: String = chars[d.context_start..d.context_end].iter().collect();
            assert_eq!(ctx, d.context);
        }
        // The two mentions of the last paragraph share one context.
        assert_eq!(
            out[2].context,
            "Later Chemezov left, Chemezov's car stayed."
        );
        assert_eq!(out[2].context, out[3].context);
        assert!(decode(&rec[..rec.len() - 3], &h, &mut Vec::new()).is_none());
    }
}
