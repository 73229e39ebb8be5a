//! Ranking articles: tantivy decides which passages match, we score them.
//!
//! A query is run with a collector that sees every matching passage document and scores it
//! itself from the postings of the query's text terms: BM25 with our own `k1` and `b` (tantivy
//! fixes them at 1.2 / 0.75), the headline counted once per article with its own boost, a
//! proximity bonus for query terms close together in a passage, and an article score made from
//! its passages ([`Agg`]) optionally mixed with a whole-article BM25 computed from the same
//! postings (an article's term frequency is the sum over its passages).
//!
//! Queries with no scorable text term (only `topics:earn`, a date range...) keep tantivy's score.
//! Every default here was chosen by measurement with `newsindex eval` (see the README).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use anyhow::Result;
use once_cell::sync::OnceCell;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use super::ords;
use crate::index::schema::{text_analyzer, KIND_ARTICLE, KIND_PASSAGE};
use crate::index::{read_doc, NewsIndex};

/// How an article's passage scores make its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agg {
    /// The best passage.
    Best,
    /// The sum of the best `n` passages.
    SumTop(usize),
}

impl std::str::FromStr for Agg {
    type Err = String;
    fn from_str(s: &str) -> Result<Agg, String> {
        match s {
            "best" => Ok(Agg::Best),
            _ => s
                .strip_prefix("sum")
                .and_then(|n| n.trim_start_matches(':').parse().ok())
                .filter(|&n: &usize| n > 0)
                .map(Agg::SumTop)
                .ok_or_else(|| format!("bad aggregation {s:?}: best, sum2, sum3 ...")),
        }
    }
}

impl std::fmt::Display for Agg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Agg::Best => write!(f, "best"),
            Agg::SumTop(n) => write!(f, "sum{n}"),
        }
    }
}

/// Ranking parameters. `Default` holds the measured defaults used by `search`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankParams {
    pub k1: f32,
    pub b: f32,
    /// Weight of the headline's BM25 relative to the body's.
    pub headline_boost: f32,
    /// Weight of the proximity bonus (0: none).
    pub proximity: f32,
    pub agg: Agg,
    /// Weight of the whole-article body BM25 added to the passage aggregate (0: none).
    pub article_mix: f32,
    /// Ignore English stop words when scoring.
    pub stopwords: bool,
    /// Pseudo-relevance feedback: re-rank the matching articles with terms taken from the
    /// first pass's best articles (never adds articles that do not match the query).
    pub feedback: Option<Feedback>,
}

/// Pseudo-relevance feedback settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feedback {
    /// Articles of the first pass the terms come from.
    pub docs: usize,
    /// Terms added.
    pub terms: usize,
    /// Weight of the added terms relative to the query's.
    pub weight: f32,
}

impl std::str::FromStr for Feedback {
    type Err = String;
    /// `DOCS:TERMS:WEIGHT`, e.g. `10:20:0.3`.
    fn from_str(s: &str) -> Result<Feedback, String> {
        let p: Vec<&str> = s.split(':').collect();
        let bad = || format!("bad feedback {s:?}: DOCS:TERMS:WEIGHT, e.g. 10:20:0.3");
        if p.len() != 3 {
            return Err(bad());
        }
        Ok(Feedback {
            docs: p[0].parse().map_err(|_| bad())?,
            terms: p[1].parse().map_err(|_| bad())?,
            weight: p[2].parse().map_err(|_| bad())?,
        })
    }
}

impl Default for RankParams {
    fn default() -> Self {
        // Measured on the Reuters topic and people sets (README, "Search quality").
        RankParams {
            k1: 1.6,
            b: 0.3,
            headline_boost: 1.0,
            proximity: 2.0,
            agg: Agg::Best,
            article_mix: 0.0,
            stopwords: false,
            feedback: Some(Feedback {
                docs: 5,
                terms: 10,
                weight: 0.3,
            }),
        }
    }
}

/// One ranked article with its matching passages, best first.
#[derive(Debug, Clone)]
pub struct RankedArticle {
    pub id: String,
    /// The article document (stored text), just before its first passage.
    pub article: DocAddress,
    pub score: f32,
    /// (passage score, passage document), best first.
    pub passages: Vec<(f32, DocAddress)>,
}

/// English stop words (stemmed when compared).
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "he",
    "her", "his", "i", "if", "in", "into", "is", "it", "its", "no", "not", "of", "on", "or", "our",
    "said", "she", "so", "such", "that", "the", "their", "then", "there", "these", "they", "this",
    "to", "was", "we", "were", "which", "will", "with", "would", "you",
];

pub fn stemmed_stop_words() -> &'static HashSet<String> {
    static SET: OnceCell<HashSet<String>> = OnceCell::new();
    SET.get_or_init(|| {
        let mut a = text_analyzer();
        let mut out = HashSet::new();
        for w in STOP_WORDS {
            let mut s = a.token_stream(w);
            while let Some(t) = s.next() {
                out.insert(t.text.clone());
            }
        }
        out
    })
}

/// The text terms of a query that score: those of clauses that must or may match (not
/// `NOT` clauses), on the headline or body field, deduplicated.
pub fn scoring_terms(index: &NewsIndex, query: &dyn Query, stopwords: bool) -> Vec<Term> {
    let f = &index.fields;
    let mut out: Vec<Term> = Vec::new();
    collect_terms(query, &mut |t: &Term| {
        if (t.field() == f.headline || t.field() == f.body) && !out.contains(t) {
            out.push(t.clone());
        }
    });
    if stopwords {
        let stop = stemmed_stop_words();
        let kept: Vec<Term> = out
            .iter()
            .filter(|t| !t.value().as_str().is_some_and(|s| stop.contains(s)))
            .cloned()
            .collect();
        if !kept.is_empty() {
            out = kept;
        }
    }
    out
}

/// Whether tantivy's block-max pruning is exact for `query`: only when every term it scores
/// is on headline or body. tantivy records each postings block's best (field norm, term
/// frequency) from the field norms, and a field indexed without them (labels, entity names,
/// source) gets (0, 0): a block maximum of 0, whatever its documents score. Block-max WAND
/// then skips blocks holding documents that beat the threshold, and since the threshold is
/// shared by segments searched in parallel, which ones varied from run to run: `person:reagan`
/// or `location:japan trade` returned different articles each time on 1 GB.
fn block_max_is_sound(index: &NewsIndex, query: &dyn Query) -> bool {
    let f = &index.fields;
    let mut sound = true;
    collect_terms(query, &mut |t: &Term| {
        sound &= t.field() == f.headline || t.field() == f.body;
    });
    sound
}

fn collect_terms(query: &dyn Query, sink: &mut dyn FnMut(&Term)) {
    if let Some(bq) = query.downcast_ref::<BooleanQuery>() {
        for (occur, sub) in bq.clauses() {
            if *occur != Occur::MustNot {
                collect_terms(sub.as_ref(), sink);
            }
        }
    } else {
        query.query_terms(&mut |t, _| sink(t));
    }
}

/// Collection statistics of the passage documents, for BM25.
struct Stats {
    /// Number of passage documents.
    n: f32,
    avg_headline: f32,
    avg_body: f32,
    /// Number of articles, and their average body length in tokens (whole-article BM25).
    articles: f32,
    avg_article: f32,
}

fn stats(index: &NewsIndex, searcher: &Searcher) -> Result<Stats> {
    let f = &index.fields;
    let n = searcher
        .doc_freq(&Term::from_field_text(f.kind, KIND_PASSAGE))?
        .max(1) as f32;
    let mut tok_h = 0u64;
    let mut tok_b = 0u64;
    for r in searcher.segment_readers() {
        tok_h += r.inverted_index(f.headline)?.total_num_tokens();
        tok_b += r.inverted_index(f.body)?.total_num_tokens();
    }
    let articles = searcher
        .doc_freq(&Term::from_field_text(f.kind, KIND_ARTICLE))?
        .max(1) as f32;
    Ok(Stats {
        n,
        avg_headline: (tok_h as f32 / n).max(1.0),
        avg_body: (tok_b as f32 / n).max(1.0),
        articles,
        avg_article: (tok_b as f32 / articles).max(1.0),
    })
}

fn idf(n: f32, df: f32) -> f32 {
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// Where one segment's articles are: `passage_no` and the body's field norms. An article's
/// documents are consecutive (see `index::schema`): its article document, then its passages
/// numbered from 0. So passage `doc` numbered `n` belongs to the article whose first passage is
/// `doc - n`, which identifies the article within the segment, and its passages run on while
/// the numbers follow (the next article's document has no number). The `article_id` column is
/// not needed for that: opening it for every segment (its block index and dictionary) was 7%
/// of the page faults of a search in a new process. A passage not laid out so (which `newsindex
/// check` reports) is left out of the ranking.
#[derive(Clone)]
struct SegmentArticles {
    passage_no: Column<u64>,
    norms: FieldNormReader,
    max_doc: DocId,
}

impl SegmentArticles {
    fn open(index: &NewsIndex, reader: &SegmentReader) -> Result<Option<SegmentArticles>> {
        let Some(passage_no) = reader.fast_fields().column_opt::<u64>("passage_no")? else {
            return Ok(None);
        };
        Ok(Some(SegmentArticles {
            passage_no,
            norms: reader.get_fieldnorms_reader(index.fields.body)?,
            max_doc: reader.max_doc(),
        }))
    }

    /// The first passage of the article holding passage `doc` (None: not a passage, or not
    /// laid out as expected).
    fn first_passage(&self, doc: DocId) -> Option<DocId> {
        let no = self.passage_no.first(doc)?;
        let start = doc.checked_sub(DocId::try_from(no).ok()?)?;
        (self.passage_no.first(start) == Some(0)).then_some(start)
    }

    /// The passage documents of the article that passage `doc` belongs to.
    fn passages(&self, doc: DocId) -> Range<DocId> {
        let Some(start) = self.first_passage(doc) else {
            // Not laid out as expected: the passage alone.
            return doc..doc + 1;
        };
        let mut end = doc + 1;
        while end < self.max_doc && self.passage_no.first(end) == Some((end - start) as u64) {
            end += 1;
        }
        start..end
    }

    /// An article's body length: the sum of its passages' lengths.
    fn body_len(&self, doc: DocId) -> u32 {
        self.passages(doc).map(|d| self.norms.fieldnorm(d)).sum()
    }
}

/// An article of the searcher: its segment and its first passage's document in that segment.
type ArticleKey = (SegmentOrdinal, DocId);

/// Up to this many articles are named from their stored documents, which a search reads
/// anyway to show them (and tantivy keeps the blocks read); more (`eval`'s 1000, a filter
/// whose articles all tie) from the `article_id` column's dictionary, in one pass a segment.
const NAME_FROM_STORE_MAX: usize = 64;

/// Passages with their tantivy BM25 scores.
pub type ScoredPassages = Vec<(Score, DocAddress)>;

/// Candidate passages: sorted, disjoint doc ranges (whole articles) per segment.
type Pool = BTreeMap<SegmentOrdinal, Vec<Range<DocId>>>;

/// The candidate pool, and the articles in it only through passages tied at the cut.
///
/// `TopDocs` breaks ties at its k-th score in an order that depends on how its per-segment
/// heaps were filled, so the passages kept among those tied are not known without running
/// it. Every tied passage is put in the pool instead: a ranking over that larger pool is the
/// same as over `TopDocs`' whenever none of the articles it returns (or that feedback reads)
/// is one only a tied passage brought in, since each article is scored on its own. When one
/// is, the ranking is redone on `TopDocs`' pool.
struct Candidates {
    pool: Option<Pool>,
    tie_only: Vec<(SegmentOrdinal, Range<DocId>)>,
}

impl Candidates {
    fn tie_only(&self, a: &RankedArticle) -> bool {
        a.passages.iter().any(|(_, p)| {
            self.tie_only
                .iter()
                .any(|(seg, r)| *seg == p.segment_ord && r.contains(&p.doc_id))
        })
    }
}

/// The smallest pool of candidate passages. On Reuters-21578 (`eval --depth 10`), 500 gives
/// the same nDCG@10, P@10 and MRR@10 on both relevance sets as 1000 (300 loses 0.005 nDCG@10 on
/// topics), and a search of the 1 GB archive's top 10 takes about a tenth less time end to end.
pub const MIN_POOL: usize = 500;

/// Ranks articles for many queries on one searcher (statistics are computed once).
pub struct Ranker<'a> {
    index: &'a NewsIndex,
    searcher: Searcher,
    pub params: RankParams,
    stats: Stats,
    /// Each segment's article columns, opened once: opening a column of millions of
    /// documents reads its block index, which showed as a quarter of a search's time when
    /// every stage opened its own.
    segments: Vec<OnceCell<Option<SegmentArticles>>>,
    /// Document frequencies already looked up: feedback and the final pass score the same
    /// terms again, and each lookup searches every segment's term dictionary.
    dfs: std::sync::Mutex<HashMap<Term, u64>>,
}

impl<'a> Ranker<'a> {
    pub fn new(index: &'a NewsIndex, params: RankParams) -> Result<Ranker<'a>> {
        let searcher = index.searcher();
        let stats = stats(index, &searcher)?;
        Ok(Ranker {
            index,
            segments: (0..searcher.segment_readers().len())
                .map(|_| OnceCell::new())
                .collect(),
            searcher,
            params,
            stats,
            dfs: Default::default(),
        })
    }

    /// The number of passage documents holding `term` (remembered).
    fn doc_freq(&self, term: &Term) -> Result<u64> {
        if let Some(&df) = self.dfs.lock().unwrap().get(term) {
            return Ok(df);
        }
        let df = self.searcher.doc_freq(term)?;
        self.dfs.lock().unwrap().insert(term.clone(), df);
        Ok(df)
    }

    /// The segment with the most documents, when there are several (with one, its
    /// frequencies are the whole index's: nothing to bound).
    fn largest_of_several_segments(&self) -> Option<&SegmentReader> {
        let readers = self.searcher.segment_readers();
        (readers.len() > 1)
            .then(|| readers.iter().max_by_key(|r| r.num_docs()))
            .flatten()
    }

    pub fn searcher(&self) -> &Searcher {
        &self.searcher
    }

    /// The best `limit` articles for `query`.
    ///
    /// The pool of candidate passages is chosen once, by the query as given; feedback then
    /// re-ranks within it (the expanded query is never run over the whole index).
    pub fn rank(&self, query: &dyn Query, limit: usize) -> Result<Vec<RankedArticle>> {
        // The pool is the articles of the best `max(MIN_POOL, 20 x limit)` passages: `eval`
        // ranks 1000 articles, so its pool is 20,000 passages. Never more than the index
        // holds: `TopDocs` allocates for its limit.
        let k = limit
            .saturating_mul(20)
            .max(MIN_POOL)
            .min(self.searcher.num_docs().max(1) as usize);
        let cands = self.candidates(query, k)?;
        if let Some(out) = self.rank_in(query, limit, &cands)? {
            return Ok(out);
        }
        // Rare: an article only tied passages brought in ranks; redo on `TopDocs`' pool.
        let top = self.top_passages_tantivy(query, k)?;
        let cands = self.pool_of(top, k, None)?;
        Ok(self
            .rank_in(query, limit, &cands)?
            .expect("a pool without ties ranks"))
    }

    /// The best `k` passages for `query` by BM25 alone, best first: the first stage of
    /// [`Ranker::rank`], which draws its pool of candidates from them.
    pub fn best_passages(&self, query: &dyn Query, k: usize) -> Result<ScoredPassages> {
        let (mut top, _) = self.top_passages(query, k.max(1))?;
        top.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        top.truncate(k);
        Ok(top)
    }

    /// Ranks within the candidate pool; None when an article reached through tied passages
    /// only is among the articles returned or those feedback reads (see [`Candidates`]).
    fn rank_in(
        &self,
        query: &dyn Query,
        limit: usize,
        cands: &Candidates,
    ) -> Result<Option<Vec<RankedArticle>>> {
        let pool = cands.pool.as_ref();
        let tied = |arts: &[RankedArticle]| arts.iter().any(|a| cands.tie_only(a));
        let Some(fb) = self
            .params
            .feedback
            .filter(|fb| fb.docs > 0 && fb.terms > 0)
        else {
            let out = self.rank_weighted(query, limit, pool, &HashMap::new())?;
            return Ok((!tied(&out)).then_some(out));
        };
        let first = self.rank_weighted(query, fb.docs, pool, &HashMap::new())?;
        if tied(&first) {
            return Ok(None);
        }
        let original: HashSet<Term> = scoring_terms(self.index, query, false)
            .into_iter()
            .collect();
        if first.is_empty() || original.is_empty() {
            let out = self.rank_weighted(query, limit, pool, &HashMap::new())?;
            return Ok((!tied(&out)).then_some(out));
        }
        let stop = stemmed_stop_words();
        let mut analyzer = text_analyzer();
        let mut weight: HashMap<String, f32> = HashMap::new();
        for a in &first {
            let art = self
                .index
                .stored_article(&read_doc(&self.searcher, a.article)?)?;
            let mut tf: HashMap<String, u32> = HashMap::new();
            let mut len = 0u32;
            for text in [&art.headline, &art.body] {
                let mut ts = analyzer.token_stream(text);
                while let Some(t) = ts.next() {
                    len += 1;
                    if t.text.chars().count() > 2
                        && !t.text.chars().any(|c| c.is_ascii_digit())
                        && !stop.contains(&t.text)
                    {
                        *tf.entry(t.text.clone()).or_default() += 1;
                    }
                }
            }
            for (t, c) in tf {
                *weight.entry(t).or_default() += c as f32 / len.max(1) as f32;
            }
        }
        let cand = self.feedback_terms(weight, &original, fb.terms)?;
        let Some(max) = cand.first().map(|c| c.1) else {
            let out = self.rank_weighted(query, limit, pool, &HashMap::new())?;
            return Ok((!tied(&out)).then_some(out));
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, query.box_clone())];
        let mut qweights = HashMap::new();
        for (t, w) in cand {
            qweights.insert(t.clone(), fb.weight * w / max);
            clauses.push((
                Occur::Should,
                Box::new(tantivy::query::TermQuery::new(
                    t,
                    IndexRecordOption::WithFreqs,
                )),
            ));
        }
        // The expanded query matches exactly the documents of `query` (its other clauses are
        // optional), so `query` drives the collection: the scorer then opens no postings for
        // the added terms, which the collector reads itself.
        let out =
            self.rank_weighted_on(&BooleanQuery::new(clauses), query, limit, pool, &qweights)?;
        Ok((!tied(&out)).then_some(out))
    }

    /// The best `n` feedback terms by weight x idf, leaving out the query's own terms and
    /// words found in one passage only.
    ///
    /// A document frequency costs a dictionary lookup in every segment, and in a new process
    /// each of them touches dictionary pages for the first time (on a 1 GB archive of 10
    /// segments, about 90 terms were looked up: 4 to 7 ms of a 25 ms search). So:
    /// * terms are taken by weight, heaviest first, and the search stops once even the
    ///   highest possible idf (df = 2) cannot lift a term to the current last place;
    /// * before that, a term's frequency in the largest segment alone (one lookup) bounds its
    ///   idf from above: a term whose bound cannot reach the last place is dropped, and one
    ///   that might is set aside, to be looked up in full afterwards, best bound first, until
    ///   the bounds fall below the last place.
    ///
    /// The result is the same as looking up every term in full.
    fn feedback_terms(
        &self,
        weight: HashMap<String, f32>,
        original: &HashSet<Term>,
        n: usize,
    ) -> Result<Vec<(Term, f32)>> {
        let body = self.index.fields.body;
        let mut by_weight: Vec<(String, f32)> = weight.into_iter().collect();
        by_weight.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let idf_max = idf(self.stats.n, 2.0);
        let largest = self.largest_of_several_segments();
        let mut best: Vec<(Term, f32)> = Vec::new();
        let last_place = |best: &[(Term, f32)]| (best.len() >= n).then(|| best[n - 1].1);
        // Looks a term up in full and keeps it if it makes the best `n`.
        let verify = |best: &mut Vec<(Term, f32)>, term: Term, w: f32| -> Result<()> {
            let df = self.doc_freq(&term)? as f32;
            if df >= 2.0 {
                best.push((term, w * idf(self.stats.n, df)));
                best.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                best.truncate(n);
            }
            Ok(())
        };
        let mut set_aside: Vec<(f32, Term, f32)> = Vec::new();
        for (t, w) in by_weight {
            let last = last_place(&best);
            if last.is_some_and(|last| w * idf_max < last) {
                break;
            }
            let term = Term::from_field_text(body, &t);
            if original.contains(&term) {
                continue;
            }
            match (last, largest) {
                (Some(last), Some(seg)) => {
                    let df_part = seg.inverted_index(body)?.doc_freq(&term)?.max(2);
                    let bound = w * idf(self.stats.n, df_part as f32);
                    if bound >= last {
                        set_aside.push((bound, term, w));
                    }
                }
                _ => verify(&mut best, term, w)?,
            }
        }
        set_aside.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (bound, term, w) in set_aside {
            if last_place(&best).is_some_and(|last| bound < last) {
                break;
            }
            verify(&mut best, term, w)?;
        }
        Ok(best)
    }

    /// Ranks with per-term query weights (1 when absent).
    ///
    /// Articles are keyed by (segment, first passage) throughout; ids are read only for the
    /// articles returned ([`Ranker::name_articles`]).
    fn rank_weighted(
        &self,
        query: &dyn Query,
        limit: usize,
        pool: Option<&Pool>,
        qweights: &HashMap<Term, f32>,
    ) -> Result<Vec<RankedArticle>> {
        self.rank_weighted_on(query, query, limit, pool, qweights)
    }

    /// [`Self::rank_weighted`] scoring the terms of `query` on the documents of `matching`,
    /// which must match the same documents as `query`.
    fn rank_weighted_on(
        &self,
        query: &dyn Query,
        matching: &dyn Query,
        limit: usize,
        pool: Option<&Pool>,
        qweights: &HashMap<Term, f32>,
    ) -> Result<Vec<RankedArticle>> {
        let p = &self.params;
        let f = &self.index.fields;
        let terms = scoring_terms(self.index, query, p.stopwords);
        let mut specs = Vec::with_capacity(terms.len());
        for t in &terms {
            let df = self.doc_freq(t)? as f32;
            let is_headline = t.field() == f.headline;
            specs.push(TermSpec {
                term: t.clone(),
                field: t.field(),
                headline: is_headline,
                weight: idf(self.stats.n, df) * qweights.get(t).copied().unwrap_or(1.0),
                avg: if is_headline {
                    self.stats.avg_headline
                } else {
                    self.stats.avg_body
                },
            });
        }
        let collector = PassageCollector {
            specs: specs.clone(),
            params: p.clone(),
            ranker: self,
        };
        let passages = match pool {
            Some(ranges) => self.collect_in(matching, &collector, ranges)?,
            None => super::search_segments(&self.searcher, matching, &collector)?,
        };
        let scored = !specs.is_empty();

        // Group passages by article.
        let mut groups: HashMap<ArticleKey, Group> = HashMap::new();
        for ps in passages {
            let g = groups
                .entry((ps.segment, ps.first))
                .or_insert_with(|| Group {
                    headline: 0.0,
                    passages: Vec::new(),
                    tfs: vec![0; specs.len()],
                });
            g.headline = g.headline.max(ps.headline);
            for (a, b) in g.tfs.iter_mut().zip(&ps.body_tfs) {
                *a += b;
            }
            g.passages
                .push((ps.score, DocAddress::new(ps.segment, ps.doc)));
        }
        let article_weights = if p.article_mix > 0.0 && scored {
            let mut w = Vec::with_capacity(specs.len());
            for s in &specs {
                w.push(if s.headline {
                    0.0
                } else {
                    idf(self.stats.articles, self.article_df(&s.term)? as f32)
                });
            }
            Some(w)
        } else {
            None
        };
        let mut out: Vec<(ArticleKey, RankedArticle)> = Vec::with_capacity(groups.len());
        for (key, mut g) in groups {
            g.passages
                .sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let body: f32 = match p.agg {
                Agg::Best => g.passages[0].0,
                Agg::SumTop(n) => g.passages.iter().take(n).map(|x| x.0).sum(),
            };
            let mut score = if scored {
                body + p.headline_boost * g.headline
            } else {
                body
            };
            if let Some(w) = &article_weights {
                let seg = self.segment(key.0)?;
                let len = seg.map_or(0, |s| s.body_len(g.passages[0].1.doc_id)) as f32;
                let norm = p.k1 * (1.0 - p.b + p.b * len / self.stats.avg_article);
                let mut a = 0.0;
                for (tf, wt) in g.tfs.iter().zip(w) {
                    if *tf > 0 {
                        let tf = *tf as f32;
                        a += wt * tf * (p.k1 + 1.0) / (tf + norm);
                    }
                }
                score += p.article_mix * a;
            }
            if scored && score <= 0.0 {
                continue;
            }
            let article = RankedArticle {
                id: String::new(),
                article: DocAddress::new(key.0, 0),
                score,
                passages: g.passages,
            };
            out.push((key, article));
        }
        out.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
        // Ties are broken by article id, so the articles tied with the last one kept are all
        // named before cutting.
        if let Some(cut) = out.get(limit.saturating_sub(1)).map(|a| a.1.score) {
            let keep = out.partition_point(|a| a.1.score >= cut);
            out.truncate(keep.max(limit));
        }
        self.name_articles(&mut out)?;
        let mut out: Vec<RankedArticle> = out.into_iter().map(|(_, a)| a).collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// A segment's article columns (None for a segment without article ids).
    fn segment(&self, seg: SegmentOrdinal) -> Result<Option<&SegmentArticles>> {
        let cell = &self.segments[seg as usize];
        let arts = cell.get_or_try_init(|| {
            SegmentArticles::open(self.index, self.searcher.segment_reader(seg))
        })?;
        Ok(arts.as_ref())
    }

    /// Fills in the article documents (just before the first passage) and the article ids.
    fn name_articles(&self, articles: &mut [(ArticleKey, RankedArticle)]) -> Result<()> {
        for ((seg, first), a) in articles.iter_mut() {
            a.article = DocAddress::new(*seg, first.saturating_sub(1));
        }
        if articles.len() <= NAME_FROM_STORE_MAX {
            for (_, a) in articles.iter_mut() {
                a.id = self
                    .index
                    .stored_article_id(&read_doc(&self.searcher, a.article)?)?;
            }
            return Ok(());
        }
        // Many: each segment's ordinals resolved in one pass over its dictionary (every
        // document of an article carries its id).
        let mut by_segment: BTreeMap<SegmentOrdinal, Vec<usize>> = BTreeMap::new();
        for (i, ((seg, _), _)) in articles.iter().enumerate() {
            by_segment.entry(*seg).or_default().push(i);
        }
        for (seg, members) in by_segment {
            let reader = self.searcher.segment_reader(seg);
            let Some(ids) = reader.fast_fields().str("article_id")? else {
                continue;
            };
            let wanted: Vec<(u64, usize)> = members
                .into_iter()
                .filter_map(|i| Some((ids.term_ords(articles[i].0 .1).next()?, i)))
                .collect();
            let mut o: Vec<u64> = wanted.iter().map(|w| w.0).collect();
            ords::sort_unique(&mut o);
            let names = ords::strings(&ids, &o)?;
            for (ord, i) in wanted {
                if let Ok(k) = o.binary_search(&ord) {
                    articles[i].1.id = names[k].to_string();
                }
            }
        }
        Ok(())
    }

    /// First stage: the articles of the best `k` passages by tantivy's own BM25 (block-max
    /// WAND, so it does not visit every match), as the doc ranges of their passages in each
    /// segment. The full scoring then only visits those passages. No pool when the query
    /// matches fewer passages than that (nothing to prune).
    fn candidates(&self, query: &dyn Query, k: usize) -> Result<Candidates> {
        let (top, kth) = self.top_passages(query, k)?;
        self.pool_of(top, k, kth)
    }

    /// The best `k` passages the way `TopDocs` finds them (one top-k per segment, merged).
    fn top_passages_tantivy(&self, query: &dyn Query, k: usize) -> Result<ScoredPassages> {
        use tantivy::collector::TopDocs;
        Ok(self
            .searcher
            .search(query, &TopDocs::with_limit(k).order_by_score())?)
    }

    /// Every passage scoring at least the k-th best score, and that score when more than `k`
    /// passages reach it (ties straddle the cut). Fewer than `k` passages when fewer match:
    /// then they are all here.
    ///
    /// One score threshold is shared by all segments (largest first): a segment searched after
    /// another skips every block that cannot beat the best `k` found so far, where `TopDocs`
    /// starts each segment from nothing. On a 1 GB archive (11 segments) this stage went from
    /// 23 / 9 / 15 ms to 13 / 5 / 6 ms (oil prices / tony blair election / mobile phone
    /// market), the largest part of a search.
    fn top_passages(&self, query: &dyn Query, k: usize) -> Result<(ScoredPassages, Option<Score>)> {
        use std::cmp::{Ordering, Reverse};
        use std::collections::BinaryHeap;
        use std::sync::Mutex;
        /// A score ordered for the heap of the best `k`.
        struct S(Score);
        impl PartialEq for S {
            fn eq(&self, o: &Self) -> bool {
                self.cmp(o) == Ordering::Equal
            }
        }
        impl Eq for S {}
        impl PartialOrd for S {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for S {
            fn cmp(&self, o: &Self) -> Ordering {
                self.0.total_cmp(&o.0)
            }
        }
        let weight = query.weight(EnableScoring::enabled_from_searcher(&self.searcher))?;
        let exact = !block_max_is_sound(self.index, query);
        let best: Mutex<BinaryHeap<Reverse<S>>> = Mutex::new(BinaryHeap::with_capacity(k + 1));
        let mut order: Vec<SegmentOrdinal> =
            (0..self.searcher.segment_readers().len() as u32).collect();
        order.sort_by_key(|&s| Reverse(self.searcher.segment_reader(s).max_doc()));
        let per_segment = super::parallel::map(
            |seg: SegmentOrdinal| {
                let reader = self.searcher.segment_reader(seg);
                let alive = reader.alive_bitset();
                let mut hits: Vec<(Score, DocId)> = Vec::new();
                // Passages scoring exactly the k-th score are kept too (the threshold lets
                // through what scores above it).
                let threshold = |h: &BinaryHeap<Reverse<S>>| {
                    if h.len() < k {
                        Score::MIN
                    } else {
                        h.peek().map_or(Score::MIN, |m| m.0 .0.next_down())
                    }
                };
                // The heap is locked once per passage that beats the threshold: about 3,000
                // to 4,000 times for a top 500 on 1 GB, a fraction of a millisecond. Heaps per
                // segment would need no lock but prune less: each segment's k-th score is
                // below the shared one until it has k passages of its own above it.
                let start = threshold(&best.lock().unwrap());
                let mut collect = |doc: DocId, score: Score| {
                    let mut h = best.lock().unwrap();
                    if alive.is_some_and(|a| a.is_deleted(doc)) {
                        return threshold(&h);
                    }
                    hits.push((score, doc));
                    if h.len() < k {
                        h.push(Reverse(S(score)));
                    } else if h.peek().is_some_and(|m| score > m.0 .0) {
                        h.pop();
                        h.push(Reverse(S(score)));
                    }
                    threshold(&h)
                };
                if exact {
                    // What `for_each_pruning` does without block-max skipping.
                    let mut scorer = weight.scorer(reader, 1.0)?;
                    let mut at_least = start;
                    let mut doc = scorer.doc();
                    while doc != tantivy::TERMINATED {
                        let score = scorer.score();
                        if score > at_least {
                            at_least = collect(doc, score);
                        }
                        doc = scorer.advance();
                    }
                } else {
                    weight.for_each_pruning(start, reader, &mut collect)?;
                }
                Ok((seg, hits))
            },
            order,
        )?;
        let mut all: Vec<(Score, DocAddress)> = per_segment
            .into_iter()
            .flat_map(|(seg, hits)| {
                hits.into_iter()
                    .map(move |(s, d)| (s, DocAddress::new(seg, d)))
            })
            .collect();
        if all.len() < k {
            // Fewer matches than k: nothing was pruned, every match is here.
            return Ok((all, None));
        }
        all.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let kth = all[k - 1].0;
        all.truncate(all.partition_point(|a| a.0 >= kth));
        // Exactly `k` at or above the k-th score: these are `TopDocs`' passages, no tie.
        // Without pruning, every passage tied at the cut is here and the pool is all of them:
        // `TopDocs` (which prunes) is not asked to choose among them.
        let tie = (all.len() > k && !exact).then_some(kth);
        Ok((all, tie))
    }

    /// The pool of the passages `top` (none when there are fewer than `k`). With `kth`,
    /// passages scoring exactly `kth` are tied at the cut, and the articles only they bring
    /// in are noted.
    fn pool_of(&self, top: ScoredPassages, k: usize, kth: Option<Score>) -> Result<Candidates> {
        if top.len() < k {
            return Ok(Candidates {
                pool: None,
                tie_only: Vec::new(),
            });
        }
        let mut by_segment: BTreeMap<SegmentOrdinal, Vec<(DocId, bool)>> = BTreeMap::new();
        for (score, addr) in top {
            by_segment
                .entry(addr.segment_ord)
                .or_default()
                .push((addr.doc_id, kth.is_some_and(|t| score <= t)));
        }
        let mut out = BTreeMap::new();
        let mut tie_only = Vec::new();
        for (seg, mut docs) in by_segment {
            let Some(arts) = self.segment(seg)? else {
                continue;
            };
            docs.sort_unstable();
            let mut ranges: Vec<Range<DocId>> = Vec::new();
            let mut tied: Vec<bool> = Vec::new();
            for (d, tie) in docs {
                if ranges.last().is_some_and(|r| r.contains(&d)) {
                    // An article is tied only if all its passages in the top are.
                    if let Some(last) = tied.last_mut() {
                        *last &= tie;
                    }
                    continue;
                }
                ranges.push(arts.passages(d));
                tied.push(tie);
            }
            for (r, t) in ranges.iter().zip(&tied) {
                if *t {
                    tie_only.push((seg, r.clone()));
                }
            }
            out.insert(seg, ranges);
        }
        Ok(Candidates {
            pool: Some(out),
            tie_only,
        })
    }

    /// Runs `collector` over the documents of `query` that fall in `ranges` (sorted, disjoint).
    fn collect_in(
        &self,
        query: &dyn Query,
        collector: &PassageCollector,
        ranges: &Pool,
    ) -> Result<Vec<PassageScore>> {
        let scoring = if collector.requires_scoring() {
            EnableScoring::enabled_from_searcher(&self.searcher)
        } else {
            EnableScoring::disabled_from_searcher(&self.searcher)
        };
        let weight = query.weight(scoring)?;
        // Segments in parallel, the calling thread included (see `search::parallel`).
        let per_segment = super::parallel::map(
            |(&seg, ranges): (&SegmentOrdinal, &Vec<Range<DocId>>)| {
                let reader = self.searcher.segment_reader(seg);
                let mut child = collector.for_segment(seg, reader)?;
                let mut scorer = weight.scorer(reader, 1.0)?;
                let alive = reader.alive_bitset();
                for r in ranges {
                    let mut doc = scorer.doc();
                    if doc < r.start {
                        doc = scorer.seek(r.start);
                    }
                    while doc < r.end {
                        if alive.is_none_or(|a| a.is_alive(doc)) {
                            child.collect(doc, scorer.score());
                        }
                        doc = scorer.advance();
                    }
                }
                Ok(child.harvest())
            },
            ranges.iter(),
        )?;
        Ok(per_segment.into_iter().flatten().collect())
    }

    /// Number of distinct articles whose passages hold `term`. An article's passages are
    /// consecutive, so its postings are too: each change of article in a posting list is
    /// one more article.
    fn article_df(&self, term: &Term) -> Result<usize> {
        let mut n = 0;
        for (seg, r) in self.searcher.segment_readers().iter().enumerate() {
            let Some(arts) = self.segment(seg as SegmentOrdinal)? else {
                continue;
            };
            let inv = r.inverted_index(term.field())?;
            let Some(mut post) = inv.read_postings(term, IndexRecordOption::Basic)? else {
                continue;
            };
            let alive = r.alive_bitset();
            let mut last = None;
            let mut doc = post.doc();
            while doc != tantivy::TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    let first = arts.first_passage(doc);
                    if first.is_some() && first != last {
                        n += 1;
                        last = first;
                    }
                }
                doc = post.advance();
            }
        }
        Ok(n)
    }
}

struct Group {
    headline: f32,
    passages: Vec<(f32, DocAddress)>,
    tfs: Vec<u32>,
}

#[derive(Clone)]
struct TermSpec {
    term: Term,
    field: Field,
    headline: bool,
    weight: f32,
    avg: f32,
}

struct PassageScore {
    /// The article: its first passage's document.
    first: DocId,
    segment: SegmentOrdinal,
    doc: DocId,
    /// Body BM25 + proximity bonus (or tantivy's score when nothing scores).
    score: f32,
    /// Headline BM25, counted once per article.
    headline: f32,
    /// Body term frequencies, one per spec (0 for headline specs).
    body_tfs: Vec<u32>,
}

struct PassageCollector<'r> {
    specs: Vec<TermSpec>,
    params: RankParams,
    ranker: &'r Ranker<'r>,
}

impl Collector for PassageCollector<'_> {
    type Fruit = Vec<PassageScore>;
    type Child = PassageSegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PassageSegmentCollector> {
        let positions = self.params.proximity > 0.0;
        let mut terms = Vec::with_capacity(self.specs.len());
        for s in &self.specs {
            let inv = reader.inverted_index(s.field)?;
            let opt = if positions && !s.headline {
                IndexRecordOption::WithFreqsAndPositions
            } else {
                IndexRecordOption::WithFreqs
            };
            let postings = inv.read_postings(&s.term, opt)?;
            terms.push(SegTerm {
                spec: s.clone(),
                postings,
                norms: reader.get_fieldnorms_reader(s.field)?,
            });
        }
        Ok(PassageSegmentCollector {
            segment,
            terms,
            params: self.params.clone(),
            articles: self
                .ranker
                .segment(segment)
                .map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?
                .cloned(),
            out: Vec::new(),
            pos: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.specs.is_empty()
    }

    fn merge_fruits(&self, fruits: Vec<Vec<PassageScore>>) -> tantivy::Result<Vec<PassageScore>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

struct SegTerm {
    spec: TermSpec,
    postings: Option<SegmentPostings>,
    norms: FieldNormReader,
}

struct PassageSegmentCollector {
    segment: SegmentOrdinal,
    terms: Vec<SegTerm>,
    params: RankParams,
    /// Clones of the segment's article columns (`Arc`s inside): a segment collector is
    /// `'static`.
    articles: Option<SegmentArticles>,
    out: Vec<PassageScore>,
    pos: Vec<(Vec<u32>, f32)>,
}

impl SegmentCollector for PassageSegmentCollector {
    type Fruit = Vec<PassageScore>;

    fn collect(&mut self, doc: DocId, tantivy_score: Score) {
        let Some(first) = self.articles.as_ref().and_then(|a| a.first_passage(doc)) else {
            return;
        };
        let p = &self.params;
        let mut body = 0.0f32;
        let mut headline = 0.0f32;
        let mut body_tfs = vec![0u32; self.terms.len()];
        self.pos.clear();
        let want_pos = p.proximity > 0.0;
        for (i, t) in self.terms.iter_mut().enumerate() {
            let Some(post) = t.postings.as_mut() else {
                continue;
            };
            if post.doc() < doc {
                post.seek(doc);
            }
            if post.doc() != doc {
                continue;
            }
            let tf = post.term_freq() as f32;
            let len = t.norms.fieldnorm(doc) as f32;
            let s = t.spec.weight * tf * (p.k1 + 1.0)
                / (tf + p.k1 * (1.0 - p.b + p.b * len / t.spec.avg));
            if t.spec.headline {
                headline += s;
            } else {
                body += s;
                body_tfs[i] = tf as u32;
                if want_pos {
                    let mut v = Vec::new();
                    post.positions(&mut v);
                    self.pos.push((v, t.spec.weight));
                }
            }
        }
        if want_pos && self.pos.len() > 1 {
            body += p.proximity * proximity(&self.pos);
        }
        let score = if self.terms.is_empty() {
            tantivy_score
        } else {
            body
        };
        self.out.push(PassageScore {
            first,
            segment: self.segment,
            doc,
            score,
            headline,
            body_tfs,
        });
    }

    fn harvest(self) -> Vec<PassageScore> {
        self.out
    }
}

/// Proximity bonus: for each pair of distinct terms, the smaller of their weights divided by
/// the square of the smallest distance between them (BM25TP-like).
fn proximity(terms: &[(Vec<u32>, f32)]) -> f32 {
    let mut bonus = 0.0;
    for i in 0..terms.len() {
        for j in i + 1..terms.len() {
            let d = min_distance(&terms[i].0, &terms[j].0);
            if d > 0 && d < 20 {
                bonus += terms[i].1.min(terms[j].1) / (d * d) as f32;
            }
        }
    }
    bonus
}

/// Smallest |a - b| over sorted position lists (0 if either is empty).
fn min_distance(a: &[u32], b: &[u32]) -> u32 {
    let (mut i, mut j) = (0, 0);
    let mut best = u32::MAX;
    while i < a.len() && j < b.len() {
        best = best.min(a[i].abs_diff(b[j]));
        if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    if best == u32::MAX {
        0
    } else {
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_distance_of_sorted_lists() {
        assert_eq!(min_distance(&[1, 10, 30], &[5, 28]), 2);
        assert_eq!(min_distance(&[3], &[4]), 1);
        assert_eq!(min_distance(&[], &[4]), 0);
    }

    /// The bounded choice of feedback terms is the plain one: every term looked up in full,
    /// the best `n` by weight x idf. On an index of several segments (one per file of the
    /// sample corpus), with weights that disagree with frequency (a hash of the word).
    #[test]
    fn feedback_terms_are_those_of_full_lookups() {
        use crate::index::testing::{empty_index, sample, segment_per_ingest};
        use crate::index::writer::{ingest, NoProgress};
        let (_tmp, index) = empty_index();
        let sample = sample();
        // One ingest (one commit, one segment at least) per file.
        let opts = segment_per_ingest();
        for f in walkdir::WalkDir::new(&sample).sort_by_file_name() {
            let f = f.unwrap();
            if f.file_type().is_file() {
                ingest(&index, &[f.path().to_path_buf()], &opts, &NoProgress).unwrap();
            }
        }
        index.reload().unwrap();
        let ranker = Ranker::new(&index, RankParams::default()).unwrap();
        assert!(ranker.searcher().segment_readers().len() >= 3);
        let body = index.fields.body;
        let searcher = ranker.searcher();
        let mut words: Vec<String> = Vec::new();
        for r in searcher.segment_readers() {
            let inv = r.inverted_index(body).unwrap();
            let mut stream = inv.terms().stream().unwrap();
            while let Some((k, _)) = stream.next() {
                words.push(String::from_utf8(k.to_vec()).unwrap());
            }
        }
        words.sort();
        words.dedup();
        assert!(words.len() > 1000);
        for salt in 1..=40u64 {
            let n = [1, 3, 10, 40][salt as usize % 4];
            let weight: HashMap<String, f32> = words
                .iter()
                .map(|w| {
                    let h = crate::entities::hash::lower_hash(w.as_bytes()) ^ salt;
                    (w.clone(), (h % 1000) as f32 / 1000.0)
                })
                .collect();
            let original: HashSet<Term> = [Term::from_field_text(body, &words[salt as usize])]
                .into_iter()
                .collect();
            let mut full: Vec<(Term, f32)> = Vec::new();
            for (w, x) in &weight {
                let term = Term::from_field_text(body, w);
                let df = searcher.doc_freq(&term).unwrap() as f32;
                if df >= 2.0 && !original.contains(&term) {
                    full.push((term, x * idf(ranker.stats.n, df)));
                }
            }
            full.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            full.truncate(n);
            let got = ranker.feedback_terms(weight, &original, n).unwrap();
            assert_eq!(got, full, "salt {salt}, n {n}");
        }
    }

    /// The first stage keeps every passage scoring at least the k-th best, on fields indexed
    /// without field norms too. tantivy gives their postings blocks a maximum score of 0, so
    /// block-max pruning skipped `people:` matches that beat the threshold (and which ones
    /// depended on thread timing). Checked against scoring every match, over three segments.
    #[test]
    fn first_stage_keeps_every_passage_above_the_cut_on_label_fields() {
        use crate::index::testing::{empty_index, segment_per_ingest};
        use crate::index::writer::{ingest, NoProgress};
        use crate::search::query::{parse_query, Conjunction};
        let (tmp, index) = empty_index();
        // Three segments, one per ingest.
        let opts = segment_per_ingest();
        for file in 0..3 {
            let mut lines = String::new();
            // Enough that a term's postings fill whole blocks of 128 (a block's maximum is
            // read from what was written only for full blocks).
            for i in 0..2000 {
                // Every seventh story is about a person: with the person's label on top of the
                // common word, those stories lead.
                let line = if i % 7 == 3 {
                    serde_json::json!({"headline": format!("Profile {file} {i}"),
                        "body": format!("A common portrait, number {i} of file {file}."),
                        "people": ["Anna Smith"]})
                } else {
                    serde_json::json!({"headline": format!("Story {file} {i}"),
                        "body": format!("A common report, number {i} of file {file}.")})
                };
                lines.push_str(&line.to_string());
                lines.push('\n');
            }
            let path = tmp.path().join(format!("f{file}.jsonl"));
            std::fs::write(&path, lines).unwrap();
            ingest(&index, &[path], &opts, &NoProgress).unwrap();
        }
        index.reload().unwrap();
        let ranker = Ranker::new(&index, RankParams::default()).unwrap();
        let searcher = ranker.searcher();
        assert!(searcher.segment_readers().len() >= 3);
        let query = parse_query(&index, "people:\"anna smith\" common", Conjunction::Any).unwrap();
        // Fewer than the profiles: once k are found, the threshold is above what the common
        // word alone can score, which is where a block maximum of 0 skipped the rest.
        let k = 200;
        let (got, _) = ranker.top_passages(query.as_ref(), k).unwrap();

        let weight = query
            .weight(EnableScoring::enabled_from_searcher(searcher))
            .unwrap();
        let mut all: Vec<(Score, DocAddress)> = Vec::new();
        for (seg, reader) in searcher.segment_readers().iter().enumerate() {
            let mut scorer = weight.scorer(reader, 1.0).unwrap();
            while scorer.doc() != tantivy::TERMINATED {
                all.push((scorer.score(), DocAddress::new(seg as u32, scorer.doc())));
                scorer.advance();
            }
        }
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let kth = all[k - 1].0;
        let want: Vec<DocAddress> = all.iter().filter(|a| a.0 >= kth).map(|a| a.1).collect();
        let people = 3 * (2000 / 7 + 1);
        assert!(all[people - 1].0 > all[people].0, "the profiles lead");
        assert_eq!(want.len(), people, "the profiles tie");
        let mut got: Vec<DocAddress> = got.into_iter().map(|a| a.1).collect();
        got.sort();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want_sorted);
    }

    #[test]
    fn agg_parses() {
        assert_eq!("best".parse::<Agg>().unwrap(), Agg::Best);
        assert_eq!("sum3".parse::<Agg>().unwrap(), Agg::SumTop(3));
        assert!("sum0".parse::<Agg>().is_err());
    }
}
