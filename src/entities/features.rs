//! Per-document feature extraction and greedy BILOU decoding shared by training and tagging.

use super::hash::{lower_hash, mix, prefetch, word_hash, U64Map};
use super::lexicon::{
    gaz_step, Lexicon, GAZ_FIRST, GAZ_MAX_LEN, GAZ_ORGSUF, GAZ_PLACE, GAZ_PREFIX, GAZ_SEED,
    GAZ_SURNAME, GAZ_TITLE,
};
use super::tokenize::Token;

/// Number of tags: O + 4 types x {B, I, L, U}.
pub const NT: usize = 17;
/// "Sentence start" pseudo tag for previous-tag features.
const START: usize = NT;

#[inline]
pub fn tag_of(kind: usize, pos: usize) -> usize {
    1 + kind * 4 + pos
}
/// (kind, pos) of a non-O tag; pos 0=B 1=I 2=L 3=U.
#[inline]
pub fn tag_parts(t: usize) -> Option<(usize, usize)> {
    (t != 0).then(|| ((t - 1) / 4, (t - 1) % 4))
}

/// Whether `cur` may follow `prev` (prev = START at sentence start).
#[inline]
fn allowed(prev: usize, cur: usize, last: bool) -> bool {
    let open = match prev {
        START => None,
        p => tag_parts(p).and_then(|(k, pos)| (pos <= 1).then_some(k)),
    };
    let ok = match (open, tag_parts(cur)) {
        (None, None) => true,
        (None, Some((_, pos))) => pos == 0 || pos == 3,
        (Some(_), None) => false,
        (Some(k), Some((ck, pos))) => ck == k && (pos == 1 || pos == 2),
    };
    ok && !(last && matches!(tag_parts(cur), Some((_, 0 | 1))))
}

/// Perceptron update callback: (static rows, dynamic rows, gold tag, predicted tag).
pub type UpdateFn<'a> = dyn FnMut(&[u32], &[u32], usize, usize) + 'a;

/// Scores feature rows.
pub trait Scorer {
    fn add_row(&self, row: u32, acc: &mut [i32; NT]);
    /// Hint that `row` will be read soon.
    #[inline(always)]
    fn prefetch(&self, _row: u32) {}
}

// token flags
const F_CAP: u16 = 1; // first char uppercase
const F_ALLCAPS: u16 = 2; // all letters uppercase (and >= 1 letter)
const F_LOWER: u16 = 4; // all letters lowercase (>= 1 letter)
const F_INITIAL: u16 = 8; // first token of sentence
const F_CAPSSENT: u16 = 16; // in an all-caps sentence
const F_HEADLINE: u16 = 32; // in the headline
const F_DIGIT: u16 = 64;
const F_ALPHA: u16 = 128;

#[derive(Clone, Copy, Default, Debug)]
struct Atom {
    w: u64,
    lw: u64,
    sh: u64,
    cl: u32,
    flags: u16,
    lower_frac: u8,
    freq: u8,
    len: u8,
    /// per-class gazetteer position: 0 none, 1 B, 2 I, 3 L, 4 U
    gaz: [u8; 5],
    gazbits: u8,
    /// Gazetteer flags of the word alone (with [`GAZ_PREFIX`]), kept in the word cache so
    /// that most capitalised words need no gazetteer lookup per occurrence; 0 if lowercase.
    g1: u8,
    docf: u8,
    /// document context bits aggregated over all occurrences of the word (see `finish`)
    dctx: u8,
    /// capitalised chunk: first and last word hashes and position code (0 none, 1 B, 2 I, 3 L, 4 U)
    ch_first: u64,
    ch_last: u64,
    ch_pos: u8,
    /// word-cache entry id (0 = the empty "outside the sentence" atom)
    eid: u32,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Sent {
    pub start: usize,
    pub end: usize,
    pub caps: bool,
    pub headline: bool,
}

/// Reusable per-thread buffers for one document.
#[derive(Default)]
pub struct Workspace {
    atoms: Vec<Atom>,
    pub sents: Vec<Sent>,
    rows: Vec<u32>,
    off: Vec<u32>,
    pub tags: Vec<u8>,
    docmap: U64Map<u16>,
    hist: U64Map<[u16; 5]>,
    dynrows: Vec<u32>,
    order: Vec<usize>,
    sscore: Vec<[i32; NT]>,
    /// Tokens tagged O without scoring when the previous token is O (see `decode`). Set by
    /// `finish`; when tagging with the word cache, such tokens get no static rows there,
    /// only if they are scored after all (`lazy_rows`).
    skip: Vec<bool>,
    lazy_rows: Vec<u32>,
    /// Word-cache keys of the sentence being added, and the entries they hit (0: a miss).
    keys: Vec<u64>,
    hits: Vec<u32>,
    /// Hashes of those words as written and lowercased (the latter only for misses).
    whash: Vec<u64>,
    lhash: Vec<u64>,
    // word cache: key(word, sentence context) -> entry; entry 0 is the empty atom
    wmap: U64Map<u32>,
    went: Vec<Atom>,
    /// prefixes/suffixes hashes per cache entry
    wps: Vec<[u64; 8]>,
    wvec: Vec<[[i32; NT]; 5]>,
    /// Which of an entry's five score vectors (bit = role, see [`bundle`]) are computed: a
    /// word is often needed in one role only (a lowercase word beside a name).
    wok: Vec<u8>,
    wmodel: u64,
    bundled: bool,
    nb: Vec<[u32; 5]>,
}

/// Feature templates disabled for ablation experiments (`NER_DROP=17,44`); empty normally.
static DROP: once_cell::sync::Lazy<u128> = once_cell::sync::Lazy::new(|| {
    std::env::var("NER_DROP")
        .unwrap_or_default()
        .split(',')
        .filter_map(|x| x.trim().parse::<u32>().ok())
        .fold(0u128, |m, t| m | (1u128 << t))
});

/// Hashes of: in at from near to | the | 's
static FUNC_WORDS: once_cell::sync::Lazy<[u64; 7]> = once_cell::sync::Lazy::new(|| {
    ["in", "at", "from", "near", "to", "the", "'s"].map(|w| word_hash(w.as_bytes()))
});

/// A lowercase word or punctuation, outside headlines and all-caps sentences.
#[inline]
fn is_plain(a: &Atom) -> bool {
    (a.flags & F_LOWER != 0 || a.flags & F_ALPHA == 0)
        && a.flags & (F_DIGIT | F_CAPSSENT | F_HEADLINE) == 0
}

/// Cached entries kept before the word cache is reset (checked between documents). An entry
/// with its five score vectors takes about 500 bytes, and each tagging thread keeps the
/// capacity it reached: 16,384 entries (was 65,536) cut a 40 MB ingest's peak by 40 to 60 MB
/// (three runs each) at the same tagging speed (8.02 against 8.04 thread-seconds).
const WCACHE_MAX: usize = 16_384;

/// Feature templates that depend only on one token's word-cache entry, grouped by the role
/// of that token: 0 the token itself, 1 left neighbour, 2 right neighbour, 3/4 two left/right.
#[inline(always)]
fn bundle(fs: FeatSpace, a: &Atom, ps: &[u64; 8], which: usize, out: &mut impl FnMut(u32)) {
    let drop = *DROP;
    let mut f = |t: u64, v: u64| {
        if drop & (1u128 << t) == 0 {
            out(fs.row(t, v))
        }
    };
    match which {
        0 => {
            f(1, 0);
            f(2, a.w);
            f(3, a.lw);
            f(4, a.sh);
            // 3- and 4-character prefixes and suffixes (1-2 did not help on dev)
            for k in [2, 3, 6, 7] {
                if ps[k] != 0 {
                    f(20 + k as u64, ps[k]);
                }
            }
            if a.cl != 0 {
                f(30, cpre(a.cl, 4));
                f(31, cpre(a.cl, 6));
                f(32, cpre(a.cl, 10));
                f(33, cpre(a.cl, 20));
                f(34, mix(cpre(a.cl, 10), a.sh));
            }
            let fl = (a.flags & (F_CAP | F_INITIAL | F_CAPSSENT | F_HEADLINE | F_ALLCAPS)) as u64;
            // capitalisation-context templates carry feature value 2 (emitted twice): this gave
            // +0.4 dev F1 over value 1
            for _ in 0..2 {
                f(45, mix(fl, a.sh));
                f(46, fl << 8 | a.lower_frac as u64);
                f(47, (fl << 8 | a.freq as u64) << 8 | a.lower_frac as u64);
            }
        }
        1 => {
            f(5, a.lw);
            f(11, a.sh);
            f(35, cpre(a.cl, 6));
            f(36, cpre(a.cl, 20));
        }
        2 => {
            f(6, a.lw);
            f(12, a.sh);
            f(37, cpre(a.cl, 6));
            f(38, cpre(a.cl, 20));
        }
        3 => {
            f(7, a.lw);
            f(13, a.sh);
            f(39, cpre(a.cl, 6));
        }
        _ => {
            f(8, a.lw);
            f(14, a.sh);
            f(40, cpre(a.cl, 6));
        }
    }
}

#[inline(always)]
fn cpre(c: u32, p: u32) -> u64 {
    let depth = c >> 24;
    let path = c & 0xff_ffff;
    if depth == 0 {
        return 0;
    }
    let p = p.min(depth);
    ((path >> (depth - p)) as u64) << 8 | p as u64
}

/// Feature rows of token `i` (in sentence `s`) that combine it with its neighbours or depend
/// on the document: unlike [`bundle`]'s, they cannot be cached per word.
fn pair_rows(fs: FeatSpace, atoms: &[Atom], s: Sent, i: usize, out: &mut Vec<u32>) {
    let none = Atom::default();
    let at = |j: isize| -> &Atom {
        let p = i as isize + j;
        if p < s.start as isize || p >= s.end as isize {
            &none
        } else {
            &atoms[p as usize]
        }
    };
    let (a, m1, p1) = (at(0), at(-1), at(1));
    let drop = *DROP;
    let mut f = |t: u64, v: u64| {
        if drop & (1u128 << t) == 0 {
            out.push(fs.row(t, v))
        }
    };
    f(15, mix(m1.sh, a.sh));
    f(16, mix(a.sh, p1.sh));
    f(17, mix(mix(m1.sh, a.sh), p1.sh));
    f(18, mix(m1.lw, a.lw));
    f(19, mix(a.lw, p1.lw));
    for c in 0..5 {
        if a.gaz[c] != 0 {
            f(41, (c as u64) << 8 | a.gaz[c] as u64);
        }
    }
    f(42, m1.gazbits as u64);
    f(43, p1.gazbits as u64);
    f(44, mix(a.gazbits as u64, a.sh));
    let fl = (a.flags & (F_CAP | F_INITIAL | F_CAPSSENT | F_HEADLINE | F_ALLCAPS)) as u64;
    f(48, fl << 8 | a.docf as u64);
    f(49, mix(a.docf as u64, a.lw));
    if a.dctx != 0 {
        f(53, a.dctx as u64);
        for b in 0..8 {
            if a.dctx & (1 << b) != 0 {
                f(54, b);
            }
        }
    }
    if a.ch_pos != 0 {
        for _ in 0..2 {
            f(51, mix(a.ch_last, a.ch_pos as u64));
            f(52, mix(a.ch_first, a.ch_pos as u64));
        }
    }
}

/// Feature-space size in bits (rows = 1 << bits).
#[derive(Clone, Copy, Debug)]
pub struct FeatSpace {
    pub bits: u32,
}

impl FeatSpace {
    #[inline(always)]
    fn row(&self, template: u64, v: u64) -> u32 {
        (mix(template.wrapping_mul(0x9E37_79B9_7F4A_7C15), v) >> (64 - self.bits)) as u32
    }
}

fn shape_hash(b: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let mut n = 0;
    let mut last = 0u8;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (cls, adv) = if c < 0x80 {
            let k = if c.is_ascii_uppercase() {
                b'X'
            } else if c.is_ascii_lowercase() {
                b'x'
            } else if c.is_ascii_digit() {
                b'd'
            } else {
                c
            };
            (k, 1)
        } else {
            let s = std::str::from_utf8(&b[i..])
                .ok()
                .or_else(|| std::str::from_utf8(&b[i..(i + 4).min(b.len())]).ok());
            let ch = s.and_then(|s| s.chars().next()).unwrap_or('?');
            let k = if ch.is_uppercase() {
                b'X'
            } else if ch.is_lowercase() {
                b'x'
            } else if ch.is_numeric() {
                b'd'
            } else {
                b'o'
            };
            (k, ch.len_utf8().max(1))
        };
        if cls != last {
            if n < 8 {
                buf[n] = cls;
                n += 1;
            }
            last = cls;
        }
        i += adv;
    }
    word_hash(&buf[..n]) ^ 0x5348_4150
}

fn shape_of_class(c: u8) -> u64 {
    match c {
        0 => shape_hash(b"x"),
        1 => shape_hash(b"Xx"),
        _ => shape_hash(b"X"),
    }
}

impl Workspace {
    pub fn clear(&mut self) {
        self.atoms.clear();
        self.sents.clear();
        self.rows.clear();
        self.off.clear();
        self.tags.clear();
        if self.went.len() > WCACHE_MAX {
            self.wmap.clear();
            self.went.clear();
            self.wps.clear();
            self.wvec.clear();
            self.wok.clear();
        }
    }

    /// Starts a document for the model `model_id`: the word cache holds lexicon-dependent data,
    /// so it is dropped when a different model uses this workspace.
    pub fn begin(&mut self, model_id: u64) {
        if self.wmodel != model_id {
            self.wmap.clear();
            self.went.clear();
            self.wps.clear();
            self.wvec.clear();
            self.wok.clear();
            self.wmodel = model_id;
        }
        self.clear();
    }

    pub fn is_initial(&self, i: usize) -> bool {
        self.atoms[i].flags & F_INITIAL != 0
    }

    pub fn in_caps_or_headline(&self, i: usize) -> bool {
        self.atoms[i].flags & (F_CAPSSENT | F_HEADLINE) != 0
    }

    pub fn n_tokens(&self) -> usize {
        self.atoms.len()
    }

    /// Adds one sentence of tokens from `text`.
    pub fn add_sentence(&mut self, lex: &Lexicon, text: &str, toks: &[Token], headline: bool) {
        if toks.is_empty() {
            return;
        }
        let b = text.as_bytes();
        let start = self.atoms.len();
        // caps sentence: every token with >= 1 letter has no lowercase ASCII letter, and some has >= 2 letters
        let mut caps = true;
        let mut long = false;
        for t in toks {
            let s = &b[t.start as usize..t.end as usize];
            let mut letters = 0;
            for &c in s {
                if c.is_ascii_lowercase() {
                    caps = false;
                }
                if c.is_ascii_alphabetic() {
                    letters += 1;
                }
            }
            if letters >= 2 {
                long = true;
            }
        }
        let caps = caps && long;
        // The word cache and the lexicon are larger than the CPU caches: for the whole
        // sentence, the cache's slots are loaded first, then its entries, or for a word not in
        // it, the lexicon's slots, so that the misses overlap.
        self.keys.clear();
        self.whash.clear();
        for (k, t) in toks.iter().enumerate() {
            let s = &b[t.start as usize..t.end as usize];
            let ctx = (k == 0) as u64 | (caps as u64) << 1 | (headline as u64) << 2;
            let w = word_hash(s);
            let key = mix(w, ctx) | 1;
            self.wmap.prefetch(key);
            self.keys.push(key);
            self.whash.push(w);
        }
        self.hits.clear();
        self.lhash.clear();
        for (k, t) in toks.iter().enumerate() {
            let e = self.wmap.get(self.keys[k]).copied().unwrap_or(0);
            let mut lw = 0;
            if let Some(a) = self.went.get(e as usize).filter(|_| e != 0) {
                prefetch(a);
            } else {
                lw = lower_hash(&b[t.start as usize..t.end as usize]);
                lex.clusters.prefetch(self.whash[k]);
                lex.lower.prefetch(lw);
                lex.gaz.prefetch(gaz_step(GAZ_SEED, lw));
            }
            self.hits.push(e);
            self.lhash.push(lw);
        }
        for (k, t) in toks.iter().enumerate() {
            let s = &b[t.start as usize..t.end as usize];
            let key = self.keys[k];
            // A miss may have been filled by an earlier token of this sentence.
            let hit = match self.hits[k] {
                0 => self.wmap.get(key).copied(),
                e => Some(e),
            };
            if let Some(e) = hit {
                let mut a = self.went[e as usize];
                a.eid = e;
                self.atoms.push(a);
                continue;
            }
            let mut lbuf = [0u8; 64];
            let ln = super::hash::lower_into(s, &mut lbuf);
            let low = &lbuf[..ln];
            let lw = self.lhash[k];
            let mut flags = 0u16;
            let (mut up, mut lo, mut dig, mut alpha) = (0, 0, 0, 0);
            for &c in s {
                if c.is_ascii_uppercase() {
                    up += 1;
                } else if c.is_ascii_lowercase() {
                    lo += 1;
                } else if c.is_ascii_digit() {
                    dig += 1;
                } else if c >= 0x80 {
                    alpha += 1;
                }
            }
            let first_upper = match s[0] {
                c if c < 0x80 => c.is_ascii_uppercase(),
                _ => text[t.start as usize..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_uppercase()),
            };
            if first_upper {
                flags |= F_CAP;
            }
            if up > 0 && lo == 0 {
                flags |= F_ALLCAPS;
            }
            if lo > 0 && up == 0 && !first_upper {
                flags |= F_LOWER;
            }
            if dig > 0 {
                flags |= F_DIGIT;
            }
            if up + lo + alpha > 0 {
                flags |= F_ALPHA;
            }
            if k == 0 {
                flags |= F_INITIAL;
            }
            if caps {
                flags |= F_CAPSSENT;
            }
            if headline {
                flags |= F_HEADLINE;
            }
            let mut w = self.whash[k];
            let mut sh = shape_hash(s);
            let mut cl = lex.clusters.get(w).copied().unwrap_or(0);
            let li = lex.lower.get(lw).copied().unwrap_or_default();
            if caps && (flags & F_ALPHA) != 0 && li.truecase != 0 {
                w = li.truecase;
                cl = li.tc_cluster;
                sh = shape_of_class(li.tc_class);
            }
            let g1 = if flags & F_CAP != 0 {
                lex.gaz.get(gaz_step(GAZ_SEED, lw)).copied().unwrap_or(0)
            } else {
                0
            };
            let mut ps = [0u64; 8];
            for p in 2..4 {
                if ln > p + 1 {
                    ps[p] = word_hash(&low[..p + 1]);
                    ps[4 + p] = word_hash(&low[ln - p - 1..]);
                }
            }
            let mut atom = Atom {
                w,
                lw,
                sh,
                cl,
                flags,
                lower_frac: li.lower_frac,
                freq: li.freq_bucket,
                len: s.len().min(255) as u8,
                gaz: [0; 5],
                gazbits: 0,
                g1,
                docf: 0,
                dctx: 0,
                ch_first: 0,
                ch_last: 0,
                ch_pos: 0,
                eid: 0,
            };
            if self.went.is_empty() {
                self.went.push(Atom::default());
                self.wps.push([0; 8]);
            }
            let e = self.went.len() as u32;
            self.went.push(atom);
            self.wps.push(ps);
            self.wmap.insert(key, e);
            atom.eid = e;
            self.atoms.push(atom);
        }
        self.sents.push(Sent {
            start,
            end: self.atoms.len(),
            caps,
            headline,
        });
    }

    /// Computes gazetteer matches, document flags and static feature rows.
    pub fn finish(&mut self, lex: &Lexicon, fs: FeatSpace, bundled: bool) {
        self.bundled = bundled;
        self.nb.clear();
        let n = self.atoms.len();
        // gazetteers
        for si in 0..self.sents.len() {
            let Sent { start, end, .. } = self.sents[si];
            for i in start..end {
                let a = self.atoms[i];
                if a.flags & F_CAP == 0 {
                    continue;
                }
                let mut acc = GAZ_SEED;
                let mut prev_flags = 0u8;
                for len in 1..=GAZ_MAX_LEN.min(end - i) {
                    acc = gaz_step(acc, self.atoms[i + len - 1].lw);
                    // No longer entry begins with the words so far (see GAZ_PREFIX).
                    if len > 1 && prev_flags & GAZ_PREFIX == 0 {
                        break;
                    }
                    if len > 1
                        && self.atoms[i + len - 1].flags & (F_CAP | F_DIGIT) == 0
                        && self.atoms[i + len - 1].len > 3
                    {
                        // multi-word entries continue only through capitalised words or short function words
                        if self.atoms[i + len - 1].flags & F_ALPHA != 0 {
                            break;
                        }
                    }
                    let fl = if len == 1 {
                        a.g1
                    } else {
                        lex.gaz.get(acc).copied().unwrap_or(0)
                    };
                    prev_flags = fl;
                    for (c, bit) in [GAZ_PLACE, GAZ_FIRST, GAZ_SURNAME, GAZ_ORGSUF, GAZ_TITLE]
                        .iter()
                        .enumerate()
                    {
                        if fl & bit != 0 {
                            for j in 0..len {
                                let pos = if len == 1 {
                                    4
                                } else if j == 0 {
                                    1
                                } else if j + 1 == len {
                                    3
                                } else {
                                    2
                                };
                                let g = &mut self.atoms[i + j].gaz[c];
                                if *g == 0 || len > 1 {
                                    *g = pos;
                                }
                                self.atoms[i + j].gazbits |= bit;
                            }
                        }
                    }
                }
            }
        }
        // capitalised chunks (runs of capitalised words, not in all-caps lines)
        for si in 0..self.sents.len() {
            let Sent {
                start, end, caps, ..
            } = self.sents[si];
            if caps {
                continue;
            }
            let mut i = start;
            while i < end {
                if self.atoms[i].flags & F_CAP == 0 || self.atoms[i].flags & F_ALPHA == 0 {
                    i += 1;
                    continue;
                }
                let mut j = i + 1;
                while j < end
                    && self.atoms[j].flags & F_CAP != 0
                    && self.atoms[j].flags & F_ALPHA != 0
                {
                    j += 1;
                }
                let (f, l) = (self.atoms[i].lw, self.atoms[j - 1].lw);
                for k in i..j {
                    let a = &mut self.atoms[k];
                    a.ch_first = f;
                    a.ch_last = l;
                    a.ch_pos = if j - i == 1 {
                        4
                    } else if k == i {
                        1
                    } else if k + 1 == j {
                        3
                    } else {
                        2
                    };
                }
                i = j;
            }
        }
        // document flags: 1 = seen lowercase, 2 = seen capitalised mid-sentence once, 4 = twice
        self.docmap.clear();
        for s in &self.sents {
            for i in s.start..s.end {
                let a = &self.atoms[i];
                if a.flags & F_LOWER != 0 {
                    *self.docmap.entry(a.lw) |= 1;
                } else if a.flags & F_CAP != 0 && a.flags & F_INITIAL == 0 && !s.caps {
                    let e = self.docmap.entry(a.lw);
                    *e |= if *e & 2 != 0 { 4 } else { 2 };
                }
            }
        }
        // document context of capitalised words, OR-ed over their occurrences:
        // 1 after a title, 2 last word of a chunk starting with a first name, 4 in a chunk ending
        // with an org suffix, 8 after a locative preposition, 16 inside a longer chunk,
        // 32 before 's, 64 after "the", 128 a one-word chunk mid-sentence
        let fw = &*FUNC_WORDS;
        for s in &self.sents {
            if s.caps {
                continue;
            }
            for i in s.start..s.end {
                let a = &self.atoms[i];
                if a.flags & F_CAP == 0 || a.ch_pos == 0 {
                    continue;
                }
                let mut bits = 0u16;
                let prev = (i > s.start).then(|| &self.atoms[i - 1]);
                let next = (i + 1 < s.end).then(|| &self.atoms[i + 1]);
                if let Some(p) = prev {
                    if p.gazbits & GAZ_TITLE != 0 {
                        bits |= 1;
                    }
                    if fw[..5].contains(&p.lw) {
                        bits |= 8;
                    }
                    if p.lw == fw[5] {
                        bits |= 64;
                    }
                }
                if a.ch_pos == 3 {
                    // first token of the chunk is a first name?
                    let mut j = i;
                    while j > s.start && self.atoms[j].ch_pos != 1 {
                        j -= 1;
                    }
                    if self.atoms[j].gazbits & GAZ_FIRST != 0 {
                        bits |= 2;
                    }
                }
                if a.ch_pos != 4 {
                    bits |= 16;
                    let mut j = i;
                    while j + 1 < s.end && self.atoms[j].ch_pos != 3 {
                        j += 1;
                    }
                    if self.atoms[j].gazbits & GAZ_ORGSUF != 0 {
                        bits |= 4;
                    }
                } else if a.flags & F_INITIAL == 0 {
                    bits |= 128;
                }
                if next.is_some_and(|x| x.lw == fw[6]) {
                    bits |= 32;
                }
                *self.docmap.entry(a.lw) |= bits << 8;
            }
        }
        for i in 0..n {
            let lw = self.atoms[i].lw;
            let v = self.docmap.get(lw).copied().unwrap_or(0);
            self.atoms[i].docf = (v & 0xff) as u8;
            self.atoms[i].dctx = if self.atoms[i].flags & F_CAP != 0 {
                (v >> 8) as u8
            } else {
                0
            };
        }
        // Tokens the decoder may tag O without scoring (see `decode`).
        self.skip.clear();
        self.skip.resize(n, false);
        for s in &self.sents {
            for i in s.start + 1..s.end {
                self.skip[i] = is_plain(&self.atoms[i]) && is_plain(&self.atoms[i - 1]);
            }
        }
        // static rows
        self.rows.clear();
        self.off.clear();
        self.off.push(0);
        let none = Atom::default();
        for si in 0..self.sents.len() {
            let s = self.sents[si];
            for i in s.start..s.end {
                let at = |j: isize| -> &Atom {
                    let p = i as isize + j;
                    if p < s.start as isize || p >= s.end as isize {
                        &none
                    } else {
                        &self.atoms[p as usize]
                    }
                };
                let a = at(0);
                let (m1, p1, m2, p2) = (at(-1), at(1), at(-2), at(2));
                if bundled {
                    self.nb.push([a.eid, m1.eid, p1.eid, m2.eid, p2.eid]);
                    // Most skipped tokens are never scored: their rows are made if they are.
                    if !self.skip[i] {
                        pair_rows(fs, &self.atoms, s, i, &mut self.rows);
                    }
                } else {
                    let r = &mut self.rows;
                    let mut push = |x: u32| r.push(x);
                    let ps = &self.wps[a.eid as usize];
                    bundle(fs, a, ps, 0, &mut push);
                    bundle(fs, m1, ps, 1, &mut push);
                    bundle(fs, p1, ps, 2, &mut push);
                    bundle(fs, m2, ps, 3, &mut push);
                    bundle(fs, p2, ps, 4, &mut push);
                    pair_rows(fs, &self.atoms, s, i, &mut self.rows);
                }
                self.off.push(self.rows.len() as u32);
            }
        }
    }

    /// Token `i`'s score from its static features (those that do not depend on earlier tags).
    #[inline(always)]
    fn static_score<S: Scorer>(&mut self, scorer: &S, fs: FeatSpace, i: usize) -> [i32; NT] {
        const AHEAD: usize = 48;
        /// Tokens ahead whose word-cache score vectors are loaded early.
        const VEC_AHEAD: usize = 4;
        let (a, b) = (self.off[i] as usize, self.off[i + 1] as usize);
        let mut acc = [0i32; NT];
        if self.bundled {
            if let Some(ids) = self.nb.get(i + VEC_AHEAD) {
                for (j, &e) in ids.iter().enumerate() {
                    if let Some(v) = self.wvec.get(e as usize) {
                        prefetch(&v[j]);
                    }
                }
            }
            let ids = self.nb[i];
            for (j, &e) in ids.iter().enumerate() {
                let e = e as usize;
                if self.wok[e] & (1 << j) == 0 {
                    let at = self.went[e];
                    let vv = &mut self.wvec[e][j];
                    bundle(fs, &at, &self.wps[e], j, &mut |r| scorer.add_row(r, vv));
                    self.wok[e] |= 1 << j;
                }
                let v = &self.wvec[e][j];
                for t in 0..NT {
                    acc[t] += v[t];
                }
            }
            if self.skip[i] {
                // A skipped token scored after all: `finish` made no rows for it.
                let s = self.sents[self.sent_of(i)];
                let mut rows = std::mem::take(&mut self.lazy_rows);
                rows.clear();
                pair_rows(fs, &self.atoms, s, i, &mut rows);
                for &r in &rows {
                    scorer.add_row(r, &mut acc);
                }
                self.lazy_rows = rows;
                return acc;
            }
        }
        let total = self.rows.len();
        for k in a..b {
            if k + AHEAD < total {
                scorer.prefetch(self.rows[k + AHEAD]);
            }
            scorer.add_row(self.rows[k], &mut acc);
        }
        acc
    }

    /// The sentence holding token `i`.
    fn sent_of(&self, i: usize) -> usize {
        self.sents.partition_point(|s| s.end <= i)
    }

    /// Greedy decoding of the whole document. `gold` enables perceptron training through `update`.
    ///
    /// Always inlined, so that a caller compiled for more CPU features (see
    /// `Tagger::decode_spans`) gets a copy of the decoder that uses them.
    #[inline(always)]
    pub fn decode<S: Scorer>(
        &mut self,
        scorer: &S,
        fs: FeatSpace,
        model_id: u64,
        gold: Option<&[u8]>,
        update: &mut UpdateFn<'_>,
    ) {
        let n = self.atoms.len();
        self.tags.clear();
        self.tags.resize(n, 0);
        self.hist.clear();
        self.order.clear();
        for (k, s) in self.sents.iter().enumerate() {
            if !s.caps && !s.headline {
                self.order.push(k);
            }
        }
        for (k, s) in self.sents.iter().enumerate() {
            if s.caps || s.headline {
                self.order.push(k);
            }
        }
        // Plain tokens (lowercase words, punctuation) right after another plain token are
        // tagged O without scoring when the token before them is O: half of news text (53% of
        // eng.testa), which the model tags O anyway (F1 91.51 against 91.54, see the README).
        // `finish` marked them; training (`gold`) scores every token.
        if gold.is_some() {
            self.skip.iter_mut().for_each(|x| *x = false);
        }
        // static scores for all other tokens first: independent loads, prefetched ahead
        self.sscore.clear();
        self.sscore.resize(n, [0; NT]);
        if gold.is_none() {
            if self.bundled {
                if self.wmodel != model_id {
                    self.wok.iter_mut().for_each(|x| *x = 0);
                    self.wmodel = model_id;
                }
                self.wok.resize(self.went.len(), 0);
                self.wvec.resize(self.went.len(), [[0; NT]; 5]);
            }
            for i in 0..n {
                if !self.skip[i] {
                    self.sscore[i] = self.static_score(scorer, fs, i);
                }
            }
        }
        for oi in 0..self.order.len() {
            let s = self.sents[self.order[oi]];
            let mut p1 = START;
            let mut p2 = START;
            for i in s.start..s.end {
                if self.skip[i] && p1 == 0 {
                    self.tags[i] = 0;
                    p2 = p1;
                    continue;
                }
                let a = self.atoms[i];
                if self.skip[i] {
                    // After an entity's first words: scored after all.
                    self.sscore[i] = self.static_score(scorer, fs, i);
                }
                let dr = &mut self.dynrows;
                dr.clear();
                dr.push(fs.row(60, p1 as u64));
                dr.push(fs.row(61, (p2 * 32 + p1) as u64));
                dr.push(fs.row(62, mix(p1 as u64, a.lw)));
                dr.push(fs.row(63, mix(p1 as u64, a.sh)));
                if a.flags & F_CAP != 0 {
                    if let Some(h) = self.hist.get(a.lw) {
                        let mut best = 0;
                        for t in 0..5 {
                            if h[t] > 0 {
                                dr.push(fs.row(64, t as u64));
                            }
                            if h[t] > h[best] {
                                best = t;
                            }
                        }
                        for _ in 0..2 {
                            dr.push(fs.row(65, best as u64));
                            dr.push(fs.row(
                                66,
                                mix(best as u64, (a.flags & (F_INITIAL | F_CAPSSENT)) as u64),
                            ));
                        }
                    }
                }
                let st = &self.rows[self.off[i] as usize..self.off[i + 1] as usize];
                let mut acc = if gold.is_none() {
                    self.sscore[i]
                } else {
                    let mut acc = [0i32; NT];
                    for &r in st {
                        scorer.add_row(r, &mut acc);
                    }
                    acc
                };
                for &r in dr.iter() {
                    scorer.add_row(r, &mut acc);
                }
                let last = i + 1 == s.end;
                let mut best = usize::MAX;
                for t in 0..NT {
                    if allowed(p1, t, last) && (best == usize::MAX || acc[t] > acc[best]) {
                        best = t;
                    }
                }
                // repair: when the previous token opened an entity (B/I) but the model clearly
                // prefers to start afresh here, close the previous entity (B->U, I->L) instead
                // of forcing a continuation
                if let Some((k, pos)) = tag_parts(p1).filter(|&(_, pos)| pos <= 1) {
                    let mut free = 0;
                    for t in 0..NT {
                        if allowed(START, t, last) && acc[t] > acc[free] {
                            free = t;
                        }
                    }
                    if acc[free] > acc[best] {
                        let fixed = tag_of(k, if pos == 0 { 3 } else { 2 });
                        self.tags[i - 1] = fixed as u8;
                        p1 = fixed;
                        best = free;
                    }
                }
                if let Some(g) = gold {
                    let gt = g[i] as usize;
                    if gt != best {
                        update(st, dr, gt, best);
                    }
                }
                self.tags[i] = best as u8;
                if a.flags & F_CAP != 0 {
                    let ty = tag_parts(best).map(|(k, _)| k + 1).unwrap_or(0);
                    let h = self.hist.entry(a.lw);
                    h[ty] = h[ty].saturating_add(1);
                }
                p2 = p1;
                p1 = best;
            }
        }
    }
}
