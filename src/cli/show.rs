//! `newsindex show`: print one article in full.

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::exit;
use super::output::json_line;
use crate::index::NewsIndex;
use crate::search::get_article;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Article id, as printed by `search` (e.g. `bbc/sport/199.txt`, `reuters-42`).
    id: String,

    /// Index folder.
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Print the stored article as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let index = NewsIndex::open_for_search(&args.index)?;
    let Some(a) = get_article(&index, &args.id)? else {
        bail!(
            "no article with id {:?} in {}",
            args.id,
            args.index.display()
        );
    };
    if args.json {
        json_line(&a);
    } else {
        println!("{}", a.headline);
        println!(
            "{} | {} | {}",
            a.date.as_deref().unwrap_or("no date"),
            a.id,
            a.file
        );
        println!();
        println!("{}", a.body);
    }
    Ok(exit::OK)
}
