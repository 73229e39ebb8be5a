//! Plain-text articles and the text helpers shared by all formats.

use super::{decode::decode_file, Article, ErrorKind, FileError, RecordError};

/// Collapse runs of whitespace (including newlines) into single spaces and
/// trim: used for headlines, datelines and short fields.
pub fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Body normalisation: LF line ends expected (CR handled anyway);
/// paragraphs are split on blank (whitespace-only) lines, trailing spaces of
/// each line removed, each paragraph trimmed, paragraphs joined with "\n\n".
pub fn normalize_body(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut para_open = false; // a paragraph has text and is not yet closed
    let mut pending_break = false;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if para_open {
                pending_break = true;
                para_open = false;
            }
            continue;
        }
        if pending_break {
            out.push_str("\n\n");
            pending_break = false;
            out.push_str(line.trim_start());
        } else if para_open {
            out.push('\n');
            out.push_str(line);
        } else {
            out.push_str(line.trim_start());
        }
        para_open = true;
    }
    out
}

/// Truncate at a char boundary to at most `max` chars.
pub fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].trim_end(),
        None => s,
    }
}

/// Plain text: first non-empty line is the headline, the rest the body.
pub(crate) fn parse_text(
    bytes: &[u8],
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    let text = decode_file(bytes)?;
    let text = text.trim_start();
    let (first, rest) = match text.find('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let headline = first.trim().to_string();
    if headline.is_empty() {
        return Err(FileError::new(ErrorKind::Empty, "empty file"));
    }
    sink(Ok(Article {
        headline,
        body: normalize_body(rest),
        position: 0,
        ..Default::default()
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_bytes, Format, ParseOptions};
    use super::*;
    use std::path::Path;

    fn one(bytes: &[u8]) -> Article {
        let p = parse_bytes(
            Path::new("a.txt"),
            bytes,
            Format::Text,
            &ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(p.articles.len(), 1);
        assert!(p.errors.is_empty());
        p.articles.into_iter().next().unwrap()
    }

    #[test]
    fn basic() {
        let a =
            one(b"\n  Headline here  \n\nPara one line one.  \nline two.\n\n\n   Para two.\n\n");
        assert_eq!(a.headline, "Headline here");
        assert_eq!(a.body, "Para one line one.\nline two.\n\nPara two.");
        assert_eq!(a.position, 0);
        assert_eq!(a.line, None);
    }

    #[test]
    fn crlf_bom_and_latin1() {
        let a = one(b"\xEF\xBB\xBFTitle\r\n\r\nOne\r\ntwo\r\n \r\nThree \xA3 5\r\n");
        assert_eq!(a.headline, "Title");
        assert_eq!(a.body, "One\ntwo\n\nThree £ 5");
        let a = one(b"Title\rBody\r\rMore");
        assert_eq!(a.body, "Body\n\nMore");
    }

    #[test]
    fn headline_only() {
        let a = one(b"Just a headline\n\n   \n");
        assert_eq!(a.headline, "Just a headline");
        assert_eq!(a.body, "");
    }

    #[test]
    fn empty_and_binary() {
        let o = ParseOptions::default();
        let e = |b: &[u8]| {
            parse_bytes(Path::new("a.txt"), b, Format::Text, &o)
                .unwrap_err()
                .kind
        };
        assert_eq!(e(b""), ErrorKind::Empty);
        assert_eq!(e(b" \n\r\n\t"), ErrorKind::Empty);
        assert_eq!(e(b"\xEF\xBB\xBF\n"), ErrorKind::Empty);
        assert_eq!(e(b"PNG\0\0\x01"), ErrorKind::Binary);
        let mut big = vec![b'a'; 20000];
        big[15000] = 0;
        assert_eq!(e(&big), ErrorKind::Binary);
    }

    #[test]
    fn helpers() {
        assert_eq!(collapse_ws("  a \n b\t c "), "a b c");
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(normalize_body("\n\n a \n\n b"), "a\n\nb");
    }

    #[test]
    fn real_bbc() {
        let Some(root) = super::super::testutil::corpora() else {
            return;
        };
        let bbc = root.join("bbc");
        let mut n = 0;
        for topic in std::fs::read_dir(&bbc).unwrap() {
            let topic = topic.unwrap().path();
            if !topic.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&topic).unwrap() {
                let f = f.unwrap().path();
                if f.extension().and_then(|e| e.to_str()) != Some("txt") {
                    continue;
                }
                let p = super::super::parse_file(&f, &ParseOptions::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                assert_eq!(p.articles.len(), 1, "{}", f.display());
                let a = &p.articles[0];
                assert!(
                    !a.headline.is_empty() && !a.body.is_empty(),
                    "{}",
                    f.display()
                );
                assert!(!a.body.contains("\n\n\n") && a.body.trim() == a.body);
                n += 1;
            }
        }
        assert_eq!(n, 2225);
        let p =
            super::super::parse_file(&bbc.join("sport/199.txt"), &ParseOptions::default()).unwrap();
        let a = &p.articles[0];
        assert!(a.body.contains('£') || a.headline.contains('£'));
        assert!(!a.body.contains('\u{FFFD}'));
    }
}
