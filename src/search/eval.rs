//! Evaluating rankings against relevance judgements, with trec_eval's definitions.
//!
//! Queries are `qid<TAB>query` lines; qrels are TREC `qid 0 docid rel` lines (docid = article
//! id). Queries without a relevant document in the qrels are skipped, as trec_eval does; a
//! query that retrieves nothing scores 0 everywhere.
//!
//! The plain baseline ([`build_baseline_index`], [`BaselineRanker`]) is a whole-article tantivy
//! index of the same headlines and bodies with tantivy's defaults (default tokenizer, BM25
//! k1 = 1.2, b = 0.75, bare terms OR-ed over headline and body).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{QueryParser, TermQuery};
use tantivy::schema::{
    IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING, TEXT,
};
use tantivy::{Index, TantivyDocument, Term};

use super::query::{parse_query_with, Conjunction};
use super::rank::{Agg, Feedback, RankParams, Ranker};
use crate::index::schema::{register_tokenizers, KIND_ARTICLE, TEXT_TOKENIZER};
use crate::index::{read_doc, NewsIndex};

/// Relevance judgements: qid -> docid -> grade (> 0 relevant).
pub type Qrels = HashMap<String, HashMap<String, u32>>;

/// Reads `qid<TAB>query` lines (blank lines and `#` comments skipped).
pub fn read_queries(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((qid, q)) = line.split_once('\t') else {
            bail!("queries line {}: expected `qid<TAB>query`", i + 1);
        };
        out.push((qid.trim().to_string(), q.trim().to_string()));
    }
    Ok(out)
}

/// Reads TREC qrels: `qid iter docid rel`.
pub fn read_qrels(text: &str) -> Result<Qrels> {
    let mut out: Qrels = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.is_empty() {
            continue;
        }
        if parts.len() != 4 {
            bail!("qrels line {}: expected `qid 0 docid rel`", i + 1);
        }
        let rel: i64 = parts[3]
            .parse()
            .with_context(|| format!("qrels line {}: bad relevance {:?}", i + 1, parts[3]))?;
        out.entry(parts[0].to_string())
            .or_default()
            .insert(parts[2].to_string(), rel.max(0) as u32);
    }
    Ok(out)
}

/// The measures of one query (or their means).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Measures {
    pub map: f64,
    pub ndcg10: f64,
    pub p10: f64,
    pub mrr10: f64,
    pub recall100: f64,
}

/// Measures of one ranked list of docids against one query's judgements (trec_eval:
/// `map`, `ndcg_cut_10`, `P_10`, `recip_rank` cut at 10, `recall_100`).
pub fn measure(ranked: &[String], judged: &HashMap<String, u32>) -> Measures {
    let relevant = judged.values().filter(|&&r| r > 0).count();
    if relevant == 0 {
        return Measures::default();
    }
    let mut m = Measures::default();
    let mut hits = 0usize;
    let mut seen = HashSet::new();
    let mut dcg = 0.0;
    for (i, d) in ranked.iter().enumerate() {
        if !seen.insert(d) {
            continue; // a docid counts once, at its first rank
        }
        let rank = i + 1;
        let rel = judged.get(d).copied().unwrap_or(0);
        if rel == 0 {
            continue;
        }
        hits += 1;
        m.map += hits as f64 / rank as f64;
        if rank <= 10 {
            m.p10 += 1.0;
            dcg += rel as f64 / (rank as f64 + 1.0).log2();
            if m.mrr10 == 0.0 {
                m.mrr10 = 1.0 / rank as f64;
            }
        }
        if rank <= 100 {
            m.recall100 += 1.0;
        }
    }
    m.map /= relevant as f64;
    m.p10 /= 10.0;
    m.recall100 /= relevant as f64;
    let mut grades: Vec<u32> = judged.values().copied().filter(|&r| r > 0).collect();
    grades.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = grades
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, &g)| g as f64 / (i as f64 + 2.0).log2())
        .sum();
    m.ndcg10 = if idcg > 0.0 { dcg / idcg } else { 0.0 };
    m
}

/// Means of per-query measures.
pub fn mean(per_query: &[Measures]) -> Measures {
    let n = per_query.len().max(1) as f64;
    let mut m = Measures::default();
    for q in per_query {
        m.map += q.map;
        m.ndcg10 += q.ndcg10;
        m.p10 += q.p10;
        m.mrr10 += q.mrr10;
        m.recall100 += q.recall100;
    }
    m.map /= n;
    m.ndcg10 /= n;
    m.p10 /= n;
    m.mrr10 /= n;
    m.recall100 /= n;
    m
}

/// One query's ranking and measures.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub qid: String,
    pub query: String,
    #[serde(flatten)]
    pub measures: Measures,
    #[serde(skip)]
    pub ranking: Vec<(String, f32)>,
}

/// The result of evaluating one ranker on one query set.
#[derive(Debug, Clone, Serialize)]
pub struct EvalResult {
    #[serde(flatten)]
    pub mean: Measures,
    pub queries: usize,
    pub per_query: Vec<QueryResult>,
}

/// Something that ranks article ids for a query.
pub trait ArticleRanker {
    fn rank_ids(&self, query: &str, depth: usize) -> Result<Vec<(String, f32)>>;
}

/// newsindex's own ranking, as `search` ranks articles.
pub struct NewsRanker<'a> {
    pub index: &'a NewsIndex,
    pub ranker: Ranker<'a>,
    pub conjunction: Conjunction,
}

impl<'a> NewsRanker<'a> {
    pub fn new(index: &'a NewsIndex, params: RankParams, conjunction: Conjunction) -> Result<Self> {
        Ok(NewsRanker {
            index,
            ranker: Ranker::new(index, params)?,
            conjunction,
        })
    }
}

impl ArticleRanker for NewsRanker<'_> {
    fn rank_ids(&self, query: &str, depth: usize) -> Result<Vec<(String, f32)>> {
        let searcher = self.ranker.searcher();
        let q = parse_query_with(self.index, searcher, query, self.conjunction)?;
        let q = super::articles::article_level(self.index, searcher, q)?;
        Ok(self
            .ranker
            .rank(q.as_ref(), depth)?
            .into_iter()
            .map(|a| (a.id, a.score))
            .collect())
    }
}

/// Runs every query with a ranker and measures it. Queries absent from the qrels (or with no
/// relevant document) are skipped.
pub fn evaluate(
    ranker: &dyn ArticleRanker,
    queries: &[(String, String)],
    qrels: &Qrels,
    depth: usize,
) -> Result<EvalResult> {
    let empty = HashMap::new();
    let mut per_query = Vec::new();
    for (qid, q) in queries {
        let judged = qrels.get(qid).unwrap_or(&empty);
        if !judged.values().any(|&r| r > 0) {
            continue;
        }
        let ranking = ranker.rank_ids(q, depth)?;
        let ids: Vec<String> = ranking.iter().map(|(d, _)| d.clone()).collect();
        per_query.push(QueryResult {
            qid: qid.clone(),
            query: q.clone(),
            measures: measure(&ids, judged),
            ranking,
        });
    }
    let m: Vec<Measures> = per_query.iter().map(|q| q.measures).collect();
    Ok(EvalResult {
        mean: mean(&m),
        queries: per_query.len(),
        per_query,
    })
}

/// The ranking variants measured by `eval --sweep`: one change at a time from tantivy's
/// defaults applied to passages, then combinations, then the chosen defaults.
pub fn sweep_variants() -> Vec<(String, RankParams, Conjunction)> {
    let plain = RankParams {
        k1: 1.2,
        b: 0.75,
        headline_boost: 1.0,
        proximity: 0.0,
        agg: Agg::Best,
        article_mix: 0.0,
        stopwords: false,
        feedback: None,
    };
    let mut v = vec![(
        "passages: BM25 1.2/0.75, best passage, headline x1, OR".to_string(),
        plain.clone(),
        Conjunction::Any,
    )];
    let mut one = |name: &str, p: RankParams, c: Conjunction| v.push((name.to_string(), p, c));
    one("  bare terms AND", plain.clone(), Conjunction::All);
    for hb in [0.5, 2.0, 3.0, 5.0] {
        one(
            &format!("  headline x{hb}"),
            RankParams {
                headline_boost: hb,
                ..plain.clone()
            },
            Conjunction::Any,
        );
    }
    for k1 in [0.6, 0.9, 1.6, 2.0] {
        one(
            &format!("  k1 {k1}"),
            RankParams {
                k1,
                ..plain.clone()
            },
            Conjunction::Any,
        );
    }
    for b in [0.3, 0.5, 0.9] {
        one(
            &format!("  b {b}"),
            RankParams { b, ..plain.clone() },
            Conjunction::Any,
        );
    }
    one(
        "  stop words removed",
        RankParams {
            stopwords: true,
            ..plain.clone()
        },
        Conjunction::Any,
    );
    for w in [0.5, 1.0, 2.0] {
        one(
            &format!("  proximity {w}"),
            RankParams {
                proximity: w,
                ..plain.clone()
            },
            Conjunction::Any,
        );
    }
    for n in [2, 3, 5] {
        one(
            &format!("  sum of best {n} passages"),
            RankParams {
                agg: Agg::SumTop(n),
                ..plain.clone()
            },
            Conjunction::Any,
        );
    }
    for w in [0.5, 1.0] {
        one(
            &format!("  + {w} x whole-article BM25"),
            RankParams {
                article_mix: w,
                ..plain.clone()
            },
            Conjunction::Any,
        );
    }
    for (d, t, w) in [(5, 10, 0.3), (10, 20, 0.3), (10, 20, 0.5), (10, 30, 1.0)] {
        one(
            &format!("  feedback {d} docs, {t} terms, x{w}"),
            RankParams {
                feedback: Some(Feedback {
                    docs: d,
                    terms: t,
                    weight: w,
                }),
                ..plain.clone()
            },
            Conjunction::Any,
        );
    }
    let tuned = RankParams {
        k1: 1.6,
        b: 0.3,
        proximity: 2.0,
        ..plain.clone()
    };
    one(
        "combined: k1 1.6, b 0.3, proximity 2",
        tuned.clone(),
        Conjunction::Any,
    );
    one(
        "  + feedback 5 docs, 10 terms, x0.3",
        RankParams {
            feedback: Some(Feedback {
                docs: 5,
                terms: 10,
                weight: 0.3,
            }),
            ..tuned.clone()
        },
        Conjunction::Any,
    );
    one(
        "  + feedback 3 docs, 10 terms, x0.3",
        RankParams {
            feedback: Some(Feedback {
                docs: 3,
                terms: 10,
                weight: 0.3,
            }),
            ..tuned.clone()
        },
        Conjunction::Any,
    );
    let chosen = RankParams::default();
    one(
        "  + feedback 5/10/x0.3 + sum of best 2",
        RankParams {
            agg: Agg::SumTop(2),
            ..chosen.clone()
        },
        Conjunction::Any,
    );
    one(
        "  + feedback 5/10/x0.3 + 0.5 x whole-article",
        RankParams {
            article_mix: 0.5,
            ..chosen.clone()
        },
        Conjunction::Any,
    );
    one(
        "  + feedback 5/10/x0.3 + headline x2",
        RankParams {
            headline_boost: 2.0,
            ..chosen.clone()
        },
        Conjunction::Any,
    );
    one(
        "  + feedback 5/10/x0.3, bare terms AND",
        chosen.clone(),
        Conjunction::All,
    );
    one(
        "chosen defaults (search)",
        chosen,
        super::DEFAULT_CONJUNCTION,
    );
    v
}

/// A TREC run file: `qid Q0 docid rank score tag` lines.
pub fn run_file(result: &EvalResult, tag: &str) -> String {
    let mut out = String::new();
    for q in &result.per_query {
        for (i, (d, s)) in q.ranking.iter().enumerate() {
            out.push_str(&format!("{} Q0 {} {} {:.6} {}\n", q.qid, d, i + 1, s, tag));
        }
    }
    out
}

/// Builds (or rebuilds) the plain baseline index at `dir` from the articles of `index`: one
/// tantivy document per article, headline and body as tantivy `TEXT` fields (default
/// tokenizer: no stemming, no stop words), default settings everywhere.
/// With `stem`, the text fields use newsindex's stemming analyzer instead (a measured variant,
/// not the baseline).
pub fn build_baseline_index(index: &NewsIndex, dir: &Path, stem: bool) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    let mut sb = Schema::builder();
    let id = sb.add_text_field("id", STRING | STORED);
    let text = if stem {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TEXT_TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    } else {
        TEXT
    };
    let headline = sb.add_text_field("headline", text.clone());
    let body = sb.add_text_field("body", text);
    let plain = Index::create_in_dir(dir, sb.build())?;
    register_tokenizers(&plain);
    let mut w = plain.writer(128 << 20)?;
    let searcher = index.searcher();
    let docs = searcher.search(
        &TermQuery::new(
            Term::from_field_text(index.fields.kind, KIND_ARTICLE),
            IndexRecordOption::Basic,
        ),
        &DocSetCollector,
    )?;
    let mut docs: Vec<_> = docs.into_iter().collect();
    docs.sort();
    for addr in docs {
        let a = index.stored_article(&read_doc(&searcher, addr)?)?;
        let mut d = TantivyDocument::new();
        d.add_text(id, &a.id);
        d.add_text(headline, &a.headline);
        d.add_text(body, &a.body);
        w.add_document(d)?;
    }
    w.commit()?;
    w.wait_merging_threads()?;
    Ok(())
}

/// Whole-article BM25 on a plain index built by [`build_baseline_index`].
pub struct BaselineRanker {
    index: Index,
    reader: tantivy::IndexReader,
}

impl BaselineRanker {
    pub fn open(dir: &Path) -> Result<BaselineRanker> {
        let index = Index::open_in_dir(dir)
            .with_context(|| format!("no baseline index at {}", dir.display()))?;
        register_tokenizers(&index);
        let reader = index.reader()?;
        Ok(BaselineRanker { index, reader })
    }
}

impl ArticleRanker for BaselineRanker {
    fn rank_ids(&self, query: &str, depth: usize) -> Result<Vec<(String, f32)>> {
        let schema = self.index.schema();
        let id = schema.get_field("id")?;
        let fields = vec![schema.get_field("headline")?, schema.get_field("body")?];
        let parser = QueryParser::for_index(&self.index, fields);
        let (q, _errors) = parser.parse_query_lenient(query);
        let searcher = self.reader.searcher();
        let top = searcher.search(&q, &TopDocs::with_limit(depth.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d = read_doc(&searcher, addr)?;
            let s = d.get_first(id).and_then(|v| v.as_str()).unwrap_or_default();
            out.push((s.to_string(), score));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(rel: &[(&str, u32)]) -> HashMap<String, u32> {
        rel.iter().map(|(d, r)| (d.to_string(), *r)).collect()
    }
    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn hand_computed_binary() {
        // 3 relevant (a, b, c); ranking hits a at 1, b at 3, c never.
        let j = judged(&[("a", 1), ("b", 1), ("c", 1), ("x", 0)]);
        let m = measure(&ids(&["a", "x", "b", "y"]), &j);
        assert!(close(m.map, (1.0 + 2.0 / 3.0) / 3.0));
        assert!(close(m.p10, 0.2));
        assert!(close(m.mrr10, 1.0));
        assert!(close(m.recall100, 2.0 / 3.0));
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!(close(m.ndcg10, dcg / idcg));
    }

    #[test]
    fn first_hit_late_and_graded() {
        let j = judged(&[("a", 2), ("b", 1)]);
        let mut r: Vec<String> = (0..11).map(|i| format!("n{i}")).collect();
        r.push("b".into()); // rank 12: outside every @10 measure
        let m = measure(&r, &j);
        assert!(close(m.mrr10, 0.0));
        assert!(close(m.p10, 0.0));
        assert!(close(m.ndcg10, 0.0));
        assert!(close(m.map, (1.0 / 12.0) / 2.0));
        assert!(close(m.recall100, 0.5));
        // graded: b at 1, a at 2; ideal a then b.
        let m = measure(&ids(&["b", "a"]), &j);
        let dcg = 1.0 + 2.0 / 3f64.log2();
        let idcg = 2.0 + 1.0 / 3f64.log2();
        assert!(close(m.ndcg10, dcg / idcg));
        assert!(close(m.mrr10, 1.0));
        assert!(close(m.map, 1.0));
    }

    #[test]
    fn empty_ranking_and_duplicates() {
        let j = judged(&[("a", 1)]);
        assert_eq!(measure(&[], &j), Measures::default());
        // A repeated docid counts once.
        let m = measure(&ids(&["a", "a"]), &j);
        assert!(close(m.p10, 0.1));
        assert!(close(m.map, 1.0));
    }

    #[test]
    fn means_and_parsing() {
        let q = read_queries("q1\tcrude oil\n\n# c\nq2\tgold\n").unwrap();
        assert_eq!(
            q,
            vec![
                ("q1".into(), "crude oil".into()),
                ("q2".into(), "gold".into())
            ]
        );
        let r = read_qrels("q1 0 d1 1\nq1 0 d2 0\nq2 0 d3 2\n").unwrap();
        assert_eq!(r["q1"]["d2"], 0);
        assert_eq!(r["q2"]["d3"], 2);
        assert!(read_qrels("q1 d1 1\n").is_err());
        let m = mean(&[
            Measures {
                map: 1.0,
                ..Default::default()
            },
            Measures::default(),
        ]);
        assert!(close(m.map, 0.5));
    }
}
