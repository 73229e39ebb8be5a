//! `newsindex check`: verify an index and list what is wrong.

use std::path::PathBuf;

use anyhow::Result;

use super::exit;
use super::output::json_line;
use crate::index::check::check;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Index folder.
    #[arg(long, short = 'i')]
    index: PathBuf,

    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let r = check(&args.index);
    if args.json {
        json_line(&r);
    } else {
        println!("index     {}", r.path);
        println!("segments  {}", r.segments);
        println!("articles  {}", r.articles);
        println!("passages  {}", r.passages);
        println!("files     {}", r.files);
        println!("mentions  {}", r.mentions);
        if r.ok {
            println!("ok: no problem found");
        } else {
            println!("{} problem(s):", r.problem_count);
            for p in &r.problems {
                println!("  - {p}");
            }
        }
    }
    Ok(if r.ok { exit::OK } else { exit::DAMAGED })
}
