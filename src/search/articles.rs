//! Article-level query semantics on top of passage documents.
//!
//! Passages are what we rank, but users think in articles: `drought NOT barges` must drop
//! every article that mentions barges anywhere, not just the passages that do, and `--all`
//! (or `+term`) must require each term somewhere in the article, not in one paragraph. So the
//! top-level required and excluded clauses are evaluated per article (the set of article ids
//! whose passages match them) and the passage ranking is restricted to the allowed articles.

use std::collections::HashSet;

use anyhow::Result;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermSetQuery};
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use crate::index::NewsIndex;

/// Collects the distinct article ids of the matching passages (from the fast field).
pub struct ArticleIds;

pub struct SegmentArticleIds {
    column: Option<StrColumn>,
    ords: HashSet<u64>,
}

impl Collector for ArticleIds {
    type Fruit = HashSet<String>;
    type Child = SegmentArticleIds;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(SegmentArticleIds {
            column: reader.fast_fields().str("article_id")?,
            ords: HashSet::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<HashSet<String>>) -> tantivy::Result<HashSet<String>> {
        let mut all = HashSet::new();
        for f in fruits {
            all.extend(f);
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentArticleIds {
    type Fruit = HashSet<String>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(c) = &self.column {
            self.ords.extend(c.term_ords(doc));
        }
    }

    fn harvest(self) -> HashSet<String> {
        let mut out = HashSet::with_capacity(self.ords.len());
        if let Some(c) = &self.column {
            let mut ords: Vec<u64> = self.ords.into_iter().collect();
            super::ords::sort_unique(&mut ords);
            if let Ok(names) = super::ords::strings(c, &ords) {
                out.extend(names.iter().map(|n| n.to_string()));
            }
        }
        out
    }
}

/// Rewrites a parsed query so that its top-level required (`+`, AND, `--all`) and excluded
/// (`-`, NOT) clauses apply to whole articles. Returns the query to rank passages with.
pub fn article_level(
    index: &NewsIndex,
    searcher: &Searcher,
    query: Box<dyn Query>,
) -> Result<Box<dyn Query>> {
    let Some(b) = query.downcast_ref::<BooleanQuery>() else {
        return Ok(query);
    };
    let clauses = b.clauses();
    // Clauses on fields that are the same for every passage of an article (headline, date,
    // labels) give the same answer per passage as per article: they stay passage filters.
    let uniform = |q: &dyn Query| is_article_uniform(index, q);
    let must: Vec<&Box<dyn Query>> = clauses
        .iter()
        .filter(|(o, q)| *o == Occur::Must && !uniform(q.as_ref()))
        .map(|(_, q)| q)
        .collect();
    let must_not: Vec<&Box<dyn Query>> = clauses
        .iter()
        .filter(|(o, q)| *o == Occur::MustNot && !uniform(q.as_ref()))
        .map(|(_, q)| q)
        .collect();
    let filters: Vec<(Occur, Box<dyn Query>)> = clauses
        .iter()
        .filter(|(o, q)| *o != Occur::Should && uniform(q.as_ref()))
        .map(|(o, q)| (*o, q.box_clone()))
        .collect();
    let positive: Vec<&Box<dyn Query>> = clauses
        .iter()
        .filter(|(o, q)| *o == Occur::Should || (*o == Occur::Must && !uniform(q.as_ref())))
        .map(|(_, q)| q)
        .collect();
    // A lone required clause is already satisfied by every passage it matches.
    let needs_required = must.len() > 1 || (must.len() == 1 && positive.len() > 1);
    if !needs_required && must_not.is_empty() {
        return Ok(query);
    }
    if positive.is_empty() {
        return Ok(query); // only filters: nothing to rank by but them
    }
    let ranking: Box<dyn Query> = if positive.len() == 1 {
        positive[0].box_clone()
    } else {
        Box::new(BooleanQuery::new(
            positive
                .iter()
                .map(|q| (Occur::Should, q.box_clone()))
                .collect(),
        ))
    };
    let f = &index.fields;
    let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, ranking)];
    parts.extend(filters);
    if needs_required {
        let mut allowed: Option<HashSet<String>> = None;
        for q in &must {
            let ids = super::search_segments(searcher, q.as_ref(), &ArticleIds)?;
            allowed = Some(match allowed {
                None => ids,
                Some(a) => a.intersection(&ids).cloned().collect(),
            });
        }
        let terms = allowed
            .unwrap_or_default()
            .into_iter()
            .map(|id| Term::from_field_text(f.article_id, &id));
        parts.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(
                Box::new(TermSetQuery::new(terms)),
                0.0,
            )),
        ));
    }
    if !must_not.is_empty() {
        let mut excluded = HashSet::new();
        for q in &must_not {
            excluded.extend(super::search_segments(searcher, q.as_ref(), &ArticleIds)?);
        }
        let terms = excluded
            .into_iter()
            .map(|id| Term::from_field_text(f.article_id, &id));
        parts.push((Occur::MustNot, Box::new(TermSetQuery::new(terms))));
    }
    Ok(Box::new(BooleanQuery::new(parts)))
}

/// True when every term of `q` is in a field whose value is the same on every passage of an
/// article (a date range counts: only passages carry dates, copied from their article).
fn is_article_uniform(index: &NewsIndex, q: &dyn Query) -> bool {
    let f = &index.fields;
    if q.downcast_ref::<tantivy::query::RangeQuery>().is_some() {
        return true;
    }
    let uniform = [
        f.headline, f.date, f.source, f.topics, f.places, f.people, f.orgs,
    ];
    let mut any = false;
    let mut all = true;
    q.query_terms(&mut |t, _| {
        any = true;
        all &= uniform.contains(&t.field());
    });
    any && all
}
