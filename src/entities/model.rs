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

impl Scorer for Weights {
    #[inline(always)]
    fn add_row(&self, row: u32, acc: &mut [i32; NT]) {
        let base = row as usize * NT;
        let r: &[i16; NT] = self.w[base..base + NT].try_into().unwrap();
        for t in 0..NT {
            acc[t] += r[t] as i32;
        }
    }

    #[inline(always)]
    fn prefetch(&self, row: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            let base = row as usize * NT;
            if base + NT <= self.w.len() {
                // SAFETY: prefetch is a hint; the pointer is in bounds of `self.w`.
                unsafe {
                    let p = self.w.as_ptr().add(base) as *const i8;
                    std::arch::x86_64::_mm_prefetch(p, std::arch::x86_64::_MM_HINT_T0);
                    std::arch::x86_64::_mm_prefetch(p.add(33), std::arch::x86_64::_MM_HINT_T0);
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = row;
    }
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

pub fn from_bytes(b: &[u8]) -> Result<(Lexicon, Weights)> {
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
    let mut w = vec![0i16; rows * NT];
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
            let dst = &mut w[row * NT..(row + 1) * NT];
            if p + 2 * mask.count_ones() as usize > body.len() {
                bail!("model file truncated");
            }
            while mask != 0 {
                let t = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                dst[t] = i16::from_le_bytes([body[p], body[p + 1]]);
                p += 2;
            }
        }
    }
    Ok((lex, Weights { bits, scale, w }))
}
