//! `newsindex optimize`: merge the index into one segment per core, for the fastest ranked
//! search.

use std::path::PathBuf;

use anyhow::Result;

use super::exit;
use super::output::json_line;
use crate::index::merges::{optimize, Optimized};
use crate::index::NewsIndex;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Index folder.
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Segments to merge into, of about equal size (default: one per core). A search runs
    /// over the segments on every core: on two cores, two segments searched fastest.
    #[arg(long, value_name = "N", default_value_t = crate::index::merges::default_segments(), value_parser = super::output::thread_count)]
    segments: usize,

    /// When an ingest is writing to the index, wait for it to finish instead of failing.
    #[arg(long)]
    wait: bool,

    /// Print what was done as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let index = NewsIndex::open(&args.index)?;
    let done = optimize(&index, args.segments, args.wait)?;
    if args.json {
        json_line(&done);
    } else {
        print_summary(&done);
    }
    Ok(exit::OK)
}

/// One line, also printed by `ingest --optimize`.
pub(super) fn print_summary(o: &Optimized) {
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "segments {} -> {} ({:.1} MB -> {:.1} MB, {} deleted documents dropped) in {:.2} s",
        o.segments_before,
        o.segments_after,
        mb(o.bytes_before),
        mb(o.bytes_after),
        o.deleted_docs,
        o.seconds
    );
}
