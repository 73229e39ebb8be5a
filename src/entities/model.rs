//! Quantised weight table and the compact binary model format.

use super::features::{Scorer, NT};
use super::hash::U64Map;
use super::lexicon::{Lexicon, LowerInfo};
use anyhow::{bail, Context, Result};

/// Quantised weights: `rows x NT` i16, row-major.
#[derive(Clone, Debug, Default)]
pub struct Weights {
    pub bits: u32,
    pub scale: f32,
    pub w: Vec<i16>,
}

impl Weights {
    /// Quantises float weights to i16 (symmetric, max-abs scaling).
    pub fn quantize(bits: u32, w: &[f32]) -> Weights {
        let mut mags: Vec<f32> = w.iter().filter(|x| **x != 0.0).map(|x| x.abs()).collect();
        let clip = if mags.is_empty() {
            1.0
        } else {
            let k = ((mags.len() as f64) * 0.99999) as usize;
            let k = k.min(mags.len() - 1);
            *mags.select_nth_unstable_by(k, |a, b| a.total_cmp(b)).1
        };
        let scale = 32000.0 / clip.max(1e-9);
        let q = w
            .iter()
            .map(|x| (x * scale).round().clamp(-32767.0, 32767.0) as i16)
            .collect();
        Weights { bits, scale, w: q }
    }
}

/// The quantised weights as the tagger reads them: only the non-zero rows, packed.
///
/// Fewer than one row in ten of the hashed feature table is non-zero, and most lookups are of
/// features never seen in training. The dense table is 35 MB read at random (a cache miss, and
/// often a TLB miss, per lookup); here a lookup first reads a 256 KB bitmap-with-ranks that
/// stays in cache, and only a non-zero row is read from the packed rows (about 3 MB). Scores
/// are exactly those of the dense table.
#[derive(Clone, Debug, Default)]
pub struct SparseWeights {
    pub bits: u32,
    pub scale: f32,
    /// Per 64 consecutive rows: which are non-zero, and the index in `rows` of the first one.
    blocks: Vec<RowBlock>,
    /// The non-zero rows in row order, after one all-zero row (index 0) that absent rows use.
    rows: Vec<[i16; NT]>,
}

#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(16))]
struct RowBlock {
    nonzero: u64,
    base: u32,
}

impl SparseWeights {
    /// Index in `rows` of a feature row (0, the zero row, when the row is all zeros).
    #[inline(always)]
    fn index(&self, row: u32) -> usize {
        let b = self.blocks[(row >> 6) as usize];
        let bit = 1u64 << (row & 63);
        let rank = b.base as usize + (b.nonzero & (bit - 1)).count_ones() as usize;
        // Branch-free: absent rows read the zero row, which stays in L1.
        rank & (((b.nonzero & bit) != 0) as usize).wrapping_neg()
    }

    /// Packs the non-zero rows of a dense table.
    pub fn from_dense(w: &Weights) -> SparseWeights {
        let n = 1usize << w.bits;
        let mut s = SparseWeights::builder(w.bits, w.scale);
        for r in 0..n {
            let row: &[i16; NT] = w.w[r * NT..(r + 1) * NT].try_into().unwrap();
            if row.iter().any(|x| *x != 0) {
                s.push_row(r, *row);
            }
        }
        s.finish()
    }

    /// An empty table; rows are then added in increasing row order with [`Self::push_row`].
    fn builder(bits: u32, scale: f32) -> SparseWeights {
        let nblocks = (1usize << bits).div_ceil(64);
        SparseWeights {
            bits,
            scale,
            blocks: vec![RowBlock::default(); nblocks],
            rows: vec![[0; NT]],
        }
    }

    /// Adds non-zero row `r`; rows must come in increasing order, then [`Self::finish`].
    fn push_row(&mut self, r: usize, row: [i16; NT]) {
        self.blocks[r / 64].nonzero |= 1 << (r % 64);
        self.rows.push(row);
    }

    /// Sets each block's first index once every row is in.
    fn finish(mut self) -> SparseWeights {
        let mut next = 1u32;
        for b in &mut self.blocks {
            b.base = next;
            next += b.nonzero.count_ones();
        }
        self
    }

    /// The dense table (for saving the model).
    pub fn to_dense(&self) -> Weights {
        let n = 1usize << self.bits;
        let mut w = vec![0i16; n * NT];
        for r in 0..n {
            let i = self.index(r as u32);
            if i != 0 {
                w[r * NT..(r + 1) * NT].copy_from_slice(&self.rows[i]);
            }
        }
        Weights {
            bits: self.bits,
            scale: self.scale,
            w,
        }
    }

    /// Number of non-zero rows.
    pub fn nonzero_rows(&self) -> usize {
        self.rows.len() - 1
    }
}

impl Scorer for SparseWeights {
    #[inline(always)]
    fn add_row(&self, row: u32, acc: &mut [i32; NT]) {
        let r = &self.rows[self.index(row)];
        for t in 0..NT {
            acc[t] += r[t] as i32;
        }
    }

    #[inline(always)]
    fn prefetch(&self, row: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            let i = self.index(row);
            // SAFETY: prefetch is a hint; the pointer is in bounds of `self.rows`.
            unsafe {
                let p = self.rows.as_ptr().add(i) as *const i8;
                std::arch::x86_64::_mm_prefetch(p, std::arch::x86_64::_MM_HINT_T0);
                std::arch::x86_64::_mm_prefetch(p.add(33), std::arch::x86_64::_MM_HINT_T0);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = row;
    }
}

const MAGIC: &[u8; 8] = b"NERMODL2";

fn put_u32(o: &mut Vec<u8>, v: u32) {
    o.extend_from_slice(&v.to_le_bytes());
}

fn put_keys<V: Copy + Default>(o: &mut Vec<u8>, m: &U64Map<V>) {
    put_u32(o, m.capacity() as u32);
    for i in 0..m.capacity() {
        o.extend_from_slice(&m.slot_at(i).0.to_le_bytes());
    }
}

fn vals<V: Copy + Default>(m: &U64Map<V>) -> impl Iterator<Item = V> + '_ {
    (0..m.capacity()).map(|i| m.slot_at(i).1)
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.p + n > self.b.len() {
            bail!("model file truncated");
        }
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn keys(&mut self) -> Result<Vec<u64>> {
        let n = self.u32()? as usize;
        let s = self.take(n * 8)?;
        Ok(s.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }
}

/// Serialises the lookup tables and the weights. Tables are stored as raw open-addressing
/// slot arrays (loaded without rehashing). Weight rows: a bitmap of non-zero rows, then per
/// row a 3-byte mask of non-zero tags followed by those i16 values.
pub fn to_bytes(lex: &Lexicon, w: &Weights) -> Vec<u8> {
    let mut o = Vec::with_capacity(8 << 20);
    o.extend_from_slice(MAGIC);
    put_u32(&mut o, w.bits);
    o.extend_from_slice(&w.scale.to_le_bytes());
    put_keys(&mut o, &lex.clusters);
    for x in vals(&lex.clusters) {
        o.extend_from_slice(&x.to_le_bytes());
    }
    put_keys(&mut o, &lex.lower);
    for x in vals(&lex.lower) {
        o.extend_from_slice(&x.truecase.to_le_bytes());
        o.extend_from_slice(&x.tc_cluster.to_le_bytes());
        o.extend_from_slice(&[x.lower_frac, x.freq_bucket, x.tc_class]);
    }
    put_keys(&mut o, &lex.gaz);
    o.extend(vals(&lex.gaz));
    let rows = 1usize << w.bits;
    let mut bitmap = vec![0u8; rows.div_ceil(8)];
    for r in 0..rows {
        if w.w[r * NT..(r + 1) * NT].iter().any(|x| *x != 0) {
            bitmap[r / 8] |= 1 << (r % 8);
        }
    }
    o.extend_from_slice(&bitmap);
    for r in 0..rows {
        if bitmap[r / 8] & (1 << (r % 8)) == 0 {
            continue;
        }
        let row = &w.w[r * NT..(r + 1) * NT];
        let mut mask = 0u32;
        for (t, v) in row.iter().enumerate() {
            if *v != 0 {
                mask |= 1 << t;
            }
        }
        o.extend_from_slice(&mask.to_le_bytes()[..3]);
        for v in row.iter().filter(|v| **v != 0) {
            o.extend_from_slice(&v.to_le_bytes());
        }
    }
    o
}

pub fn from_bytes(b: &[u8]) -> Result<(Lexicon, SparseWeights)> {
    let mut r = Reader { b, p: 0 };
    if r.take(8)? != MAGIC {
        bail!("not a newsindex NER model (bad magic)");
    }
    let bits = r.u32()?;
    if !(10..=26).contains(&bits) {
        bail!("bad feature bits {bits}");
    }
    let s = r.take(4)?;
    let scale = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    let mut lex = Lexicon::default();
    let k = r.keys()?;
    let v = r
        .take(k.len() * 4)?
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()));
    lex.clusters =
        U64Map::from_slots(k.iter().copied().zip(v).collect()).context("bad cluster table")?;
    let k = r.keys()?;
    let v = r.take(k.len() * 15)?.chunks_exact(15).map(|c| LowerInfo {
        truecase: u64::from_le_bytes(c[0..8].try_into().unwrap()),
        tc_cluster: u32::from_le_bytes(c[8..12].try_into().unwrap()),
        lower_frac: c[12],
        freq_bucket: c[13],
        tc_class: c[14],
    });
    lex.lower = U64Map::from_slots(k.iter().copied().zip(v).collect()).context("bad case table")?;
    let k = r.keys()?;
    let v = r.take(k.len())?.iter().copied();
    lex.gaz =
        U64Map::from_slots(k.iter().copied().zip(v).collect()).context("bad gazetteer table")?;
    let rows = 1usize << bits;
    let bitmap = r.take(rows.div_ceil(8))?;
    let mut w = SparseWeights::builder(bits, scale);
    let body = &b[r.p..];
    let mut p = 0usize;
    for (byte_i, &byte) in bitmap.iter().enumerate() {
        let mut m = byte;
        while m != 0 {
            let row = byte_i * 8 + m.trailing_zeros() as usize;
            m &= m - 1;
            if p + 3 > body.len() {
                bail!("model file truncated");
            }
            let mut mask = u32::from_le_bytes([body[p], body[p + 1], body[p + 2], 0]);
            p += 3;
            let mut dst = [0i16; NT];
            if p + 2 * mask.count_ones() as usize > body.len() {
                bail!("model file truncated");
            }
            while mask != 0 {
                let t = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                if t >= NT {
                    bail!("bad weight row");
                }
                dst[t] = i16::from_le_bytes([body[p], body[p + 1]]);
                p += 2;
            }
            if dst.iter().any(|x| *x != 0) {
                w.push_row(row, dst);
            }
        }
    }
    Ok((lex, w.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_weights_score_like_the_dense_table() {
        let bits = 12;
        let n = 1usize << bits;
        let mut w = vec![0i16; n * NT];
        // Non-zero rows at block edges, in runs, and scattered; long empty stretches between.
        for r in [
            0usize,
            1,
            63,
            64,
            65,
            127,
            128,
            1000,
            1001,
            1002,
            2047,
            4032,
            n - 1,
        ] {
            for t in 0..NT {
                w[r * NT + t] = (r as i16).wrapping_mul(7).wrapping_add(t as i16) - 40;
            }
        }
        let dense = Weights {
            bits,
            scale: 2.0,
            w,
        };
        let sparse = SparseWeights::from_dense(&dense);
        assert_eq!(sparse.nonzero_rows(), 13);
        for r in 0..n {
            let want: Vec<i32> = dense.w[r * NT..(r + 1) * NT]
                .iter()
                .map(|&x| i32::from(x))
                .collect();
            let mut got = [0i32; NT];
            sparse.add_row(r as u32, &mut got);
            assert_eq!(got.as_slice(), want.as_slice(), "row {r}");
        }
        assert_eq!(sparse.to_dense().w, dense.w);
        // The model file round-trips through the sparse form.
        let lex = Lexicon::default();
        let (_, back) = from_bytes(&to_bytes(&lex, &dense)).unwrap();
        assert_eq!(back.to_dense().w, dense.w);
    }
}
