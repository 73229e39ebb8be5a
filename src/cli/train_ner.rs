//! `newsindex train-ner`: train the named-entity tagger (averaged perceptron) and save the model.

use std::path::PathBuf;

use anyhow::Result;

use crate::entities::{eval, train};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Training file(s) in CoNLL format (repeatable).
    #[arg(long = "train", default_values_os_t = vec![PathBuf::from("../shared/corpora/conll2003/eng.train")])]
    train: Vec<PathBuf>,

    /// Development file: the epoch with the best dev F1 is kept.
    #[arg(long, default_value = "../shared/corpora/conll2003/eng.testa")]
    dev: PathBuf,

    /// Folder of unlabeled news (bbc/, reuters21578/) for word clusters, used when the
    /// cluster table does not exist yet.
    #[arg(long, default_value = "../shared/corpora")]
    corpora: PathBuf,

    /// Cluster table (word, bit path, count): read if present, otherwise learned and written.
    #[arg(long, default_value = "data/ner/clusters.txt")]
    clusters: PathBuf,

    /// Gazetteer folder (places.txt, first_names.txt, surnames.txt, org_suffixes.txt, person_titles.txt).
    #[arg(long, default_value = "data/ner/gazetteers")]
    gazetteers: PathBuf,

    /// Training epochs.
    #[arg(long, default_value_t = 15)]
    epochs: usize,

    /// log2 of the number of hashed feature rows.
    #[arg(long, default_value_t = 20)]
    bits: u32,

    /// Seed for the order of training articles.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Where to write the model.
    #[arg(long, default_value = "data/ner/model.bin")]
    out: PathBuf,

    /// Print one JSON object (final dev scores) instead of progress text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<i32> {
    let cfg = train::TrainConfig {
        train: args.train.clone(),
        dev: args.dev.exists().then(|| args.dev.clone()),
        epochs: args.epochs,
        corpora: args.corpora.clone(),
        gazetteers: args.gazetteers.clone(),
        clusters: Some(args.clusters.clone()),
        bits: args.bits,
        seed: args.seed,
    };
    let quiet = args.json;
    let mut log = |s: &str| {
        if !quiet {
            eprintln!("{s}");
        }
    };
    let tagger = train::train(&cfg, &mut log)?;
    tagger.save(&args.out)?;
    let size = std::fs::metadata(&args.out)?.len();
    let report = match &cfg.dev {
        Some(d) => Some(eval::evaluate(
            &tagger,
            &crate::entities::conll::read_conll(d)?,
        )),
        None => None,
    };
    if args.json {
        let v = serde_json::json!({
            "model": args.out,
            "bytes": size,
            "dev": report,
        });
        println!("{v}");
    } else {
        println!("saved {} ({:.1} MB)", args.out.display(), size as f64 / 1e6);
        if let Some(r) = report {
            print!("{}", r.table());
        }
    }
    Ok(0)
}
