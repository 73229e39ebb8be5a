//! `newsindex mentions`: every mention of a person (or organisation, or place).

use std::path::PathBuf;

use anyhow::Result;

use super::exit;
use super::output::{json_line, marks, use_color};
use crate::entities::EntityType;
use crate::index::NewsIndex;
use crate::search::highlight::mark;
use crate::search::mentions::mentions;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The name: a full name ("Sergei Chemezov") lists that person only; a surname alone
    /// ("Chemezov") lists everyone it resolves to, and mentions of the surname on its own.
    /// Titles and possessives are ignored ("Mr. Chemezov's").
    name: String,

    /// Index folder.
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Only entities of this type: person, org or location (default: any).
    #[arg(long = "type", value_name = "TYPE", value_parser = super::output::entity_type)]
    kind: Option<EntityType>,

    /// One JSON object per mention, then a summary object {"articles", "mentions"}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let kind = args.kind;
    let index = NewsIndex::open(&args.index)?;
    let report = mentions(&index, &args.name, kind)?;
    if args.json {
        for a in &report.articles {
            for m in &a.mentions {
                json_line(m);
            }
        }
        json_line(&serde_json::json!({
            "summary": true,
            "query": report.query,
            "articles": report.total_articles,
            "mentions": report.total_mentions,
        }));
        return Ok(exit::OK);
    }
    let (open, close) = marks(use_color());
    for a in &report.articles {
        println!(
            "{} | {} | {} ({} mention{})",
            a.date.as_deref().unwrap_or("no date"),
            a.headline,
            a.article_id,
            a.count,
            if a.count == 1 { "" } else { "s" }
        );
        for m in &a.mentions {
            let text = mark(&m.passage, &[m.highlight], open, close);
            let label = if m.in_headline { "headline" } else { "body" };
            println!(
                "    [{label} {}-{}] {} -> {}",
                m.start, m.end, m.surface, m.canonical
            );
            println!("      {}", text.replace('\n', "\n      "));
        }
        println!();
    }
    println!(
        "{} articles, {} mentions of {:?}",
        report.total_articles, report.total_mentions, report.query
    );
    Ok(exit::OK)
}
