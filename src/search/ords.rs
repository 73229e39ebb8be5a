//! Resolving term ordinals of dictionary-encoded fast fields (`article_id`, `entity`) in
//! batches.
//!
//! A column's dictionary is an sstable of compressed blocks: looking one ordinal up
//! decompresses its whole block, so resolving ordinals one at a time costs a block
//! decompression each. Sorted and de-duplicated, they are resolved in one pass that opens each
//! block at most once.

use std::sync::Arc;

use tantivy::columnar::StrColumn;

/// Sorts and de-duplicates `ords`.
pub fn sort_unique(ords: &mut Vec<u64>) {
    ords.sort_unstable();
    ords.dedup();
}

/// The strings of `ords` (sorted, unique), in the same order.
pub fn strings(col: &StrColumn, ords: &[u64]) -> std::io::Result<Vec<Arc<str>>> {
    let mut out = Vec::with_capacity(ords.len());
    col.dictionary().sorted_ords_to_term_cb(ords, |b| {
        out.push(Arc::from(String::from_utf8_lossy(b).as_ref()));
    })?;
    Ok(out)
}

/// Maps each ordinal to its index in `sorted` (sorted, unique), which must hold it.
pub fn index_of(sorted: &[u64], ord: u64) -> usize {
    sorted.binary_search(&ord).unwrap_or(0)
}
