//! Reuters-21578 SGML (.sgm / .sgml): every `<REUTERS ...>`…`</REUTERS>`
//! element is one article. The reader is scanned for element boundaries
//! (memchr's memmem) and only the current element is held in memory.
//!
//! Mapping: `source_id` = NEWID; `date` = `<DATE>` normalised; `topics`,
//! `places`, `people`, `orgs` = the `<D>` items; `headline` = `<TITLE>`;
//! `dateline` = `<DATELINE>` without the trailing " -"; `body` = `<BODY>`
//! with entities decoded, control characters and the "Reuter" sign-off
//! removed, wrapped lines joined with spaces and paragraphs (indented line or
//! blank line) separated by "\n\n"; `source` = "Reuters".
//! BRIEF articles (title, no body) get an empty body. UNPROC articles (no
//! title, no body) get the whole `<TEXT>` content, cleaned the same way, as
//! body and its first non-empty line (at most 200 chars) as headline.

use std::io::BufRead;

use memchr::memmem;

use super::date::normalize_date;
use super::decode::decode_text;
use super::sgml_entities::decode_entities;
use super::text::{collapse_ws, truncate_chars};
use super::{check_stream_start, Article, ErrorKind, FileError, RecordError, MAX_RECORD};

const OPEN: &[u8] = b"<REUTERS";
const CLOSE: &[u8] = b"</REUTERS>";
const READ_CHUNK: usize = 64 * 1024;

/// Find `<REUTERS` followed by whitespace, `>` or the end of the buffer.
fn find_open(finder: &memmem::Finder<'_>, hay: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at < hay.len() {
        let i = at + finder.find(&hay[at..])?;
        match hay.get(i + OPEN.len()) {
            None => return Some(i),
            Some(b) if b.is_ascii_whitespace() || *b == b'>' => return Some(i),
            _ => at = i + 1,
        }
    }
    None
}

/// The close tag position if it comes before the next open tag.
fn first_close(close: Option<usize>, next_open: Option<usize>) -> Option<usize> {
    close.filter(|&c| next_open.is_none_or(|n| c < n))
}

fn count_lines(b: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', b).count()
}

/// NEWID from the start of a (possibly broken) element.
fn newid_of(el: &[u8]) -> Option<String> {
    let head = &el[..el.len().min(1024)];
    let end = memchr::memchr(b'>', head).unwrap_or(head.len());
    let open = decode_text(&head[..end]);
    attr(&open, "NEWID").map(str::to_string)
}

pub(crate) fn parse_sgml(
    reader: &mut dyn BufRead,
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    check_stream_start(reader)?;
    let open_f = memmem::Finder::new(OPEN);
    let close_f = memmem::Finder::new(CLOSE);
    let mut buf: Vec<u8> = Vec::with_capacity(2 * READ_CHUNK);
    let mut pos = 0usize; // start of unprocessed data in buf
    let mut line = 1usize; // line number at buf[pos]
    let mut position = 0usize;
    let mut eof = false;
    let mut oversized = false; // skipping the rest of a too-large element
    let mut searched = 0usize; // bytes of the current element already searched
    let mut nonblank = false; // seen anything but whitespace

    let unclosed = |el: &[u8], line: usize, position: usize, why: &str| {
        let id = newid_of(el)
            .map(|id| format!(" NEWID={id}"))
            .unwrap_or_default();
        RecordError {
            line: Some(line),
            position: Some(position),
            kind: ErrorKind::Sgml,
            reason: format!("line {line}: <REUTERS{id}> element {why}"),
        }
    };

    loop {
        // Extract every complete element currently buffered.
        loop {
            let data = &buf[pos..];
            if oversized {
                let close = close_f.find(data);
                let next = find_open(&open_f, data, 0);
                let cut = match first_close(close, next) {
                    Some(c) => Some(c + CLOSE.len()),
                    None => next,
                };
                match cut {
                    Some(c) => {
                        line += count_lines(&data[..c]);
                        pos += c;
                        oversized = false;
                        continue;
                    }
                    None => {
                        let keep = data.len().min(CLOSE.len());
                        let drop = data.len() - keep;
                        line += count_lines(&data[..drop]);
                        pos += drop;
                        break;
                    }
                }
            }
            let Some(o) = find_open(&open_f, data, 0) else {
                let keep = data.len().min(OPEN.len());
                let drop = data.len() - keep;
                line += count_lines(&data[..drop]);
                pos += drop;
                break;
            };
            line += count_lines(&data[..o]);
            pos += o;
            let data = &buf[pos..];
            // Resume where the previous (incomplete) search of this element
            // stopped, minus a tag's length for a tag split across reads.
            let from = searched.saturating_sub(CLOSE.len()).max(OPEN.len());
            let close = close_f.find(&data[from..]).map(|i| i + from);
            let next = find_open(&open_f, data, from);
            searched = 0;
            match (first_close(close, next), next) {
                (Some(c), _) => {
                    let end = c + CLOSE.len();
                    let el = &data[..end];
                    let text = decode_text(el);
                    sink(Ok(parse_element(&text, position)));
                    line += count_lines(el);
                    pos += end;
                    position += 1;
                }
                (None, Some(n)) => {
                    sink(Err(unclosed(
                        &data[..n],
                        line,
                        position,
                        "has no </REUTERS> before the next <REUTERS>",
                    )));
                    line += count_lines(&data[..n]);
                    pos += n;
                    position += 1;
                }
                (None, None) if eof => {
                    sink(Err(unclosed(
                        data,
                        line,
                        position,
                        "has no </REUTERS> before the end of the file",
                    )));
                    pos = buf.len();
                    position += 1;
                }
                (None, None) => {
                    if data.len() > MAX_RECORD {
                        sink(Err(RecordError {
                            line: Some(line),
                            position: Some(position),
                            kind: ErrorKind::TooLarge,
                            reason: format!(
                                "line {line}: <REUTERS> element longer than {} MiB",
                                MAX_RECORD >> 20
                            ),
                        }));
                        position += 1;
                        oversized = true;
                        pos += OPEN.len();
                        continue;
                    }
                    searched = data.len();
                    break;
                }
            }
        }
        if eof {
            break;
        }
        // Compact, then read more.
        if pos > 0 && (pos >= buf.len() / 2 || pos > READ_CHUNK) {
            buf.drain(..pos);
            pos = 0;
        }
        let avail = reader.fill_buf().map_err(FileError::io)?;
        if avail.is_empty() {
            eof = true;
            continue;
        }
        let n = avail.len().min(READ_CHUNK);
        nonblank = nonblank || !avail[..n].iter().all(u8::is_ascii_whitespace);
        buf.extend_from_slice(&avail[..n]);
        reader.consume(n);
    }
    if !nonblank {
        return Err(FileError::new(ErrorKind::Empty, "empty file"));
    }
    if position == 0 {
        return Err(FileError::new(
            ErrorKind::Sgml,
            "no <REUTERS> elements found",
        ));
    }
    Ok(())
}

/// Value of `NAME="value"` (or `NAME=value`) inside an open tag.
fn attr<'a>(open: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = open[from..].find(name) {
        let i = from + i;
        let before_ok = i == 0 || open.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = open[i + name.len()..].trim_start();
        if before_ok {
            if let Some(v) = rest.strip_prefix('=') {
                let v = v.trim_start();
                return Some(if let Some(q) = v.strip_prefix('"') {
                    &q[..q.find('"').unwrap_or(q.len())]
                } else {
                    let end = v
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(v.len());
                    &v[..end]
                });
            }
        }
        from = i + name.len();
    }
    None
}

/// Find `<NAME` (followed by `>` or whitespace) in `s`; returns (start of the
/// open tag, start of the content).
fn find_tag(s: &str, name: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = s[from..].find('<') {
        let i = from + i;
        let rest = &s[i + 1..];
        if rest.starts_with(name) {
            match rest.as_bytes().get(name.len()) {
                Some(b'>') => return Some((i, i + 1 + name.len() + 1)),
                Some(b) if b.is_ascii_whitespace() => {
                    let gt = rest.find('>')?;
                    return Some((i, i + 1 + gt + 1));
                }
                _ => {}
            }
        }
        from = i + 1;
    }
    None
}

/// Content of `<NAME ...>` … `</NAME>`; without a close tag, up to the end.
fn tag_content<'a>(s: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let (open_start, content_start) = find_tag(s, name)?;
    let open = &s[open_start..content_start];
    let rest = &s[content_start..];
    let close = match name {
        "DATE" => "</DATE>",
        "TOPICS" => "</TOPICS>",
        "PLACES" => "</PLACES>",
        "PEOPLE" => "</PEOPLE>",
        "ORGS" => "</ORGS>",
        "TITLE" => "</TITLE>",
        "DATELINE" => "</DATELINE>",
        "BODY" => "</BODY>",
        _ => unreachable!("unknown tag {name}"),
    };
    let end = rest.find(close).unwrap_or(rest.len());
    Some((open, &rest[..end]))
}

fn d_items(s: &str, name: &str) -> Vec<String> {
    let Some((_, content)) = tag_content(s, name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(i) = rest.find("<D>") {
        rest = &rest[i + 3..];
        let end = rest.find("</D>").unwrap_or(rest.len());
        let item = collapse_ws(&decode_entities(&rest[..end]));
        if !item.is_empty() {
            out.push(item);
        }
        rest = &rest[end..];
    }
    out
}

/// Remove trailing "Reuter" / "REUTER" sign-offs (optionally followed by
/// dots; some articles carry two) from already-trimmed text.
fn strip_signoff(mut s: &str) -> &str {
    loop {
        let t = strip_one_signoff(s);
        if t.len() == s.len() {
            return s;
        }
        s = t;
    }
}

fn strip_one_signoff(s: &str) -> &str {
    let t = s.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let n = "reuter".len();
    if t.len() >= n && t.is_char_boundary(t.len() - n) {
        let (head, tail) = t.split_at(t.len() - n);
        if tail.eq_ignore_ascii_case("reuter")
            && head.chars().next_back().is_none_or(char::is_whitespace)
        {
            return head.trim_end();
        }
    }
    s
}

/// Reuters body cleaning: entities, control characters, sign-off, wrapped
/// lines joined with single spaces, indented or blank-line-separated
/// paragraphs joined with "\n\n".
pub(crate) fn clean_body(raw: &str) -> String {
    let decoded = decode_entities(raw);
    let text = strip_signoff(decoded.trim_end());
    let mut out = String::with_capacity(text.len());
    let mut new_para = false;
    for l in text.lines() {
        let trimmed = l.trim();
        if trimmed.is_empty() {
            new_para = true;
            continue;
        }
        if !out.is_empty() {
            if new_para || l.starts_with([' ', '\t']) {
                out.push_str("\n\n");
            } else {
                out.push(' ');
            }
        }
        out.push_str(trimmed);
        new_para = false;
    }
    out
}

fn clean_line(raw: &str) -> String {
    collapse_ws(&decode_entities(raw))
}

/// Parse one decoded `<REUTERS …>…</REUTERS>` element.
pub(crate) fn parse_element(el: &str, position: usize) -> Article {
    let open_end = el.find('>').unwrap_or(el.len());
    let open = &el[..open_end];
    let inner = &el[(open_end + 1).min(el.len())..];
    let inner = inner.strip_suffix("</REUTERS>").unwrap_or(inner);

    let mut a = Article {
        source_id: attr(open, "NEWID").map(str::to_string),
        source: Some("Reuters".to_string()),
        position,
        ..Default::default()
    };
    // Metadata lives before <TEXT>; searching only there is faster and safer.
    let (meta, text) = match find_tag(inner, "TEXT") {
        Some((open_start, content_start)) => {
            let rest = &inner[content_start..];
            let end = rest.find("</TEXT>").unwrap_or(rest.len());
            (&inner[..open_start], Some(&rest[..end]))
        }
        None => (inner, None),
    };
    // Some DATEs carry wire noise after a control entity ("…09.88&#5;&#5;T C"),
    // a comment ("… # date added by …") or a broken time ("605:12:19.12"):
    // fall back to the day alone.
    a.date = tag_content(meta, "DATE").and_then(|(_, d)| {
        let d = d.split(['&', '#']).next().unwrap_or(d);
        normalize_date(d).or_else(|| normalize_date(d.split_whitespace().next()?))
    });
    a.topics = d_items(meta, "TOPICS");
    a.places = d_items(meta, "PLACES");
    a.people = d_items(meta, "PEOPLE");
    a.orgs = d_items(meta, "ORGS");

    let Some(text) = text else {
        return a;
    };
    let title = tag_content(text, "TITLE").map(|(_, t)| t);
    let body = tag_content(text, "BODY").map(|(_, b)| b);
    if let Some((_, d)) = tag_content(text, "DATELINE") {
        let d = clean_line(d);
        let d = d.trim_end_matches(|c: char| c == '-' || c.is_whitespace());
        if !d.is_empty() {
            a.dateline = Some(d.to_string());
        }
    }
    if let Some(t) = title {
        a.headline = clean_line(t);
    }
    if let Some(b) = body {
        a.body = clean_body(b);
    }
    if title.is_none() && body.is_none() {
        // UNPROC: raw text only.
        a.body = clean_body(text);
        let decoded = decode_entities(text);
        if let Some(first) = decoded.lines().map(str::trim).find(|l| !l.is_empty()) {
            a.headline = truncate_chars(&collapse_ws(first), 200).to_string();
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{corpora, has_bad_chars};
    use super::super::{parse_bytes, parse_file, Format, ParseOptions, ParsedFile};
    use super::*;
    use std::path::Path;

    fn sgml(s: &[u8]) -> ParsedFile {
        parse_bytes(
            Path::new("x.sgm"),
            s,
            Format::Sgml,
            &ParseOptions::default(),
        )
        .unwrap()
    }

    const NORMAL: &str = r#"<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" OLDID="10" NEWID="7">
<DATE> 2-MAR-1987 09:05:01.10</DATE>
<TOPICS><D>grain</D><D>wheat</D></TOPICS>
<PLACES><D>usa</D></PLACES>
<PEOPLE></PEOPLE>
<ORGS><D>ec</D></ORGS>
<UNKNOWN>&#5;&#5;&#5;G
&#22;&#22;&#1;f0001&#31;reute</UNKNOWN>
<TEXT>&#2;
<TITLE>FARM &lt;AB&gt; SAYS WHEAT &amp; CORN
UP</TITLE>
<DATELINE>    CHICAGO, March 2 - </DATELINE><BODY>Line one of the first
paragraph continues here &lt;XYZ.N&gt; &amp; so on.
    Second paragraph starts
indented and wraps.

Third after blank.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
"#;

    #[test]
    fn normal_article() {
        let p = sgml(NORMAL.as_bytes());
        assert!(p.errors.is_empty());
        let a = &p.articles[0];
        assert_eq!(a.source_id.as_deref(), Some("7"));
        assert_eq!(a.date.as_deref(), Some("1987-03-02T09:05:01Z"));
        assert_eq!(a.topics, vec!["grain", "wheat"]);
        assert_eq!(a.places, vec!["usa"]);
        assert!(a.people.is_empty());
        assert_eq!(a.orgs, vec!["ec"]);
        assert_eq!(a.headline, "FARM <AB> SAYS WHEAT & CORN UP");
        assert_eq!(a.dateline.as_deref(), Some("CHICAGO, March 2"));
        assert_eq!(
            a.body,
            "Line one of the first paragraph continues here <XYZ.N> & so on.\n\n\
             Second paragraph starts indented and wraps.\n\nThird after blank."
        );
        assert_eq!(a.source.as_deref(), Some("Reuters"));
        assert_eq!(a.position, 0);
    }

    #[test]
    fn brief_and_unproc() {
        let s = "<REUTERS NEWID=\"1\">\n<DATE>26-FEB-1987 15:18:59.34</DATE>\n<TEXT TYPE=\"BRIEF\">&#2;\n******<TITLE>SHORT ONE\n</TITLE>Blah blah blah.\n&#3;\n\n</TEXT>\n</REUTERS>\n\
<REUTERS NEWID=\"2\">\n<TEXT TYPE=\"UNPROC\">&#2;\nWEEKLY REPORT 1 - FEB 26\n    Net reserves....644 vs.....1,337\n    Borrowings......680 vs.......425\n REUTER\n&#3;</TEXT>\n</REUTERS>\n";
        let p = sgml(s.as_bytes());
        assert!(p.errors.is_empty());
        assert_eq!(p.articles.len(), 2);
        let b = &p.articles[0];
        assert_eq!(b.headline, "SHORT ONE");
        assert_eq!(b.body, "");
        let u = &p.articles[1];
        assert_eq!(u.source_id.as_deref(), Some("2"));
        assert_eq!(u.headline, "WEEKLY REPORT 1 - FEB 26");
        assert_eq!(
            u.body,
            "WEEKLY REPORT 1 - FEB 26\n\nNet reserves....644 vs.....1,337\n\nBorrowings......680 vs.......425"
        );
        assert_eq!(u.position, 1);
    }

    #[test]
    fn unclosed_elements() {
        let s = format!(
            "<REUTERS NEWID=\"5\">\n<TEXT><TITLE>broken</TITLE>\n{NORMAL}<REUTERS NEWID=\"9\">\n<TEXT>cut off"
        );
        let p = sgml(s.as_bytes());
        assert_eq!(p.articles.len(), 1);
        assert_eq!(p.articles[0].source_id.as_deref(), Some("7"));
        assert_eq!(p.articles[0].position, 1);
        assert_eq!(p.errors.len(), 2);
        assert_eq!(p.errors[0].kind, ErrorKind::Sgml);
        assert!(
            p.errors[0].reason.contains("NEWID=5"),
            "{}",
            p.errors[0].reason
        );
        assert_eq!(p.errors[0].line, Some(1));
        assert!(p.errors[1].reason.contains("NEWID=9"));
        assert_eq!(p.errors[1].line, Some(24));
        assert_eq!(p.errors[1].position, Some(2));
    }

    #[test]
    fn latin1_and_small_reads() {
        let s = NORMAL.replace("so on.", "so on \u{1} caf\u{e9}.");
        let bytes: Vec<u8> = s
            .chars()
            .map(|c| if c == '\u{e9}' { 0xE9 } else { c as u8 })
            .collect();
        // a reader that hands out 3 bytes at a time
        let mut r = std::io::BufReader::with_capacity(3, bytes.as_slice());
        let mut arts = Vec::new();
        super::super::parse_reader(
            Path::new("x.sgm"),
            &mut r,
            Format::Sgml,
            &ParseOptions::default(),
            &mut |x| arts.push(x.unwrap()),
        )
        .unwrap();
        assert_eq!(arts.len(), 1);
        assert!(arts[0].body.contains("so on  café."), "{}", arts[0].body);
    }

    #[test]
    fn blank_file_is_empty() {
        let e = parse_bytes(
            Path::new("x.sgm"),
            b" \n\n",
            Format::Sgml,
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Empty);
    }

    #[test]
    fn no_elements() {
        let e = parse_bytes(
            Path::new("x.sgm"),
            b"<DOC>hi</DOC>",
            Format::Sgml,
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Sgml);
    }

    #[test]
    fn signoff() {
        assert_eq!(strip_signoff("text.\n Reuter"), "text.");
        assert_eq!(strip_signoff("text.\n REUTER..."), "text.");
        assert_eq!(strip_signoff("said Reuter"), "said");
        assert_eq!(strip_signoff("Freuter"), "Freuter");
        assert_eq!(strip_signoff("x.\nREUTER\n Reuter"), "x.");
    }

    #[test]
    fn real_reuters() {
        let Some(root) = corpora() else { return };
        let dir = root.join("reuters21578");
        let mut total = 0;
        let mut empty_body = 0;
        let mut brief = 0;
        let mut found1 = false;
        for i in 0..22 {
            let f = dir.join(format!("reut2-{i:03}.sgm"));
            let bytes = std::fs::read(&f).unwrap();
            brief += memmem::find_iter(&bytes, b"TYPE=\"BRIEF\"").count();
            let p = parse_file(&f, &ParseOptions::default()).unwrap();
            assert!(
                p.errors.is_empty(),
                "{}: {:?}",
                f.display(),
                p.errors.first()
            );
            for (k, a) in p.articles.iter().enumerate() {
                assert_eq!(a.position, k);
                assert!(a.source_id.is_some());
                assert!(a.date.is_some(), "NEWID {:?} date", a.source_id);
                assert!(!has_bad_chars(&a.body), "NEWID {:?} body", a.source_id);
                assert!(
                    !has_bad_chars(&a.headline),
                    "NEWID {:?} headline",
                    a.source_id
                );
                assert!(!a.body.contains('\u{FFFD}') && !a.headline.contains('\u{FFFD}'));
                assert_eq!(a.body.trim(), a.body);
                assert!(!a.body.contains("\n\n\n"));
                // (a few UNPROC elements are genuinely empty)
                assert!(
                    !a.headline.is_empty() || a.body.is_empty(),
                    "NEWID {:?} headline empty",
                    a.source_id
                );
                if a.body.is_empty() {
                    empty_body += 1;
                } else {
                    let low = a.body.to_ascii_lowercase();
                    assert!(!low.ends_with("reuter"), "NEWID {:?} signoff", a.source_id);
                }
                if a.source_id.as_deref() == Some("1") {
                    found1 = true;
                    assert_eq!(a.topics, vec!["cocoa"]);
                    assert!(a.places.iter().any(|p| p == "usa"));
                    assert_eq!(a.headline, "BAHIA COCOA REVIEW");
                    assert_eq!(a.dateline.as_deref(), Some("SALVADOR, Feb 26"));
                    assert_eq!(a.date.as_deref(), Some("1987-02-26T15:01:01Z"));
                    assert!(a
                        .body
                        .starts_with("Showers continued throughout the week in the Bahia"));
                    assert!(a.body.contains("\n\nThe dry period"));
                }
            }
            total += p.articles.len();
        }
        assert!(found1);
        assert_eq!(total, 21578);
        assert_eq!(brief, 1798);
        // Every BRIEF has an empty body; a few normal articles have an empty BODY.
        eprintln!("reuters: {total} articles, {brief} BRIEF, {empty_body} empty bodies");
        assert!(
            empty_body >= brief && empty_body <= brief + 20,
            "empty bodies: {empty_body}"
        );
    }
}
