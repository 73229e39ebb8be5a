//! Input-format parsers: turn news files (plain text, JSON / JSON lines,
//! Reuters SGML, CSV, HTML) into [`Article`]s.
//!
//! Entry points: [`detect_format`], [`parse_reader`] (streaming, per-record
//! errors go to the sink), [`parse_bytes`] (collects into a [`ParsedFile`]),
//! [`parse_file`] (opens a path), [`decode_text`] and [`normalize_date`].
//!
//! Conventions shared by every format:
//! * `position` is the 0-based index of the *record* in its file (array item,
//!   JSON line, SGML element, CSV row). A record that fails takes a position
//!   too (reported in `RecordError::position`), so positions may have gaps.
//! * `body` paragraphs are separated by exactly `"\n\n"`; headlines are
//!   single-line with runs of whitespace collapsed.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::Path;

mod csv;
mod date;
mod decode;
mod html;
mod json;
mod json_scan;
mod sgml;
mod sgml_entities;
mod text;
pub mod walk;

pub use date::normalize_date;
pub use decode::decode_text;
pub use sgml_entities::decode_entities;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Article {
    /// Id given by the source: JSON/CSV `id`, Reuters NEWID.
    pub source_id: Option<String>,
    pub headline: String,
    /// Paragraphs separated by exactly "\n\n"; no leading/trailing whitespace.
    pub body: String,
    /// ISO 8601: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) when it parses.
    pub date: Option<String>,
    pub url: Option<String>,
    /// Publication / agency name when the input gives one.
    pub source: Option<String>,
    pub dateline: Option<String>,
    pub topics: Vec<String>,
    pub places: Vec<String>,
    pub people: Vec<String>,
    pub orgs: Vec<String>,
    /// 0-based index of this record within its file.
    pub position: usize,
    /// 1-based line for JSON lines / CSV records.
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Format {
    Text,
    Json,
    JsonLines,
    Sgml,
    Csv,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Empty,
    Binary,
    Io,
    InvalidJson,
    WrongType,
    MissingField,
    Sgml,
    Csv,
    Html,
    TooLarge,
    Unsupported,
}

/// A problem with one record; parsing of the file continues.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordError {
    pub line: Option<usize>,
    pub position: Option<usize>,
    pub kind: ErrorKind,
    pub reason: String,
}

/// A problem with the whole file; nothing (more) could be parsed.
#[derive(Debug, Clone, serde::Serialize, thiserror::Error)]
#[error("{reason}")]
pub struct FileError {
    pub kind: ErrorKind,
    pub reason: String,
}

impl FileError {
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> Self {
        FileError {
            kind,
            reason: reason.into(),
        }
    }
    pub(crate) fn io(e: std::io::Error) -> Self {
        FileError::new(ErrorKind::Io, format!("read error: {e}"))
    }
}

/// Target fields a [`FieldMap`] may redirect.
pub const FIELD_TARGETS: &[&str] = &["headline", "body", "date", "url", "source", "id"];

/// Maps a target field ("headline", "body", "date", "url", "source", "id")
/// to a dotted JSON path like "thread.title" or "items.0.text" (numeric
/// segments index arrays). For CSV the path is a column name
/// (case-insensitive). A mapped field replaces the default names for that
/// target entirely.
#[derive(Debug, Clone, Default)]
pub struct FieldMap {
    map: BTreeMap<String, String>,
}

impl FieldMap {
    /// Parse "headline=thread.title" into ("headline", "thread.title").
    pub fn parse_spec(spec: &str) -> Result<(String, String), String> {
        let (t, p) = spec
            .split_once('=')
            .ok_or_else(|| format!("field mapping `{spec}` is not of the form target=path"))?;
        let (t, p) = (t.trim(), p.trim());
        if t.is_empty() || p.is_empty() {
            return Err(format!(
                "field mapping `{spec}` has an empty target or path"
            ));
        }
        Ok((t.to_ascii_lowercase(), p.to_string()))
    }

    /// Add a mapping; an unknown target or empty path is an error.
    pub fn insert(&mut self, target: &str, path: &str) -> Result<(), String> {
        let t = target.trim().to_ascii_lowercase();
        if !FIELD_TARGETS.contains(&t.as_str()) {
            return Err(format!(
                "unknown field `{target}` (expected one of: {})",
                FIELD_TARGETS.join(", ")
            ));
        }
        let p = path.trim();
        if p.is_empty() || p.split('.').any(str::is_empty) {
            return Err(format!("invalid path `{path}` for field `{t}`"));
        }
        self.map.insert(t, p.to_string());
        Ok(())
    }

    /// The mapped path for a target, if any.
    pub fn get(&self, target: &str) -> Option<&str> {
        self.map.get(target).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(a, b)| (a.as_str(), b.as_str()))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    pub fields: FieldMap,
}

/// Largest file read whole (Text, Html) and largest single streamed
/// record (JSON item or line, SGML element).
pub const MAX_WHOLE_FILE: u64 = 256 << 20;
pub const MAX_RECORD: usize = 64 << 20;

/// Format from the file extension (case-insensitive): .txt or no extension ->
/// Text, .json, .jsonl/.ndjson, .sgm/.sgml, .csv, .html/.htm; anything else
/// -> None.
pub fn detect_format(path: &Path) -> Option<Format> {
    let ext = match path.extension() {
        None => return Some(Format::Text),
        Some(e) => e.to_str()?.to_ascii_lowercase(),
    };
    Some(match ext.as_str() {
        "txt" | "text" => Format::Text,
        "json" => Format::Json,
        "jsonl" | "ndjson" => Format::JsonLines,
        "sgm" | "sgml" => Format::Sgml,
        "csv" => Format::Csv,
        "html" | "htm" | "xhtml" => Format::Html,
        _ => return None,
    })
}

/// Streams one file's articles to `sink`. Per-record problems go to the sink
/// as `Err(RecordError)` and parsing continues; whole-file problems (empty,
/// binary, unreadable, unparseable .json) are the returned `Err(FileError)`.
/// JSON, JSON lines, SGML and CSV stream from the reader (JSON an item at a
/// time, see `json_scan`); Text and Html, one article a file, read the whole
/// file (up to [`MAX_WHOLE_FILE`]).
pub fn parse_reader(
    path: &Path,
    reader: &mut dyn BufRead,
    format: Format,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    let _ = path;
    match format {
        Format::Text | Format::Html => {
            let bytes = read_whole(reader)?;
            match format {
                Format::Text => text::parse_text(&bytes, sink),
                _ => html::parse_html(&bytes, sink),
            }
        }
        Format::Json => json::parse_json(reader, opts, sink),
        Format::JsonLines => json::parse_jsonl(reader, opts, sink),
        Format::Sgml => sgml::parse_sgml(reader, sink),
        Format::Csv => csv::parse_csv(reader, opts, sink),
    }
}

/// Result of [`parse_bytes`] / [`parse_file`].
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    pub articles: Vec<Article>,
    pub errors: Vec<RecordError>,
}

/// Convenience: collect [`parse_reader`] over an in-memory buffer.
pub fn parse_bytes(
    path: &Path,
    bytes: &[u8],
    format: Format,
    opts: &ParseOptions,
) -> Result<ParsedFile, FileError> {
    let mut out = ParsedFile::default();
    let mut reader = bytes;
    parse_reader(path, &mut reader, format, opts, &mut |r| match r {
        Ok(a) => out.articles.push(a),
        Err(e) => out.errors.push(e),
    })?;
    Ok(out)
}

/// Convenience: open `path`, detect its format and collect its articles.
/// Unknown extension -> `FileError` with kind `Unsupported`.
pub fn parse_file(path: &Path, opts: &ParseOptions) -> Result<ParsedFile, FileError> {
    let format = detect_format(path).ok_or_else(|| {
        FileError::new(
            ErrorKind::Unsupported,
            format!("unsupported file type: {}", path.display()),
        )
    })?;
    let f = std::fs::File::open(path).map_err(FileError::io)?;
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, f);
    let mut out = ParsedFile::default();
    parse_reader(path, &mut reader, format, opts, &mut |r| match r {
        Ok(a) => out.articles.push(a),
        Err(e) => out.errors.push(e),
    })?;
    Ok(out)
}

/// The error [`parse_reader`] would give a file of `size` bytes in `format` for its size
/// alone (a Text or Html file is read whole): known before a byte is read, so that a huge
/// file is refused without first reading [`MAX_WHOLE_FILE`] of it into memory.
pub fn too_large(format: Format, size: u64) -> Option<FileError> {
    (matches!(format, Format::Text | Format::Html) && size > MAX_WHOLE_FILE).then(too_large_error)
}

fn too_large_error() -> FileError {
    FileError::new(
        ErrorKind::TooLarge,
        format!("file larger than {} MiB", MAX_WHOLE_FILE >> 20),
    )
}

fn read_whole(reader: &mut dyn BufRead) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_WHOLE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(FileError::io)?;
    if bytes.len() as u64 > MAX_WHOLE_FILE {
        return Err(too_large_error());
    }
    Ok(bytes)
}

/// For streamed formats: fail with Empty / Binary by peeking at the first
/// buffered chunk without consuming it.
pub(crate) fn check_stream_start(reader: &mut dyn BufRead) -> Result<(), FileError> {
    let head = reader.fill_buf().map_err(FileError::io)?;
    if head.is_empty() {
        return Err(FileError::new(ErrorKind::Empty, "empty file"));
    }
    if memchr::memchr(0, head).is_some() {
        return Err(FileError::new(
            ErrorKind::Binary,
            "file contains NUL bytes (binary?)",
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    /// The shared real corpora, if present.
    pub fn corpora() -> Option<PathBuf> {
        let candidates = [
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora"),
            PathBuf::from("/work/shared/corpora"),
        ];
        let found = candidates
            .into_iter()
            .find(|p| p.join("README.md").is_file());
        if found.is_none() {
            eprintln!("note: shared corpora not found; skipping real-data test");
        }
        found
    }

    pub fn has_bad_chars(s: &str) -> bool {
        s.contains("&lt;")
            || s.contains("&amp;")
            || s.contains("&#")
            || s.chars().any(|c| c.is_control() && c != '\n')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect() {
        let d = |p: &str| detect_format(Path::new(p));
        assert_eq!(d("a/b.txt"), Some(Format::Text));
        assert_eq!(d("a/README"), Some(Format::Text));
        assert_eq!(d("x.JSON"), Some(Format::Json));
        assert_eq!(d("x.jsonl"), Some(Format::JsonLines));
        assert_eq!(d("x.ndjson"), Some(Format::JsonLines));
        assert_eq!(d("x.sgm"), Some(Format::Sgml));
        assert_eq!(d("x.sgml"), Some(Format::Sgml));
        assert_eq!(d("x.csv"), Some(Format::Csv));
        assert_eq!(d("x.htm"), Some(Format::Html));
        assert_eq!(d("x.html"), Some(Format::Html));
        assert_eq!(d("x.png"), None);
        assert_eq!(d("x.zip"), None);
    }

    #[test]
    fn field_map() {
        assert_eq!(
            FieldMap::parse_spec("headline=thread.title").unwrap(),
            ("headline".to_string(), "thread.title".to_string())
        );
        assert!(FieldMap::parse_spec("headline").is_err());
        assert!(FieldMap::parse_spec("=x").is_err());
        let mut m = FieldMap::default();
        assert!(m.insert("headline", "thread.title").is_ok());
        assert!(m.insert("author", "x").is_err());
        assert!(m.insert("body", "a..b").is_err());
        assert_eq!(m.get("headline"), Some("thread.title"));
        assert_eq!(m.get("body"), None);
    }

    #[test]
    fn unsupported_file() {
        let e = parse_file(Path::new("/nonexistent/x.png"), &ParseOptions::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
        let e = parse_file(Path::new("/nonexistent/x.txt"), &ParseOptions::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Io);
    }

    #[test]
    fn streamed_empty_and_binary() {
        let o = ParseOptions::default();
        for f in [Format::JsonLines, Format::Sgml, Format::Csv] {
            let e = parse_bytes(Path::new("x"), b"", f, &o).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Empty, "{f:?}");
            let e = parse_bytes(Path::new("x"), b"ab\0cd\n", f, &o).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Binary, "{f:?}");
        }
    }
}
