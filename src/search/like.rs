//! `--like ID`: articles similar to one article.
//!
//! The article's headline and body are analyzed like the index; its [`LIKE_TERMS`] most
//! distinctive terms (tf-idf, stop words, numbers and one- or two-letter terms left out) become
//! an OR query over headline and body, and the article itself is excluded.

use std::collections::HashMap;

use anyhow::{bail, Result};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, Term};

use super::rank::stemmed_stop_words;
use crate::index::schema::{text_analyzer, KIND_PASSAGE};
use crate::index::NewsIndex;

/// Terms taken from the article.
pub const LIKE_TERMS: usize = 25;

/// The most distinctive terms of article `id`, best first, with their tf-idf weight.
pub fn top_terms(index: &NewsIndex, searcher: &Searcher, id: &str) -> Result<Vec<(String, f32)>> {
    let Some(article) = index.article(searcher, id)? else {
        bail!("no article with id {id:?}");
    };
    let f = &index.fields;
    let mut tf: HashMap<String, u32> = HashMap::new();
    let mut a = text_analyzer();
    for text in [&article.headline, &article.headline, &article.body] {
        let mut ts = a.token_stream(text);
        while let Some(t) = ts.next() {
            if t.text.chars().count() > 2
                && !t.text.chars().all(|c| c.is_ascii_digit())
                && !stemmed_stop_words().contains(&t.text)
            {
                *tf.entry(t.text.clone()).or_default() += 1;
            }
        }
    }
    let n = searcher.doc_freq(&Term::from_field_text(f.kind, KIND_PASSAGE))? as f32;
    let mut scored = Vec::with_capacity(tf.len());
    for (t, c) in tf {
        let df = searcher.doc_freq(&Term::from_field_text(f.body, &t))? as f32;
        let idf = ((n + 1.0) / (df + 1.0)).ln();
        scored.push((t, (1.0 + (c as f32).ln()) * idf));
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(LIKE_TERMS);
    Ok(scored)
}

/// A query for articles like article `id` (never matching the article itself).
pub fn like_query(index: &NewsIndex, searcher: &Searcher, id: &str) -> Result<Box<dyn Query>> {
    let f = &index.fields;
    let terms = top_terms(index, searcher, id)?;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (t, _) in &terms {
        for field in [f.headline, f.body] {
            clauses.push((
                Occur::Should,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqsAndPositions,
                )),
            ));
        }
    }
    if clauses.is_empty() {
        bail!("article {id:?} has no terms to search with");
    }
    clauses.push((
        Occur::MustNot,
        Box::new(TermQuery::new(
            Term::from_field_text(f.article_id, id),
            IndexRecordOption::Basic,
        )),
    ));
    Ok(Box::new(BooleanQuery::new(clauses)))
}
