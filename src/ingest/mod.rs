//! TEMPORARY stub of the format parsers (replaced by the real module).
pub mod walk;
use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Article {
    pub source_id: Option<String>,
    pub headline: String,
    pub body: String,
    pub date: Option<String>,
    pub url: Option<String>,
    pub source: Option<String>,
    pub dateline: Option<String>,
    pub topics: Vec<String>,
    pub places: Vec<String>,
    pub people: Vec<String>,
    pub orgs: Vec<String>,
    pub position: usize,
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
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordError {
    pub line: Option<usize>,
    pub position: Option<usize>,
    pub kind: ErrorKind,
    pub reason: String,
}
#[derive(Debug, Clone, serde::Serialize, thiserror::Error)]
#[error("{reason}")]
pub struct FileError {
    pub kind: ErrorKind,
    pub reason: String,
}
#[derive(Debug, Clone, Default)]
pub struct FieldMap {
    pub map: Vec<(String, String)>,
}
impl FieldMap {
    pub fn parse_spec(spec: &str) -> Result<(String, String), String> {
        spec.split_once('=')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .ok_or_else(|| "expected FIELD=PATH".into())
    }
    pub fn insert(&mut self, target: &str, path: &str) -> Result<(), String> {
        self.map.push((target.into(), path.into()));
        Ok(())
    }
}
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    pub fields: FieldMap,
}
pub fn detect_format(path: &Path) -> Option<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("txt") => Some(Format::Text),
        Some("jsonl") | Some("ndjson") => Some(Format::JsonLines),
        _ => None,
    }
}
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}
pub fn parse_reader(
    _path: &Path,
    reader: &mut dyn BufRead,
    format: Format,
    _opts: &ParseOptions,
    sink: &mut dyn FnMut(Result<Article, RecordError>),
) -> Result<(), FileError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| FileError {
        kind: ErrorKind::Io,
        reason: e.to_string(),
    })?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError {
            kind: ErrorKind::Empty,
            reason: "empty file".into(),
        });
    }
    if bytes.contains(&0) {
        return Err(FileError {
            kind: ErrorKind::Binary,
            reason: "binary file (NUL bytes)".into(),
        });
    }
    let text = decode_text(&bytes);
    match format {
        Format::Text => {
            let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
            let headline = lines.next().unwrap_or("").trim().to_string();
            let rest: Vec<&str> = lines.collect();
            let body = rest
                .join("\n")
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n");
            sink(Ok(Article {
                headline,
                body,
                ..Default::default()
            }));
        }
        Format::JsonLines => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(v) => sink(Ok(Article {
                        source_id: v.get("id").and_then(|x| x.as_str()).map(String::from),
                        headline: v
                            .get("headline")
                            .and_then(|x| x.as_str())
                            .unwrap_or("")
                            .into(),
                        body: v.get("body").and_then(|x| x.as_str()).unwrap_or("").into(),
                        date: v.get("date").and_then(|x| x.as_str()).map(String::from),
                        position: i,
                        line: Some(i + 1),
                        ..Default::default()
                    })),
                    Err(e) => sink(Err(RecordError {
                        line: Some(i + 1),
                        position: None,
                        kind: ErrorKind::InvalidJson,
                        reason: e.to_string(),
                    })),
                }
            }
        }
        _ => {
            return Err(FileError {
                kind: ErrorKind::Unsupported,
                reason: "unsupported".into(),
            })
        }
    }
    Ok(())
}
