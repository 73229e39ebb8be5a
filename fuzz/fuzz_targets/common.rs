//! Shared by the parser fuzz targets: run one format's parser over arbitrary bytes through the
//! public API, and check what it returns.
#![allow(dead_code)]

use std::io::BufReader;
use std::path::Path;

use newsindex::index::passages::split_passages;
use newsindex::ingest::{parse_reader, Article, Format, ParseOptions};

/// Parses `data` as `format` (the file name only matters for error messages); every article
/// must have a body that splits into passages that slice it exactly.
pub fn parse(name: &str, format: Format, data: &[u8], opts: &ParseOptions) -> Vec<Article> {
    let mut articles = Vec::new();
    // A small buffer makes the streaming parsers cross buffer boundaries often.
    let mut reader = BufReader::with_capacity(64, data);
    let _ = parse_reader(Path::new(name), &mut reader, format, opts, &mut |item| {
        if let Ok(a) = item {
            articles.push(a);
        }
    });
    for a in &articles {
        let mut prev = 0;
        for p in split_passages(&a.body) {
            assert!(p.start >= prev && p.start <= p.end && p.end <= a.body.len());
            let _ = &a.body[p.start..p.end];
            prev = p.end;
        }
    }
    articles
}
