//! `newsindex mentions`: every mention of a person (or organisation, or place).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use super::exit;
use super::output::{marks, use_color};
use crate::entities::EntityType;
use crate::index::NewsIndex;
use crate::search::highlight::mark;
use crate::search::mentions::for_each_article;

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
    let index = NewsIndex::open(&args.index)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match print(&index, &args, &mut out).and_then(|()| Ok(out.flush()?)) {
        Ok(()) => Ok(exit::OK),
        // `newsindex mentions X | head`: the reader went away, which is not an error.
        Err(e) if is_broken_pipe(&e) => Ok(exit::OK),
        Err(e) => Err(e),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Streams the mentions, article by article, as they are decoded.
fn print(index: &NewsIndex, args: &Args, out: &mut impl Write) -> Result<()> {
    let (open, close) = marks(use_color());
    let totals = for_each_article(index, &args.name, args.kind, |a| {
        if args.json {
            for m in &a.mentions {
                serde_json::to_writer(&mut *out, m)?;
                out.write_all(b"\n")?;
            }
            return Ok(());
        }
        let n = a.mentions.len();
        writeln!(
            out,
            "{} | {} | {} ({} mention{})",
            a.date.unwrap_or("no date"),
            a.headline,
            a.article_id,
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for m in &a.mentions {
            let text = mark(m.passage, &[m.highlight], open, close);
            let label = if m.in_headline { "headline" } else { "body" };
            writeln!(
                out,
                "    [{label} {}-{}] {} -> {}",
                m.start, m.end, m.surface, m.canonical
            )?;
            writeln!(out, "      {}", text.replace('\n', "\n      "))?;
        }
        writeln!(out)?;
        Ok(())
    })?;
    if args.json {
        serde_json::to_writer(
            &mut *out,
            &serde_json::json!({
                "summary": true,
                "query": args.name,
                "articles": totals.articles,
                "mentions": totals.mentions,
            }),
        )?;
        out.write_all(b"\n")?;
    } else {
        writeln!(
            out,
            "{} articles, {} mentions of {:?}",
            totals.articles, totals.mentions, args.name
        )?;
    }
    Ok(())
}
