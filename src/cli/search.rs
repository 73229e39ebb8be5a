//! `newsindex search`: best passages of the best articles.

use std::path::PathBuf;

use anyhow::Result;

use super::exit;
use super::output::{json_line, marks, use_color};
use crate::index::NewsIndex;
use crate::search::highlight::mark;
use crate::search::{search, search_like, Conjunction, SearchOptions, DEFAULT_CONJUNCTION};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The query: terms, "phrases", AND / OR / NOT, `headline:` / `body:` and other fields,
    /// `date:[2004-01-01 TO 2004-12-31]`, `date:2004-03`, fuzzy terms `chemezof~1`, prefixes
    /// `petro*`. May be left out with `--like`.
    #[arg(required_unless_present = "like")]
    query: Option<String>,

    /// Articles similar to this article id (as printed by `search`).
    #[arg(long, value_name = "ARTICLE_ID", conflicts_with = "query")]
    like: Option<String>,

    /// Index folder.
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Number of articles to show.
    #[arg(short = 'n', long = "limit", default_value_t = 10)]
    limit: usize,

    /// Passages shown per article at most.
    #[arg(long, default_value_t = 1)]
    per_article: usize,

    /// Require every bare term to match (default: any term may match, articles matching more
    /// terms rank higher; chosen by measurement, see the README).
    #[arg(long, conflicts_with = "any")]
    all: bool,

    /// Let any bare term match (the default).
    #[arg(long)]
    any: bool,

    /// Print one JSON object per hit (NDJSON).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let index = NewsIndex::open_for_search(&args.index)?;
    let opts = SearchOptions {
        limit: args.limit,
        per_article: args.per_article,
        conjunction: if args.all {
            Conjunction::All
        } else if args.any {
            Conjunction::Any
        } else {
            DEFAULT_CONJUNCTION
        },
        ..SearchOptions::default()
    };
    let hits = match (&args.like, &args.query) {
        (Some(id), _) => search_like(&index, id, &opts)?,
        (None, Some(q)) => search(&index, q, &opts)?,
        (None, None) => unreachable!("clap requires a query or --like"),
    };
    if args.json {
        for h in &hits {
            json_line(h);
        }
        exit_without_drop(index);
        return Ok(exit::OK);
    }
    let color = use_color();
    let (open, close) = marks(color);
    for h in &hits {
        println!(
            "{:>2}. [{:.2}] {}",
            h.rank,
            h.score,
            mark(&h.headline, &h.headline_highlights, open, close)
        );
        println!(
            "    {} | {} | {}",
            h.date.as_deref().unwrap_or("no date"),
            h.article_id,
            h.source
        );
        println!(
            "    {}",
            mark(&h.passage, &h.highlights, open, close).replace('\n', "\n    ")
        );
        println!();
    }
    if hits.is_empty() {
        eprintln!("no match");
    }
    exit_without_drop(index);
    Ok(exit::OK)
}

/// The process ends right after a search: the index is not dropped, since unmapping each of
/// its files one by one (while the search threads run) costs more than the kernel's teardown
/// of the whole process at exit.
fn exit_without_drop(index: NewsIndex) {
    std::mem::forget(index);
}
