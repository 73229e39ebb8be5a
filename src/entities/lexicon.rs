//! Word lexicon learned from unlabeled news (word clusters, case statistics) plus gazetteers.
//!
//! Clusters: bisecting spherical 2-means over PPMI-weighted left/right context vectors,
//! giving each frequent word a binary path (like Brown clusters) used through bit prefixes.

use super::hash::{lower_hash, mix, word_hash, U64Map};
use super::tokenize::{tokenize_into, Token};
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Gazetteer classes (bit flags).
pub const GAZ_PLACE: u8 = 1;
pub const GAZ_FIRST: u8 = 2;
pub const GAZ_SURNAME: u8 = 4;
pub const GAZ_ORGSUF: u8 = 8;
pub const GAZ_TITLE: u8 = 16;
/// Not a class: set on every sequence of 1 to 3 tokens that begins a longer entry, so that a
/// lookup can stop at the first sequence that begins none ("Bank" goes on, "Reagan" stops).
pub const GAZ_PREFIX: u8 = 32;
pub const GAZ_FILES: [(&str, u8); 5] = [
    ("places.txt", GAZ_PLACE),
    ("first_names.txt", GAZ_FIRST),
    ("surnames.txt", GAZ_SURNAME),
    ("org_suffixes.txt", GAZ_ORGSUF),
    ("person_titles.txt", GAZ_TITLE),
];
pub const GAZ_MAX_LEN: usize = 4;

/// One vocabulary entry (kept for serialisation and `clusters.txt`).
#[derive(Clone, Debug)]
pub struct VocabEntry {
    pub word: String,
    pub count: u32,
    pub path: u32,
    pub depth: u8,
}

/// Per-lowercase-form information.
#[derive(Clone, Copy, Debug, Default)]
pub struct LowerInfo {
    /// Hash of the most frequent casing of this word.
    pub truecase: u64,
    /// Cluster of the most frequent casing (path | depth << 24), 0 if none.
    pub tc_cluster: u32,
    /// Bucketed fraction of occurrences that are all-lowercase (0..=4), +1 (0 = unknown).
    pub lower_frac: u8,
    /// Bucketed total frequency (1..=6).
    pub freq_bucket: u8,
    /// Case class of the most frequent casing: 0 lower, 1 initial capital, 2 all caps.
    pub tc_class: u8,
}

#[derive(Clone, Debug, Default)]
pub struct Lexicon {
    pub vocab: Vec<VocabEntry>,
    /// Gazetteer entries: (class, entry text).
    pub gazetteer: Vec<(u8, String)>,
    /// exact word hash -> cluster (path | depth << 24)
    pub clusters: U64Map<u32>,
    pub lower: U64Map<LowerInfo>,
    /// hash of lowercased token sequence -> gazetteer flags
    pub gaz: U64Map<u8>,
}

/// Packs a cluster path and depth.
#[inline]
pub fn pack_cluster(path: u32, depth: u8) -> u32 {
    path | ((depth as u32) << 24)
}

/// Sequence hash step for multi-token gazetteer lookups.
#[inline]
pub fn gaz_step(acc: u64, tok_lower_hash: u64) -> u64 {
    mix(acc, tok_lower_hash)
}

pub const GAZ_SEED: u64 = 0x6761_7a00;

/// The lookup keys of a gazetteer entry's first word, first two words, ... up to all its
/// words (none if it has no word or more than [`GAZ_MAX_LEN`]): the last is the entry's own,
/// the others begin it ([`GAZ_PREFIX`]).
pub fn gaz_entry_keys(entry: &str) -> Vec<u64> {
    let mut toks = Vec::new();
    tokenize_into(entry, &mut toks);
    if toks.len() > GAZ_MAX_LEN {
        return Vec::new();
    }
    let mut acc = GAZ_SEED;
    toks.iter()
        .map(|t| {
            acc = gaz_step(
                acc,
                lower_hash(&entry.as_bytes()[t.start as usize..t.end as usize]),
            );
            acc
        })
        .collect()
}

impl Lexicon {
    /// Rebuilds the lookup tables from `vocab` and `gazetteer`.
    pub fn build_tables(&mut self) {
        self.clusters = U64Map::with_capacity(self.vocab.len());
        let mut by_lower: HashMap<u64, (u32, u64, u32, u32, u8)> = HashMap::new(); // best count, hash, cluster, total, class
        let mut lower_counts: HashMap<u64, (u32, u32)> = HashMap::new();
        for e in &self.vocab {
            let h = word_hash(e.word.as_bytes());
            let cl = if e.depth > 0 {
                pack_cluster(e.path, e.depth)
            } else {
                0
            };
            if cl != 0 {
                self.clusters.insert(h, cl);
            }
            let lh = lower_hash(e.word.as_bytes());
            let ent = by_lower.entry(lh).or_insert((0, 0, 0, 0, 0));
            if e.count > ent.0 {
                ent.0 = e.count;
                ent.1 = h;
                ent.2 = cl;
                let b = e.word.as_bytes();
                let lowers = b.iter().any(|c| c.is_ascii_lowercase());
                ent.4 = if !b.iter().any(|c| c.is_ascii_uppercase()) {
                    0
                } else if lowers || b.iter().filter(|c| c.is_ascii_alphabetic()).count() < 2 {
                    1
                } else {
                    2
                };
            }
            ent.3 += e.count;
            let lc = lower_counts.entry(lh).or_insert((0, 0));
            lc.1 += e.count;
            if !e.word.bytes().any(|b| b.is_ascii_uppercase()) {
                lc.0 += e.count;
            }
        }
        self.lower = U64Map::with_capacity(by_lower.len());
        for (lh, (_, h, cl, total, class)) in by_lower {
            let (lcnt, tot) = lower_counts[&lh];
            let frac = lcnt as f32 / tot.max(1) as f32;
            let lower_frac = if frac < 0.01 {
                1
            } else if frac < 0.2 {
                2
            } else if frac < 0.5 {
                3
            } else if frac < 0.9 {
                4
            } else {
                5
            };
            let freq_bucket = match total {
                0..=4 => 1,
                5..=19 => 2,
                20..=99 => 3,
                100..=999 => 4,
                1000..=9999 => 5,
                _ => 6,
            };
            self.lower.insert(
                lh,
                LowerInfo {
                    truecase: h,
                    tc_cluster: cl,
                    lower_frac,
                    freq_bucket,
                    tc_class: class,
                },
            );
        }
        self.gaz = U64Map::with_capacity(self.gazetteer.len());
        for (class, entry) in &self.gazetteer {
            let keys = gaz_entry_keys(entry);
            if let Some((&own, begins)) = keys.split_last() {
                for &k in begins {
                    *self.gaz.entry(k) |= GAZ_PREFIX;
                }
                *self.gaz.entry(own) |= *class;
            }
        }
    }

    /// Loads the gazetteer text files from a directory.
    pub fn load_gazetteers(&mut self, dir: &Path) -> Result<()> {
        self.gazetteer.clear();
        for (file, class) in GAZ_FILES {
            let p = dir.join(file);
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            for line in text.lines() {
                let l = line.trim();
                if !l.is_empty() && !l.starts_with('#') {
                    self.gazetteer.push((class, l.to_string()));
                }
            }
        }
        Ok(())
    }

    /// Writes `word<TAB>bitpath<TAB>count` lines (clustered words only).
    pub fn write_clusters(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for e in &self.vocab {
            let bits: String = if e.depth == 0 {
                "-".to_string()
            } else {
                (0..e.depth)
                    .map(|i| {
                        if (e.path >> (e.depth - 1 - i)) & 1 == 1 {
                            '1'
                        } else {
                            '0'
                        }
                    })
                    .collect()
            };
            writeln!(f, "{}\t{}\t{}", e.word, bits, e.count)?;
        }
        Ok(())
    }
}

/// Decodes bytes as UTF-8, falling back to Latin-1.
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn strip_sgml(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let r = &rest[p..];
        if let Some(e) = r.find(';').filter(|&e| e < 8) {
            match &r[..=e] {
                "&lt;" => out.push('<'),
                "&gt;" => out.push('>'),
                "&amp;" => out.push('&'),
                _ => out.push(' '),
            }
            rest = &r[e + 1..];
        } else {
            out.push('&');
            rest = &r[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Reads the unlabeled corpora as a list of paragraphs/sentences of text.
pub fn unlabeled_texts(corpora: &Path, conll_train: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    // BBC
    let bbc = corpora.join("bbc");
    if let Ok(rd) = std::fs::read_dir(&bbc) {
        let mut dirs: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for d in dirs {
            let mut files: Vec<_> = std::fs::read_dir(&d)?.flatten().map(|e| e.path()).collect();
            files.sort();
            for f in files {
                if f.extension().is_some_and(|e| e == "txt") {
                    let t = decode_text(&std::fs::read(&f)?);
                    // skip the headline (line 1)
                    let body = t.split_once('\n').map(|x| x.1).unwrap_or("");
                    texts.extend(body.split("\n\n").map(|s| s.to_string()));
                }
            }
        }
    }
    // Reuters bodies
    let reu = corpora.join("reuters21578");
    if let Ok(rd) = std::fs::read_dir(&reu) {
        let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|e| e == "sgm") {
                let t = decode_text(&std::fs::read(&f)?);
                let mut rest = t.as_str();
                while let Some(p) = rest.find("<BODY>") {
                    let r = &rest[p + 6..];
                    let e = r.find("</BODY>").unwrap_or(r.len());
                    let body = strip_sgml(&r[..e]);
                    // drop the trailing " Reuter" signature
                    texts.push(body.replace(" Reuter\n", "\n"));
                    rest = &r[e..];
                }
            }
        }
    }
    // CoNLL training words (as space-joined sentences)
    for p in conll_train {
        let docs = super::conll::read_conll(p)?;
        for d in docs {
            for s in d.sentences {
                let line: Vec<&str> = s.iter().map(|(w, _)| w.as_str()).collect();
                texts.push(line.join(" "));
            }
        }
    }
    Ok(texts)
}

/// Parameters for cluster learning.
pub struct ClusterConfig {
    pub min_count: u32,
    pub cluster_min_count: u32,
    pub contexts: usize,
    pub max_depth: u8,
    pub iters: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            min_count: 2,
            cluster_min_count: 4,
            contexts: 2000,
            max_depth: 20,
            iters: 8,
        }
    }
}

/// Learns the vocabulary, case statistics and clusters from unlabeled text.
pub fn learn_vocab(
    texts: &[String],
    cfg: &ClusterConfig,
    log: &mut dyn FnMut(&str),
) -> Vec<VocabEntry> {
    // tokenise into word ids
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut words: Vec<String> = Vec::new();
    let mut counts: Vec<u32> = Vec::new();
    let mut seqs: Vec<Vec<u32>> = Vec::with_capacity(texts.len());
    let mut toks: Vec<Token> = Vec::new();
    for t in texts {
        toks.clear();
        tokenize_into(t, &mut toks);
        let mut seq = Vec::with_capacity(toks.len());
        for tk in &toks {
            let w = &t[tk.start as usize..tk.end as usize];
            let id = match ids.get(w) {
                Some(&i) => i,
                None => {
                    let i = words.len() as u32;
                    ids.insert(w.to_string(), i);
                    words.push(w.to_string());
                    counts.push(0);
                    i
                }
            };
            counts[id as usize] += 1;
            seq.push(id);
        }
        seqs.push(seq);
    }
    let ntok: usize = seqs.iter().map(|s| s.len()).sum();
    log(&format!(
        "unlabeled: {} tokens, {} types",
        ntok,
        words.len()
    ));
    // context words = most frequent types
    let mut order: Vec<u32> = (0..words.len() as u32).collect();
    order.sort_by(|a, b| counts[*b as usize].cmp(&counts[*a as usize]).then(a.cmp(b)));
    let nctx = cfg.contexts.min(order.len());
    let mut ctx_id = vec![u32::MAX; words.len()];
    for (k, &w) in order[..nctx].iter().enumerate() {
        ctx_id[w as usize] = k as u32;
    }
    // words to cluster
    let mut cl_words: Vec<u32> = order
        .iter()
        .copied()
        .filter(|&w| counts[w as usize] >= cfg.cluster_min_count)
        .collect();
    cl_words.sort();
    let mut row_of = vec![u32::MAX; words.len()];
    for (r, &w) in cl_words.iter().enumerate() {
        row_of[w as usize] = r as u32;
    }
    let dim = 2 * (nctx + 1) + 2;
    // co-occurrence counts (sparse per row)
    let mut co: Vec<HashMap<u32, f32>> = vec![HashMap::new(); cl_words.len()];
    let boundary = nctx as u32; // "other"/boundary context id
    for seq in &seqs {
        for (i, &w) in seq.iter().enumerate() {
            let r = row_of[w as usize];
            if r == u32::MAX {
                continue;
            }
            let l = if i == 0 {
                nctx as u32 + 1
            } else {
                let c = ctx_id[seq[i - 1] as usize];
                if c == u32::MAX {
                    boundary
                } else {
                    c
                }
            };
            let rr = if i + 1 == seq.len() {
                nctx as u32 + 1
            } else {
                let c = ctx_id[seq[i + 1] as usize];
                if c == u32::MAX {
                    boundary
                } else {
                    c
                }
            };
            let m = &mut co[r as usize];
            *m.entry(l).or_insert(0.0) += 1.0;
            *m.entry(rr + nctx as u32 + 2).or_insert(0.0) += 1.0;
        }
    }
    // PPMI
    let mut col = vec![0f64; dim];
    let mut total = 0f64;
    for m in &co {
        for (&c, &v) in m {
            col[c as usize] += v as f64;
            total += v as f64;
        }
    }
    let rows: Vec<Vec<(u32, f32)>> = co
        .into_par_iter()
        .map(|m| {
            let rs: f64 = m.values().map(|&v| v as f64).sum();
            let mut v: Vec<(u32, f32)> = m
                .into_iter()
                .filter_map(|(c, x)| {
                    // context-distribution smoothing (alpha = 0.75) as in Levy et al.
                    let pmi = ((x as f64) * total
                        / (rs * col[c as usize].powf(0.75) * total.powf(0.25)))
                    .ln();
                    (pmi > 0.0).then_some((c, pmi as f32))
                })
                .collect();
            let norm: f32 = v.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt().max(1e-6);
            v.iter_mut().for_each(|x| x.1 /= norm);
            v.sort_by_key(|x| x.0);
            v
        })
        .collect();
    log(&format!("clustering {} words, {} dims", rows.len(), dim));
    let mut paths = vec![(0u32, 0u8); rows.len()];
    let all: Vec<u32> = (0..rows.len() as u32).collect();
    bisect(&rows, dim, all, 0, 0, cfg, &mut paths);
    let mut vocab = Vec::new();
    for (w, word) in words.iter().enumerate() {
        if counts[w] < cfg.min_count {
            continue;
        }
        let (path, depth) = if row_of[w] != u32::MAX {
            paths[row_of[w] as usize]
        } else {
            (0, 0)
        };
        vocab.push(VocabEntry {
            word: word.clone(),
            count: counts[w],
            path,
            depth,
        });
    }
    vocab.sort_by(|a, b| b.count.cmp(&a.count).then(a.word.cmp(&b.word)));
    vocab
}

fn bisect(
    rows: &[Vec<(u32, f32)>],
    dim: usize,
    members: Vec<u32>,
    path: u32,
    depth: u8,
    cfg: &ClusterConfig,
    out: &mut [(u32, u8)],
) {
    if members.len() <= 1 || depth >= cfg.max_depth {
        for &m in &members {
            out[m as usize] = (path, depth);
        }
        return;
    }
    // init: the most frequent member (lowest id = frequent? ids are by first occurrence), and the member farthest from it
    let a = members[0];
    let dot =
        |r: &[(u32, f32)], c: &[f32]| -> f32 { r.iter().map(|&(i, v)| v * c[i as usize]).sum() };
    let mut ca = vec![0f32; dim];
    for &(i, v) in &rows[a as usize] {
        ca[i as usize] = v;
    }
    let b = members
        .iter()
        .copied()
        .min_by(|&x, &y| dot(&rows[x as usize], &ca).total_cmp(&dot(&rows[y as usize], &ca)))
        .unwrap();
    let mut cb = vec![0f32; dim];
    for &(i, v) in &rows[b as usize] {
        cb[i as usize] = v;
    }
    let mut assign = vec![false; members.len()];
    for _ in 0..cfg.iters {
        let new: Vec<bool> = if members.len() > 2000 {
            members
                .par_iter()
                .map(|&m| dot(&rows[m as usize], &cb) > dot(&rows[m as usize], &ca))
                .collect()
        } else {
            members
                .iter()
                .map(|&m| dot(&rows[m as usize], &cb) > dot(&rows[m as usize], &ca))
                .collect()
        };
        let changed = new != assign;
        assign = new;
        ca.iter_mut().for_each(|x| *x = 0.0);
        cb.iter_mut().for_each(|x| *x = 0.0);
        for (k, &m) in members.iter().enumerate() {
            let c = if assign[k] { &mut cb } else { &mut ca };
            for &(i, v) in &rows[m as usize] {
                c[i as usize] += v;
            }
        }
        for c in [&mut ca, &mut cb] {
            let n: f32 = c.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
            c.iter_mut().for_each(|x| *x /= n);
        }
        if !changed {
            break;
        }
    }
    let (mut left, mut right): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    for (k, &m) in members.iter().enumerate() {
        if assign[k] {
            right.push(m)
        } else {
            left.push(m)
        }
    }
    if left.is_empty() || right.is_empty() {
        // degenerate: split arbitrarily in half
        let mut all = left;
        all.extend(right);
        let h = all.len() / 2;
        right = all.split_off(h);
        left = all;
    }
    bisect(rows, dim, left, path << 1, depth + 1, cfg, out);
    bisect(rows, dim, right, (path << 1) | 1, depth + 1, cfg, out);
}
