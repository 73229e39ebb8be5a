//! `newsindex ingest`: index files and folders of articles.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use super::exit;
use super::output::json_line;
use crate::index::merges::optimize;
use crate::index::writer::{ingest, IngestOptions, IngestSummary, Progress, StrictStop};
use crate::index::NewsIndex;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or folders to ingest. Folders are walked recursively (symlinks followed, loops
    /// reported); hidden files and README/LICENSE files are passed over.
    #[arg(required = true)]
    paths: Vec<PathBuf>,

    /// Index folder; created if it does not exist.
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    json: bool,

    /// Map a JSON/CSV field to an article field, e.g. `headline=thread.title` or
    /// `body=content.0.text` (targets: headline, body, date, url, source, id). Repeatable.
    #[arg(long = "field", value_name = "TARGET=PATH")]
    fields: Vec<String>,

    /// Only ingest files with these extensions, e.g. `--ext sgm` or `--ext txt,jsonl`.
    #[arg(long = "ext", value_delimiter = ',')]
    extensions: Vec<String>,

    /// Remove the articles of files that no longer exist.
    #[arg(long)]
    prune: bool,

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

    /// Commit after every N new articles (default: once, at the end).
    #[arg(long, value_name = "N")]
    commit_every: Option<usize>,

    /// When another ingest is writing to the index, wait for it to finish instead of failing.
    #[arg(long)]
    wait: bool,

    /// Stop at the first input error (exit code 1); files fully indexed before it are kept.
    #[arg(long)]
    strict: bool,

    /// Write every input error (path, line, kind, reason) to FILE as a JSON array.
    #[arg(long, value_name = "FILE")]
    errors_json: Option<PathBuf>,
    /// Do not tag people, organisations and places (faster; `mentions` and `entities` then
    /// find nothing in these articles).
    #[arg(long)]
    no_entities: bool,

    /// Then merge the index into one segment per core (`newsindex optimize`): ranked search
    /// gets faster on a large archive, for more build time and, while the merges run, the
    /// index's size in mapped pages and in free disk space.
    #[arg(long)]
    optimize: bool,

    /// Do not show a progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, _files: u64, bytes: u64) {
        self.0.set_length(bytes);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

pub fn run(args: Args) -> Result<i32> {
    let mut opts = IngestOptions {
        extensions: args
            .extensions
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect(),
        prune: args.prune,
        memory_bytes: args.memory << 20,
        threads: args.threads,
        prep_threads: args.prep_threads,
        commit_every: args.commit_every,
        wait: args.wait,
        strict: args.strict,
        entities: !args.no_entities,
        merge_tail: !args.optimize,
        ..Default::default()
    };
    opts.parse.fields = super::output::field_map(&args.fields)?;

    let index = NewsIndex::open_or_create(&args.index)?;
    let show_bar = !args.quiet && !args.json && std::io::stderr().is_terminal();
    let bar = ProgressBar::new(0);
    if show_bar {
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template"),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let summary = match ingest(&index, &args.paths, &opts, &Bar(bar)) {
        Ok(summary) => summary,
        Err(err) => {
            // A --strict stop still leaves its errors where --errors-json asked for them.
            if let (Some(path), Some(stop)) = (&args.errors_json, err.downcast_ref::<StrictStop>())
            {
                write_errors_json(path, &stop.summary)?;
            }
            return Err(err);
        }
    };
    if let Some(path) = &args.errors_json {
        write_errors_json(path, &summary)?;
    }
    let optimized = if args.optimize {
        Some(optimize(
            &index,
            crate::index::merges::default_segments(),
            args.wait,
        )?)
    } else {
        None
    };
    if args.json {
        let mut out = serde_json::to_value(&summary)?;
        if let Some(o) = &optimized {
            out["optimized"] = serde_json::to_value(o)?;
        }
        json_line(&out);
    } else {
        print_summary(&summary);
        if let Some(o) = &optimized {
            super::optimize::print_summary(o);
        }
    }
    Ok(exit_code(&summary))
}

fn write_errors_json(path: &std::path::Path, s: &IngestSummary) -> Result<()> {
    use anyhow::Context;
    let json = serde_json::to_vec_pretty(&s.errors)?;
    std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))
}

fn exit_code(s: &IngestSummary) -> i32 {
    if s.errors.is_empty() {
        exit::OK
    } else if s.articles + s.duplicates + s.files_unchanged == 0 {
        exit::NOTHING_INDEXED
    } else {
        exit::PARTIAL
    }
}

fn print_summary(s: &IngestSummary) {
    for e in &s.errors {
        match e.line {
            Some(line) => eprintln!("error: {}:{line}: {} ({})", e.path, e.reason, e.kind),
            None => eprintln!("error: {}: {} ({})", e.path, e.reason, e.kind),
        }
    }
    let reread = match s.files_reread {
        0 => String::new(),
        n => format!(", read again for a duplicate whose original went {n}"),
    };
    println!(
        "files {} (indexed {}, unchanged {}, removed {}, skipped {}{reread})",
        s.files, s.files_indexed, s.files_unchanged, s.files_removed, s.skipped
    );
    println!(
        "articles {} added, {} removed, {} duplicates, {} passages; {} articles in the index",
        s.articles, s.articles_removed, s.duplicates, s.passages, s.index_articles
    );
    let kinds: Vec<String> = s
        .error_counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!(
        "errors {}{}",
        s.errors.len(),
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    );
    let tail = match s.tail_merged {
        0 => String::new(),
        n => format!(", {n} small ones merged into one at the end"),
    };
    println!(
        "{:.1} MB in {:.2} s, {:.1} MB/s; {} segment{}{tail}",
        s.bytes as f64 / 1e6,
        s.seconds,
        s.mb_per_s,
        s.segments,
        if s.segments == 1 { "" } else { "s" }
    );
}
