//! JSON (.json) and JSON lines (.jsonl / .ndjson).
//!
//! A .json file may hold: one article object; an array of article objects;
//! or an object that is not itself an article (no headline/body field) whose
//! array-valued key holds the articles, e.g. `{"articles": [...]}` — when
//! several keys hold arrays of objects, the first of `articles`, `items`,
//! `data`, `results`, `docs`, `documents`, `posts`, `entries`, `stories`,
//! `news` is used. Concatenated objects (JSON lines saved as .json) are
//! parsed as JSON lines.
//!
//! Field defaults (first present, non-null wins; a [`FieldMap`] entry
//! replaces the defaults for its target):
//! headline: `headline`, `title`; body: `body`, `text`, `content`; date:
//! `date`, `published`, `published_at`, `pubDate` (string, or number = unix
//! seconds, or milliseconds when > 1e11); `url`; `source` (string or object
//! with `name`); `id` (string or number). Also kept when present:
//! `dateline` (string), `topics` (else `tags`, `categories`), `places`,
//! `people`, `orgs` (else `organizations`) as a string or an array of
//! strings.

use std::io::BufRead;

use serde_json::Value;

use super::date::{from_unix, normalize_date};
use super::decode::{decode_text, normalize_newlines};
use super::text::{collapse_ws, normalize_body};
use super::{
    check_stream_start, Article, ErrorKind, FieldMap, FileError, ParseOptions, RecordError,
    MAX_RECORD,
};

const HEADLINE: &[&str] = &["headline", "title"];
const BODY: &[&str] = &["body", "text", "content"];
const DATE: &[&str] = &["date", "published", "published_at", "pubDate"];
const URL: &[&str] = &["url"];
const SOURCE: &[&str] = &["source"];
const ID: &[&str] = &["id"];
const CONTAINER_KEYS: &[&str] = &[
    "articles",
    "items",
    "data",
    "results",
    "docs",
    "documents",
    "posts",
    "entries",
    "stories",
    "news",
];

/// Follow a dotted path ("thread.title", "items.0.text") into a value.
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The value for a target and the name it was found under.
fn field<'a>(
    obj: &'a Value,
    map: &'a FieldMap,
    target: &str,
    defaults: &'static [&'static str],
) -> Option<(&'a Value, &'a str)> {
    match map.get(target) {
        Some(path) => lookup(obj, path)
            .filter(|v| !v.is_null())
            .map(|v| (v, path)),
        None => defaults
            .iter()
            .find_map(|k| obj.get(*k).filter(|v| !v.is_null()).map(|v| (v, *k))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => {
            let s = collapse_ws(s);
            if s.is_empty() {
                vec![]
            } else {
                vec![s]
            }
        }
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(collapse_ws(s)),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(collapse_ws),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        _ => vec![],
    }
}

fn first_of<'a>(obj: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| obj.get(*k).filter(|v| !v.is_null()))
}

/// Build an article from one JSON value.
pub(crate) fn article_from_value(
    v: &Value,
    opts: &ParseOptions,
    position: usize,
    line: Option<usize>,
) -> Result<Article, RecordError> {
    let err = |kind, reason: String| RecordError {
        line,
        position: Some(position),
        kind,
        reason,
    };
    if !v.is_object() {
        return Err(err(
            ErrorKind::WrongType,
            format!(
                "expected a JSON object for an article, found {}",
                type_name(v)
            ),
        ));
    }
    let map = &opts.fields;
    let text_field = |target: &str, defaults| -> Result<Option<&str>, RecordError> {
        match field(v, map, target, defaults) {
            None => Ok(None),
            Some((Value::String(s), _)) => Ok(Some(s.as_str())),
            Some((other, name)) => Err(err(
                ErrorKind::WrongType,
                format!(
                    "field `{name}` ({target}) must be a string, found {}",
                    type_name(other)
                ),
            )),
        }
    };
    let headline = text_field("headline", HEADLINE)?;
    let body = text_field("body", BODY)?;
    let headline = headline.map(collapse_ws).unwrap_or_default();
    let body = body
        .map(|b| {
            if b.contains('\r') {
                normalize_body(&normalize_newlines(b))
            } else {
                normalize_body(b)
            }
        })
        .unwrap_or_default();
    if headline.is_empty() && body.is_empty() {
        let h = map
            .get("headline")
            .map(|p| vec![p])
            .unwrap_or(HEADLINE.to_vec());
        let b = map.get("body").map(|p| vec![p]).unwrap_or(BODY.to_vec());
        return Err(err(
            ErrorKind::MissingField,
            format!(
                "no headline or body text (looked for {} / {})",
                h.join(", "),
                b.join(", ")
            ),
        ));
    }
    let date = match field(v, map, "date", DATE) {
        Some((Value::String(s), _)) => normalize_date(s),
        Some((Value::Number(n), _)) => n.as_f64().and_then(from_unix),
        _ => None,
    };
    let url = match field(v, map, "url", URL) {
        Some((Value::String(s), _)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    let source = match field(v, map, "source", SOURCE) {
        Some((Value::String(s), _)) => Some(collapse_ws(s)),
        Some((Value::Object(o), _)) => o.get("name").and_then(Value::as_str).map(collapse_ws),
        _ => None,
    }
    .filter(|s| !s.is_empty());
    let source_id = match field(v, map, "id", ID) {
        Some((Value::String(s), _)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some((Value::Number(n), _)) => Some(n.to_string()),
        _ => None,
    };
    let dateline = v
        .get("dateline")
        .and_then(Value::as_str)
        .map(collapse_ws)
        .filter(|s| !s.is_empty());
    Ok(Article {
        source_id,
        headline,
        body,
        date,
        url,
        source,
        dateline,
        topics: string_list(first_of(v, &["topics", "tags", "categories"])),
        places: string_list(first_of(v, &["places"])),
        people: string_list(first_of(v, &["people"])),
        orgs: string_list(first_of(v, &["orgs", "organizations"])),
        position,
        line,
    })
}

fn looks_like_article(v: &Value, map: &FieldMap) -> bool {
    field(v, map, "headline", HEADLINE).is_some() || field(v, map, "body", BODY).is_some()
}

/// Whole .json file.
pub(crate) fn parse_json(
    bytes: &[u8],
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    let text = super::decode::decode_file(bytes)?;
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) if e.to_string().starts_with("trailing characters") => {
            // several top-level values: treat as JSON lines
            let mut r = text.as_bytes();
            return parse_jsonl(&mut r, opts, sink);
        }
        Err(e) => {
            return Err(FileError::new(
                ErrorKind::InvalidJson,
                format!("invalid JSON: {e}"),
            ))
        }
    };
    let items: &[Value] = match &value {
        Value::Array(a) => a,
        Value::Object(m) if !looks_like_article(&value, &opts.fields) => {
            let arrays: Vec<(&String, &Vec<Value>)> = m
                .iter()
                .filter_map(|(k, v)| match v {
                    Value::Array(a) if a.iter().any(Value::is_object) => Some((k, a)),
                    _ => None,
                })
                .collect();
            match arrays.as_slice() {
                [(_, a)] => a,
                [] => std::slice::from_ref(&value),
                many => match CONTAINER_KEYS
                    .iter()
                    .find_map(|k| many.iter().find(|(name, _)| name.as_str() == *k))
                {
                    Some((_, a)) => a,
                    None => std::slice::from_ref(&value),
                },
            }
        }
        Value::Object(_) => std::slice::from_ref(&value),
        other => {
            return Err(FileError::new(
                ErrorKind::WrongType,
                format!(
                    "top-level JSON value must be an object or an array, found {}",
                    type_name(other)
                ),
            ))
        }
    };
    for (i, item) in items.iter().enumerate() {
        sink(article_from_value(item, opts, i, None));
    }
    Ok(())
}

/// Read one line (without the '\n') into `buf`, keeping at most `max` bytes.
/// Returns (read anything, line too long).
fn read_line_limited(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(bool, bool)> {
    buf.clear();
    let mut any = false;
    let mut too_long = false;
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            break;
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        if !too_long {
            if buf.len() + take > max {
                too_long = true;
                buf.clear();
                buf.shrink_to(64 * 1024);
            } else {
                buf.extend_from_slice(&avail[..take]);
            }
        }
        r.consume(if done { take + 1 } else { take });
        if done {
            break;
        }
    }
    Ok((any, too_long))
}

/// JSON lines, streamed line by line.
pub(crate) fn parse_jsonl(
    reader: &mut dyn BufRead,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    check_stream_start(reader)?;
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut line_no = 0usize;
    let mut position = 0usize;
    loop {
        let (any, too_long) =
            read_line_limited(reader, &mut buf, MAX_RECORD).map_err(FileError::io)?;
        if !any {
            break;
        }
        line_no += 1;
        if too_long {
            sink(Err(RecordError {
                line: Some(line_no),
                position: Some(position),
                kind: ErrorKind::TooLarge,
                reason: format!("line {line_no}: longer than {} MiB", MAX_RECORD >> 20),
            }));
            position += 1;
            continue;
        }
        let mut bytes = buf.as_slice();
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let bytes = bytes.trim_ascii();
        if bytes.is_empty() {
            continue;
        }
        let text = decode_text(bytes);
        let parsed: Result<Value, _> = serde_json::from_str(&text);
        let rec = match parsed {
            Ok(v) => article_from_value(&v, opts, position, Some(line_no)),
            Err(e) => Err(RecordError {
                line: Some(line_no),
                position: Some(position),
                kind: ErrorKind::InvalidJson,
                reason: format!("line {line_no}: invalid JSON: {e}"),
            }),
        };
        sink(rec);
        position += 1;
    }
    if position == 0 {
        return Err(FileError::new(ErrorKind::Empty, "no JSON records in file"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_bytes, Format, ParsedFile};
    use super::*;
    use std::path::Path;

    fn jsonl(s: &[u8]) -> ParsedFile {
        parse_bytes(
            Path::new("a.jsonl"),
            s,
            Format::JsonLines,
            &ParseOptions::default(),
        )
        .unwrap()
    }
    fn json_with(s: &str, opts: &ParseOptions) -> Result<ParsedFile, FileError> {
        parse_bytes(Path::new("a.json"), s.as_bytes(), Format::Json, opts)
    }
    fn json(s: &str) -> ParsedFile {
        json_with(s, &ParseOptions::default()).unwrap()
    }

    #[test]
    fn defaults_and_types() {
        let p = json(
            r#"{"id": 42, "title": "  A  title ", "text": "P1 l1\r\nl2\r\n\r\nP2  ",
                "published": 1073260800, "url": " http://x/y ", "source": {"name": "Wire"},
                "tags": ["a", "b"], "dateline": "LONDON"}"#,
        );
        assert_eq!(p.articles.len(), 1);
        let a = &p.articles[0];
        assert_eq!(a.source_id.as_deref(), Some("42"));
        assert_eq!(a.headline, "A title");
        assert_eq!(a.body, "P1 l1\nl2\n\nP2");
        assert_eq!(a.date.as_deref(), Some("2004-01-05T00:00:00Z"));
        assert_eq!(a.url.as_deref(), Some("http://x/y"));
        assert_eq!(a.source.as_deref(), Some("Wire"));
        assert_eq!(a.topics, vec!["a", "b"]);
        assert_eq!(a.dateline.as_deref(), Some("LONDON"));
        assert_eq!(a.line, None);
    }

    #[test]
    fn headline_preferred_over_title() {
        let p = json(
            r#"{"headline":"H","title":"T","body":"B","content":"C","date":"Jan 5, 2004","source":"S"}"#,
        );
        let a = &p.articles[0];
        assert_eq!((a.headline.as_str(), a.body.as_str()), ("H", "B"));
        assert_eq!(a.date.as_deref(), Some("2004-01-05"));
        assert_eq!(a.source.as_deref(), Some("S"));
        // null falls through to the next default
        let p = json(r#"{"headline":null,"title":"T","body":"B"}"#);
        assert_eq!(p.articles[0].headline, "T");
    }

    #[test]
    fn containers() {
        let p = json(r#"[{"title":"a"},{"title":"b"}, 3]"#);
        assert_eq!(p.articles.len(), 2);
        assert_eq!(p.articles[1].position, 1);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].kind, ErrorKind::WrongType);
        assert_eq!(p.errors[0].position, Some(2));
        let p = json(r#"{"status":"ok","articles":[{"title":"a"},{"body":"b"}]}"#);
        assert_eq!(p.articles.len(), 2);
        let p = json(r#"{"meta":[{"x":1}],"items":[{"title":"a"}]}"#);
        assert_eq!(p.articles.len(), 1);
        assert_eq!(p.articles[0].headline, "a");
        // concatenated objects
        let p = json("{\"title\":\"a\"}\n{\"title\":\"b\"}\n");
        assert_eq!(p.articles.len(), 2);
        assert_eq!(p.articles[1].line, Some(2));
        assert_eq!(json("[]").articles.len(), 0);
    }

    #[test]
    fn json_file_errors() {
        let o = ParseOptions::default();
        assert_eq!(json_with("", &o).unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(
            json_with("{\"title\": ", &o).unwrap_err().kind,
            ErrorKind::InvalidJson
        );
        assert_eq!(
            json_with("\"str\"", &o).unwrap_err().kind,
            ErrorKind::WrongType
        );
    }

    #[test]
    fn wrong_type_and_missing() {
        let p =
            json(r#"[{"title":"t","body":5},{"title":["x"]},{"url":"u"},{"title":" ","body":""}]"#);
        assert!(p.articles.is_empty());
        let k: Vec<_> = p.errors.iter().map(|e| e.kind).collect();
        assert_eq!(
            k,
            [
                ErrorKind::WrongType,
                ErrorKind::WrongType,
                ErrorKind::MissingField,
                ErrorKind::MissingField
            ]
        );
        assert!(
            p.errors[0].reason.contains("`body`"),
            "{}",
            p.errors[0].reason
        );
        assert!(p.errors[1].reason.contains("`title`"));
    }

    #[test]
    fn field_map_paths() {
        let mut opts = ParseOptions::default();
        opts.fields.insert("headline", "thread.title").unwrap();
        opts.fields.insert("body", "items.1.text").unwrap();
        opts.fields.insert("date", "meta.when").unwrap();
        opts.fields.insert("id", "meta.uuid").unwrap();
        let p = json_with(
            r#"{"title":"ignored","thread":{"title":"Nested"},"items":[{"text":"zero"},{"text":"one"}],
                "meta":{"when":"2004/01/05","uuid":"abc"}}"#,
            &opts,
        )
        .unwrap();
        let a = &p.articles[0];
        assert_eq!(a.headline, "Nested");
        assert_eq!(a.body, "one");
        assert_eq!(a.date.as_deref(), Some("2004-01-05"));
        assert_eq!(a.source_id.as_deref(), Some("abc"));
        // mapped path missing -> no default fallback
        let p = json_with(r#"{"title":"t","body":"b"}"#, &opts).unwrap();
        assert_eq!(p.errors[0].kind, ErrorKind::MissingField);
        assert!(p.errors[0].reason.contains("thread.title"));
        let p = json_with(r#"{"thread":{"title":7}}"#, &opts).unwrap();
        assert_eq!(p.errors[0].kind, ErrorKind::WrongType);
        assert!(p.errors[0].reason.contains("thread.title"));
    }

    #[test]
    fn jsonl_truncated_line() {
        let p = jsonl(b"{\"title\":\"one\",\"body\":\"b1\"}\n\n  \n{\"title\":\"two\",\"bo\n{\"title\":\"three\"}\r\n[1]\n");
        assert_eq!(p.articles.len(), 2);
        assert_eq!(p.articles[0].line, Some(1));
        assert_eq!(p.articles[0].position, 0);
        assert_eq!(p.articles[1].headline, "three");
        assert_eq!(p.articles[1].line, Some(5));
        assert_eq!(p.articles[1].position, 2);
        assert_eq!(p.errors.len(), 2);
        assert_eq!(p.errors[0].line, Some(4));
        assert_eq!(p.errors[0].kind, ErrorKind::InvalidJson);
        assert!(p.errors[0].reason.contains("EOF"), "{}", p.errors[0].reason);
        assert_eq!(p.errors[1].line, Some(6));
        assert_eq!(p.errors[1].kind, ErrorKind::WrongType);
    }

    #[test]
    fn jsonl_encoding() {
        let p = jsonl(b"\xEF\xBB\xBF{\"title\":\"caf\xE9 \xA3\"}\n{\"title\":\"ok \xC3\xA9\"}");
        assert_eq!(p.articles[0].headline, "café £");
        assert_eq!(p.articles[1].headline, "ok é");
    }

    #[test]
    fn jsonl_whitespace_only_is_empty() {
        let e = parse_bytes(
            Path::new("a.jsonl"),
            b"\n \n",
            Format::JsonLines,
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Empty);
    }

    #[test]
    fn long_line_limit() {
        let mut r: &[u8] = b"abcdef\nxy\n";
        let mut buf = Vec::new();
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 3).unwrap(),
            (true, true)
        );
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 3).unwrap(),
            (true, false)
        );
        assert_eq!(buf, b"xy");
        assert_eq!(
            read_line_limited(&mut r, &mut buf, 3).unwrap(),
            (false, false)
        );
    }
}
