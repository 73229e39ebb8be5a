//! HTML (.html / .htm), one article per file, with a small hand-written tag
//! scanner (no HTML crate).
//!
//! headline: `<meta property="og:title">`, else the first `<h1>`, else
//! `<title>`. date: `<meta property="article:published_time">`, else the
//! first `<time datetime>`, else `<meta name="date">` (also `pubdate`,
//! `publishdate`, `dc.date`). url: `<link rel="canonical">`, else `og:url`.
//! source: `og:site_name`. topics: `article:tag` metas. body: text of the
//! first `<article>` if present, else `<body>` (else the whole document
//! minus `<head>`), without `script style nav header footer aside noscript
//! template svg form iframe`; block elements (`p h1-h6 li br div
//! blockquote tr pre ...`) delimit paragraphs; entities decoded; a first
//! paragraph equal to the headline is dropped.

use super::date::normalize_date;
use super::decode::decode_file;
use super::sgml_entities::decode_entities;
use super::text::collapse_ws;
use super::{Article, ErrorKind, FileError, RecordError};

#[derive(Debug)]
enum Tok<'a> {
    Open {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
    },
    Close(String),
    Text(&'a str),
}

impl Tok<'_> {
    fn attr(&self, key: &str) -> Option<&str> {
        match self {
            Tok::Open { attrs, .. } => attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// Case-insensitive search for `</name` from `from`.
fn find_close_tag(s: &str, from: usize, name: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = from;
    while let Some(p) = memchr::memchr(b'<', &b[i..]) {
        let at = i + p;
        let rest = &b[at + 1..];
        if rest.first() == Some(&b'/')
            && rest.len() > name.len()
            && rest[1..=name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b':' || c == b'_'
}

fn flush<'a>(toks: &mut Vec<Tok<'a>>, s: &'a str, start: usize, end: usize) {
    if end > start {
        toks.push(Tok::Text(&s[start..end]));
    }
}

fn tokenize(s: &str) -> Vec<Tok<'_>> {
    let b = s.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    while let Some(p) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + p;
        let next = b.get(lt + 1).copied().unwrap_or(0);
        if s[lt..].starts_with("<!--") {
            flush(&mut toks, s, text_start, lt);
            i = s[lt + 4..].find("-->").map_or(b.len(), |e| lt + 4 + e + 3);
            text_start = i;
            continue;
        }
        if next == b'!' || next == b'?' {
            flush(&mut toks, s, text_start, lt);
            i = memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1);
            text_start = i;
            continue;
        }
        if next == b'/' && b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) {
            flush(&mut toks, s, text_start, lt);
            let mut j = lt + 2;
            while j < b.len() && is_name_byte(b[j]) {
                j += 1;
            }
            toks.push(Tok::Close(s[lt + 2..j].to_ascii_lowercase()));
            i = memchr::memchr(b'>', &b[j..]).map_or(b.len(), |e| j + e + 1);
            text_start = i;
            continue;
        }
        if !next.is_ascii_alphabetic() {
            i = lt + 1; // a literal '<'
            continue;
        }
        flush(&mut toks, s, text_start, lt);
        let mut j = lt + 1;
        while j < b.len() && is_name_byte(b[j]) {
            j += 1;
        }
        let name = s[lt + 1..j].to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut self_closing = false;
        // attributes
        loop {
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j >= b.len() {
                break;
            }
            if b[j] == b'>' {
                j += 1;
                break;
            }
            if b[j] == b'/' {
                self_closing = true;
                j += 1;
                continue;
            }
            let ks = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/')
            {
                j += 1;
            }
            let key = s[ks..j].to_ascii_lowercase();
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut value = String::new();
            if j < b.len() && b[j] == b'=' {
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                    let q = b[j];
                    let vs = j + 1;
                    let ve = memchr::memchr(q, &b[vs..]).map_or(b.len(), |e| vs + e);
                    value = decode_entities(&s[vs..ve]).into_owned();
                    j = (ve + 1).min(b.len());
                } else {
                    let vs = j;
                    while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                        j += 1;
                    }
                    value = decode_entities(&s[vs..j]).into_owned();
                }
            }
            if !key.is_empty() {
                attrs.push((key, value));
            }
            if ks == j {
                j += 1; // never stall
            }
        }
        i = j;
        text_start = j;
        let raw = matches!(name.as_str(), "script" | "style" | "textarea" | "title");
        toks.push(Tok::Open {
            name: name.clone(),
            attrs,
            self_closing,
        });
        if raw && !self_closing {
            let end = find_close_tag(s, i, &name).unwrap_or(b.len());
            if name == "title" || name == "textarea" {
                toks.push(Tok::Text(&s[i..end]));
            }
            toks.push(Tok::Close(name));
            i = memchr::memchr(b'>', &b[end..]).map_or(b.len(), |e| end + e + 1);
            text_start = i;
        }
    }
    if text_start < b.len() {
        toks.push(Tok::Text(&s[text_start..]));
    }
    toks
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "section"
            | "article"
            | "main"
            | "table"
            | "tr"
            | "hr"
            | "figure"
            | "figcaption"
            | "address"
            | "body"
    )
}

fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "nav"
            | "header"
            | "footer"
            | "aside"
            | "noscript"
            | "template"
            | "svg"
            | "form"
            | "iframe"
            | "head"
            | "title"
            | "button"
            | "select"
            | "textarea"
    )
}

/// Text of tokens from `start` until the close of `name`.
fn inner_text(toks: &[Tok<'_>], start: usize, name: &str) -> String {
    let mut out = String::new();
    for t in &toks[start..] {
        match t {
            Tok::Close(n) if n == name => break,
            Tok::Text(x) => {
                out.push_str(&decode_entities(x));
                out.push(' ');
            }
            _ => {}
        }
    }
    collapse_ws(&out)
}

/// Index range (exclusive of the tags) of the first `<name>` element.
fn element_range(toks: &[Tok<'_>], name: &str) -> Option<(usize, usize)> {
    let start = toks
        .iter()
        .position(|t| matches!(t, Tok::Open { name: n, self_closing: false, .. } if n == name))?;
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(start + 1) {
        match t {
            Tok::Open {
                name: n,
                self_closing: false,
                ..
            } if n == name => depth += 1,
            Tok::Close(n) if n == name => {
                if depth == 0 {
                    return Some((start + 1, i));
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    Some((start + 1, toks.len()))
}

struct Paras {
    paras: Vec<String>,
    cur: String,
}

impl Paras {
    fn text(&mut self, t: &str) {
        let d = decode_entities(t);
        for (k, w) in d.split_whitespace().enumerate() {
            let lead_space = k > 0 || d.starts_with(char::is_whitespace);
            if lead_space && !self.cur.is_empty() && !self.cur.ends_with(' ') {
                self.cur.push(' ');
            }
            self.cur.push_str(w);
        }
        if d.ends_with(char::is_whitespace) && !self.cur.is_empty() && !self.cur.ends_with(' ') {
            self.cur.push(' ');
        }
    }
    fn brk(&mut self) {
        let t = self.cur.trim();
        if !t.is_empty() {
            self.paras.push(t.to_string());
        }
        self.cur.clear();
    }
}

fn body_text(toks: &[Tok<'_>], headline: &str) -> String {
    let (from, to) = element_range(toks, "article")
        .or_else(|| element_range(toks, "body"))
        .unwrap_or((0, toks.len()));
    let mut p = Paras {
        paras: Vec::new(),
        cur: String::new(),
    };
    let mut skip = 0usize;
    for t in &toks[from..to] {
        match t {
            Tok::Open {
                name, self_closing, ..
            } => {
                if is_skipped(name) {
                    if !self_closing {
                        skip += 1;
                    }
                } else if skip == 0 && is_block(name) {
                    p.brk();
                }
            }
            Tok::Close(name) => {
                if is_skipped(name) {
                    skip = skip.saturating_sub(1);
                } else if skip == 0 && is_block(name) {
                    p.brk();
                }
            }
            Tok::Text(x) if skip == 0 => p.text(x),
            Tok::Text(_) => {}
        }
    }
    p.brk();
    if !headline.is_empty() && p.paras.first().is_some_and(|f| f == headline) {
        p.paras.remove(0);
    }
    p.paras.join("\n\n")
}

pub(crate) fn parse_html(
    bytes: &[u8],
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    let text = decode_file(bytes)?;
    let toks = tokenize(&text);

    let mut meta = std::collections::HashMap::<String, String>::new();
    let mut topics = Vec::new();
    let mut canonical = None;
    let mut time_dt = None;
    let mut h1 = None;
    let mut title = None;
    for (i, t) in toks.iter().enumerate() {
        let Tok::Open { name, .. } = t else { continue };
        match name.as_str() {
            "meta" => {
                let key = t.attr("property").or_else(|| t.attr("name"));
                if let (Some(k), Some(c)) = (key, t.attr("content")) {
                    let k = k.to_ascii_lowercase();
                    if k == "article:tag" {
                        let c = collapse_ws(c);
                        if !c.is_empty() {
                            topics.push(c);
                        }
                    } else {
                        meta.entry(k).or_insert_with(|| c.to_string());
                    }
                }
            }
            "link" if canonical.is_none() => {
                let rel = t.attr("rel").unwrap_or("");
                if rel
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"))
                {
                    canonical = t.attr("href").map(str::to_string);
                }
            }
            "time" if time_dt.is_none() => time_dt = t.attr("datetime").map(str::to_string),
            "h1" if h1.is_none() => h1 = Some(inner_text(&toks, i + 1, "h1")),
            "title" if title.is_none() => title = Some(inner_text(&toks, i + 1, "title")),
            _ => {}
        }
    }
    let nonempty = |s: Option<String>| s.map(|x| collapse_ws(&x)).filter(|x| !x.is_empty());
    let headline = nonempty(meta.get("og:title").cloned())
        .or_else(|| nonempty(h1))
        .or_else(|| nonempty(title))
        .unwrap_or_default();
    let date = meta
        .get("article:published_time")
        .and_then(|d| normalize_date(d))
        .or_else(|| time_dt.as_deref().and_then(normalize_date))
        .or_else(|| {
            [
                "date",
                "pubdate",
                "publishdate",
                "dc.date",
                "dc.date.issued",
            ]
            .iter()
            .find_map(|k| meta.get(*k).and_then(|d| normalize_date(d)))
        });
    let url = nonempty(canonical).or_else(|| nonempty(meta.get("og:url").cloned()));
    let source = nonempty(meta.get("og:site_name").cloned());
    let body = body_text(&toks, &headline);
    if headline.is_empty() && body.is_empty() {
        sink(Err(RecordError {
            line: None,
            position: Some(0),
            kind: ErrorKind::MissingField,
            reason: "HTML page has no headline and no body text".to_string(),
        }));
        return Ok(());
    }
    sink(Ok(Article {
        headline,
        body,
        date,
        url,
        source,
        topics,
        position: 0,
        ..Default::default()
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_bytes, Format, ParseOptions, ParsedFile};
    use super::*;
    use std::path::Path;

    fn html(s: &str) -> ParsedFile {
        parse_bytes(
            Path::new("a.html"),
            s.as_bytes(),
            Format::Html,
            &ParseOptions::default(),
        )
        .unwrap()
    }

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<title>Site | Page title</title>
<meta property="og:title" content="Storm &amp; floods hit coast">
<meta property="article:published_time" content="2004-01-05T10:00:00+01:00">
<meta property="og:site_name" content="Daily Example">
<meta property="article:tag" content="weather">
<link rel="canonical" href="https://example.com/storm">
<style>p { color: red }</style>
<script>var x = "<p>not text</p>";</script>
</head>
<body>
<header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<article>
<h1>Storm &amp; floods hit coast</h1>
<p>First   paragraph with <b>bold</b> and <a href="/x">a&nbsp;link</a>.</p>
<!-- a comment <p>hidden</p> -->
<aside>Related: other stories</aside>
<p>Second &#8220;quoted&#8221; &lt;tag&gt; text.<br>After break</p>
<ul><li>Item one</li><li>Item two</li></ul>
<h2>Sub heading</h2>
<div>Tail text</div>
</article>
<footer>Copyright</footer>
</body></html>"#;

    #[test]
    fn full_page() {
        let p = html(PAGE);
        assert!(p.errors.is_empty());
        let a = &p.articles[0];
        assert_eq!(a.headline, "Storm & floods hit coast");
        assert_eq!(a.date.as_deref(), Some("2004-01-05T09:00:00Z"));
        assert_eq!(a.url.as_deref(), Some("https://example.com/storm"));
        assert_eq!(a.source.as_deref(), Some("Daily Example"));
        assert_eq!(a.topics, vec!["weather"]);
        assert_eq!(
            a.body,
            "First paragraph with bold and a link.\n\n\
             Second \u{201C}quoted\u{201D} <tag> text.\n\nAfter break\n\n\
             Item one\n\nItem two\n\nSub heading\n\nTail text"
        );
    }

    #[test]
    fn fallbacks() {
        let p = html("<html><head><TITLE>Only &eacute;title</TITLE><meta name=\"date\" content=\"January 5, 2004\"></head>\
<BODY><nav>menu</nav><P>Body text<P>second</BODY></html>");
        let a = &p.articles[0];
        assert_eq!(a.headline, "Only étitle");
        assert_eq!(a.date.as_deref(), Some("2004-01-05"));
        assert_eq!(a.body, "Body text\n\nsecond");
        let p = html("<h1>Head</h1><time datetime=\"2004-01-05\">Jan 5</time><p>x &lt; y</p><meta property=og:url content=http://u>");
        let a = &p.articles[0];
        assert_eq!(a.headline, "Head");
        assert_eq!(a.date.as_deref(), Some("2004-01-05"));
        assert_eq!(a.body, "Jan 5\n\nx < y");
        assert_eq!(a.url.as_deref(), Some("http://u"));
    }

    #[test]
    fn malformed_and_empty() {
        let p = html("<p>a < b and <unclosed attr=\"x</p>");
        assert_eq!(p.articles.len(), 1);
        assert!(p.articles[0].body.starts_with("a < b and"));
        let p = html("<html><head><script>x</script></head><body> </body></html>");
        assert_eq!(p.errors[0].kind, ErrorKind::MissingField);
        let e = parse_bytes(
            Path::new("a.html"),
            b"  ",
            Format::Html,
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Empty);
        let p = parse_bytes(
            Path::new("a.html"),
            b"<p>caf\xE9</p>",
            Format::Html,
            &ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(p.articles[0].body, "café");
    }
}
