//! Benchmarking index builds and searches on a user's own corpus (`newsindex bench`).
//!
//! One run builds the newsindex index (every stage timed), measures peak memory and index size,
//! then times searches over a query set. With `compare_plain` it also builds a plain tantivy
//! headline/body index of the same files, in the same process, right after, and reports the
//! throughput ratio: figures measured side by side on the same machine state.

pub mod plain;
pub mod threads;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::index::merges::{default_segments, optimize, Optimized};
use crate::index::writer::{ingest, IngestOptions, IngestSummary, NoProgress};
use crate::index::{dir_size, read_doc, NewsIndex};
use crate::search::{self, Conjunction, SearchOptions};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub corpus: Vec<PathBuf>,
    /// Where to build the index; a temporary folder (deleted afterwards) when None.
    pub index: Option<PathBuf>,
    /// Query file: one query per line, or `qid<TAB>query`. Derived from headlines when None.
    pub queries: Option<PathBuf>,
    pub ingest: IngestOptions,
    /// Also build a plain tantivy headline/body index and report the ratio.
    pub compare_plain: bool,
    /// After the build, merge the index into one segment per core (`newsindex optimize`) and
    /// time the searches on that.
    pub optimize: bool,
    /// Times each query is run (latencies are per run).
    pub rounds: usize,
    /// The `newsindex` executable, to time searches end to end as a user runs them (a new
    /// process each time, output discarded); None skips those timings.
    pub program: Option<PathBuf>,
}

/// Queries timed end to end (the first of the query set): each run is a new process.
pub const END_TO_END_QUERIES: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct StageRow {
    pub stage: String,
    /// Thread-seconds summed over threads for read, parse, entities and passages (waiting for a
    /// core included), wall time for the rest.
    pub seconds: f64,
    /// CPU seconds the preparing threads spent in the stage (read, parse, entities, passages;
    /// None for the others, whose CPU is in `thread_cpu`, and where the platform has no thread
    /// CPU clock).
    pub cpu_seconds: Option<f64>,
    /// Rates are None (JSON null) for a stage that took under a millisecond (no merge ran, say):
    /// a rate over no time is not a figure.
    pub articles_per_s: Option<f64>,
    pub mb_per_s: Option<f64>,
    pub tokens_per_s: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub queries: usize,
    pub runs: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

/// What `--optimize` cost, after the build.
#[derive(Debug, Clone, Serialize)]
pub struct OptimizeReport {
    #[serde(flatten)]
    pub merged: Optimized,
    /// Peak resident memory while merging (VmHWM): mostly the index's pages, mapped as the
    /// merges read them.
    pub peak_rss_mb: Option<f64>,
    /// The largest anonymous (heap) memory seen while merging, sampled every 20 ms.
    pub peak_anon_mb: Option<f64>,
    /// Build and merge together: corpus MB over their seconds.
    pub mb_per_s: f64,
    /// That throughput over plain tantivy's, with `--compare-plain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub corpus_bytes: u64,
    pub files: usize,
    pub articles: usize,
    pub duplicates: usize,
    pub passages: usize,
    pub errors: usize,
    pub seconds: f64,
    pub mb_per_s: f64,
    pub articles_per_s: f64,
    pub stages: Vec<StageRow>,
    /// CPU time of the build by kind of thread, the busiest first (empty where threads cannot
    /// be sampled): the first is what limits the build when its `busy` is near 1.
    pub thread_cpu: Vec<threads::ThreadGroupCpu>,
    pub peak_rss_mb: Option<f64>,
    /// The largest anonymous (heap) memory of the build, sampled every 20 ms: the peak less
    /// the index's pages that merges map as they read them.
    pub peak_anon_mb: Option<f64>,
    /// The index's size after the build (before `--optimize`).
    pub index_bytes: u64,
    /// The index's segments after the build (before `--optimize`), and how many small ones
    /// the build merged into one at its end (`merges::merge_tail`; 0: none).
    pub segments: usize,
    pub tail_merged: usize,
    /// With `--optimize`: the merge after the build; the searches below ran on its result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimize: Option<OptimizeReport>,
    /// Passage search, ranking only: parse the query and collect the top 10 passages (the
    /// first stage of `search`'s ranking).
    pub search_rank: Latency,
    /// Passage search as `search` runs it: top 10 articles with passages and highlights.
    pub search_full: Latency,
    /// `mentions` of the most mentioned person: every one of their mentions listed (at least
    /// 5 runs).
    pub mentions: Latency,
    /// The most mentioned person and how many mentions listing them returns.
    pub top_person: Option<(String, u64)>,
    /// `newsindex search QUERY --index DIR`, a new process each run, process start and output
    /// included, over the first [`END_TO_END_QUERIES`] queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_end_to_end: Option<Latency>,
    /// `newsindex mentions NAME --type person --json` of the most mentioned person, a new
    /// process each run, every line printed (to a pipe that is read and discarded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mentions_end_to_end: Option<Latency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain: Option<plain::PlainReport>,
    /// newsindex throughput / plain tantivy throughput (MB/s over MB/s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput_ratio: Option<f64>,
    /// CPU seconds of newsindex's build (every thread in `thread_cpu`) over plain tantivy's:
    /// how much more work the build does. On a machine whose cores are all busy, the
    /// throughput ratio cannot beat its inverse by much.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_ratio: Option<f64>,
}

pub fn run(opts: &BenchOptions) -> Result<BenchReport> {
    let tmp = tempfile::TempDir::new()?;
    let index_dir = opts
        .index
        .clone()
        .unwrap_or_else(|| tmp.path().join("newsindex"));
    warm_page_cache(&opts.corpus);

    reset_peak_rss();
    let sampler = threads::CpuSampler::start();
    let index = NewsIndex::open_or_create(&index_dir)?;
    let (summary, peak_anon_mb) = peak_anon_while(|| {
        // Each stage's CPU, not only its thread-seconds: on a busy machine a preparing
        // thread waits for a core for much of a stage.
        let ingest_opts = IngestOptions {
            stage_cpu: true,
            ..opts.ingest.clone()
        };
        ingest(&index, &opts.corpus, &ingest_opts, &NoProgress)
    });
    let summary = summary?;
    let thread_cpu = sampler.map(|s| s.finish()).unwrap_or_default();
    let peak_rss_mb = peak_rss_mb();
    let index_bytes = dir_size(&index_dir);
    let optimized = if opts.optimize {
        reset_peak_rss();
        let (merged, peak_anon_mb) =
            peak_anon_while(|| optimize(&index, default_segments(), false));
        Some((merged?, self::peak_rss_mb(), peak_anon_mb))
    } else {
        None
    };
    // Searches are timed on the index as `newsindex search` opens it: the build's handle
    // releases mapped pages beyond a budget (`index::mapped`), which a search never does.
    drop(index);
    let index = NewsIndex::open_for_search(&index_dir)?;

    let queries = match &opts.queries {
        Some(p) => read_queries(p)?,
        None => default_queries(&index, 200)?,
    };
    let (search_rank, search_full) = time_searches(&index, &queries, opts.rounds.max(1))?;
    let people = crate::search::mentions::top_entities(
        &index,
        None,
        Some(crate::entities::EntityType::Person),
        1,
    )?;
    let top_person = people.first().map(|e| (e.name.clone(), e.mentions));
    let names: Vec<String> = people.into_iter().map(|e| e.name).collect();
    let mentions = time_mentions(&index, &names, opts.rounds.max(5))?;
    let (search_end_to_end, mentions_end_to_end) = match &opts.program {
        Some(program) => {
            let n = queries.len().min(END_TO_END_QUERIES);
            let searches: Vec<Vec<&str>> = queries[..n]
                .iter()
                .map(|q| vec!["search", q.as_str()])
                .collect();
            let listings: Vec<Vec<&str>> = names
                .iter()
                .map(|n| vec!["mentions", n.as_str(), "--type", "person", "--json"])
                .collect();
            (
                Some(time_processes(
                    program,
                    &index_dir,
                    &searches,
                    opts.rounds.max(1),
                )?),
                Some(time_processes(
                    program,
                    &index_dir,
                    &listings,
                    opts.rounds.max(5),
                )?),
            )
        }
        None => (None, None),
    };

    let plain = if opts.compare_plain {
        Some(plain::build(
            &opts.corpus,
            &tmp.path().join("plain"),
            &opts.ingest,
            &queries,
            opts.rounds.max(1),
        )?)
    } else {
        None
    };
    let mb_per_s = summary.mb_per_s;
    let cpu_ratio = plain
        .as_ref()
        .and_then(|p| p.cpu_seconds)
        .filter(|&plain_cpu| plain_cpu > 0.0 && !thread_cpu.is_empty())
        .map(|plain_cpu| threads::total_cpu_seconds(&thread_cpu) / plain_cpu);
    let ratio = |mb_per_s: f64| plain.as_ref().map(|p| mb_per_s / p.mb_per_s.max(1e-9));
    let optimize = optimized.map(|(merged, peak_rss_mb, peak_anon_mb)| {
        let mb_per_s = summary.bytes as f64 / 1e6 / (summary.seconds + merged.seconds).max(1e-9);
        OptimizeReport {
            merged,
            peak_rss_mb,
            peak_anon_mb,
            mb_per_s,
            throughput_ratio: ratio(mb_per_s),
        }
    });
    Ok(BenchReport {
        corpus_bytes: summary.bytes,
        files: summary.files,
        articles: summary.articles,
        duplicates: summary.duplicates,
        passages: summary.passages,
        errors: summary.errors.len(),
        seconds: summary.seconds,
        mb_per_s,
        articles_per_s: summary.articles as f64 / summary.seconds.max(1e-9),
        stages: stage_rows(&summary),
        thread_cpu,
        peak_rss_mb,
        peak_anon_mb,
        index_bytes,
        segments: summary.segments,
        tail_merged: summary.tail_merged,
        optimize,
        search_rank,
        search_full,
        mentions,
        top_person,
        search_end_to_end,
        mentions_end_to_end,
        throughput_ratio: ratio(mb_per_s),
        cpu_ratio,
        plain,
    })
}

fn stage_rows(s: &IngestSummary) -> Vec<StageRow> {
    let st = &s.stages;
    let row = |name: &str, secs: f64, cpu_seconds: Option<f64>| {
        let rate = |amount: f64| (secs >= 1e-3).then(|| amount / secs);
        StageRow {
            stage: name.to_string(),
            seconds: secs,
            cpu_seconds,
            articles_per_s: rate(s.articles as f64),
            mb_per_s: rate(s.bytes as f64 / 1e6),
            tokens_per_s: rate(s.tokens as f64),
        }
    };
    vec![
        row("read", st.read, st.read_cpu),
        row("parse", st.parse, st.parse_cpu),
        row("entities", st.entities, st.entities_cpu),
        row("passages", st.passages, st.passages_cpu),
        row("index", st.index, None),
        row("commit", st.commit, None),
        row("merge", st.merge, None),
        row("total", s.seconds, None),
    ]
}

/// Reads every file once so that both builds start from a warm page cache.
fn warm_page_cache(corpus: &[PathBuf]) {
    for root in corpus {
        for e in walkdir::WalkDir::new(root)
            .follow_links(true)
            .into_iter()
            .flatten()
        {
            if e.file_type().is_file() {
                if let Ok(mut f) = std::fs::File::open(e.path()) {
                    let _ = std::io::copy(&mut f, &mut std::io::sink());
                }
            }
        }
    }
}

/// Resets the peak-RSS high-water mark (Linux), so each phase is measured on its own.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process in MB (Linux VmHWM).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Queries from a file: one per line, or `qid<TAB>query`; blank lines and `#` comments skipped.
pub fn read_queries(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read queries from {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('\t').map_or(l, |(_, q)| q).to_string())
        .collect())
}

/// A deterministic query set from the corpus itself: the two longest words of the headlines of
/// articles spread evenly over the index.
pub fn default_queries(index: &NewsIndex, n: usize) -> Result<Vec<String>> {
    use tantivy::collector::DocSetCollector;
    use tantivy::query::TermQuery;
    use tantivy::schema::IndexRecordOption;
    let searcher = index.searcher();
    let q = TermQuery::new(
        tantivy::Term::from_field_text(index.fields.kind, crate::index::schema::KIND_ARTICLE),
        IndexRecordOption::Basic,
    );
    let mut addrs: Vec<_> = searcher.search(&q, &DocSetCollector)?.into_iter().collect();
    addrs.sort();
    let step = (addrs.len() / n.max(1)).max(1);
    let mut out = Vec::new();
    for addr in addrs.iter().step_by(step).take(n) {
        let a = index.stored_article(&read_doc(&searcher, *addr)?)?;
        let mut words: Vec<&str> = a
            .headline
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 3)
            .collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        if !words.is_empty() {
            out.push(words.iter().take(2).copied().collect::<Vec<_>>().join(" "));
        }
    }
    Ok(out)
}

fn time_searches(
    index: &NewsIndex,
    queries: &[String],
    rounds: usize,
) -> Result<(Latency, Latency)> {
    let opts = SearchOptions::default();
    // Each kind in passes of its own over the queries, as plain tantivy's are timed (taking
    // turns query by query, the second ran on caches the first had just filled).
    let rank = time_each(queries, rounds, |q| {
        let parsed = search::query::parse_query(index, q, Conjunction::Any)?;
        let ranker = search::rank::Ranker::new(index, search::RankParams::default())?;
        std::hint::black_box(ranker.best_passages(parsed.as_ref(), 10)?);
        Ok(())
    })?;
    let full = time_each(queries, rounds, |q| {
        std::hint::black_box(search::search(index, q, &opts)?);
        Ok(())
    })?;
    Ok((rank, full))
}

fn time_mentions(index: &NewsIndex, names: &[String], rounds: usize) -> Result<Latency> {
    use crate::entities::EntityType::Person;
    time_each(names, rounds, |name| {
        std::hint::black_box(crate::search::mentions::mentions(
            index,
            name,
            Some(Person),
        )?);
        Ok(())
    })
}

/// Peak anonymous memory (heap, not mapped files) of this process while `f` runs, sampled
/// every 20 ms from `/proc/self/statm` (Linux; None elsewhere).
fn peak_anon_while<T>(f: impl FnOnce() -> T) -> (T, Option<f64>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    fn anon_mb() -> Option<f64> {
        let resident = crate::index::mapped::Resident::now()?;
        Some(resident.anonymous() as f64 / (1 << 20) as f64)
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = anon_mb();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                peak = peak.into_iter().chain(anon_mb()).reduce(f64::max);
            }
            peak
        });
        let out = f();
        done.store(true, Ordering::Relaxed);
        (out, sampler.join().expect("the sampler does not panic"))
    })
}

/// Runs `run` on every item once untimed (to warm the caches, as a long-running process is),
/// then `rounds` times timed; latencies per run.
pub(crate) fn time_each<T>(
    items: &[T],
    rounds: usize,
    mut run: impl FnMut(&T) -> Result<()>,
) -> Result<Latency> {
    for item in items {
        run(item)?;
    }
    let mut ms = Vec::with_capacity(items.len() * rounds);
    for _ in 0..rounds {
        for item in items {
            let t = Instant::now();
            run(item)?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(latency(items.len(), ms))
}

/// Runs `program ARGS --index DIR` for each argument list, `rounds` times after one untimed
/// run, and times each process from spawn to exit, its whole output read from a pipe.
fn time_processes(
    program: &Path,
    index_dir: &Path,
    arg_lists: &[Vec<&str>],
    rounds: usize,
) -> Result<Latency> {
    time_each(arg_lists, rounds, |args| {
        let out = std::process::Command::new(program)
            .args(args)
            .arg("--index")
            .arg(index_dir)
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", program.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "{} {} failed: {}",
            program.display(),
            args.join(" "),
            out.status
        );
        Ok(())
    })
}

/// Percentiles (nearest rank) of latencies in milliseconds.
pub fn latency(queries: usize, mut ms: Vec<f64>) -> Latency {
    if ms.is_empty() {
        return Latency::default();
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| ms[((p / 100.0 * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    Latency {
        queries,
        runs: ms.len(),
        p50_ms: pct(50.0),
        p95_ms: pct(95.0),
        p99_ms: pct(99.0),
        mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let l = latency(1, (1..=100).map(|i| i as f64).collect());
        assert_eq!((l.p50_ms, l.p95_ms, l.p99_ms), (50.0, 95.0, 99.0));
        let l = latency(1, vec![3.0, 1.0, 2.0]);
        assert_eq!(l.p50_ms, 2.0);
        assert_eq!(l.p99_ms, 3.0);
    }
}
