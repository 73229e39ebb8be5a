//! The baseline: a plain tantivy index of the same articles, as a tantivy user would build it.
//!
//! Headline and body as TEXT | STORED with tantivy's `en_stem` analyzer (so results can be
//! shown), the same writer heap as newsindex split over tantivy's default number of indexing
//! threads (`Index::writer`: one per core), files read and parsed in parallel with the same
//! parsers. The threads are tantivy's choice, not newsindex's: with nothing else to run, plain
//! tantivy is fastest with a thread per core (1 GB: 50.7 s with two threads, 74.5 s with one),
//! while newsindex leaves cores to its tagger (see `IngestOptions::threads`). What it does not
//! do is everything newsindex adds: passages, entities, dates and labels, article records,
//! de-duplication and incremental bookkeeping.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, Schema, TextFieldIndexing, TextOptions, STORED};
use tantivy::{doc, Index, IndexWriter};

use crate::index::dir_size;
use crate::index::writer::IngestOptions;
use crate::ingest::walk::walk;
use crate::ingest::{parse_reader, Article};

#[derive(Debug, Clone, Serialize)]
pub struct PlainReport {
    pub articles: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub mb_per_s: f64,
    pub index_bytes: u64,
    pub peak_rss_mb: Option<f64>,
    /// CPU seconds of every thread of the build (where `/proc` tells), to set against
    /// newsindex's `thread_cpu`: the ratio of the two is what limits the throughput ratio.
    pub cpu_seconds: Option<f64>,
    /// Top 10 articles by tantivy's BM25 for the same queries as newsindex's passage search,
    /// bare terms OR-ed over headline and body: what a plain tantivy index answers in process,
    /// its segments searched one after the other (tantivy's default).
    pub search_top10: super::Latency,
    /// The same, the segments searched on a thread per core, as newsindex searches its own.
    pub search_top10_threads: super::Latency,
    /// The plain index's segments.
    pub segments: usize,
}

/// Builds the plain index of `corpus` in `dir`, then times `queries` (`rounds` times each, after
/// one untimed pass) on it.
pub fn build(
    corpus: &[PathBuf],
    dir: &Path,
    opts: &IngestOptions,
    queries: &[String],
    rounds: usize,
) -> Result<PlainReport> {
    super::reset_peak_rss();
    let sampler = super::threads::CpuSampler::start();
    let started = Instant::now();
    std::fs::create_dir_all(dir)?;
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(TextFieldIndexing::default().set_tokenizer("en_stem"))
        | STORED;
    let headline = b.add_text_field("headline", text.clone());
    let body = b.add_text_field("body", text);
    let index = Index::create_in_dir(dir, b.build())?;
    let mut writer: IndexWriter = index.writer(opts.memory_bytes.max(15 << 20))?;

    let files = walk(corpus, &opts.extensions).files;
    let mut bytes = 0u64;
    let mut articles = 0usize;
    for start in (0..files.len()).step_by(1024) {
        let chunk: Vec<_> = (start..files.len().min(start + 1024))
            .map(|i| files.get(i))
            .collect();
        let parsed: Vec<(u64, Vec<Article>)> = chunk
            .par_iter()
            .map(|f| {
                let Ok(file) = std::fs::File::open(&f.path) else {
                    return (0, Vec::new());
                };
                let mut out = Vec::new();
                let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
                let _ = parse_reader(&f.path, &mut reader, f.format, &opts.parse, &mut |a| {
                    if let Ok(a) = a {
                        out.push(a);
                    }
                });
                (f.size, out)
            })
            .collect();
        for (size, list) in parsed {
            bytes += size;
            for a in list {
                writer.add_document(doc!(headline => a.headline, body => a.body))?;
                articles += 1;
            }
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_mb = super::peak_rss_mb();
    let cpu_seconds = sampler.map(|s| super::threads::total_cpu_seconds(&s.finish()));
    let search_top10 = time_searches(&index, &[headline, body], queries, rounds)?;
    let mut threaded = index.clone();
    threaded.set_default_multithread_executor()?;
    let search_top10_threads = time_searches(&threaded, &[headline, body], queries, rounds)?;
    Ok(PlainReport {
        segments: index.searchable_segment_ids()?.len(),
        search_top10_threads,
        articles,
        bytes,
        seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds.max(1e-9),
        index_bytes: dir_size(dir),
        peak_rss_mb,
        cpu_seconds,
        search_top10,
    })
}

fn time_searches(
    index: &Index,
    fields: &[Field],
    queries: &[String],
    rounds: usize,
) -> Result<super::Latency> {
    let searcher = index.reader()?.searcher();
    let parser = QueryParser::for_index(index, fields.to_vec());
    let collector = TopDocs::with_limit(10).order_by_score();
    // A query tantivy's parser rejects is left out (`queries` says how many were timed);
    // newsindex's own parser, built on it, would have failed first. Parsing is timed, as it is
    // for newsindex.
    let accepted: Vec<&String> = queries
        .iter()
        .filter(|q| parser.parse_query(q).is_ok())
        .collect();
    super::time_each(&accepted, rounds, |q| {
        let query = parser.parse_query(q)?;
        std::hint::black_box(searcher.search(&query, &collector)?);
        Ok(())
    })
}
