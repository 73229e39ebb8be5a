//! Passage search: rank passages by BM25, group them by article, highlight the matches.

pub mod articles;
pub mod eval;
pub mod highlight;
pub mod like;
pub mod mentions;
pub mod ords;
pub mod parallel;
pub mod query;
pub mod rank;

use anyhow::Result;
use serde::Serialize;
use tantivy::query::Query;
use tantivy::{DocAddress, Searcher};

pub use query::Conjunction;
pub use rank::RankParams;

use crate::index::{read_doc, NewsIndex, StoredArticle};
use highlight::Highlighter;

/// [`Searcher::search`] over the segments in parallel, the calling thread included (see
/// [`parallel`]).
pub fn search_segments<C: tantivy::collector::Collector>(
    searcher: &Searcher,
    query: &dyn Query,
    collector: &C,
) -> tantivy::Result<C::Fruit> {
    let scoring = if collector.requires_scoring() {
        tantivy::query::EnableScoring::enabled_from_searcher(searcher)
    } else {
        tantivy::query::EnableScoring::disabled_from_searcher(searcher)
    };
    let weight = query.weight(scoring)?;
    let fruits = parallel::map(
        |(ord, reader): (usize, &tantivy::SegmentReader)| {
            collector.collect_segment(weight.as_ref(), ord as u32, reader)
        },
        searcher.segment_readers().iter().enumerate(),
    )?;
    collector.merge_fruits(fruits)
}

/// Options of a passage search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Number of articles to return.
    pub limit: usize,
    /// Passages shown per article at most.
    pub per_article: usize,
    pub conjunction: Conjunction,
    /// Ranking parameters (defaults chosen by measurement, see the README).
    pub rank: RankParams,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 10,
            per_article: 1,
            conjunction: DEFAULT_CONJUNCTION,
            rank: RankParams::default(),
        }
    }
}

/// How bare terms combine by default (chosen by measurement, see the README).
pub const DEFAULT_CONJUNCTION: Conjunction = Conjunction::Any;

/// One ranked passage.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub rank: usize,
    /// The article's score.
    pub score: f32,
    /// The passage's own score (body BM25 + proximity bonus).
    pub passage_score: f32,
    pub article_id: String,
    pub headline: String,
    pub date: Option<String>,
    /// The file the article came from.
    pub source: String,
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub passage_no: u64,
    pub passage: String,
    /// Char offsets of the passage in the article body (end exclusive).
    pub passage_start: usize,
    pub passage_end: usize,
    /// Char offset pairs of the matches inside `passage`.
    pub highlights: Vec<(usize, usize)>,
    /// Char offset pairs of the matches inside `headline`.
    pub headline_highlights: Vec<(usize, usize)>,
}

/// Runs `query_text` and returns the best passages of the best articles.
pub fn search(index: &NewsIndex, query_text: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
    let searcher = index.searcher();
    let parsed = query::parse_query_with(index, &searcher, query_text, opts.conjunction)?;
    search_query(index, parsed, opts)
}

/// Articles similar to article `id` (see [`like`]), with their best passages.
pub fn search_like(index: &NewsIndex, id: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
    let query = like::like_query(index, &index.searcher(), id)?;
    search_query(index, query, opts)
}

/// Ranks articles for a parsed query (required and excluded clauses applied per article, see
/// [`articles`]) and builds their hits.
pub fn search_query(
    index: &NewsIndex,
    parsed: Box<dyn Query>,
    opts: &SearchOptions,
) -> Result<Vec<Hit>> {
    if opts.limit == 0 {
        return Ok(Vec::new());
    }
    let ranker = rank::Ranker::new(index, opts.rank.clone())?;
    let searcher = ranker.searcher();
    let highlighter = Highlighter::new(index, parsed.as_ref());
    let query = articles::article_level(index, searcher, parsed)?;
    let articles = ranker.rank(query.as_ref(), opts.limit)?;
    let mut columns: std::collections::HashMap<u32, PassageColumns> = Default::default();
    let mut groups = Vec::with_capacity(articles.len());
    for a in articles {
        let mut ps = Vec::new();
        for &(score, addr) in a.passages.iter().take(opts.per_article.max(1)) {
            let cols = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(PassageColumns::open(
                    searcher.segment_reader(addr.segment_ord),
                )?),
            };
            ps.push(cols.read(addr.doc_id, score));
        }
        groups.push((a.id, a.article, a.score, ps));
    }
    build_hits(index, searcher, groups, &highlighter)
}

/// Fast-field columns of one segment, to read ranked passages without the doc store.
struct PassageColumns {
    no: tantivy::columnar::Column<u64>,
    start: tantivy::columnar::Column<u64>,
    end: tantivy::columnar::Column<u64>,
}

impl PassageColumns {
    fn open(reader: &tantivy::SegmentReader) -> Result<Self> {
        let ff = reader.fast_fields();
        Ok(PassageColumns {
            no: ff.u64("passage_no")?,
            start: ff.u64("passage_start")?,
            end: ff.u64("passage_end")?,
        })
    }

    fn read(&self, doc: tantivy::DocId, score: f32) -> PassageRef {
        let u = |c: &tantivy::columnar::Column<u64>| c.first(doc).unwrap_or(0);
        PassageRef {
            score,
            passage_no: u(&self.no),
            start: u(&self.start) as usize,
            end: u(&self.end) as usize,
        }
    }
}

struct PassageRef {
    score: f32,
    passage_no: u64,
    start: usize,
    end: usize,
}

fn build_hits(
    index: &NewsIndex,
    searcher: &Searcher,
    groups: Vec<(String, DocAddress, f32, Vec<PassageRef>)>,
    highlighter: &Highlighter,
) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for (id, article_doc, article_score, passages) in groups {
        let article = index.stored_article(&read_doc(searcher, article_doc)?)?;
        let headline_highlights = highlighter.headline(&article.headline);
        for p in passages {
            let passage = char_slice(&article.body, p.start, p.end);
            hits.push(Hit {
                rank: hits.len() + 1,
                score: article_score,
                passage_score: p.score,
                article_id: id.clone(),
                headline: article.headline.clone(),
                date: article.date.clone(),
                source: article.file.clone(),
                url: article.url.clone(),
                publisher: article.publisher.clone(),
                passage_no: p.passage_no,
                highlights: highlighter.body(&passage),
                passage,
                passage_start: p.start,
                passage_end: p.end,
                headline_highlights: headline_highlights.clone(),
            });
        }
    }
    Ok(hits)
}

/// The chars `start..end` of `s`.
pub fn char_slice(s: &str, start: usize, end: usize) -> String {
    s.chars()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect()
}

/// Loads one article by id.
pub fn get_article(index: &NewsIndex, id: &str) -> Result<Option<StoredArticle>> {
    index.article(&index.searcher(), id)
}
