//! JSON (.json) and JSON lines (.jsonl / .ndjson).
//!
//! A .json file may hold: one article object; an array of article objects;
//! or an object that is not itself an article (no headline/body field) whose
//! array-valued key holds the articles, e.g. `{"articles": [...]}` — when
//! several keys hold arrays of objects, the first of `articles`, `items`,
//! `data`, `results`, `docs`, `documents`, `posts`, `entries`, `stories`,
//! `news` is used. Objects one after another (JSON lines saved as .json) are
//! each an article.
//!
//! A .json file is streamed, an item at a time (`json_scan`), however large:
//! an item that is not valid JSON, or not an article, is a record error named
//! by its line and its place (`articles[12]: ...`), and the other items are
//! kept; only a broken skeleton (brackets that do not match, a file that ends
//! inside an item) fails the whole file. The object around the articles is
//! held until its arrays pass [`HOLD_BYTES`]; past that the first array of
//! objects that can be the articles is streamed as them.
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
use super::json_scan::{utf16_bom, Scanned, Scanner, Utf16Reader};
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

/// Where the articles of a top-level object that was read whole are: under which of its
/// keys (None: the object is itself one article). The rules of the module notes.
fn container_key(value: &Value, map: &FieldMap) -> Option<String> {
    let Value::Object(m) = value else {
        return None;
    };
    if looks_like_article(value, map) {
        return None;
    }
    let arrays: Vec<&String> = m
        .iter()
        .filter(|(_, v)| matches!(v, Value::Array(a) if a.iter().any(Value::is_object)))
        .map(|(k, _)| k)
        .collect();
    match arrays.as_slice() {
        [k] => Some(k.to_string()),
        [] => None,
        many => CONTAINER_KEYS
            .iter()
            .find(|c| many.iter().any(|k| k.as_str() == **c))
            .map(|c| c.to_string()),
    }
}

/// Bytes of array items a top-level object's members may hold before its articles must be
/// chosen: a file whose arrays hold less is read as if parsed whole, exactly; in a larger one
/// the first array of objects that fills this (under one of the container keys, or the only
/// one so far), in an object with no headline or body of its own so far, is streamed as the
/// articles, and members after it are not read.
const HOLD_BYTES: usize = 8 << 20;

/// Beyond this, a top-level object none of whose arrays can be the articles is refused.
const MAX_HELD_BYTES: usize = super::MAX_WHOLE_FILE as usize;

/// Why one item of a `.json` file gives no article value.
struct ItemError {
    line: usize,
    kind: ErrorKind,
    reason: String,
}

/// One item of a `.json` file: its value (or why it has none), where it starts, and its place
/// (in its array, or among the file's top-level values).
struct Item {
    value: Result<Value, ItemError>,
    line: usize,
    position: usize,
}

/// Reads the next value as one item. Items are decoded one by one, like JSON lines: UTF-8, or
/// Windows-1252 where it is not.
fn read_item(sc: &mut Scanner, buf: &mut Vec<u8>, position: usize) -> Result<Item, FileError> {
    let Scanned { fits, line } = sc.value(buf, MAX_RECORD)?;
    let value = if fits {
        serde_json::from_str(&decode_text(buf)).map_err(|e| {
            let msg = e.to_string();
            // serde_json's position is within the item; the item's own line is reported.
            let msg = msg
                .rsplit_once(" at line ")
                .map_or(msg.as_str(), |(m, _)| m);
            ItemError {
                line: line + e.line().saturating_sub(1),
                kind: ErrorKind::InvalidJson,
                reason: format!("invalid JSON: {msg}"),
            }
        })
    } else {
        Err(ItemError {
            line,
            kind: ErrorKind::TooLarge,
            reason: format!("longer than {} MiB", MAX_RECORD >> 20),
        })
    };
    Ok(Item {
        value,
        line,
        position,
    })
}

/// Reads the items of an array whose `[` was read, each handed to `f` with the bytes it took;
/// returns how many there were.
fn for_each_item(
    sc: &mut Scanner,
    mut f: impl FnMut(Item, usize) -> Result<(), FileError>,
) -> Result<usize, FileError> {
    let mut buf = Vec::new();
    if sc.eat(b']')? {
        return Ok(0);
    }
    let mut position = 0;
    loop {
        let item = read_item(sc, &mut buf, position)?;
        f(item, buf.len())?;
        position += 1;
        if !sc.eat(b',')? {
            sc.expect(b']', "after an array item")?;
            return Ok(position);
        }
    }
}

/// Turns items into articles (or record errors) for the sink.
struct Emit<'a> {
    opts: &'a ParseOptions,
    sink: &'a mut dyn FnMut(Result<Article, RecordError>),
}

impl Emit<'_> {
    /// An item of the array under `key` ("" for a top-level array; None for a top-level
    /// value): its errors are named `key[position]`.
    fn item(&mut self, item: Item, key: Option<&str>) {
        let Item {
            value,
            line,
            position,
        } = item;
        let name = |reason: String| match key {
            Some(k) => format!("{k}[{position}]: {reason}"),
            None => reason,
        };
        let rec = match value {
            Ok(v) => article_from_value(&v, self.opts, position, Some(line)).map_err(|mut e| {
                e.reason = name(e.reason);
                e
            }),
            Err(e) => Err(RecordError {
                line: Some(e.line),
                position: Some(position),
                kind: e.kind,
                reason: name(e.reason),
            }),
        };
        (self.sink)(rec);
    }
}

/// A .json file, streamed (see [`super::json_scan`]): one article object, an array of them,
/// an object around such an array, or objects one after another. Memory is bounded by the
/// largest article (and [`HOLD_BYTES`]), not the file.
pub(crate) fn parse_json(
    reader: &mut dyn BufRead,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    if let Some(encoding) = utf16_bom(reader).map_err(FileError::io)? {
        return parse_utf8(&mut Utf16Reader::new(reader, encoding), opts, sink);
    }
    check_stream_start(reader)?;
    if reader
        .fill_buf()
        .map_err(FileError::io)?
        .starts_with(b"\xEF\xBB\xBF")
    {
        reader.consume(3);
    }
    parse_utf8(reader, opts, sink)
}

fn parse_utf8(
    reader: &mut dyn BufRead,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    let mut sc = Scanner::new(reader);
    let mut emit = Emit { opts, sink };
    let mut buf = Vec::new();
    let mut position = match sc.peek()? {
        None => return Err(FileError::new(ErrorKind::Empty, "empty file")),
        Some(b'[') => {
            sc.expect(b'[', "")?;
            for_each_item(&mut sc, |item, _| {
                emit.item(item, Some(""));
                Ok(())
            })?
        }
        Some(b'{') => top_object(&mut sc, &mut emit)?,
        Some(_) => {
            let found = match read_item(&mut sc, &mut buf, 0)?.value {
                Ok(v) => type_name(&v),
                Err(e) => {
                    return Err(FileError::new(
                        e.kind,
                        format!("line {}: {}", e.line, e.reason),
                    ))
                }
            };
            return Err(FileError::new(
                ErrorKind::WrongType,
                format!("top-level JSON value must be an object or an array, found {found}"),
            ));
        }
    };
    // More values after the first: objects one after another (JSON lines saved as .json).
    while sc.peek()?.is_some() {
        emit.item(read_item(&mut sc, &mut buf, position)?, None);
        position += 1;
    }
    Ok(())
}

/// Where each item of an array member of the top-level object starts, and why it has no
/// value if it has none (it is null in the object then).
type Trace = Vec<(usize, Option<ItemError>)>;

/// A top-level object: one article, or the object around the articles (module notes).
/// Returns the number of records given to the sink.
fn top_object(sc: &mut Scanner, emit: &mut Emit) -> Result<usize, FileError> {
    let first_line = sc.line;
    sc.expect(b'{', "")?;
    // The members read so far, as an object, so that the article rules apply to it; and for
    // each array member, where its items start and why some have no value.
    let mut object = Value::Object(serde_json::Map::new());
    let mut traces: Vec<(String, Trace)> = Vec::new();
    let mut held = 0usize;
    // Once the articles are streaming: how many were.
    let mut streamed: Option<usize> = None;
    let mut buf = Vec::new();
    let mut first = true;
    while !sc.eat(b'}')? {
        if !first {
            sc.expect(b',', "between the members of the top-level object")?;
        }
        first = false;
        let Scanned { fits, line } = sc.value(&mut buf, MAX_RECORD)?;
        let Some(key) = fits
            .then(|| serde_json::from_str::<String>(&decode_text(&buf)).ok())
            .flatten()
        else {
            return Err(FileError::new(
                ErrorKind::InvalidJson,
                format!("invalid JSON at line {line}: expected a member's name (a string)"),
            ));
        };
        sc.expect(b':', "after a member's name")?;
        if streamed.is_some() {
            // The articles are read: what follows them is skipped, not kept.
            sc.value(&mut buf, 0)?;
            continue;
        }
        traces.retain(|(k, _)| *k != key);
        let member = if sc.eat(b'[')? {
            let (mut array, mut trace) = (Vec::new(), Trace::new());
            let mut streaming = false;
            let n = for_each_item(sc, |item, bytes| {
                if streaming {
                    emit.item(item, Some(&key));
                    return Ok(());
                }
                let (value, err) = match item.value {
                    Ok(v) => (v, None),
                    Err(e) => (Value::Null, Some(e)),
                };
                array.push(value);
                trace.push((item.line, err));
                held += bytes;
                if held > HOLD_BYTES && may_be_articles(&object, &key, &array, emit.opts) {
                    streaming = true;
                    emit_held(
                        emit,
                        &key,
                        std::mem::take(&mut array),
                        std::mem::take(&mut trace),
                    );
                } else if held > MAX_HELD_BYTES {
                    return Err(FileError::new(
                        ErrorKind::TooLarge,
                        format!(
                            "a top-level object with more than {} MiB of arrays, none of which \
                             can be its articles",
                            MAX_HELD_BYTES >> 20
                        ),
                    ));
                }
                Ok(())
            })?;
            if streaming {
                streamed = Some(n);
                continue;
            }
            traces.push((key.clone(), trace));
            Value::Array(array)
        } else {
            let item = read_item(sc, &mut buf, 0)?;
            item.value.map_err(|e| {
                FileError::new(e.kind, format!("line {}: `{key}`: {}", e.line, e.reason))
            })?
        };
        if let Value::Object(m) = &mut object {
            m.insert(key, member);
        }
    }
    if let Some(n) = streamed {
        return Ok(n);
    }
    // Read whole: decided as for a file parsed whole. Items that are not valid JSON make the
    // object invalid, unless they are the articles (then each is a record error).
    let broken = |traces: &[(String, Trace)]| {
        traces.iter().find_map(|(k, trace)| {
            trace
                .iter()
                .find_map(|(_, e)| e.as_ref())
                .map(|e| (k.clone(), e.line, e.kind, e.reason.clone()))
        })
    };
    // Objects one after another: each is an article, with its line.
    if sc.peek()?.is_some() {
        let value = match broken(&traces) {
            Some((k, line, kind, reason)) => Err(ItemError {
                line,
                kind,
                reason: format!("`{k}`: {reason}"),
            }),
            None => Ok(object),
        };
        emit.item(
            Item {
                value,
                line: first_line,
                position: 0,
            },
            None,
        );
        return Ok(1);
    }
    let Some(key) = container_key(&object, &emit.opts.fields) else {
        if let Some((k, line, kind, reason)) = broken(&traces) {
            return Err(FileError::new(
                kind,
                format!("line {line}: `{k}`: {reason}"),
            ));
        }
        (emit.sink)(article_from_value(&object, emit.opts, 0, None));
        return Ok(1);
    };
    let Some(Value::Array(array)) = object.get_mut(&key).map(Value::take) else {
        unreachable!("the container key names an array");
    };
    let trace = traces
        .into_iter()
        .find_map(|(k, trace)| (k == key).then_some(trace))
        .expect("every array member has its trace");
    let n = array.len();
    emit_held(emit, &key, array, trace);
    Ok(n)
}

/// The items of the array under `key` held so far, as articles, from position 0.
fn emit_held(emit: &mut Emit, key: &str, array: Vec<Value>, trace: Trace) {
    for (position, (v, (line, err))) in array.into_iter().zip(trace).enumerate() {
        let value = err.map_or(Ok(v), Err);
        emit.item(
            Item {
                value,
                line,
                position,
            },
            Some(key),
        );
    }
}

/// Whether the array under `key`, its items so far `array`, may be streamed as the articles
/// (see [`HOLD_BYTES`]): it holds objects, the object around it has no headline or body of
/// its own so far, and it is under a container key or the only array of objects so far.
fn may_be_articles(object: &Value, key: &str, array: &[Value], opts: &ParseOptions) -> bool {
    let objects = |a: &[Value]| a.iter().any(Value::is_object);
    let others = object.as_object().is_some_and(|m| {
        m.iter()
            .any(|(k, v)| k != key && matches!(v, Value::Array(a) if objects(a)))
    });
    objects(array)
        && !looks_like_article(object, &opts.fields)
        && (CONTAINER_KEYS.contains(&key) || !others)
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
    fn items_are_named_by_line_and_place_and_bad_ones_lose_nothing_else() {
        let p = json(
            "{\"status\": \"ok\",\n \"articles\": [\n  {\"title\": \"a\"},\n  {\"title\": tru},\n  \
             {\"title\": 5},\n  {\"title\": \"d\"}\n ]}",
        );
        let heads: Vec<_> = p
            .articles
            .iter()
            .map(|a| (a.headline.as_str(), a.position, a.line))
            .collect();
        assert_eq!(heads, [("a", 0, Some(3)), ("d", 3, Some(6))]);
        let errs: Vec<_> = p
            .errors
            .iter()
            .map(|e| (e.kind, e.position, e.line))
            .collect();
        assert_eq!(
            errs,
            [
                (ErrorKind::InvalidJson, Some(1), Some(4)),
                (ErrorKind::WrongType, Some(2), Some(5))
            ]
        );
        assert!(
            p.errors[0].reason.starts_with("articles[1]: invalid JSON"),
            "{}",
            p.errors[0].reason
        );
        assert!(
            p.errors[1].reason.starts_with("articles[2]: field `title`"),
            "{}",
            p.errors[1].reason
        );
        // A top-level array's items are named by their index alone.
        let p = json("[{\"title\": \"a\"}, 7]");
        assert!(
            p.errors[0]
                .reason
                .starts_with("[1]: expected a JSON object"),
            "{}",
            p.errors[0].reason
        );
        // A broken skeleton still fails the file, naming the line.
        let e = json_with(
            "[{\"title\": \"a\"},\n {\"title\": [\"b\"}]",
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidJson);
        assert!(e.reason.contains("line 2"), "{}", e.reason);
        // So does an invalid member of an object that is itself the article.
        let e = json_with(
            "{\"title\": \"t\", \"tags\": [nope]}",
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidJson);
    }

    #[test]
    fn pretty_printed_objects_one_after_another() {
        let p = json("{\n  \"title\": \"a\"\n}\n{\n  \"title\": \"b\",\n  \"body\": \"x\"\n}\n");
        let heads: Vec<_> = p
            .articles
            .iter()
            .map(|a| (a.headline.as_str(), a.position, a.line))
            .collect();
        assert_eq!(heads, [("a", 0, Some(1)), ("b", 1, Some(4))]);
    }

    #[test]
    fn utf16_and_latin1_items() {
        let text = "[{\"title\": \"Caf\u{e9} \u{a3}5\", \"body\": \"\u{6771}\u{4eac}\"}]";
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let p = parse_bytes(
            Path::new("a.json"),
            &utf16,
            Format::Json,
            &ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(p.articles[0].headline, "Caf\u{e9} \u{a3}5");
        assert_eq!(p.articles[0].body, "\u{6771}\u{4eac}");
        // Raw Windows-1252 bytes in one item (not valid UTF-8), valid UTF-8 in the next.
        let p = parse_bytes(
            Path::new("a.json"),
            b"\xEF\xBB\xBF[{\"title\": \"caf\xE9 \xA3\"}, {\"title\": \"ok \xC3\xA9\"}]",
            Format::Json,
            &ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(p.articles[0].headline, "caf\u{e9} \u{a3}");
        assert_eq!(p.articles[1].headline, "ok \u{e9}");
    }

    /// An object whose array of articles is larger than what is held before choosing: the
    /// articles stream, every one in order, and what follows the array is not read.
    #[test]
    fn a_large_container_streams_every_article() {
        let body = "word ".repeat(200);
        let n = HOLD_BYTES / body.len() + 500;
        let mut s =
            String::from("{\"status\": \"ok\", \"meta\": [{\"page\": 1}], \"articles\": [\n");
        for i in 0..n {
            if i > 0 {
                s.push_str(",\n");
            }
            if i == n - 3 {
                s.push_str("{\"title\": }");
            } else {
                s.push_str(&format!(
                    "{{\"id\": \"a{i}\", \"title\": \"Story {i}\", \"body\": \"{body}\"}}"
                ));
            }
        }
        // Read whole, this title would make the wrapper itself the one article.
        s.push_str("\n], \"title\": \"The wrapper\", \"next\": [{\"title\": \"no\"}]}");
        let p = json(&s);
        assert_eq!(p.articles.len(), n - 1);
        for (k, a) in p.articles.iter().enumerate() {
            let i = if k < n - 3 { k } else { k + 1 };
            assert_eq!(a.source_id.as_deref(), Some(format!("a{i}").as_str()));
            assert_eq!((a.position, a.line), (i, Some(i + 2)));
        }
        assert_eq!(p.errors.len(), 1);
        assert_eq!(
            (p.errors[0].position, p.errors[0].line),
            (Some(n - 3), Some(n - 1))
        );
        assert!(p.errors[0]
            .reason
            .starts_with(&format!("articles[{}]: invalid JSON", n - 3)));
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
