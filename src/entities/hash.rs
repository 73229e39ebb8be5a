//! Small, fast non-cryptographic hashing and an open-addressing `u64 -> V` table.

const M1: u64 = 0x9E37_79B9_7F4A_7C15;
const M2: u64 = 0x2545_F491_4F6C_DD1D;

/// Mixes two 64-bit values into one.
#[inline(always)]
pub fn mix(a: u64, b: u64) -> u64 {
    let x = (a ^ b.rotate_left(29)).wrapping_add(M1).wrapping_mul(M2);
    let x = x ^ (x >> 32);
    x.wrapping_mul(M1) ^ (x >> 29)
}

/// Hashes a byte string with a seed.
#[inline]
pub fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(M1);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ v).wrapping_mul(M2);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(M2);
    }
    let h = h ^ (h >> 31);
    let h = h.wrapping_mul(M1);
    let h = h ^ (h >> 29);
    if h == 0 {
        1
    } else {
        h
    }
}

/// Hash of a word as used for all lexicon lookups.
#[inline]
pub fn word_hash(bytes: &[u8]) -> u64 {
    hash_bytes(0x51_7cc1_b727_220a, bytes)
}

/// ASCII-lowercases `src` into `buf` (truncating at 64 bytes) and returns the lowered slice length.
#[inline]
pub fn lower_into(src: &[u8], buf: &mut [u8; 64]) -> usize {
    let n = src.len().min(64);
    for i in 0..n {
        buf[i] = src[i].to_ascii_lowercase();
    }
    n
}

/// Hash of a word's ASCII-lowercased form (allocation free).
#[inline]
pub fn lower_hash(bytes: &[u8]) -> u64 {
    if bytes.len() <= 64 {
        let mut buf = [0u8; 64];
        let n = lower_into(bytes, &mut buf);
        word_hash(&buf[..n])
    } else {
        word_hash(bytes.to_ascii_lowercase().as_slice())
    }
}

/// Hint that `x` will be read soon: loads the cache line holding its first byte.
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint and never faults; the pointer comes from a reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch(x as *const T as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Open-addressing hash table with non-zero `u64` keys (already hashed); key and value share
/// one slot so a lookup touches one cache line.
#[derive(Clone, Debug)]
pub struct U64Map<V: Copy + Default> {
    slots: Vec<(u64, V)>,
    mask: usize,
    len: usize,
}

impl<V: Copy + Default> Default for U64Map<V> {
    fn default() -> Self {
        Self::with_capacity(16)
    }
}

impl<V: Copy + Default> U64Map<V> {
    pub fn with_capacity(n: usize) -> Self {
        let cap = (n * 2).next_power_of_two().max(16);
        U64Map {
            slots: vec![(0, V::default()); cap],
            mask: cap - 1,
            len: 0,
        }
    }

    /// Number of slots (a power of two).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Slot `i` as (key, value); key 0 = empty.
    pub fn slot_at(&self, i: usize) -> (u64, V) {
        self.slots[i]
    }

    /// Rebuilds a table from slots written in order by [`U64Map::slot_at`].
    pub fn from_slots(slots: Vec<(u64, V)>) -> Option<Self> {
        if !slots.len().is_power_of_two() {
            return None;
        }
        let len = slots.iter().filter(|k| k.0 != 0).count();
        Some(U64Map {
            mask: slots.len() - 1,
            slots,
            len,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hint that `key` will be looked up soon: loads its first slot's cache line.
    #[inline(always)]
    pub fn prefetch(&self, key: u64) {
        prefetch(&self.slots[self.home(key)]);
    }

    /// The slot where the probe for `key` starts.
    #[inline(always)]
    fn home(&self, key: u64) -> usize {
        (key as usize ^ (key >> 32) as usize) & self.mask
    }

    #[inline]
    fn slot(&self, key: u64) -> usize {
        let mut i = self.home(key);
        loop {
            let k = self.slots[i].0;
            if k == key || k == 0 {
                return i;
            }
            i = (i + 1) & self.mask;
        }
    }

    #[inline]
    pub fn get(&self, key: u64) -> Option<&V> {
        let i = self.slot(key);
        let s = &self.slots[i];
        if s.0 == key {
            Some(&s.1)
        } else {
            None
        }
    }

    /// Returns a mutable reference to the value, inserting `V::default()` if absent.
    #[inline]
    pub fn entry(&mut self, key: u64) -> &mut V {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let i = self.slot(key);
        if self.slots[i].0 != key {
            self.slots[i] = (key, V::default());
            self.len += 1;
        }
        &mut self.slots[i].1
    }

    pub fn insert(&mut self, key: u64, v: V) {
        *self.entry(key) = v;
    }

    /// Removes all entries, keeping the allocation (cost proportional to capacity).
    pub fn clear(&mut self) {
        if self.len > 0 {
            self.slots.iter_mut().for_each(|k| k.0 = 0);
            self.len = 0;
        }
    }

    fn grow(&mut self) {
        let mut bigger = U64Map::with_capacity(self.slots.len());
        for &(k, v) in &self.slots {
            if k != 0 {
                let i = bigger.slot(k);
                bigger.slots[i] = (k, v);
                bigger.len += 1;
            }
        }
        *self = bigger;
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        self.slots.iter().filter(|s| s.0 != 0).map(|s| (s.0, &s.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_roundtrip() {
        let mut m: U64Map<u32> = U64Map::with_capacity(2);
        for i in 1..1000u64 {
            m.insert(mix(i, 7) | 1, i as u32);
        }
        assert_eq!(m.len(), 999);
        for i in 1..1000u64 {
            assert_eq!(m.get(mix(i, 7) | 1), Some(&(i as u32)));
        }
        assert_eq!(lower_hash(b"ABC"), word_hash(b"abc"));
    }
}
