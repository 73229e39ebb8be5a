//! `newsindex entities`: the most mentioned people, organisations and places.

use std::path::PathBuf;

use anyhow::Result;

use super::exit;
use super::output::json_line;
use crate::entities::EntityType;
use crate::index::NewsIndex;
use crate::search::mentions::top_entities;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Count only in the articles matching this query (same syntax as `search`).
    query: Option<String>,

    /// Index folder.
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Only entities of this type: person, org, location or misc.
    #[arg(long = "type", value_name = "TYPE", value_parser = super::output::entity_type)]
    kind: Option<EntityType>,

    /// How many entities to list.
    #[arg(short = 'n', long = "limit", default_value_t = 20)]
    limit: usize,

    /// One JSON object per entity.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let kind = args.kind;
    let index = NewsIndex::open(&args.index)?;
    let top = top_entities(&index, args.query.as_deref(), kind, args.limit)?;
    if args.json {
        for e in &top {
            json_line(e);
        }
    } else {
        println!("{:>8} {:>8}  {:<9} name", "mentions", "articles", "type");
        for e in &top {
            println!(
                "{:>8} {:>8}  {:<9} {}",
                e.mentions, e.articles, e.kind, e.name
            );
        }
    }
    Ok(exit::OK)
}
