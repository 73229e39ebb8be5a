//! Passage search: rank passages by BM25, group them by article, highlight the matches.

pub mod articles;
pub mod highlight;
pub mod mentions;
pub mod query;

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::{DocAddress, Searcher};

pub use query::Conjunction;

use crate::index::{NewsIndex, StoredArticle};
use highlight::Highlighter;

/// Options of a passage search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Number of articles to return.
    pub limit: usize,
    /// Passages shown per article at most.
    pub per_article: usize,
    pub conjunction: Conjunction,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 10,
            per_article: 1,
            conjunction: Conjunction::Any,
        }
    }
}

/// One ranked passage.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub rank: usize,
    pub score: f32,
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
    let parsed = query::parse_query(index, query_text, opts.conjunction)?;
    let searcher = index.searcher();
    let highlighter = Highlighter::new(index, parsed.as_ref());
    let query = articles::article_level(index, &searcher, parsed)?;
    let per_article = opts.per_article.max(1);
    let want = opts.limit;
    if want == 0 {
        return Ok(Vec::new());
    }
    // Fetch more passages than needed so that grouping by article still fills the page;
    // widen until it does or the results run out.
    // Never more than the index holds: a huge --limit must not overflow or over-allocate.
    let total = (searcher.num_docs() as usize).max(1);
    let mut fetch = want
        .saturating_mul(per_article)
        .saturating_mul(4)
        .max(50)
        .min(total);
    loop {
        let top = searcher.search(&query, &TopDocs::with_limit(fetch).order_by_score())?;
        let exhausted = top.len() < fetch || fetch >= total;
        let groups = group_by_article(&searcher, &top, want, per_article)?;
        let complete = groups.len() >= want;
        if complete || exhausted {
            return build_hits(index, &searcher, groups, &highlighter);
        }
        fetch = fetch.saturating_mul(4).min(total);
    }
}

/// Fast-field columns of one segment, to read ranked passages without the doc store.
struct PassageColumns {
    article_id: Option<tantivy::columnar::StrColumn>,
    no: tantivy::columnar::Column<u64>,
    start: tantivy::columnar::Column<u64>,
    end: tantivy::columnar::Column<u64>,
}

impl PassageColumns {
    fn open(reader: &tantivy::SegmentReader) -> Result<Self> {
        let ff = reader.fast_fields();
        Ok(PassageColumns {
            article_id: ff.str("article_id")?,
            no: ff.u64("passage_no")?,
            start: ff.u64("passage_start")?,
            end: ff.u64("passage_end")?,
        })
    }

    fn read(&self, doc: tantivy::DocId, score: f32) -> (String, PassageRef) {
        let mut id = String::new();
        if let Some(c) = &self.article_id {
            if let Some(ord) = c.term_ords(doc).next() {
                let _ = c.ord_to_str(ord, &mut id);
            }
        }
        let u = |c: &tantivy::columnar::Column<u64>| c.first(doc).unwrap_or(0);
        let p = PassageRef {
            score,
            passage_no: u(&self.no),
            start: u(&self.start) as usize,
            end: u(&self.end) as usize,
        };
        (id, p)
    }
}

struct PassageRef {
    score: f32,
    passage_no: u64,
    start: usize,
    end: usize,
}

/// Groups ranked passages into at most `want` articles of at most `per_article` passages,
/// in rank order of each article's best passage.
fn group_by_article(
    searcher: &Searcher,
    top: &[(f32, DocAddress)],
    want: usize,
    per_article: usize,
) -> Result<Vec<(String, Vec<PassageRef>)>> {
    let mut order: Vec<(String, Vec<PassageRef>)> = Vec::new();
    let mut slot: HashMap<String, usize> = HashMap::new();
    let mut columns: HashMap<u32, PassageColumns> = HashMap::new();
    for &(score, addr) in top {
        let cols = match columns.entry(addr.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(PassageColumns::open(
                searcher.segment_reader(addr.segment_ord),
            )?),
        };
        let (id, p) = cols.read(addr.doc_id, score);
        match slot.get(&id) {
            Some(&i) => {
                if order[i].1.len() < per_article {
                    order[i].1.push(p);
                }
            }
            None => {
                if order.len() == want {
                    // Keep scanning only to fill articles already on the page.
                    if order.iter().all(|(_, ps)| ps.len() >= per_article) {
                        break;
                    }
                    continue;
                }
                slot.insert(id.clone(), order.len());
                order.push((id, vec![p]));
            }
        }
    }
    Ok(order)
}

fn build_hits(
    index: &NewsIndex,
    searcher: &Searcher,
    groups: Vec<(String, Vec<PassageRef>)>,
    highlighter: &Highlighter,
) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for (id, passages) in groups {
        let Some(article) = index.article(searcher, &id)? else {
            continue; // deleted between the two reads: cannot happen on one searcher
        };
        let headline_highlights = highlighter.headline(&article.headline);
        for p in passages {
            let passage = char_slice(&article.body, p.start, p.end);
            hits.push(Hit {
                rank: hits.len() + 1,
                score: p.score,
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
