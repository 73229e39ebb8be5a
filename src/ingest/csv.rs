//! CSV (.csv): a header row is required. Columns are matched
//! case-insensitively: headline/title, body/text/content,
//! date/published/published_at/pubdate, url, source, id, and optionally
//! dateline and topics/tags (`;`- or `|`-separated). A [`FieldMap`] entry
//! names the column for its target (case-insensitive) and replaces the
//! defaults. Rows are streamed as byte records and each field is decoded
//! with [`decode_text`], so invalid UTF-8 is handled per field.

use std::io::BufRead;

use super::date::normalize_date;
use super::decode::decode_text;
use super::text::{collapse_ws, normalize_body};
use super::{check_stream_start, Article, ErrorKind, FileError, ParseOptions, RecordError};

const TARGETS: &[(&str, &[&str])] = &[
    ("headline", &["headline", "title"]),
    ("body", &["body", "text", "content"]),
    ("date", &["date", "published", "published_at", "pubdate"]),
    ("url", &["url"]),
    ("source", &["source"]),
    ("id", &["id"]),
    ("dateline", &["dateline"]),
    ("topics", &["topics", "tags"]),
];

/// Column index per entry of TARGETS.
fn resolve_columns(
    headers: &[String],
    opts: &ParseOptions,
) -> Result<[Option<usize>; 8], FileError> {
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let mut cols = [None; 8];
    for (i, (target, defaults)) in TARGETS.iter().enumerate() {
        cols[i] = match opts.fields.get(target) {
            Some(col) => Some(find(col).ok_or_else(|| {
                FileError::new(
                    ErrorKind::MissingField,
                    format!("CSV header has no column `{col}` (mapped to {target})"),
                )
            })?),
            None => defaults.iter().find_map(|d| find(d)),
        };
    }
    if cols[0].is_none() && cols[1].is_none() {
        return Err(FileError::new(
            ErrorKind::MissingField,
            format!(
                "CSV header has no headline or body column (found: {})",
                headers.join(", ")
            ),
        ));
    }
    Ok(cols)
}

/// Streaming CRLF -> LF adapter. The csv crate miscounts record line
/// numbers on CRLF input (blank CRLF lines are not counted), so it is fed LF
/// only.
struct CrlfToLf<'a> {
    inner: &'a mut dyn BufRead,
    pending_cr: bool,
}

impl std::io::Read for CrlfToLf<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        loop {
            let src = self.inner.fill_buf()?;
            if src.is_empty() {
                if self.pending_cr {
                    self.pending_cr = false;
                    out[n] = b'\r';
                    n += 1;
                }
                return Ok(n);
            }
            if self.pending_cr {
                self.pending_cr = false;
                if src[0] != b'\n' {
                    out[n] = b'\r';
                    n += 1;
                    if n == out.len() {
                        return Ok(n);
                    }
                }
            }
            let mut used = 0;
            while used < src.len() && n < out.len() {
                let b = src[used];
                used += 1;
                if b == b'\r' {
                    match src.get(used) {
                        Some(b'\n') => continue,
                        Some(_) => {}
                        None => {
                            self.pending_cr = true;
                            continue;
                        }
                    }
                }
                out[n] = b;
                n += 1;
            }
            self.inner.consume(used);
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

pub(crate) fn parse_csv(
    reader: &mut dyn BufRead,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    check_stream_start(reader)?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(CrlfToLf {
            inner: reader,
            pending_cr: false,
        });
    let csv_err = |e: ::csv::Error| match e.kind() {
        ::csv::ErrorKind::Io(_) => FileError::new(ErrorKind::Io, format!("read error: {e}")),
        _ => FileError::new(ErrorKind::Csv, format!("CSV error: {e}")),
    };
    let headers: Vec<String> = rdr
        .byte_headers()
        .map_err(csv_err)?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = if i == 0 {
                h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
            } else {
                h
            };
            decode_text(h).trim().to_string()
        })
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(FileError::new(
            ErrorKind::Empty,
            "CSV file has no header row",
        ));
    }
    let cols = resolve_columns(&headers, opts)?;
    let mut rec = ::csv::ByteRecord::new();
    let mut position = 0usize;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let ::csv::ErrorKind::Io(_) = e.kind() {
                    return Err(csv_err(e));
                }
                let line = e.position().map(|p| p.line() as usize);
                sink(Err(RecordError {
                    line,
                    position: Some(position),
                    kind: ErrorKind::Csv,
                    reason: format!("CSV error: {e}"),
                }));
                position += 1;
                continue;
            }
        }
        let line = rec.position().map(|p| p.line() as usize);
        // skip rows that are entirely empty
        if rec.iter().all(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        let get = |i: usize| -> Option<std::borrow::Cow<'_, str>> {
            cols[i]
                .and_then(|c| rec.get(c))
                .map(decode_text)
                .filter(|s| !s.trim().is_empty())
        };
        let headline = get(0).map(|s| collapse_ws(&s)).unwrap_or_default();
        let body = get(1)
            .map(|s| normalize_body(&super::decode::normalize_newlines(&s)))
            .unwrap_or_default();
        if headline.is_empty() && body.is_empty() {
            sink(Err(RecordError {
                line,
                position: Some(position),
                kind: ErrorKind::MissingField,
                reason: format!(
                    "line {}: row has no headline and no body",
                    line.map_or("?".to_string(), |l| l.to_string())
                ),
            }));
            position += 1;
            continue;
        }
        let topics = get(7)
            .map(|s| {
                s.split([';', '|'])
                    .map(collapse_ws)
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        sink(Ok(Article {
            source_id: get(5).map(|s| s.trim().to_string()),
            headline,
            body,
            date: get(2).and_then(|s| normalize_date(&s)),
            url: get(3).map(|s| s.trim().to_string()),
            source: get(4).map(|s| collapse_ws(&s)),
            dateline: get(6).map(|s| collapse_ws(&s)),
            topics,
            position,
            line,
            ..Default::default()
        }));
        position += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_bytes, Format, ParsedFile};
    use super::*;
    use std::path::Path;

    fn csv_with(b: &[u8], o: &ParseOptions) -> Result<ParsedFile, FileError> {
        parse_bytes(Path::new("a.csv"), b, Format::Csv, o)
    }
    fn csv(b: &[u8]) -> ParsedFile {
        csv_with(b, &ParseOptions::default()).unwrap()
    }

    #[test]
    fn basic_rows() {
        let p = csv(b"\xEF\xBB\xBFID,Title,Text,Published,URL,Source,Extra\r\n\
7,\"A, title\",\"Para 1\r\nline\r\n\r\nPara 2\",2004-01-05,http://u,Wire,x\r\n\
8,,,,,,\r\n\
,,,\r\n\
9,Only headline\r\n\
10,Lat\xE9n,b\xA3dy,Jan 5 2004\r\n");
        assert_eq!(p.articles.len(), 3, "{:?}", p.errors);
        let a = &p.articles[0];
        assert_eq!(a.source_id.as_deref(), Some("7"));
        assert_eq!(a.headline, "A, title");
        assert_eq!(a.body, "Para 1\nline\n\nPara 2");
        assert_eq!(a.date.as_deref(), Some("2004-01-05"));
        assert_eq!(a.url.as_deref(), Some("http://u"));
        assert_eq!(a.source.as_deref(), Some("Wire"));
        assert_eq!(a.line, Some(2));
        assert_eq!(a.position, 0);
        assert_eq!(p.articles[1].headline, "Only headline");
        assert_eq!(p.articles[1].body, "");
        assert_eq!(p.articles[1].line, Some(8));
        assert_eq!(p.articles[2].headline, "Latén");
        assert_eq!(p.articles[2].body, "b£dy");
        assert_eq!(p.articles[2].date.as_deref(), Some("2004-01-05"));
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].kind, ErrorKind::MissingField);
        assert_eq!(p.errors[0].line, Some(6));
    }

    #[test]
    fn crlf_adapter() {
        use std::io::Read;
        let data = b"a\r\nb\rc\r\n\r\nd\r";
        for cap in [1, 2, 3, 64] {
            let mut inner = std::io::BufReader::with_capacity(cap, &data[..]);
            let mut r = CrlfToLf {
                inner: &mut inner,
                pending_cr: false,
            };
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, b"a\nb\rc\n\nd\r", "cap {cap}");
        }
    }

    #[test]
    fn crlf_line_numbers() {
        // (the csv crate reports a record preceded by blank lines at the
        // first blank line; CRLF input used to be off by one more)
        let p = csv(b"id,title,body\r\n1,a,b\r\n2,c,\"x\r\ny\"\r\n3,,\r\n4,e,f");
        let lines: Vec<_> = p.articles.iter().map(|a| a.line).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(6)]);
        assert_eq!(p.errors[0].line, Some(5));
        assert_eq!(p.articles[1].body, "x\ny");
    }

    #[test]
    fn field_map_column() {
        let mut o = ParseOptions::default();
        o.fields.insert("headline", "Subject").unwrap();
        o.fields.insert("body", "story").unwrap();
        let p = csv_with(b"title,subject,STORY\nno,yes,body text\n", &o).unwrap();
        assert_eq!(p.articles[0].headline, "yes");
        assert_eq!(p.articles[0].body, "body text");
        let e = csv_with(b"title,body\na,b\n", &o).unwrap_err();
        assert_eq!(e.kind, ErrorKind::MissingField);
    }

    #[test]
    fn header_errors() {
        let o = ParseOptions::default();
        assert_eq!(
            csv_with(b"a,b,c\n1,2,3\n", &o).unwrap_err().kind,
            ErrorKind::MissingField
        );
        assert_eq!(csv_with(b"\n\n", &o).unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(csv_with(b"", &o).unwrap_err().kind, ErrorKind::Empty);
        let p = csv_with(b"title\n", &o).unwrap();
        assert!(p.articles.is_empty() && p.errors.is_empty());
    }
}
