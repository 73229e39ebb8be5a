//! Averaged-perceptron training (greedy decoding with predicted history, as at tagging time).

use super::conll::{read_conll, tags_to_spans, ConllDoc};
use super::features::{tag_of, FeatSpace, Scorer, Workspace, NT};
use super::lexicon::{learn_vocab, unlabeled_texts, ClusterConfig, Lexicon, VocabEntry};
use super::model::Weights;
use super::tokenize::Token;
use super::Tagger;
use anyhow::{Context, Result};
use std::cell::Cell;
use std::path::{Path, PathBuf};

pub struct TrainConfig {
    pub train: Vec<PathBuf>,
    pub dev: Option<PathBuf>,
    pub epochs: usize,
    /// Folder with bbc/ and reuters21578/ (unlabeled text for clusters).
    pub corpora: PathBuf,
    pub gazetteers: PathBuf,
    /// Cluster table: read if it exists, otherwise learned from `corpora` and written there.
    pub clusters: Option<PathBuf>,
    /// log2 of the number of hashed feature rows.
    pub bits: u32,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            train: vec![PathBuf::from("../shared/corpora/conll2003/eng.train")],
            dev: Some(PathBuf::from("../shared/corpora/conll2003/eng.testa")),
            epochs: 15,
            corpora: PathBuf::from("../shared/corpora"),
            gazetteers: PathBuf::from("data/ner/gazetteers"),
            clusters: Some(PathBuf::from("data/ner/clusters.txt")),
            bits: 20,
            seed: 1,
        }
    }
}

/// Reads a `clusters.txt` (word, bit path or `-`, count).
pub fn read_clusters(path: &Path) -> Result<Vec<VocabEntry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut v = Vec::new();
    for line in text.lines() {
        let mut it = line.split('\t');
        let (Some(w), Some(bits), Some(c)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let (path, depth) = if bits == "-" {
            (0, 0)
        } else {
            (u32::from_str_radix(bits, 2).unwrap_or(0), bits.len() as u8)
        };
        v.push(VocabEntry {
            word: w.to_string(),
            count: c.parse().unwrap_or(1),
            path,
            depth,
        });
    }
    Ok(v)
}

/// Builds the lexicon (clusters + gazetteers).
pub fn build_lexicon(cfg: &TrainConfig, log: &mut dyn FnMut(&str)) -> Result<Lexicon> {
    let mut lex = Lexicon::default();
    lex.load_gazetteers(&cfg.gazetteers)?;
    match &cfg.clusters {
        Some(p) if p.exists() => {
            lex.vocab = read_clusters(p)?;
            log(&format!(
                "read {} vocabulary entries from {}",
                lex.vocab.len(),
                p.display()
            ));
        }
        _ => {
            let t0 = std::time::Instant::now();
            let texts = unlabeled_texts(&cfg.corpora, &cfg.train)?;
            lex.vocab = learn_vocab(&texts, &ClusterConfig::default(), log);
            log(&format!(
                "learned clusters in {:.1}s",
                t0.elapsed().as_secs_f64()
            ));
            if let Some(p) = &cfg.clusters {
                lex.write_clusters(p)?;
            }
        }
    }
    lex.build_tables();
    Ok(lex)
}

struct TrainW {
    w: Vec<Cell<i32>>,
    u: Vec<Cell<i64>>,
}

impl Scorer for TrainW {
    #[inline]
    fn add_row(&self, row: u32, acc: &mut [i32; NT]) {
        let base = row as usize * NT;
        for (t, a) in acc.iter_mut().enumerate() {
            *a += self.w[base + t].get();
        }
    }
}

/// A training article prepared for the workspace.
pub(crate) struct Prepared {
    text: Vec<(String, Vec<Token>)>,
    gold: Vec<u8>,
}

pub(crate) fn prepare(doc: &ConllDoc) -> Prepared {
    let mut text = Vec::new();
    let mut gold = Vec::new();
    for s in &doc.sentences {
        let mut t = String::new();
        let mut toks = Vec::new();
        for (w, _) in s {
            if !t.is_empty() {
                t.push(' ');
            }
            let st = t.len();
            t.push_str(w);
            toks.push(Token {
                start: st as u32,
                end: t.len() as u32,
            });
        }
        let tags: Vec<&str> = s.iter().map(|(_, g)| g.as_str()).collect();
        let mut g = vec![0u8; s.len()];
        for sp in tags_to_spans(&tags) {
            let k = sp.kind as usize;
            for (i, slot) in g.iter_mut().enumerate().take(sp.end).skip(sp.start) {
                let pos = if sp.end - sp.start == 1 {
                    3
                } else if i == sp.start {
                    0
                } else if i + 1 == sp.end {
                    2
                } else {
                    1
                };
                *slot = tag_of(k, pos) as u8;
            }
        }
        gold.extend(g);
        text.push((t, toks));
    }
    Prepared { text, gold }
}

fn load_ws(ws: &mut Workspace, lex: &Lexicon, fs: FeatSpace, p: &Prepared) {
    ws.clear();
    for (k, (t, toks)) in p.text.iter().enumerate() {
        ws.add_sentence(lex, t, toks, k == 0);
    }
    ws.finish(lex, fs, false);
}

/// Trains a tagger; with a dev set, keeps the epoch with the best dev F1.
pub fn train(cfg: &TrainConfig, log: &mut dyn FnMut(&str)) -> Result<Tagger> {
    let lex = build_lexicon(cfg, log)?;
    let mut docs = Vec::new();
    for p in &cfg.train {
        docs.extend(read_conll(p)?);
    }
    let dev = match &cfg.dev {
        Some(p) => Some(read_conll(p)?),
        None => None,
    };
    log(&format!("{} training articles", docs.len()));
    let prepared: Vec<Prepared> = docs.iter().map(prepare).collect();
    let fs = FeatSpace { bits: cfg.bits };
    let size = (1usize << cfg.bits) * NT;
    let tw = TrainW {
        w: (0..size).map(|_| Cell::new(0)).collect(),
        u: (0..size).map(|_| Cell::new(0)).collect(),
    };
    let mut c: i64 = 1;
    let mut ws = Workspace::default();
    let mut order: Vec<usize> = (0..prepared.len()).collect();
    let mut rng = cfg
        .seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut best: Option<(f64, Weights)> = None;
    let mut last = None;
    for epoch in 1..=cfg.epochs {
        let t0 = std::time::Instant::now();
        for i in (1..order.len()).rev() {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let j = ((rng >> 33) as usize) % (i + 1);
            order.swap(i, j);
        }
        let mut errors = 0usize;
        let mut total = 0usize;
        for &d in &order {
            let p = &prepared[d];
            load_ws(&mut ws, &lex, fs, p);
            let cc = c;
            let mut upd = |st: &[u32], dy: &[u32], g: usize, pr: usize| {
                errors += 1;
                for &r in st.iter().chain(dy.iter()) {
                    let b = r as usize * NT;
                    tw.w[b + g].set(tw.w[b + g].get() + 1);
                    tw.u[b + g].set(tw.u[b + g].get() + cc);
                    tw.w[b + pr].set(tw.w[b + pr].get() - 1);
                    tw.u[b + pr].set(tw.u[b + pr].get() - cc);
                }
            };
            ws.decode(&tw, fs, 0, Some(&p.gold), &mut upd);
            total += p.gold.len();
            c += p.gold.len() as i64;
        }
        let avg: Vec<f32> =
            tw.w.iter()
                .zip(tw.u.iter())
                .map(|(w, u)| (w.get() as f64 - u.get() as f64 / c as f64) as f32)
                .collect();
        let q = Weights::quantize(cfg.bits, &avg);
        drop(avg);
        let mut msg = format!(
            "epoch {epoch}: {errors} token errors / {total} ({:.1}s)",
            t0.elapsed().as_secs_f64()
        );
        if let Some(dev) = &dev {
            let tagger = Tagger::new(lex.clone(), q);
            let rep = super::eval::evaluate(&tagger, dev);
            msg += &format!(
                "; dev F1 {:.2} (PER {:.2} ORG {:.2} LOC {:.2} MISC {:.2})",
                rep.overall.f1, rep.per.f1, rep.org.f1, rep.loc.f1, rep.misc.f1
            );
            let q = tagger.weights.to_dense();
            if best.as_ref().is_none_or(|(f, _)| rep.overall.f1 > *f) {
                best = Some((rep.overall.f1, q));
            }
        } else {
            last = Some(q);
        }
        log(&msg);
    }
    let w = match (best, last) {
        (Some((f, w)), _) => {
            log(&format!("best dev F1 {f:.2}"));
            w
        }
        (None, Some(w)) => w,
        _ => anyhow::bail!("no epochs"),
    };
    Ok(Tagger::new(lex, w))
}
