//! Which segments tantivy merges while an ingest runs: its log merge policy, with every merge
//! bounded in bytes.
//!
//! A merge reads its source segments through memory maps, and the pages it has read stay
//! resident until it ends: the bytes a merge reads are the largest part of an ingest's peak
//! memory. Tantivy's policy groups segments into levels by document count and merges a level
//! once it holds eight; on 1 GB of text that next merge would read 8 x 500 MB at once.
//! Bounding each merge by bytes (not documents, whose size varies with the corpus) keeps the
//! peak flat however large the archive grows; the price is more segments once the archive
//! outgrows a few merges' worth.

use std::path::PathBuf;

use tantivy::index::{SegmentComponent, SegmentMeta};
use tantivy::merge_policy::{LogMergePolicy, MergeCandidate, MergePolicy};

/// At most this many bytes of segments are read by one merge.
///
/// With a 192 MB writer heap, segments grow from 40 MB flushes to merges of eight (about
/// 380 MB on disk), which fit; two of those do not, so they are never merged again.
pub const MAX_MERGE_BYTES: u64 = 512 << 20;

/// Tantivy's [`LogMergePolicy`], each merge cut to its smallest segments that fit in
/// `max_bytes` (and dropped if fewer than two fit).
#[derive(Debug)]
pub struct BoundedMerges {
    inner: LogMergePolicy,
    /// The index folder, where segment sizes are read.
    dir: PathBuf,
    max_bytes: u64,
}

impl BoundedMerges {
    pub fn new(dir: PathBuf, max_bytes: u64) -> BoundedMerges {
        BoundedMerges {
            inner: LogMergePolicy::default(),
            dir,
            max_bytes,
        }
    }

    /// A segment's size on disk (0 for files it cannot read).
    fn bytes(&self, meta: &SegmentMeta) -> u64 {
        [
            SegmentComponent::Postings,
            SegmentComponent::Positions,
            SegmentComponent::FastFields,
            SegmentComponent::FieldNorms,
            SegmentComponent::Terms,
            SegmentComponent::Store,
            SegmentComponent::Custom(super::mention_store::EXTENSION.to_string()),
        ]
        .into_iter()
        .filter_map(|c| std::fs::metadata(self.dir.join(meta.relative_path(c))).ok())
        .map(|m| m.len())
        .sum()
    }
}

impl MergePolicy for BoundedMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        self.inner
            .compute_merge_candidates(segments)
            .into_iter()
            .filter_map(|candidate| {
                let mut sized: Vec<(u64, _)> = candidate
                    .0
                    .into_iter()
                    .filter_map(|id| segments.iter().find(|s| s.id() == id))
                    .map(|s| (self.bytes(s), s.id()))
                    .collect();
                sized.sort_by_key(|(bytes, _)| *bytes);
                let mut total = 0;
                let fits: Vec<_> = sized
                    .into_iter()
                    .take_while(|(bytes, _)| {
                        total += bytes;
                        total <= self.max_bytes
                    })
                    .map(|(_, id)| id)
                    .collect();
                (fits.len() >= 2).then_some(MergeCandidate(fits))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::index::SegmentId;

    #[test]
    fn merges_keep_the_smallest_segments_that_fit() {
        let dir = tempfile::tempdir().unwrap();
        let index = tantivy::Index::create_in_ram(tantivy::schema::Schema::builder().build());
        // Nine segments of 100 bytes and 1,000 documents each: tantivy would merge all nine.
        let metas: Vec<SegmentMeta> = (0..9)
            .map(|i| {
                let meta = index.new_segment_meta(SegmentId::generate_random(), 1000);
                let size = if i == 0 { 50 } else { 100 };
                let path = dir.path().join(meta.relative_path(SegmentComponent::Store));
                std::fs::write(path, vec![0u8; size]).unwrap();
                meta
            })
            .collect();
        let log = LogMergePolicy::default().compute_merge_candidates(&metas);
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].0.len(), 9);

        let bounded = BoundedMerges::new(dir.path().to_path_buf(), 360);
        let merges = bounded.compute_merge_candidates(&metas);
        assert_eq!(merges.len(), 1);
        // 50 + 100 + 100 + 100 bytes fit in 360; the smallest segment is among them.
        assert_eq!(merges[0].0.len(), 4);
        assert!(merges[0].0.contains(&metas[0].id()));

        // Segments that do not fit two at a time are never merged.
        let none = BoundedMerges::new(dir.path().to_path_buf(), 120);
        assert!(none.compute_merge_candidates(&metas).is_empty());
    }
}
