//! What an index holds: counts, size, segments, fields.

use anyhow::Result;
use serde::Serialize;
use tantivy::collector::Count;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use super::schema::{KIND_ARTICLE, KIND_FILE, KIND_PASSAGE, QUERY_FIELDS};
use super::NewsIndex;

#[derive(Debug, Serialize)]
pub struct IndexStats {
    pub path: String,
    pub articles: u64,
    pub passages: u64,
    pub files: u64,
    pub size_bytes: u64,
    pub segments: usize,
    /// Documents deleted but not yet merged away.
    pub deleted_docs: u64,
    pub fields: Vec<String>,
    /// Fields a query can name (`headline:`, `date:` ...).
    pub query_fields: Vec<String>,
}

/// Number of live documents of one kind.
pub fn count_kind(index: &NewsIndex, kind: &str) -> Result<u64> {
    let q = TermQuery::new(
        Term::from_field_text(index.fields.kind, kind),
        IndexRecordOption::Basic,
    );
    Ok(index.searcher().search(&q, &Count)? as u64)
}

pub fn stats(index: &NewsIndex) -> Result<IndexStats> {
    let searcher = index.searcher();
    let deleted_docs = searcher
        .segment_readers()
        .iter()
        .map(|s| s.num_deleted_docs() as u64)
        .sum();
    Ok(IndexStats {
        path: index.path.display().to_string(),
        articles: count_kind(index, KIND_ARTICLE)?,
        passages: count_kind(index, KIND_PASSAGE)?,
        files: count_kind(index, KIND_FILE)?,
        size_bytes: super::dir_size(&index.path),
        segments: searcher.segment_readers().len(),
        deleted_docs,
        fields: index
            .index
            .schema()
            .fields()
            .map(|(_, e)| e.name().to_string())
            .collect(),
        query_fields: QUERY_FIELDS.iter().map(|s| s.to_string()).collect(),
    })
}
