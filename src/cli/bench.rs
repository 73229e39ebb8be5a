//! `newsindex bench`: time an index build and searches on your own corpus.

use std::path::PathBuf;

use anyhow::Result;

use super::exit;
use super::output::json_line;
use crate::bench::{run, BenchOptions, BenchReport, Latency};
use crate::index::writer::IngestOptions;
use crate::ingest::ParseOptions;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or folders to index.
    #[arg(required = true)]
    corpus: Vec<PathBuf>,

    /// Build the index here and keep it (default: a temporary folder, deleted afterwards).
    #[arg(long, short = 'i')]
    index: Option<PathBuf>,

    /// Queries to time: one per line, or `qid<TAB>query` (default: 200 derived from headlines).
    #[arg(long)]
    queries: Option<PathBuf>,

    /// Also build a plain tantivy headline/body index of the same files and print the ratio.
    #[arg(long)]
    compare_plain: bool,

    /// Map a JSON/CSV field to an article field, as `ingest --field` does (e.g.
    /// `headline=thread.title`); both builds, newsindex's and plain tantivy's, read the
    /// articles so. Repeatable.
    #[arg(long = "field", value_name = "TARGET=PATH")]
    fields: Vec<String>,

    /// Only files with these extensions, e.g. `--ext sgm`.
    #[arg(long = "ext", value_delimiter = ',')]
    extensions: Vec<String>,

    /// Memory for tantivy's indexing buffers, in MB. The default keeps an ingest's peak well
    /// under 1 GB (measured on two cores, one indexing thread: 514 to 536 MB for 1 GB of
    /// text); more gives fewer, larger segments and a higher peak.
    #[arg(long, default_value_t = 192)]
    memory: usize,

    /// Tantivy indexing threads. The default, half the cores, leaves the other half to
    /// parsing and entity tagging, which cost about as much.
    #[arg(long, default_value_t = crate::index::writer::default_threads(), value_parser = super::output::thread_count)]
    threads: usize,

    /// Threads that read, parse, tag and split articles (default: one per core). One thread,
    /// which leaves tantivy's indexing thread a core of its own, was faster at 250 MB but
    /// slower at 1 GB on two cores, where merges need the second core too
    /// (`benches/RESULTS.md`, the preparing-threads round).
    #[arg(long, value_name = "N", value_parser = super::output::thread_count)]
    prep_threads: Option<usize>,

    /// Build without entity tagging (to see what tagging costs).
    #[arg(long)]
    no_entities: bool,

    /// After the build, merge the index into one segment per core (`newsindex optimize`),
    /// report what that cost, and time the searches on the result.
    #[arg(long)]
    optimize: bool,

    /// Times each query is run.
    #[arg(long, default_value_t = 5)]
    rounds: usize,

    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run_cli(args: Args) -> Result<i32> {
    let opts = BenchOptions {
        corpus: args.corpus,
        index: args.index,
        queries: args.queries,
        ingest: IngestOptions {
            extensions: args
                .extensions
                .iter()
                .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            memory_bytes: args.memory << 20,
            threads: args.threads,
            prep_threads: args.prep_threads,
            entities: !args.no_entities,
            merge_tail: !args.optimize,
            parse: ParseOptions {
                fields: super::output::field_map(&args.fields)?,
            },
            ..Default::default()
        },
        compare_plain: args.compare_plain,
        optimize: args.optimize,
        rounds: args.rounds,
        // This very executable, run as a user would for the end-to-end timings.
        program: std::env::current_exe().ok(),
    };
    let report = run(&opts)?;
    if args.json {
        json_line(&report);
    } else {
        print_table(&report);
    }
    Ok(exit::OK)
}

fn print_table(r: &BenchReport) {
    println!(
        "corpus: {:.1} MB, {} files, {} articles ({} duplicates), {} passages, {} errors",
        r.corpus_bytes as f64 / 1e6,
        r.files,
        r.articles,
        r.duplicates,
        r.passages,
        r.errors
    );
    println!(
        "{:<10} {:>9} {:>9} {:>12} {:>9} {:>12}",
        "stage", "seconds", "CPU s", "articles/s", "MB/s", "tokens/s"
    );
    // A stage that took no time (no merge ran) shows "-" for its rates.
    let rate =
        |v: Option<f64>, decimals: usize| v.map_or("-".into(), |v| format!("{v:.decimals$}"));
    for s in &r.stages {
        println!(
            "{:<10} {:>9.2} {:>9} {:>12} {:>9} {:>12}",
            s.stage,
            s.seconds,
            rate(s.cpu_seconds, 2),
            rate(s.articles_per_s, 0),
            rate(s.mb_per_s, 1),
            rate(s.tokens_per_s, 0)
        );
    }
    println!(
        "(read/parse/entities/passages: thread-seconds summed over threads, waiting for a core \
         included, and the CPU used in them; read includes hashing.\n \
         index/commit/merge: wall time, their CPU by thread below. Rates are over `seconds`.)"
    );
    if !r.thread_cpu.is_empty() {
        println!("CPU of the build by kind of thread (cores: CPU seconds over wall time):");
        for g in &r.thread_cpu {
            println!(
                "  {:<19} {:>7.1} s  {:>5.2} cores  ({} thread(s), at most {} at once, each busy {:.0}%)",
                g.group,
                g.cpu_seconds,
                g.cores,
                g.threads,
                g.concurrent,
                g.busy * 100.0
            );
        }
    }
    if let Some(m) = r.peak_rss_mb {
        match r.peak_anon_mb {
            Some(a) => println!(
                "peak memory: {m:.0} MB (anonymous at most {a:.0} MB; the rest mapped files)"
            ),
            None => println!("peak memory: {m:.0} MB"),
        }
    }
    let tail = match r.tail_merged {
        0 => String::new(),
        n => format!(", {n} small ones merged into one at the end of the build"),
    };
    println!(
        "index size: {:.1} MB ({:.2}x the raw text); {} segment{}{tail}",
        r.index_bytes as f64 / 1e6,
        r.index_bytes as f64 / r.corpus_bytes.max(1) as f64,
        r.segments,
        if r.segments == 1 { "" } else { "s" }
    );
    if let Some(o) = &r.optimize {
        let m = &o.merged;
        println!(
            "optimize: {:.2} s, {} segments -> {}, index {:.1} MB; peak memory {:.0} MB \
             (anonymous at most {:.0} MB; the rest mapped files, mostly the index); \
             build + optimize {:.1} MB/s",
            m.seconds,
            m.segments_before,
            m.segments_after,
            m.bytes_after as f64 / 1e6,
            o.peak_rss_mb.unwrap_or(0.0),
            o.peak_anon_mb.unwrap_or(0.0),
            o.mb_per_s
        );
        println!("(the searches below ran on the optimized index)");
    }
    let lat = |name: &str, l: &Latency| {
        println!(
            "{name}: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms ({} queries x {} runs)",
            l.p50_ms,
            l.p95_ms,
            l.p99_ms,
            l.queries,
            l.runs / l.queries.max(1)
        )
    };
    lat("search, top-10 passages (rank only)", &r.search_rank);
    lat(
        "search, top-10 articles with passages and highlights",
        &r.search_full,
    );
    if let Some((name, n)) = &r.top_person {
        lat(
            &format!("mentions of the most mentioned person ({name:?}, all {n} listed)"),
            &r.mentions,
        );
    }
    if let Some(l) = &r.search_end_to_end {
        lat("`newsindex search`, end to end (a new process each run)", l);
    }
    if let Some(l) = &r.mentions_end_to_end {
        lat("`newsindex mentions --json` of that person, end to end", l);
    }
    if let (Some(p), Some(ratio)) = (&r.plain, r.throughput_ratio) {
        println!(
            "plain tantivy (headline+body): {:.2} s, {:.1} MB/s, {}index {:.1} MB, peak {:.0} MB",
            p.seconds,
            p.mb_per_s,
            p.cpu_seconds
                .map_or(String::new(), |c| format!("{c:.1} CPU s, ")),
            p.index_bytes as f64 / 1e6,
            p.peak_rss_mb.unwrap_or(0.0)
        );
        lat(
            &format!(
                "plain tantivy search, top-10 articles, same queries ({} segments, one thread)",
                p.segments
            ),
            &p.search_top10,
        );
        lat(
            "plain tantivy search, the same on a thread per core",
            &p.search_top10_threads,
        );
        println!("newsindex / plain tantivy throughput: {ratio:.2}x");
        if let Some(cpu) = r.cpu_ratio {
            println!("newsindex / plain tantivy CPU of the build: {cpu:.2}x");
        }
        if let Some(ratio) = r.optimize.as_ref().and_then(|o| o.throughput_ratio) {
            println!("with optimize: {ratio:.2}x");
        }
    }
}
