//! `newsindex stats`: what an index holds.

use std::path::PathBuf;

use anyhow::Result;

use super::exit;
use super::output::json_line;
use crate::index::{stats::stats, NewsIndex};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Index folder.
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let index = NewsIndex::open(&args.index)?;
    let s = stats(&index)?;
    if args.json {
        json_line(&s);
    } else {
        println!("index     {}", s.path);
        println!("articles  {}", s.articles);
        println!("passages  {}", s.passages);
        println!("files     {}", s.files);
        println!("size      {:.1} MB", s.size_bytes as f64 / 1e6);
        println!(
            "segments  {} ({} deleted docs awaiting merge)",
            s.segments, s.deleted_docs
        );
        println!("fields    {}", s.fields.join(", "));
        println!("query fields  {}", s.query_fields.join(", "));
    }
    Ok(exit::OK)
}
