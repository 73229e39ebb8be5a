//! Which segments tantivy merges while an ingest runs (its log merge policy, with every merge
//! bounded in bytes), what an ingest merges at its end ([`merge_tail`]), and [`optimize`],
//! which merges them into one per core when asked.
//!
//! Tantivy's policy groups segments into levels by document count and merges a level once it
//! holds eight; on 1 GB of text that next merge would read 8 x 500 MB at once, and rewrite
//! the whole archive again each time it grows by a level. Bounding each merge by bytes (not
//! documents, whose size varies with the corpus) keeps a merge's time and its own memory flat
//! however large the archive grows; the price is more segments once the archive outgrows a
//! few merges' worth, which [`optimize`] merges when asked. An ingest ends with
//! [`merge_tail`], which merges the small segments left beside large ones. (The pages a merge reads through
//! memory maps no longer count: `index::mapped` releases them beyond a budget.)

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use tantivy::index::{SegmentComponent, SegmentId, SegmentMeta};
use tantivy::merge_policy::{LogMergePolicy, MergeCandidate, MergePolicy, NoMergePolicy};

use super::NewsIndex;

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

    fn bytes(&self, meta: &SegmentMeta) -> u64 {
        segment_bytes(&self.dir, meta)
    }
}

/// A segment's size on disk, its mention file included (0 for files it cannot read).
fn segment_bytes(dir: &Path, meta: &SegmentMeta) -> u64 {
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
    .filter_map(|c| std::fs::metadata(dir.join(meta.relative_path(c))).ok())
    .map(|m| m.len())
    .sum()
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

/// What a merge run, [`optimize`] or [`merge_tail`], did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Optimized {
    pub segments_before: usize,
    pub segments_after: usize,
    /// Documents of replaced or removed articles that the merge dropped for good.
    pub deleted_docs: u64,
    /// The segments' size on disk before and after, in bytes.
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub seconds: f64,
}

/// The number of segments [`optimize`] makes by default: one per core, the threads a search
/// runs on.
pub fn default_segments() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Merges the index's segments into `segments` of about equal size (fewer if it has fewer),
/// dropping deleted documents.
///
/// A ranked search walks each segment's postings with its own block-max WAND, so its cost
/// grows with the number of segments; with one segment per search thread, every core has a
/// segment to search and the best score found on one prunes the other. On the 1 GB archive
/// (ten segments, as bounded merges leave it), the top 10 passages took p50 0.19 to 0.20 ms
/// on two segments, 0.27 to 0.28 ms on ten, and 0.21 to 0.22 ms on one, where long queries
/// took twice as long (`benches/RESULTS.md`, the optimize round).
///
/// Merges during an ingest stop at [`MAX_MERGE_BYTES`] to keep them flat; this is the merge an
/// ingest leaves out, run once the archive is complete. It reads the whole index (the pages it
/// has read are released as it goes, see `index::mapped`) and writes it again, the merges in
/// parallel, so it needs the index's size again in free disk space. It holds the writer lock,
/// as an ingest does (`wait`: wait for a running ingest to finish instead of failing);
/// searches in other processes go on meanwhile.
pub fn optimize(index: &NewsIndex, segments: usize, wait: bool) -> Result<Optimized> {
    let segments = segments.max(1);
    let writer = super::writer::lock_writer(index, merge_only(segments), wait)?;
    merge_groups(index, writer, |sized| {
        balanced_groups(sized, segments)
            .into_iter()
            // A segment on its own is merged only to drop its deleted documents.
            .filter(|group| group.len() > 1 || group[0].1 > 0)
            .map(|group| group.iter().map(|s| s.2).collect())
            .collect()
    })
}

/// Segments an ingest's tail merge leaves alone: those at least this share of the largest.
const TAIL_OF_LARGEST: u64 = 3;
/// The tail is merged only while it is at most this share of the index.
const TAIL_OF_INDEX: u64 = 4;

/// Run at the end of an ingest: merges the small segments it leaves beside large ones.
///
/// Bounded merges wait for eight segments of a size, so an ingest ends with up to seven
/// segments as the indexing heap flushed them, beside merged ones several times their size
/// (on the 1 GB archive: five of about 95 MB beside five of 470 MB). Each costs a search
/// nearly as much as a large one: the top 10 passages took p50 0.25 to 0.27 ms on those ten
/// segments and 0.20 to 0.22 ms once the five small ones were one, for 9 s of merging
/// (`benches/RESULTS.md`, the tail-merge round). So the segments under a third of the largest
/// are merged into one (as many of the smallest as fit in [`MAX_MERGE_BYTES`]), when there are
/// at least two and they are at most a quarter of the index: a small archive whose segments
/// are all flushes (250 MB: nine of 80 MB) is left as it is, since merging would rewrite all
/// of it (that is [`optimize`]). When another process holds the writer lock, nothing is done:
/// the next ingest's tail merge finds the same segments.
pub fn merge_tail(index: &NewsIndex) -> Result<Optimized> {
    let Some(writer) = super::writer::try_lock_writer(index, merge_only(1))? else {
        return Ok(Optimized::default());
    };
    merge_groups(index, writer, |sized| {
        let tail = tail(sized);
        if tail.is_empty() {
            Vec::new()
        } else {
            vec![tail]
        }
    })
}

/// The segments [`merge_tail`] merges, from `(bytes, deleted docs, id)` (empty: none).
fn tail(sized: &[(u64, u32, SegmentId)]) -> Vec<SegmentId> {
    let largest = sized.iter().map(|s| s.0).max().unwrap_or(0);
    let total: u64 = sized.iter().map(|s| s.0).sum();
    let mut small: Vec<_> = sized
        .iter()
        .filter(|s| s.0 * TAIL_OF_LARGEST <= largest)
        .collect();
    small.sort_by_key(|s| s.0);
    let mut bytes = 0;
    let fits: Vec<_> = small
        .into_iter()
        .take_while(|s| {
            bytes += s.0;
            bytes <= MAX_MERGE_BYTES
        })
        .collect();
    let bytes: u64 = fits.iter().map(|s| s.0).sum();
    if fits.len() < 2 || bytes * TAIL_OF_INDEX > total {
        return Vec::new();
    }
    fits.iter().map(|s| s.2).collect()
}

/// Writer options for a writer that only merges: the smallest indexing heap tantivy accepts
/// and a merge thread for each merge, run all at once.
fn merge_only(merges: usize) -> tantivy::indexer::IndexWriterOptions {
    tantivy::indexer::IndexWriterOptions::builder()
        .num_worker_threads(1)
        .memory_budget_per_thread(15 << 20)
        .num_merge_threads(merges.max(1))
        .build()
}

/// Runs the merges `choose` picks from the segments `(bytes, deleted docs, id)`, all at once,
/// with no merges of tantivy's own choosing, and deletes the merged segments' files.
fn merge_groups(
    index: &NewsIndex,
    mut writer: super::queue::Writer,
    choose: impl FnOnce(&[(u64, u32, SegmentId)]) -> Vec<Vec<SegmentId>>,
) -> Result<Optimized> {
    let started = Instant::now();
    writer.set_merge_policy(Box::new(NoMergePolicy));
    let metas = index
        .index
        .searchable_segment_metas()
        .context("cannot read the index's segments")?;
    let sized: Vec<(u64, u32, SegmentId)> = metas
        .iter()
        .map(|m| (segment_bytes(&index.path, m), m.num_deleted_docs(), m.id()))
        .collect();
    // A segment's files are deleted only when no `SegmentMeta` of it is left, these included.
    let segments_before = metas.len();
    drop(metas);
    let groups = choose(&sized);
    let merged = |id: &SegmentId| groups.iter().flatten().any(|m| m == id);
    let mut out = Optimized {
        segments_before,
        deleted_docs: sized
            .iter()
            .filter(|s| merged(&s.2))
            .map(|s| u64::from(s.1))
            .sum(),
        bytes_before: sized.iter().map(|s| s.0).sum(),
        ..Default::default()
    };
    let merges: Vec<_> = groups.iter().map(|group| writer.merge(group)).collect();
    for merge in merges {
        merge.wait().context("merging the segments failed")?;
    }
    // Tantivy deletes the merged segments' files only once nothing refers to them; this
    // process's own reader still did when the merges ended.
    index.reload()?;
    writer
        .garbage_collect_files()
        .wait()
        .context("cannot delete the merged segments' files")?;
    writer
        .wait_merging_threads()
        .context("merging the segments failed")?;
    let metas = index
        .index
        .searchable_segment_metas()
        .context("cannot read the index's segments")?;
    out.segments_after = metas.len();
    out.bytes_after = metas.iter().map(|m| segment_bytes(&index.path, m)).sum();
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// Segments `(bytes, deleted docs, id)` in at most `n` groups of about equal bytes: largest
/// first, each into the lightest group so far. No group is empty.
fn balanced_groups(
    segments: &[(u64, u32, SegmentId)],
    n: usize,
) -> Vec<Vec<&(u64, u32, SegmentId)>> {
    let mut by_size: Vec<_> = segments.iter().collect();
    by_size.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut groups: Vec<(u64, Vec<_>)> = Vec::new();
    for s in by_size {
        if groups.len() < n {
            groups.push((s.0, vec![s]));
        } else {
            let lightest = groups.iter_mut().min_by_key(|g| g.0).expect("n >= 1");
            lightest.0 += s.0;
            lightest.1.push(s);
        }
    }
    groups.into_iter().map(|g| g.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_tail_is_the_small_segments_beside_large_ones() {
        let segs = |sizes: &[u64]| -> Vec<(u64, u32, SegmentId)> {
            sizes
                .iter()
                .map(|&b| (b << 20, 0, SegmentId::generate_random()))
                .collect()
        };
        let merged = |sizes: &[u64]| -> Vec<u64> {
            let s = segs(sizes);
            let tail = tail(&s);
            let mut mb: Vec<u64> = s
                .iter()
                .filter(|x| tail.contains(&x.2))
                .map(|x| x.0 >> 20)
                .collect();
            mb.sort();
            mb
        };
        // 1 GB as bounded merges leave it: the five flushes become one.
        assert_eq!(
            merged(&[470, 470, 470, 470, 470, 95, 95, 95, 95, 95]),
            [95; 5]
        );
        // Seven flushes: as many of the smallest as fit in one bounded merge.
        assert_eq!(
            merged(&[470, 470, 470, 470, 470, 95, 95, 95, 95, 95, 90, 60]),
            [60, 90, 95, 95, 95]
        );
        // 250 MB: every segment a flush of about the same size: nothing (that is optimize).
        assert!(merged(&[80, 80, 80, 80, 80, 80, 80, 80, 40]).is_empty());
        // One small segment alone is not merged; nor a tail that is much of the index.
        assert!(merged(&[470, 95]).is_empty());
        assert!(merged(&[300, 90, 90, 90]).is_empty());
        assert!(merged(&[]).is_empty());
    }

    /// The tail merge skips an index another writer holds, and merges once it is free.
    #[test]
    fn the_tail_merge_waits_for_no_one() {
        use crate::index::testing::{empty_index, sample, segment_per_ingest};
        use crate::index::writer::{ingest, NoProgress};
        let (_tmp, index) = empty_index();
        let (sample, opts) = (sample(), segment_per_ingest());
        // A large segment (the feed), then two small ones (a story each).
        ingest(&index, &[sample.join("feed.jsonl")], &opts, &NoProgress).unwrap();
        for story in [
            "01-dockworkers-threaten-strike.txt",
            "04-drought-strands-barges.txt",
        ] {
            let path = sample.join("wire").join(story);
            ingest(&index, &[path], &opts, &NoProgress).unwrap();
        }
        index.reload().unwrap();
        let segments = || index.index.searchable_segment_ids().unwrap().len();
        assert_eq!(segments(), 3);
        let held = super::super::writer::lock_writer(&index, merge_only(1), false).unwrap();
        let skipped = merge_tail(&index).unwrap();
        assert_eq!(skipped.segments_before, 0, "{skipped:?}");
        assert_eq!(segments(), 3);
        drop(held);
        let done = merge_tail(&index).unwrap();
        assert_eq!(
            (done.segments_before, done.segments_after),
            (3, 2),
            "{done:?}"
        );
        index.reload().unwrap();
        assert_eq!(segments(), 2);
    }

    #[test]
    fn optimize_groups_are_balanced_and_never_empty() {
        let seg = |bytes: u64| (bytes, 0, SegmentId::generate_random());
        // Five large and five small segments, as bounded merges leave 1 GB.
        let segments: Vec<_> = [470, 470, 470, 470, 470, 95, 95, 95, 95, 95]
            .into_iter()
            .map(seg)
            .collect();
        let groups = balanced_groups(&segments, 2);
        let sums: Vec<u64> = groups.iter().map(|g| g.iter().map(|s| s.0).sum()).collect();
        assert_eq!(sums.iter().sum::<u64>(), 2825);
        assert!(sums.iter().all(|&b| (1410..=1415).contains(&b)), "{sums:?}");
        // Every segment in exactly one group.
        let mut ids: Vec<_> = groups.iter().flatten().map(|s| s.2).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), segments.len());
        // More groups asked for than segments: one segment each, none empty.
        let groups = balanced_groups(&segments[..3], 8);
        assert_eq!(groups.len(), 3);
        assert!(groups.iter().all(|g| g.len() == 1));
        assert_eq!(balanced_groups(&segments, 1).len(), 1);
    }
}
