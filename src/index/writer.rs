//! Building and updating the index from input files.
//!
//! The pipeline: walk -> (in parallel, per file) read, hash, parse, split passages, build
//! documents -> (in order) de-duplicate, replace the file's old documents, add -> commit.
//!
//! Re-ingesting is incremental and idempotent. Each file has a *file document* recording its
//! size, mtime, content hash and the articles it produced. A file whose size and mtime are
//! unchanged is skipped without being read; a file whose bytes hash the same is skipped after
//! reading; a changed file has all its documents deleted and re-added in the same commit, so a
//! reader never sees half an update. `prune` deletes the documents of files that no longer exist.
//!
//! An article whose headline and body are byte-identical to one already indexed is counted as
//! a duplicate and not indexed again. The file that held the duplicate remembers it, so that if
//! the original goes away the duplicate is indexed in its place on the same run.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use tantivy::{TantivyDocument, Term};

use super::passages::split_passages;
use super::queue::{Gate, QueuedDoc, Writer};
use super::schema::{
    entity_count_value, entity_key, label_key, surname_key, Fields, KIND_ARTICLE, KIND_PASSAGE,
};
use super::state::{digest, FileRecord, State};
use super::{NewsIndex, StoredArticle};
use crate::entities::{DocEntities, EntityType, Mention, Tagger};
use crate::ingest::walk::{walk, FileList, InputFile, WalkErrorKind};
use crate::ingest::{parse_reader, Article, Format, ParseOptions, RecordError};
use tantivy::indexer::UserOperation;

/// Tantivy indexing threads by default: half the cores. Tagging and preparing documents cost
/// about as much CPU as tantivy's indexing, and run on the other half. On two cores (`bench`),
/// one indexing thread built 1 GB in 231 to 234 s against 250 s with two, and 250 MB in 46 to
/// 52 s against 57 to 58 s: two threads split the heap, which made twice the segments and
/// twice the merging. The price: one thread's larger segments make larger merges, and the
/// peak memory of a 1 GB ingest rose from 734 to 834 MB (2 GB: 783 to 932 MB).
pub fn default_threads() -> usize {
    (cores() / 2).max(1)
}

/// Threads that read, parse, tag and split articles by default: one per core (rayon's default).
/// Measured on two cores (`benches/RESULTS.md`, the preparing-threads round): one preparing
/// thread, which leaves the indexing thread a core of its own, made a 250 MB ingest faster but
/// a 1 GB one 9% slower, where merges need the second core too.
pub fn default_prep_threads() -> usize {
    cores()
}

/// The preparing threads' names start with this (`bench` reports their CPU apart).
pub const PREP_THREAD_PREFIX: &str = "ni-prep-";

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub parse: ParseOptions,
    /// Only files with these extensions (lowercase, no dot); empty = every supported type.
    pub extensions: Vec<String>,
    /// Delete the articles of files that no longer exist.
    pub prune: bool,
    /// Heap for tantivy's writer, in bytes (split between its threads).
    pub memory_bytes: usize,
    /// Tantivy indexing threads; see [`default_threads`].
    pub threads: usize,
    /// Threads that prepare documents (read, parse, tag, split); None: see
    /// [`default_prep_threads`].
    pub prep_threads: Option<usize>,
    /// Commit after at least this many new articles (None: once at the end).
    pub commit_every: Option<usize>,
    /// When another process holds the index's writer lock, wait for it instead of failing.
    pub wait: bool,
    /// Stop at the first input error (what was fully indexed before it is committed).
    pub strict: bool,
    /// Tag people, organisations and places with the built-in model.
    pub entities: bool,
    /// End by merging the small segments the run left beside large ones
    /// (`merges::merge_tail`); off when `optimize` follows, which merges them anyway.
    pub merge_tail: bool,
    /// Also time each preparing stage's CPU (`StageSeconds::*_cpu`), with a system call on
    /// each stage's boundaries: about 0.5% of a build's CPU, so `bench` asks for it and
    /// `ingest` does not.
    pub stage_cpu: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            parse: ParseOptions::default(),
            extensions: Vec::new(),
            prune: false,
            memory_bytes: 192 << 20,
            threads: default_threads(),
            prep_threads: None,
            commit_every: None,
            wait: false,
            strict: false,
            entities: true,
            merge_tail: true,
            stage_cpu: false,
        }
    }
}

/// One input problem, reported and skipped.
#[derive(Debug, Clone, Serialize)]
pub struct IngestError {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub kind: String,
    pub reason: String,
}

/// What an ingest run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    /// Input files found.
    pub files: usize,
    /// Files read and (re)indexed this run.
    pub files_indexed: usize,
    /// Files skipped because they had not changed since the last run.
    pub files_unchanged: usize,
    /// Files read a second time in this run (or after being found unchanged) because an
    /// article they hold as a duplicate lost its original; their articles are counted again
    /// in `articles` and `articles_removed`.
    pub files_reread: usize,
    /// Files whose articles were removed because the file is gone (`--prune`).
    pub files_removed: usize,
    /// Files passed over: unsupported types, README/LICENSE files, excluded extensions.
    pub skipped: usize,
    /// Articles added this run.
    pub articles: usize,
    /// Articles of changed or removed files deleted this run.
    pub articles_removed: usize,
    /// Articles not indexed because an identical headline + body is already indexed.
    pub duplicates: usize,
    /// Passages added this run.
    pub passages: usize,
    pub errors: Vec<IngestError>,
    /// Number of errors of each kind.
    pub error_counts: BTreeMap<String, usize>,
    /// Bytes of input read.
    pub bytes: u64,
    pub seconds: f64,
    pub mb_per_s: f64,
    /// Articles in the index after this run.
    pub index_articles: u64,
    /// Where the time went.
    pub stages: StageSeconds,
    /// Tokens seen by the entity tagger (0 when entities are off).
    pub tokens: u64,
    /// Segments of the index after this run.
    pub segments: usize,
    /// Small segments merged into one at the end of the run (0: none; see
    /// `merges::merge_tail`).
    pub tail_merged: usize,
}

/// Time spent in each stage of the pipeline. Read, parse, entities and passages run on
/// several threads at once: their figures are thread-seconds, summed over threads, and include
/// the time a thread waited for a core (on a busy machine, much of it); their `_cpu` twins are
/// the CPU those threads used in the stage, which is what the stage costs. Read includes
/// hashing each file's content. Index is the wall time until the last document was handed to
/// tantivy; commit and merge are wall time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageSeconds {
    pub read: f64,
    pub parse: f64,
    pub entities: f64,
    pub passages: f64,
    pub index: f64,
    pub commit: f64,
    pub merge: f64,
    /// CPU seconds of the preparing stages, with `IngestOptions::stage_cpu` (and where the
    /// platform has a thread CPU clock); else `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities_cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passages_cpu: Option<f64>,
}

/// One stage's thread-summed wall and CPU time, in nanoseconds.
#[derive(Default)]
struct StageClock {
    wall: AtomicU64,
    cpu: AtomicU64,
}

/// Stage timers shared by the pipeline's threads.
#[derive(Default)]
struct Stages {
    /// Whether laps read the thread CPU clock: asked for (`IngestOptions::stage_cpu`) and
    /// the platform has one.
    cpu: bool,
    read: StageClock,
    parse: StageClock,
    entities: StageClock,
    passages: StageClock,
    tokens: AtomicU64,
}

impl Stages {
    /// A stage's thread-seconds, and its CPU seconds if they were timed.
    fn seconds(&self, clock: &StageClock) -> (f64, Option<f64>) {
        let secs = |ns: &AtomicU64| ns.load(Ordering::Relaxed) as f64 / 1e9;
        (secs(&clock.wall), self.cpu.then(|| secs(&clock.cpu)))
    }
}

/// Times consecutive stages on one thread: each `to` charges the time since the previous one
/// (or the start) to a stage, so back-to-back stages share one clock reading.
struct Lap {
    wall: Instant,
    /// The thread's CPU clock at the last reading, if the stages time CPU.
    cpu: Option<u64>,
}

impl Lap {
    fn start(stages: &Stages) -> Self {
        Lap {
            wall: Instant::now(),
            cpu: stages.cpu.then(thread_cpu_ns).flatten(),
        }
    }

    fn to(&mut self, clock: &StageClock) {
        let now = Instant::now();
        clock.wall.fetch_add(
            now.duration_since(self.wall).as_nanos() as u64,
            Ordering::Relaxed,
        );
        self.wall = now;
        if let Some(then) = self.cpu {
            let now = thread_cpu_ns().unwrap_or(then);
            clock
                .cpu
                .fetch_add(now.saturating_sub(then), Ordering::Relaxed);
            self.cpu = Some(now);
        }
    }
}

/// CPU time of the calling thread, in nanoseconds: a system call (about 0.2 µs here).
#[cfg(unix)]
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(not(unix))]
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    None
}

/// What the parallel stage needs to prepare a file's documents.
#[derive(Clone, Copy)]
struct Prep<'a> {
    /// Where files and articles are prepared, never rayon's global pool (see
    /// [`default_prep_threads`]).
    pool: &'a rayon::ThreadPool,
    tagger: Option<&'a Tagger>,
    parse: &'a ParseOptions,
    fields: &'a Fields,
    stages: &'a Stages,
}

/// Progress events for a progress bar.
pub trait Progress: Sync {
    fn start(&self, _files: u64, _bytes: u64) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self) {}
}

/// A progress sink that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// An article prepared in parallel, waiting for its id and duplicate check.
struct PreparedArticle {
    default_id: String,
    content_hash: String,
    stored: StoredArticle,
    /// Passage documents, without the article id yet.
    passages: Vec<TantivyDocument>,
    /// The article document so far: its entities (the rest is added once its id is known).
    article_doc: TantivyDocument,
}

/// A batch of files, each file's preparation, and the bytes read.
type PreparedBatch = (
    Vec<InputFile>,
    Vec<Result<Option<PreparedFile>, FileFailure>>,
    u64,
);

struct PreparedFile {
    hash: String,
    articles: Vec<PreparedArticle>,
    errors: Vec<RecordError>,
}

/// Files at least this large are streamed: parsed from a reader in chunks of articles, so
/// memory stays bounded whatever the file size.
const STREAM_FILE_BYTES: u64 = 16 << 20;
/// Articles per chunk when streaming a large file.
const STREAM_CHUNK_ARTICLES: usize = 2048;

/// Ingests `roots` into `index`. Input problems are collected in the summary, never fatal;
/// an error is returned only when the index itself cannot be written.
pub fn ingest(
    index: &NewsIndex,
    roots: &[PathBuf],
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestSummary> {
    let started = Instant::now();
    let mut summary = IngestSummary::default();
    // Take the writer lock first, so a second ingest fails (or starts waiting) at once.
    let writer = open_writer(index, opts)?;
    let walked = walk(roots, &opts.extensions);
    summary.files = walked.files.len();
    summary.skipped = walked.skipped;
    for e in &walked.errors {
        let kind = match e.kind {
            WalkErrorKind::SymlinkLoop => "symlink_loop",
            WalkErrorKind::Unreadable => "unreadable",
            WalkErrorKind::NotFound => "not_found",
            WalkErrorKind::Unsupported => "unsupported",
        };
        summary.push_error(&e.path.to_string_lossy(), None, kind, &e.reason);
        if opts.strict {
            return Err(strict_error(&summary));
        }
    }

    let state = State::load(index)?;
    let stages = Stages {
        cpu: opts.stage_cpu && thread_cpu_ns().is_some(),
        ..Default::default()
    };
    let prep_threads = opts.prep_threads.unwrap_or_else(default_prep_threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(prep_threads.max(1))
        .thread_name(|i| format!("{PREP_THREAD_PREFIX}{i}"))
        .build()
        .context("cannot start the threads that prepare documents")?;
    let mut run = Run {
        prep: Prep {
            pool: &pool,
            tagger: opts.entities.then(Tagger::builtin),
            parse: &opts.parse,
            fields: &index.fields,
            stages: &stages,
        },
        index,
        opts,
        progress,
        writer,
        state,
        summary,
        since_commit: 0,
        gate: Default::default(),
        rereading: false,
    };

    // Which files need reading: new ones, and those whose size or mtime changed.
    let files = walked.files;
    // Positions in `files`, 4 bytes each: this list lives as long as the first round.
    let mut todo: Vec<u32> = Vec::new();
    for i in 0..files.len() {
        let key = files.path(i).to_string_lossy();
        run.state.mark_seen(&key);
        let f = files.get_stat(i);
        match run.state.record(&key) {
            Some(r) if r.size == f.0 && u128::from(r.mtime) == f.1 => {
                run.summary.files_unchanged += 1
            }
            _ => todo.push(u32::try_from(i).expect("fewer than 2^32 files")),
        }
    }
    if opts.prune {
        for path in run.state.gone_files() {
            run.summary.articles_removed += run.state.remove_file(&run.writer, index, &path);
            run.summary.files_removed += 1;
        }
    }

    progress.start(
        todo.len() as u64,
        todo.iter().map(|&i| files.size(i as usize)).sum(),
    );
    let mut round = (files, todo);
    loop {
        let (mut files, todo) = round;
        // Large files are taken out first: the small files' list is released as they go.
        let (large, small): (Vec<u32>, Vec<u32>) = todo
            .into_iter()
            .partition(|&i| files.size(i as usize) >= STREAM_FILE_BYTES);
        let large: Vec<InputFile> = large.iter().map(|&i| files.get(i as usize)).collect();
        run.small_files(&mut files, small)?;
        drop(files);
        for f in large {
            run.large_file(&f)?;
        }
        // Files whose duplicates lost their original this run are indexed again.
        let orphans: FileList = run.state.orphaned_duplicates(index).into_iter().collect();
        if orphans.is_empty() {
            break;
        }
        let all = (0..orphans.len() as u32).collect();
        round = (orphans, all);
        run.rereading = true;
    }
    let Run {
        mut writer,
        mut summary,
        state,
        ..
    } = run;
    // The run's bookkeeping (about 270 bytes an article) is not needed for the last commit
    // and merges, which are the peak of an ingest's memory: free it first.
    drop(state);
    let t = Instant::now();
    summary.stages.index = started.elapsed().as_secs_f64();
    writer.commit().context("commit failed")?;
    summary.stages.commit = t.elapsed().as_secs_f64();
    let t = Instant::now();
    writer
        .wait_merging_threads()
        .context("merging segments failed")?;
    if opts.merge_tail {
        let tail = super::merges::merge_tail(index)
            .context("the ingest is committed, but merging its small segments failed")?;
        // k segments became one.
        if tail.segments_after < tail.segments_before {
            summary.tail_merged = tail.segments_before - tail.segments_after + 1;
        }
    }
    summary.stages.merge = t.elapsed().as_secs_f64();
    let st = &mut summary.stages;
    (st.read, st.read_cpu) = stages.seconds(&stages.read);
    (st.parse, st.parse_cpu) = stages.seconds(&stages.parse);
    (st.entities, st.entities_cpu) = stages.seconds(&stages.entities);
    (st.passages, st.passages_cpu) = stages.seconds(&stages.passages);
    summary.tokens = stages.tokens.load(Ordering::Relaxed);
    progress.finish();
    index.reload()?;
    summary.index_articles = super::stats::count_kind(index, KIND_ARTICLE)?;
    summary.segments = index.index.searchable_segment_ids()?.len();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.mb_per_s = if summary.seconds > 0.0 {
        summary.bytes as f64 / 1e6 / summary.seconds
    } else {
        0.0
    };
    Ok(summary)
}

/// The state of one ingest run.
struct Run<'a> {
    prep: Prep<'a>,
    index: &'a NewsIndex,
    opts: &'a IngestOptions,
    progress: &'a dyn Progress,
    writer: Writer,
    /// Bounds the documents waiting for tantivy's indexing threads.
    gate: std::sync::Arc<Gate>,
    state: State,
    summary: IngestSummary,
    since_commit: usize,
    /// In a round of files read again for orphaned duplicates.
    rereading: bool,
}

impl Run<'_> {
    /// Reads and prepares files in parallel, batch by batch, and adds them in order. The next
    /// batch is prepared (on the rayon pool, driven from a helper thread) while this thread hands
    /// the current one to tantivy, so tagging and indexing overlap instead of taking turns.
    /// `which` are the positions in `files` to ingest, in increasing order; each batch's
    /// `InputFile`s are made only when it is prepared, and the part of `files` before the next
    /// batch is then released.
    fn small_files(&mut self, files: &mut FileList, which: Vec<u32>) -> Result<()> {
        if which.is_empty() {
            return Ok(());
        }
        debug_assert!(which.windows(2).all(|w| w[0] < w[1]), "positions in order");
        // The old hashes are looked up before any file of this round is processed: each file
        // occurs once in a round, so no file's record changes before the file itself is added.
        // Only files with a record are kept (none in a first ingest); a digest of 0 forces a
        // read (probability 2^-128).
        let old: FxHashMap<u32, u128> = which
            .iter()
            .filter_map(|&i| {
                let key = files.path(i as usize).to_string_lossy();
                Some((i, self.state.record(&key)?.hash()))
            })
            .collect();
        let ranges = batches(which.iter().map(|&i| files.size(i as usize)));
        let (prep, progress) = (self.prep, self.progress);
        std::thread::scope(|scope| -> Result<()> {
            // One prepared batch waits while the next is prepared: memory stays bounded.
            let (tx, rx) = std::sync::mpsc::sync_channel::<PreparedBatch>(1);
            let (which, old) = (&which, &old);
            scope.spawn(move || {
                for range in ranges {
                    let batch: Vec<InputFile> = which[range.clone()]
                        .iter()
                        .map(|&i| files.get(i as usize))
                        .collect();
                    let next = which.get(range.end).map_or(files.len(), |&i| i as usize);
                    files.release_before(next);
                    let read_bytes = AtomicU64::new(0);
                    let prepared = prep.pool.install(|| {
                        batch
                            .par_iter()
                            .zip(&which[range])
                            .map(|(f, i)| {
                                let old_hash = old.get(i).copied().filter(|&h| h != 0);
                                let r = prep.file(f, old_hash, &read_bytes);
                                progress.advance(f.size);
                                r
                            })
                            .collect()
                    });
                    let bytes = read_bytes.load(Ordering::Relaxed);
                    // A closed channel: the adding side stopped (an error, or --strict).
                    if tx.send((batch, prepared, bytes)).is_err() {
                        break;
                    }
                }
            });
            // Each batch's files are dropped once added.
            for (batch, prepared, bytes) in rx {
                self.summary.bytes += bytes;
                self.add_batch(&batch, prepared)?;
            }
            Ok(())
        })
    }

    /// Adds a prepared batch of small files, in order.
    fn add_batch(
        &mut self,
        batch: &[InputFile],
        prepared: Vec<Result<Option<PreparedFile>, FileFailure>>,
    ) -> Result<()> {
        for (f, result) in batch.iter().zip(prepared) {
            match result {
                Ok(None) => self.unchanged(f)?,
                Ok(Some(pf)) => {
                    if self.opts.strict && !pf.errors.is_empty() {
                        let e = &pf.errors[0];
                        let key = f.path.to_string_lossy();
                        self.summary
                            .push_error(&key, e.line, &kind_name(&e.kind), &e.reason);
                        return self.strict_stop();
                    }
                    let mut record = self.state.begin_file(
                        &self.writer,
                        self.index,
                        f,
                        pf.hash,
                        &mut self.summary.articles_removed,
                    );
                    for a in pf.articles {
                        self.add(&mut record, a)?;
                    }
                    self.finish_file(f, record, pf.errors)?;
                }
                Err(failure) => {
                    self.failed(f, failure);
                    if self.opts.strict {
                        return self.strict_stop();
                    }
                }
            }
            // Commit between files (never inside one): a commit always holds whole files.
            self.maybe_commit()?;
        }
        Ok(())
    }

    /// Streams one large file: hash it, then parse it in chunks that are prepared in
    /// parallel while the next chunk is parsed.
    fn large_file(&mut self, f: &InputFile) -> Result<()> {
        if let Some(e) = crate::ingest::too_large(f.format, f.size) {
            self.progress.advance(f.size);
            self.failed(
                f,
                FileFailure {
                    kind: kind_name(&e.kind),
                    reason: e.reason,
                },
            );
            return Ok(());
        }
        let key = f.path.to_string_lossy().into_owned();
        let stages = self.prep.stages;
        let mut lap = Lap::start(stages);
        let hashed = hash_file(&f.path);
        lap.to(&stages.read);
        let hash = match hashed {
            Ok(h) => h,
            Err(failure) => {
                self.failed(f, failure);
                return Ok(());
            }
        };
        if self
            .state
            .record(&key)
            .is_some_and(|r| r.hash() == digest(&hash))
        {
            self.progress.advance(f.size);
            return self.unchanged(f);
        }
        let file = match std::fs::File::open(&f.path) {
            Ok(file) => file,
            Err(e) => {
                self.failed(f, io_failure(e));
                return Ok(());
            }
        };
        let mut record = self.state.begin_file(
            &self.writer,
            self.index,
            f,
            hash,
            &mut self.summary.articles_removed,
        );
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Article>>(2);
        let mut record_errors = Vec::new();
        let parse_opts = self.prep.parse;
        let stages = self.prep.stages;
        let outcome = std::thread::scope(|scope| -> Result<Result<(), FileFailure>> {
            let parser =
                scope.spawn(move || {
                    let mut reader = BufReader::with_capacity(1 << 20, file);
                    let mut chunk = Vec::with_capacity(STREAM_CHUNK_ARTICLES);
                    let mut errors = Vec::new();
                    let mut lap = Lap::start(stages);
                    let result =
                        parse_reader(&f.path, &mut reader, f.format, parse_opts, &mut |item| {
                            match item {
                                Ok(a) => {
                                    chunk.push(a);
                                    if chunk.len() == STREAM_CHUNK_ARTICLES {
                                        let _ = tx.send(std::mem::replace(
                                            &mut chunk,
                                            Vec::with_capacity(STREAM_CHUNK_ARTICLES),
                                        ));
                                    }
                                }
                                Err(e) => errors.push(e),
                            }
                        });
                    // The wall figure includes time blocked on a full channel (the parser is not
                    // the bottleneck when that happens); the CPU figure does not.
                    lap.to(&stages.parse);
                    if !chunk.is_empty() {
                        let _ = tx.send(chunk);
                    }
                    (result, errors)
                });
            for chunk in rx {
                let bytes: u64 = chunk
                    .iter()
                    .map(|a| (a.headline.len() + a.body.len()) as u64)
                    .sum();
                let prep = &self.prep;
                let prepared: Vec<PreparedArticle> = prep
                    .pool
                    .install(|| chunk.into_par_iter().map(|a| prep.article(a, f)).collect());
                for a in prepared {
                    self.add(&mut record, a)?;
                }
                self.progress.advance(bytes);
            }
            let (result, errors) = parser.join().expect("parser thread panicked");
            record_errors = errors;
            Ok(result.map_err(|e| FileFailure {
                kind: kind_name(&e.kind),
                reason: e.reason,
            }))
        })?;
        self.summary.bytes += f.size;
        let outcome = match outcome {
            Ok(()) if self.opts.strict && !record_errors.is_empty() => {
                let e = &record_errors[0];
                Err(FileFailure {
                    kind: kind_name(&e.kind),
                    reason: match e.line {
                        Some(line) => format!("line {line}: {}", e.reason),
                        None => e.reason.clone(),
                    },
                })
            }
            other => other,
        };
        match outcome {
            Ok(()) => self.finish_file(f, record, record_errors)?,
            Err(failure) => {
                // Nothing of a file that fails part-way is kept; its record is not written,
                // so the next run tries it again.
                self.writer
                    .delete_term(Term::from_field_text(self.index.fields.file, &key));
                self.summary.articles -= record.articles.len();
                self.state.abandon_file(&record);
                self.failed(f, failure);
                if self.opts.strict {
                    return self.strict_stop();
                }
            }
        }
        self.maybe_commit()
    }

    /// Ends a `--strict` run at its first input error: what was indexed before is committed.
    fn strict_stop(&mut self) -> Result<()> {
        self.writer.commit().context("commit failed")?;
        Err(strict_error(&self.summary))
    }

    fn add(&mut self, record: &mut FileRecord, a: PreparedArticle) -> Result<()> {
        if self.state.is_duplicate(record, &a.content_hash) {
            self.summary.duplicates += 1;
            return Ok(());
        }
        let PreparedArticle {
            default_id,
            content_hash,
            mut stored,
            passages,
            article_doc,
        } = a;
        let id = self.state.claim(record, default_id, &content_hash);
        let (fields, path) = (&self.index.fields, &record.path);
        let mut doc = article_doc;
        doc.add_text(fields.kind, KIND_ARTICLE);
        doc.add_text(fields.article_id, &id);
        doc.add_text(fields.file, path);
        doc.add_text(fields.content_hash, &content_hash);
        stored.id = id.clone();
        doc.add_text(fields.stored, serde_json::to_string(&stored)?);
        self.summary.passages += passages.len();
        // One batch: tantivy gives a batch to one indexing thread, so an article's documents
        // are consecutive in one segment (article, then passages in order), and merges keep
        // them so. Search relies on it (`index::schema` describes the layout).
        let mut docs = Vec::with_capacity(1 + passages.len());
        docs.push(doc);
        for mut p in passages {
            p.add_text(fields.article_id, &id);
            p.add_text(fields.file, path);
            docs.push(p);
        }
        self.writer
            .run(self.gate.admit(docs).map(UserOperation::Add))?;
        self.summary.articles += 1;
        self.since_commit += 1;
        Ok(())
    }

    fn finish_file(
        &mut self,
        f: &InputFile,
        record: FileRecord,
        errors: Vec<RecordError>,
    ) -> Result<()> {
        let key = f.path.to_string_lossy().into_owned();
        for e in errors {
            self.summary
                .push_error(&key, e.line, &kind_name(&e.kind), &e.reason);
        }
        self.state
            .finish_file(&self.writer, &self.index.fields, record)?;
        if self.rereading {
            self.summary.files_reread += 1;
        } else {
            self.summary.files_indexed += 1;
        }
        Ok(())
    }

    fn unchanged(&mut self, f: &InputFile) -> Result<()> {
        self.summary.files_unchanged += 1;
        self.state.touch(&self.writer, self.index, f)
    }

    fn failed(&mut self, f: &InputFile, failure: FileFailure) {
        let key = f.path.to_string_lossy().into_owned();
        // A file that now fails keeps no stale articles.
        self.summary.articles_removed += self.state.remove_file(&self.writer, self.index, &key);
        self.summary
            .push_error(&key, None, &failure.kind, &failure.reason);
    }

    fn maybe_commit(&mut self) -> Result<()> {
        if self
            .opts
            .commit_every
            .is_some_and(|n| self.since_commit >= n)
        {
            self.writer.commit().context("commit failed")?;
            self.since_commit = 0;
        }
        Ok(())
    }
}

/// Opens the index writer for an ingest: [`lock_writer`] with the pipeline's threads and
/// heap, and merges bounded in bytes.
fn open_writer(index: &NewsIndex, opts: &IngestOptions) -> Result<Writer> {
    let threads = opts.threads.max(1);
    let memory = opts.memory_bytes.max((15 << 20) * threads);
    // One merge thread, not tantivy's default four: concurrent merges of large segments
    // were the peak of an ingest's memory, and on two cores they only compete with indexing.
    let options = tantivy::indexer::IndexWriterOptions::builder()
        .num_worker_threads(threads)
        .memory_budget_per_thread(memory / threads)
        .num_merge_threads(1)
        .build();
    let writer = lock_writer(index, options, opts.wait)?;
    // Merges are bounded in bytes, so the peak stays flat as the archive grows (see
    // `index::merges`).
    writer.set_merge_policy(Box::new(super::merges::BoundedMerges::new(
        index.path.clone(),
        super::merges::MAX_MERGE_BYTES,
    )));
    Ok(writer)
}

/// Takes the index's writer lock (one writer at a time, across processes). On a lock held by
/// another process: fail with a clear message, or with `wait` retry until it is free. Then
/// reloads the reader, so the caller starts from the last commit (another ingest may have
/// committed while we waited).
pub(crate) fn lock_writer(
    index: &NewsIndex,
    options: tantivy::indexer::IndexWriterOptions,
    wait: bool,
) -> Result<Writer> {
    let on_locked = if wait { OnLocked::Wait } else { OnLocked::Fail };
    Ok(lock_writer_if(index, options, on_locked)?.expect("a writer unless skipped"))
}

/// [`lock_writer`], or None at once when another process holds the lock: for work that can
/// be left to a later run (the tail merge after an ingest).
pub(crate) fn try_lock_writer(
    index: &NewsIndex,
    options: tantivy::indexer::IndexWriterOptions,
) -> Result<Option<Writer>> {
    lock_writer_if(index, options, OnLocked::Skip)
}

/// What to do when another process holds the writer lock.
#[derive(Clone, Copy, PartialEq)]
enum OnLocked {
    Fail,
    Wait,
    Skip,
}

fn lock_writer_if(
    index: &NewsIndex,
    options: tantivy::indexer::IndexWriterOptions,
    on_locked: OnLocked,
) -> Result<Option<Writer>> {
    let mut told = false;
    let writer = loop {
        match index
            .index
            .writer_with_options::<QueuedDoc>(options.clone())
        {
            Ok(w) => break w,
            Err(tantivy::TantivyError::LockFailure(..)) if on_locked == OnLocked::Skip => {
                return Ok(None)
            }
            Err(tantivy::TantivyError::LockFailure(..)) if on_locked == OnLocked::Wait => {
                if !told {
                    eprintln!(
                        "newsindex: another ingest is writing to {}; waiting for it to finish",
                        index.path.display()
                    );
                    told = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(tantivy::TantivyError::LockFailure(..)) => anyhow::bail!(
                "another newsindex ingest is writing to {} (the index is locked); \
                 wait for it to finish, or pass --wait",
                index.path.display()
            ),
            Err(e) => {
                return Err(anyhow::Error::new(e).context("cannot open the index for writing"))
            }
        }
    };
    index.reload()?;
    Ok(Some(writer))
}

/// The error that ends a `--strict` run. It carries the summary so far, so the caller can
/// still report (or write with `--errors-json`) what was indexed and what failed.
#[derive(Debug)]
pub struct StrictStop {
    pub summary: IngestSummary,
}

impl std::fmt::Display for StrictStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = self.summary.errors.last().expect("an error was pushed");
        let place = match e.line {
            Some(line) => format!("{}:{line}", e.path),
            None => e.path.clone(),
        };
        write!(
            f,
            "stopped at the first input error (--strict): {place}: {} ({})",
            e.reason, e.kind
        )
    }
}

impl std::error::Error for StrictStop {}

fn strict_error(summary: &IngestSummary) -> anyhow::Error {
    anyhow::Error::new(StrictStop {
        summary: summary.clone(),
    })
}

/// Why a whole file could not be indexed.
struct FileFailure {
    kind: String,
    reason: String,
}

fn io_failure(e: std::io::Error) -> FileFailure {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        "not_found"
    } else {
        "io"
    };
    FileFailure {
        kind: kind.into(),
        reason: format!("cannot read: {e}"),
    }
}

fn hash_file(path: &Path) -> Result<String, FileFailure> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path).map_err(io_failure)?)
        .map_err(io_failure)?;
    Ok(h.finalize().to_hex()[..32].to_string())
}

impl IngestSummary {
    fn push_error(&mut self, path: &str, line: Option<usize>, kind: &str, reason: &str) {
        *self.error_counts.entry(kind.to_string()).or_default() += 1;
        self.errors.push(IngestError {
            path: path.to_string(),
            line,
            kind: kind.to_string(),
            reason: reason.to_string(),
        });
    }
}

/// Splits files (given by their sizes) into consecutive batches of bounded total size, so
/// memory stays bounded while each batch still gives rayon enough work for every core.
fn batches(sizes: impl ExactSizeIterator<Item = u64>) -> Vec<std::ops::Range<usize>> {
    // Small enough that indexing starts soon and the two stages overlap well, large enough
    // that every rayon thread gets many files.
    const BATCH_BYTES: u64 = 4 << 20;
    const BATCH_FILES: usize = 256;
    let mut out = Vec::new();
    let n = sizes.len();
    let (mut start, mut bytes) = (0, 0);
    for (i, size) in sizes.enumerate() {
        bytes += size;
        if bytes >= BATCH_BYTES || i + 1 - start >= BATCH_FILES {
            out.push(start..i + 1);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < n {
        out.push(start..n);
    }
    out
}

impl Prep<'_> {
    /// Reads, hashes and parses one file, and prepares its articles. Ok(None): same content
    /// as `old_hash`.
    fn file(
        &self,
        f: &InputFile,
        old_hash: Option<u128>,
        read_bytes: &AtomicU64,
    ) -> Result<Option<PreparedFile>, FileFailure> {
        let mut lap = Lap::start(self.stages);
        let bytes = std::fs::read(&f.path).map_err(io_failure)?;
        read_bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let hash = blake3::hash(&bytes).to_hex()[..32].to_string();
        lap.to(&self.stages.read);
        if old_hash == Some(digest(&hash)) {
            return Ok(None);
        }
        let mut articles = Vec::new();
        let mut errors = Vec::new();
        let parsed = parse_reader(
            &f.path,
            &mut BufReader::new(&bytes[..]),
            f.format,
            self.parse,
            &mut |item| match item {
                Ok(a) => articles.push(a),
                Err(e) => errors.push(e),
            },
        );
        lap.to(&self.stages.parse);
        parsed.map_err(|e| FileFailure {
            kind: kind_name(&e.kind),
            reason: e.reason,
        })?;
        Ok(Some(PreparedFile {
            hash,
            articles: articles.into_iter().map(|a| self.article(a, f)).collect(),
            errors,
        }))
    }

    /// Tags an article's entities, splits it into passages and builds its documents.
    fn article(&self, a: Article, f: &InputFile) -> PreparedArticle {
        let mut lap = Lap::start(self.stages);
        let ents = self.tagger.map(|t| {
            let e = t.tag_document(&a.headline, &a.body);
            lap.to(&self.stages.entities);
            self.stages
                .tokens
                .fetch_add(e.tokens as u64, Ordering::Relaxed);
            e
        });
        let prepared = prepare_article(a, f, self.fields, ents.as_ref());
        lap.to(&self.stages.passages);
        prepared
    }
}

fn kind_name<T: Serialize>(kind: &T) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "error".into())
}

/// The article's default id: the source's own id, else its file (plus position when the
/// format holds several articles per file).
fn default_id(a: &Article, f: &InputFile) -> String {
    match (&a.source_id, f.format) {
        (Some(id), Format::Sgml) => format!("reuters-{id}"),
        (Some(id), _) => id.clone(),
        (None, Format::Text | Format::Html) => f.rel.clone(),
        (None, _) => format!("{}#{}", f.rel, a.position),
    }
}

fn content_hash(headline: &str, body: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(headline.as_bytes());
    h.update(&[0]);
    h.update(body.as_bytes());
    h.finalize().to_hex()[..32].to_string()
}

/// Parses an ISO 8601 date ("YYYY-MM-DD" or RFC 3339) into a tantivy date.
pub fn parse_iso_date(s: &str) -> Option<tantivy::DateTime> {
    use chrono::{DateTime, NaiveDate};
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(tantivy::DateTime::from_timestamp_secs(dt.timestamp()));
    }
    let d = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    Some(tantivy::DateTime::from_timestamp_secs(
        d.and_hms_opt(0, 0, 0)?.and_utc().timestamp(),
    ))
}

fn prepare_article(
    a: Article,
    f: &InputFile,
    fields: &Fields,
    ents: Option<&DocEntities>,
) -> PreparedArticle {
    let default_id = default_id(&a, f);
    let content_hash = content_hash(&a.headline, &a.body);
    let date = a.date.as_deref().and_then(parse_iso_date);
    let empty = DocEntities::default();
    let ents = ents.unwrap_or(&empty);
    let mut body_mentions = ents.body.iter().peekable();
    let passages = split_passages(&a.body)
        .iter()
        .enumerate()
        .map(|(no, p)| {
            let mut d = TantivyDocument::default();
            d.add_text(fields.kind, KIND_PASSAGE);
            d.add_text(fields.headline, &a.headline);
            d.add_text(fields.body, &a.body[p.start..p.end]);
            if let Some(date) = date {
                d.add_date(fields.date, date);
            }
            if let Some(s) = &a.source {
                d.add_text(fields.source, s);
            }
            for (field, labels) in [
                (fields.topics, &a.topics),
                (fields.places, &a.places),
                (fields.people, &a.people),
                (fields.orgs, &a.orgs),
            ] {
                for l in labels {
                    d.add_text(field, l);
                }
            }
            // Entities of the passage; the headline's go with the lead passage.
            let mut names: Vec<&Mention> = Vec::new();
            if no == 0 {
                names.extend(&ents.headline);
            }
            while let Some(m) = body_mentions.next_if(|m| m.start < p.end) {
                names.push(m);
            }
            for m in names {
                let field = match m.kind {
                    EntityType::Person => fields.person,
                    EntityType::Org => fields.org,
                    EntityType::Location => fields.location,
                    EntityType::Misc => continue,
                };
                d.add_text(field, &m.canonical);
                if m.surface != m.canonical {
                    d.add_text(field, &m.surface);
                }
            }
            d.add_u64(fields.passage_no, no as u64);
            d.add_u64(fields.passage_start, p.char_start as u64);
            d.add_u64(fields.passage_end, p.char_end as u64);
            d
        })
        .collect();
    let article_doc = entity_fields(fields, &a, ents);
    let stored = StoredArticle {
        id: String::new(),
        file: f.path.to_string_lossy().into_owned(),
        position: a.position,
        line: a.line,
        headline: a.headline,
        body: a.body,
        date: a.date,
        url: a.url,
        publisher: a.source,
        dateline: a.dateline,
        topics: a.topics,
        places: a.places,
        people: a.people,
        orgs: a.orgs,
    };
    PreparedArticle {
        default_id,
        content_hash,
        stored,
        passages,
        article_doc,
    }
}

/// The article document's entity fields: per (entity type, canonical name) of the article,
/// its key, surname key, mention count and what `mentions` prints for each mention (see
/// [`super::mention_data`]).
fn entity_fields(fields: &Fields, a: &Article, ents: &DocEntities) -> TantivyDocument {
    // (kind, key) -> (headline mentions, body mentions)
    type Group<'a> = (Vec<&'a Mention>, Vec<&'a Mention>);
    let mut groups: BTreeMap<(EntityType, String), Group> = BTreeMap::new();
    for (in_headline, ms) in [(true, &ents.headline), (false, &ents.body)] {
        for m in ms {
            let g = groups.entry((m.kind, label_key(&m.canonical))).or_default();
            if in_headline { &mut g.0 } else { &mut g.1 }.push(m);
        }
    }
    let mut d = TantivyDocument::default();
    for ((kind, name), (hm, bm)) in groups {
        let key = entity_key(kind.as_str(), &name);
        let surname = surname_key(kind.as_str(), &name);
        d.add_custom(
            fields.mention_data,
            &super::mention_data::encode(
                &surname,
                &key,
                a.date.as_deref(),
                &a.headline,
                &a.body,
                &hm,
                &bm,
            ),
        );
        d.add_text(
            fields.entity_count,
            entity_count_value(&key, hm.len() + bm.len()),
        );
        d.add_text(fields.entity, &key);
        d.add_text(fields.entity_last, &surname);
    }
    d
}
