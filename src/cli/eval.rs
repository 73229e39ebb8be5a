//! `newsindex eval`: measure ranking quality against relevance judgements.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::exit;
use crate::index::NewsIndex;
use crate::search::eval::{
    build_baseline_index, evaluate, read_qrels, read_queries, run_file, sweep_variants,
    ArticleRanker, BaselineRanker, EvalResult, NewsRanker, Qrels,
};
use crate::search::rank::{Agg, Feedback, RankParams};
use crate::search::{Conjunction, DEFAULT_CONJUNCTION};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Index folder (built with `newsindex ingest`).
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Queries, `qid<TAB>query` per line. Repeat (with --qrels) for several sets in --sweep.
    #[arg(long, required = true)]
    queries: Vec<PathBuf>,

    /// Relevance judgements in TREC format, `qid 0 docid rel` (docid = article id).
    #[arg(long, required = true)]
    qrels: Vec<PathBuf>,

    /// Write a TREC run file (`qid Q0 docid rank score tag`).
    #[arg(long, value_name = "FILE")]
    run_out: Option<PathBuf>,

    /// Print one JSON object.
    #[arg(long)]
    json: bool,

    /// Also print each query's measures.
    #[arg(long)]
    per_query: bool,

    /// Which ranking to evaluate: `newsindex` (passages -> articles, as `search`) or
    /// `baseline` (plain tantivy whole-article BM25, needs --baseline-index).
    #[arg(long, default_value = "newsindex", value_parser = ["newsindex", "baseline"])]
    ranker: String,

    /// Plain whole-article tantivy index of the same articles, built there from --index when
    /// missing. With `--ranker newsindex` the baseline is measured too, side by side.
    #[arg(long, value_name = "DIR")]
    baseline_index: Option<PathBuf>,

    /// Rebuild the --baseline-index even if it exists.
    #[arg(long)]
    rebuild_baseline: bool,

    /// Run every ranking variant and print a table of MAP / nDCG@10 per variant and set.
    #[arg(long)]
    sweep: bool,

    /// Articles ranked per query.
    #[arg(long, default_value_t = 1000)]
    depth: usize,

    /// BM25 k1.
    #[arg(long)]
    k1: Option<f32>,
    /// BM25 b.
    #[arg(long)]
    b: Option<f32>,
    /// Headline weight relative to the body.
    #[arg(long)]
    headline_boost: Option<f32>,
    /// Weight of the proximity bonus (0 = none).
    #[arg(long)]
    proximity: Option<f32>,
    /// Article score from passage scores: `best`, `sum2`, `sum3`, ...
    #[arg(long)]
    agg: Option<Agg>,
    /// Weight of whole-article BM25 mixed into the article score (0 = none).
    #[arg(long)]
    article_mix: Option<f32>,
    /// Pseudo-relevance feedback `DOCS:TERMS:WEIGHT` (e.g. `10:20:0.3`), or `none`.
    #[arg(long)]
    feedback: Option<String>,
    /// Ignore stop words when scoring (`true` / `false`).
    #[arg(long)]
    stopwords: Option<bool>,
    /// Bare terms must all match.
    #[arg(long, conflicts_with = "any")]
    all: bool,
    /// Any bare term may match.
    #[arg(long)]
    any: bool,
}

fn load_set(queries: &Path, qrels: &Path) -> Result<(Vec<(String, String)>, Qrels)> {
    let q = std::fs::read_to_string(queries)
        .with_context(|| format!("cannot read {}", queries.display()))?;
    let r = std::fs::read_to_string(qrels)
        .with_context(|| format!("cannot read {}", qrels.display()))?;
    Ok((read_queries(&q)?, read_qrels(&r)?))
}

fn baseline(index: &NewsIndex, dir: &Path, rebuild: bool) -> Result<BaselineRanker> {
    if rebuild || !dir.join("meta.json").exists() {
        build_baseline_index(index, dir, false)?;
    }
    BaselineRanker::open(dir)
}

pub fn run(args: Args) -> Result<i32> {
    if args.queries.len() != args.qrels.len() {
        bail!("give one --qrels per --queries");
    }
    if !args.sweep && args.queries.len() != 1 {
        bail!("several query sets need --sweep");
    }
    let index = NewsIndex::open_for_search(&args.index)?;
    let d = RankParams::default();
    let params = RankParams {
        k1: args.k1.unwrap_or(d.k1),
        b: args.b.unwrap_or(d.b),
        headline_boost: args.headline_boost.unwrap_or(d.headline_boost),
        proximity: args.proximity.unwrap_or(d.proximity),
        agg: args.agg.unwrap_or(d.agg),
        article_mix: args.article_mix.unwrap_or(d.article_mix),
        stopwords: args.stopwords.unwrap_or(d.stopwords),
        feedback: match args.feedback.as_deref() {
            None => d.feedback,
            Some("none") => None,
            Some(s) => Some(s.parse::<Feedback>().map_err(anyhow::Error::msg)?),
        },
    };
    let conj = if args.all {
        Conjunction::All
    } else if args.any {
        Conjunction::Any
    } else {
        DEFAULT_CONJUNCTION
    };
    let base = match &args.baseline_index {
        Some(dir) => Some(baseline(&index, dir, args.rebuild_baseline)?),
        None => None,
    };

    if args.sweep {
        let sets: Vec<_> = args
            .queries
            .iter()
            .zip(&args.qrels)
            .map(|(q, r)| load_set(q, r))
            .collect::<Result<_>>()?;
        let names: Vec<String> = args
            .queries
            .iter()
            .map(|q| {
                q.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let mut rows = Vec::new();
        if let Some(b) = &base {
            let mut cells = Vec::new();
            for (q, r) in &sets {
                cells.push(evaluate(b, q, r, args.depth)?.mean);
            }
            rows.push((
                "baseline: tantivy whole-article BM25, defaults".to_string(),
                cells,
            ));
        }
        if let Some(dir) = &args.baseline_index {
            let stem_dir = dir.with_extension("stem");
            if args.rebuild_baseline || !stem_dir.join("meta.json").exists() {
                build_baseline_index(&index, &stem_dir, true)?;
            }
            let b = BaselineRanker::open(&stem_dir)?;
            let mut cells = Vec::new();
            for (q, r) in &sets {
                cells.push(evaluate(&b, q, r, args.depth)?.mean);
            }
            rows.push(("baseline + English stemming".to_string(), cells));
        }
        for (name, p, c) in sweep_variants() {
            let r = NewsRanker::new(&index, p, c)?;
            let mut cells = Vec::new();
            for (q, qr) in &sets {
                cells.push(evaluate(&r, q, qr, args.depth)?.mean);
            }
            rows.push((name, cells));
        }
        if args.json {
            let v: Vec<_> = rows
                .iter()
                .map(|(n, c)| {
                    let sets: serde_json::Map<String, serde_json::Value> = names
                        .iter()
                        .zip(c)
                        .map(|(s, m)| (s.clone(), serde_json::to_value(m).unwrap()))
                        .collect();
                    json!({"variant": n, "sets": sets})
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            let mut head = "| variant |".to_string();
            let mut sep = "|---|".to_string();
            for n in &names {
                head.push_str(&format!(" {n} MAP | {n} nDCG@10 |"));
                sep.push_str("---:|---:|");
            }
            println!("{head}\n{sep}");
            for (n, cells) in &rows {
                let mut line = format!("| {n} |");
                for m in cells {
                    line.push_str(&format!(" {:.4} | {:.4} |", m.map, m.ndcg10));
                }
                println!("{line}");
            }
        }
        return Ok(exit::OK);
    }

    let (queries, qrels) = load_set(&args.queries[0], &args.qrels[0])?;
    let (main, compare): (EvalResult, Option<EvalResult>) = if args.ranker == "baseline" {
        let Some(b) = &base else {
            bail!("--ranker baseline needs --baseline-index DIR");
        };
        (evaluate(b, &queries, &qrels, args.depth)?, None)
    } else {
        let r = NewsRanker::new(&index, params.clone(), conj)?;
        let main = evaluate(&r, &queries, &qrels, args.depth)?;
        let cmp = match &base {
            Some(b) => Some(evaluate(
                b as &dyn ArticleRanker,
                &queries,
                &qrels,
                args.depth,
            )?),
            None => None,
        };
        (main, cmp)
    };
    if let Some(path) = &args.run_out {
        std::fs::write(path, run_file(&main, &args.ranker))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let ratio = compare.as_ref().map(|b| {
        if b.mean.map > 0.0 {
            main.mean.map / b.mean.map
        } else {
            0.0
        }
    });
    if args.json {
        let mut v = json!({
            "ranker": args.ranker,
            "map": main.mean.map,
            "ndcg10": main.mean.ndcg10,
            "p10": main.mean.p10,
            "mrr10": main.mean.mrr10,
            "recall100": main.mean.recall100,
            "queries": main.queries,
        });
        if args.ranker == "newsindex" {
            v["params"] = json!({
                "k1": params.k1, "b": params.b, "headline_boost": params.headline_boost,
                "proximity": params.proximity, "agg": params.agg.to_string(),
                "article_mix": params.article_mix, "stopwords": params.stopwords,
                "feedback": params.feedback.map(|f| format!("{}:{}:{}", f.docs, f.terms, f.weight)),
                "conjunction": format!("{conj:?}").to_lowercase(),
            });
        }
        if args.per_query {
            v["per_query"] = serde_json::to_value(&main.per_query)?;
        }
        if let (Some(b), Some(r)) = (&compare, ratio) {
            v["baseline"] = json!({
                "map": b.mean.map, "ndcg10": b.mean.ndcg10, "p10": b.mean.p10,
                "mrr10": b.mean.mrr10, "recall100": b.mean.recall100, "queries": b.queries,
            });
            v["map_ratio"] = json!(r);
        }
        println!("{}", serde_json::to_string(&v)?);
        return Ok(exit::OK);
    }
    if args.per_query {
        println!(
            "{:<28} {:>7} {:>7} {:>7} {:>7} {:>7}  query",
            "qid", "AP", "nDCG@10", "P@10", "RR@10", "R@100"
        );
        for q in &main.per_query {
            let m = &q.measures;
            println!(
                "{:<28} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>7.4}  {}",
                q.qid, m.map, m.ndcg10, m.p10, m.mrr10, m.recall100, q.query
            );
        }
        println!();
    }
    println!("{} queries", main.queries);
    println!(
        "{:<12} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "ranker", "MAP", "nDCG@10", "P@10", "MRR@10", "R@100"
    );
    let line = |name: &str, m: &crate::search::eval::Measures| {
        println!(
            "{:<12} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>7.4}",
            name, m.map, m.ndcg10, m.p10, m.mrr10, m.recall100
        )
    };
    line(&args.ranker, &main.mean);
    if let (Some(b), Some(r)) = (&compare, ratio) {
        line("baseline", &b.mean);
        println!("MAP ratio newsindex / baseline: {r:.3}");
    }
    Ok(exit::OK)
}
