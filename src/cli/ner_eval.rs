//! `newsindex ner-eval`: score the named-entity tagger on a CoNLL file (exact-span P/R/F1).

use std::path::PathBuf;

use anyhow::Result;

use crate::entities::{conll, eval, Tagger};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// CoNLL-2003 style file (word ... NER per line, `-DOCSTART-` between articles; IOB1 or BIO).
    file: PathBuf,

    /// Model file to evaluate instead of the built-in one.
    #[arg(long)]
    model: Option<PathBuf>,

    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let loaded;
    let tagger: &Tagger = match &args.model {
        Some(p) => {
            loaded = Tagger::load(p)?;
            &loaded
        }
        None => Tagger::builtin(),
    };
    let docs = conll::read_conll(&args.file)?;
    if docs.is_empty() {
        eprintln!("{}: no sentences", args.file.display());
        return Ok(1);
    }
    let report = eval::evaluate(tagger, &docs);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(0)
}
