//! The command line: one module per subcommand, each parsing its flags and printing; the work
//! is done by the library.

mod bench;
mod check;
mod entities;
mod eval;
mod ingest;
mod mentions;
mod ner_eval;
mod optimize;
mod output;
mod search;
mod show;
mod stats;
mod train_ner;

use clap::{Parser, Subcommand};

/// Search engine for news archives: ingest folders of articles, then search ranked passages.
#[derive(Parser, Debug)]
#[command(name = "newsindex", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Index files and folders of articles (incremental: unchanged files are skipped).
    Ingest(ingest::Args),
    /// Search the index: best passages of the best articles.
    Search(search::Args),
    /// Show what an index holds.
    Stats(stats::Args),
    /// Every mention of a person (or organisation, or place), article by article.
    Mentions(mentions::Args),
    /// The most mentioned entities, overall or among the articles matching a query.
    Entities(entities::Args),
    /// Precision, recall and F1 of the entity tagger on a CoNLL-format file.
    NerEval(ner_eval::Args),
    /// Train the entity tagger from the corpora (reproduces data/ner/model.bin).
    TrainNer(train_ner::Args),
    /// Print one article in full.
    Show(show::Args),
    /// Merge the index into one segment per core: ranked search gets faster (run it once the
    /// archive is complete; an ingest keeps merges small to bound its memory).
    Optimize(optimize::Args),
    /// Verify an index: segments, stored documents, the links between them; lists problems.
    Check(check::Args),
    /// Time an index build (every stage), memory, index size and search latency.
    Bench(bench::Args),
    /// Measure ranking quality against relevance judgements (MAP, nDCG@10, P@10, MRR@10,
    /// recall@100).
    Eval(eval::Args),
}

/// Exit codes, documented in the README.
pub mod exit {
    /// Everything went well.
    pub const OK: i32 = 0;
    /// A usage or fatal error (bad flags, unreadable index, bad query).
    pub const FATAL: i32 = 1;
    /// Some inputs failed and were reported; everything else was indexed.
    pub const PARTIAL: i32 = 2;
    /// Inputs were given but none could be indexed.
    pub const NOTHING_INDEXED: i32 = 3;
    /// `check` found problems in the index.
    pub const DAMAGED: i32 = 4;
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest(a) => ingest::run(a),
        Command::Search(a) => search::run(a),
        Command::Stats(a) => stats::run(a),
        Command::Show(a) => show::run(a),
        Command::Check(a) => check::run(a),
        Command::Optimize(a) => optimize::run(a),
        Command::NerEval(a) => ner_eval::run(a),
        Command::TrainNer(a) => train_ner::run(a),
        Command::Mentions(a) => mentions::run(a),
        Command::Entities(a) => entities::run(a),
        Command::Bench(a) => bench::run_cli(a),
        Command::Eval(a) => eval::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("newsindex: error: {e:#}");
            exit::FATAL
        }
    }
}
