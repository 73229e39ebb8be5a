//! Where each segment keeps its mention records (see [`super::mention_data`]): a file of its
//! own, `<segment>.mentions`, written by a tantivy segment plugin.
//!
//! Until index format 4 the records were the values of a bytes fast field. A column of bytes
//! is dictionary-encoded: tantivy hashed every record into an arena to de-duplicate it, sorted
//! the unique records by comparing them whole, wrote them to an sstable and compressed each of
//! its blocks with a new zstd context. Records are nearly all unique and hundreds of bytes
//! long, so that was a quarter of the indexing thread's time at 250 MB, the thread that sets an
//! ingest's pace; and every merge did it again. Here a record is copied once, sorted by its key
//! alone (the entity's surname key and key, a few dozen bytes, then the document), and written
//! in blocks compressed with one reused zstd context; a merge streams the segments' sorted
//! records into one sorted run.
//!
//! Layout, all integers little-endian:
//!
//! ```text
//! blocks    zstd frames; each decompresses to records: varint doc, varint len, record
//! index     per block: u64 end of the block, u32 first key at, u32 last key at (in keys)
//! keys      per block: varint len + first key, varint len + last key
//! footer    u64 blocks, u64 where the index starts, u32 version, u32 magic
//! ```
//!
//! Records are sorted by key, then document, as the dictionary sorted them, so the records of
//! one entity, and of one surname, are one run of blocks: `mentions` reads those blocks only.

use std::any::Any;
use std::io::Write;
use std::sync::Arc;

use super::mention_data::{key_len, put_var, read_var};
use super::queue::QueuedDoc;
use tantivy::directory::{OwnedBytes, TerminatingWrite, WritePtr};
use tantivy::index::SegmentComponent;
use tantivy::indexer::doc_id_mapping::MappingType;
use tantivy::indexer::DocIdMapping;
use tantivy::schema::document::ErasedDocument;
use tantivy::schema::{Field, Schema, Value};
use tantivy::{
    DocId, PluginMergeContext, PluginWriter, PluginWriterContext, Segment, SegmentPlugin,
    SegmentReader, TantivyDocument, TantivyError,
};

/// The file extension of a segment's mention records.
pub const EXTENSION: &str = "mentions";

/// The custom field type name of `mention_data` in the schema.
pub const FIELD_TYPE: &str = "newsindex_mentions";

/// Records are gathered into blocks of about this many bytes before compression: a name with
/// a few mentions decompresses one or two blocks, a name with thousands reads long runs.
const BLOCK_BYTES: usize = 32 * 1024;

/// zstd level 1: on mention records (short sentences, repeated headlines and keys) it keeps
/// most of level 3's ratio at a fraction of its time, and the indexing thread does this work.
const ZSTD_LEVEL: i32 = 1;

const MAGIC: u32 = 0x4d4e_5431; // "MNT1"
const VERSION: u32 = 1;
const FOOTER_LEN: usize = 8 + 8 + 4 + 4;
const INDEX_ENTRY_LEN: usize = 8 + 4 + 4;

/// The plugin: registered on the index when it is created and every time it is opened.
pub struct MentionPlugin;

/// The plugin, ready to register.
pub fn plugin() -> Arc<dyn SegmentPlugin> {
    Arc::new(MentionPlugin)
}

fn component() -> SegmentComponent {
    SegmentComponent::Custom(EXTENSION.to_string())
}

fn damaged(what: &str) -> TantivyError {
    TantivyError::InternalError(format!(
        "damaged mention records ({what}): run `newsindex check`"
    ))
}

impl SegmentPlugin for MentionPlugin {
    fn extensions(&self) -> &[&str] {
        &[EXTENSION]
    }

    fn create_writer(&self, ctx: &PluginWriterContext) -> tantivy::Result<Box<dyn PluginWriter>> {
        let field = mention_field(&ctx.segment.schema())?;
        Ok(Box::new(MentionWriter {
            field,
            chunks: Vec::new(),
            records: Vec::new(),
        }))
    }

    fn merge(&self, ctx: PluginMergeContext) -> tantivy::Result<()> {
        if ctx.doc_id_mapping.mapping_type() == MappingType::Shuffled {
            return Err(TantivyError::InvalidArgument(
                "mention records cannot follow a sorted index".into(),
            ));
        }
        // Segments are stacked in order, each without its deleted documents.
        let mut sources = Vec::with_capacity(ctx.readers.len());
        let mut next_doc: DocId = 0;
        for reader in ctx.readers {
            let mut new_ids = vec![DocId::MAX; reader.max_doc() as usize];
            for doc in reader.doc_ids_alive() {
                new_ids[doc as usize] = next_doc;
                next_doc += 1;
            }
            let store = MentionStore::open(reader)?;
            sources.push(MergeCursor::new(store, new_ids)?);
        }
        let mut out = BlockWriter::new(ctx.target_segment.open_write(component())?)?;
        // A k-way merge by (key, new document): each segment's records are sorted already, and
        // stacking keeps each segment's documents in order.
        while let Some((_, b)) = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((s.current()?.sort_key(), i)))
            .min()
        {
            let cur = sources[b].current().expect("the smallest has a record");
            out.push(cur.doc, cur.key_len, cur.record)?;
            sources[b].advance()?;
        }
        out.finish()
    }
}

fn mention_field(schema: &Schema) -> tantivy::Result<Field> {
    schema
        .get_field("mention_data")
        .map_err(|_| TantivyError::SchemaError("the schema has no mention_data field".to_string()))
}

/// One record in the writer: where its bytes are, its key's length and its document.
struct Pending {
    chunk: u32,
    start: u32,
    len: u32,
    key_len: u32,
    doc: DocId,
}

/// Chunks of record bytes: a chunk is never reallocated, so a full segment's records are
/// never copied to grow a buffer (and never briefly held twice).
const CHUNK_BYTES: usize = 1 << 20;

struct MentionWriter {
    field: Field,
    chunks: Vec<Vec<u8>>,
    records: Vec<Pending>,
}

impl MentionWriter {
    fn record(&self, p: &Pending) -> &[u8] {
        &self.chunks[p.chunk as usize][p.start as usize..(p.start + p.len) as usize]
    }

    fn add(&mut self, doc: DocId, record: &[u8]) -> tantivy::Result<()> {
        let key_len = key_len(record).ok_or_else(|| {
            TantivyError::InvalidArgument("a mention record without its key".into())
        })?;
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= record.len());
        if !fits {
            self.chunks
                .push(Vec::with_capacity(CHUNK_BYTES.max(record.len())));
        }
        let chunk = self.chunks.len() - 1;
        let buf = &mut self.chunks[chunk];
        let start = buf.len();
        buf.extend_from_slice(record);
        self.records.push(Pending {
            chunk: chunk as u32,
            start: start as u32,
            len: record.len() as u32,
            key_len: key_len as u32,
            doc,
        });
        Ok(())
    }
}

impl MentionWriter {
    /// Writes the records to `out`, sorted by key, then document.
    fn write_sorted(&self, out: WritePtr) -> tantivy::Result<()> {
        let mut order: Vec<u32> = (0..self.records.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (pa, pb) = (&self.records[a as usize], &self.records[b as usize]);
            let ka = &self.record(pa)[..pa.key_len as usize];
            let kb = &self.record(pb)[..pb.key_len as usize];
            ka.cmp(kb).then(pa.doc.cmp(&pb.doc))
        });
        let mut out = BlockWriter::new(out)?;
        for i in order {
            let p = &self.records[i as usize];
            out.push(p.doc, p.key_len as usize, self.record(p))?;
        }
        out.finish()
    }
}

impl PluginWriter for MentionWriter {
    fn add_document(
        &mut self,
        doc_id: DocId,
        doc: &dyn ErasedDocument,
        _schema: &Schema,
    ) -> tantivy::Result<()> {
        // Our documents come wrapped for the hand-over (or bare, in tests).
        let any = doc.as_any();
        let doc = any
            .downcast_ref::<QueuedDoc>()
            .map(QueuedDoc::doc)
            .or_else(|| any.downcast_ref::<TantivyDocument>())
            .ok_or_else(|| {
                TantivyError::InvalidArgument(
                    "mention records come in newsindex's documents".into(),
                )
            })?;
        for value in doc.get_all(self.field) {
            if let Some(bytes) = value.as_custom() {
                self.add(doc_id, bytes)?;
            }
        }
        Ok(())
    }

    fn serialize(
        self: Box<Self>,
        segment: &Segment,
        doc_id_map: Option<&DocIdMapping>,
    ) -> tantivy::Result<()> {
        if doc_id_map.is_some() {
            return Err(TantivyError::InvalidArgument(
                "mention records cannot follow a sorted index".into(),
            ));
        }
        self.write_sorted(segment.open_write(component())?)
    }

    fn mem_usage(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.records.capacity() * std::mem::size_of::<Pending>()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Writes sorted records into compressed blocks, then the block index and the footer.
struct BlockWriter {
    out: WritePtr,
    compressor: zstd::bulk::Compressor<'static>,
    raw: Vec<u8>,
    compressed: Vec<u8>,
    first_key: Vec<u8>,
    last_key: Vec<u8>,
    written: u64,
    /// Per finished block: its end in the file, and its first and last key.
    index: Vec<u64>,
    keys: Vec<u8>,
    key_at: Vec<(u32, u32)>,
}

impl BlockWriter {
    fn new(out: WritePtr) -> tantivy::Result<BlockWriter> {
        Ok(BlockWriter {
            out,
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
            raw: Vec::with_capacity(BLOCK_BYTES * 2),
            compressed: Vec::new(),
            first_key: Vec::new(),
            last_key: Vec::new(),
            written: 0,
            index: Vec::new(),
            keys: Vec::new(),
            key_at: Vec::new(),
        })
    }

    fn push(&mut self, doc: DocId, key_len: usize, record: &[u8]) -> tantivy::Result<()> {
        let key = &record[..key_len];
        if self.raw.is_empty() {
            self.first_key.clear();
            self.first_key.extend_from_slice(key);
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        put_var(&mut self.raw, u64::from(doc));
        put_var(&mut self.raw, record.len() as u64);
        self.raw.extend_from_slice(record);
        if self.raw.len() >= BLOCK_BYTES {
            self.flush_block()?;
        }
        Ok(())
    }

    fn flush_block(&mut self) -> tantivy::Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        self.compressed.clear();
        self.compressed
            .reserve(zstd::zstd_safe::compress_bound(self.raw.len()));
        self.compressor
            .compress_to_buffer(&self.raw, &mut self.compressed)?;
        self.out.write_all(&self.compressed)?;
        self.written += self.compressed.len() as u64;
        self.raw.clear();
        self.index.push(self.written);
        let first = self.keys.len() as u32;
        put_var(&mut self.keys, self.first_key.len() as u64);
        self.keys.extend_from_slice(&self.first_key);
        let last = self.keys.len() as u32;
        put_var(&mut self.keys, self.last_key.len() as u64);
        self.keys.extend_from_slice(&self.last_key);
        self.key_at.push((first, last));
        Ok(())
    }

    fn finish(mut self) -> tantivy::Result<()> {
        self.flush_block()?;
        let index_at = self.written;
        for (&end, &(first, last)) in self.index.iter().zip(&self.key_at) {
            self.out.write_all(&end.to_le_bytes())?;
            self.out.write_all(&first.to_le_bytes())?;
            self.out.write_all(&last.to_le_bytes())?;
        }
        self.out.write_all(&self.keys)?;
        self.out
            .write_all(&(self.index.len() as u64).to_le_bytes())?;
        self.out.write_all(&index_at.to_le_bytes())?;
        self.out.write_all(&VERSION.to_le_bytes())?;
        self.out.write_all(&MAGIC.to_le_bytes())?;
        self.out.flush()?;
        self.out.terminate()?;
        Ok(())
    }
}

/// A segment's mention records, read from its `.mentions` file (memory-mapped).
pub struct MentionStore {
    bytes: OwnedBytes,
    blocks: usize,
    index_at: usize,
    keys_at: usize,
}

/// One record as read back: its document (in its segment), its key's length, its bytes.
#[derive(Clone, Copy)]
pub struct RecordRef<'a> {
    pub doc: DocId,
    pub key_len: usize,
    pub record: &'a [u8],
}

impl<'a> RecordRef<'a> {
    fn sort_key(&self) -> (&'a [u8], DocId) {
        (&self.record[..self.key_len], self.doc)
    }
}

impl MentionStore {
    /// Opens a segment's records.
    pub fn open(reader: &SegmentReader) -> tantivy::Result<MentionStore> {
        let bytes = reader.open_read(component())?.read_bytes()?;
        Self::from_bytes(bytes)
    }

    fn from_bytes(bytes: OwnedBytes) -> tantivy::Result<MentionStore> {
        let b = bytes.as_slice();
        if b.len() < FOOTER_LEN {
            return Err(damaged("no footer"));
        }
        let footer = &b[b.len() - FOOTER_LEN..];
        let u64_at = |at: usize| u64::from_le_bytes(footer[at..at + 8].try_into().unwrap());
        let u32_at = |at: usize| u32::from_le_bytes(footer[at..at + 4].try_into().unwrap());
        if u32_at(20) != MAGIC || u32_at(16) != VERSION {
            return Err(damaged("not a mention file of this version"));
        }
        let blocks = usize::try_from(u64_at(0)).map_err(|_| damaged("block count"))?;
        let index_at = usize::try_from(u64_at(8)).map_err(|_| damaged("index"))?;
        let keys_at = blocks
            .checked_mul(INDEX_ENTRY_LEN)
            .and_then(|n| n.checked_add(index_at))
            .filter(|&k| k <= b.len() - FOOTER_LEN)
            .ok_or_else(|| damaged("index past the end"))?;
        Ok(MentionStore {
            bytes,
            blocks,
            index_at,
            keys_at,
        })
    }

    /// The number of blocks.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    fn entry(&self, block: usize) -> (usize, usize, usize) {
        let at = self.index_at + block * INDEX_ENTRY_LEN;
        let b = &self.bytes.as_slice()[at..at + INDEX_ENTRY_LEN];
        let end = u64::from_le_bytes(b[0..8].try_into().unwrap()) as usize;
        let first = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
        let last = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
        (end, first, last)
    }

    fn key(&self, at: usize) -> tantivy::Result<&[u8]> {
        let keys = &self.bytes.as_slice()[self.keys_at..self.bytes.len() - FOOTER_LEN];
        let rest = keys.get(at..).ok_or_else(|| damaged("key index"))?;
        let (len, n) = read_var(rest).ok_or_else(|| damaged("key"))?;
        rest.get(n..n + len as usize)
            .ok_or_else(|| damaged("key past the end"))
    }

    /// The compressed bytes of block `block`.
    fn block(&self, block: usize) -> tantivy::Result<&[u8]> {
        let start = if block == 0 {
            0
        } else {
            self.entry(block - 1).0
        };
        let end = self.entry(block).0;
        self.bytes
            .as_slice()
            .get(start..end.min(self.index_at))
            .filter(|_| start <= end && end <= self.index_at)
            .ok_or_else(|| damaged("block past the end"))
    }

    /// The first block whose key pred holds for, by binary search (pred must be monotone
    /// over the blocks: false then true).
    fn partition(
        &self,
        mut pred: impl FnMut(usize) -> tantivy::Result<bool>,
    ) -> tantivy::Result<usize> {
        let (mut lo, mut hi) = (0, self.blocks);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(mid)? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo)
    }

    /// Calls `f` with every record whose key starts with `prefix`, in order (by key, then
    /// document), deleted documents included: the caller checks what is alive.
    pub fn for_each_with_prefix(
        &self,
        prefix: &[u8],
        mut f: impl FnMut(RecordRef<'_>),
    ) -> tantivy::Result<()> {
        // The first block that can hold the prefix: its last key is not before the prefix.
        let from = self.partition(|b| Ok(self.key(self.entry(b).2)? >= prefix))?;
        let mut decompressor = zstd::bulk::Decompressor::new()?;
        let mut raw = Vec::new();
        for block in from..self.blocks {
            let first = self.key(self.entry(block).1)?;
            if first > prefix && !first.starts_with(prefix) {
                break;
            }
            self.decompress(&mut decompressor, block, &mut raw)?;
            for r in Records::new(&raw) {
                let r = r?;
                if r.record.starts_with(prefix) {
                    f(r);
                } else if r.record[..r.key_len] > *prefix {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Calls `f` with every record, in order.
    pub fn for_each(&self, mut f: impl FnMut(RecordRef<'_>)) -> tantivy::Result<()> {
        let mut decompressor = zstd::bulk::Decompressor::new()?;
        let mut raw = Vec::new();
        for block in 0..self.blocks {
            self.decompress(&mut decompressor, block, &mut raw)?;
            for r in Records::new(&raw) {
                f(r?);
            }
        }
        Ok(())
    }

    fn decompress(
        &self,
        decompressor: &mut zstd::bulk::Decompressor<'_>,
        block: usize,
        raw: &mut Vec<u8>,
    ) -> tantivy::Result<()> {
        let compressed = self.block(block)?;
        let size = zstd::zstd_safe::get_frame_content_size(compressed)
            .ok()
            .flatten()
            .ok_or_else(|| damaged("block size"))?;
        raw.clear();
        raw.reserve(size as usize);
        decompressor
            .decompress_to_buffer(compressed, raw)
            .map_err(|_| damaged("block does not decompress"))?;
        Ok(())
    }
}

/// The records of a decompressed block.
struct Records<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Records<'a> {
    fn new(raw: &'a [u8]) -> Self {
        Records { raw, at: 0 }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = tantivy::Result<RecordRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.raw.len() {
            return None;
        }
        let mut read = || -> Option<RecordRef<'a>> {
            let (doc, n) = read_var(&self.raw[self.at..])?;
            self.at += n;
            let (len, n) = read_var(&self.raw[self.at..])?;
            self.at += n;
            let record = self.raw.get(self.at..self.at.checked_add(len as usize)?)?;
            self.at += record.len();
            Some(RecordRef {
                doc: DocId::try_from(doc).ok()?,
                key_len: key_len(record)?,
                record,
            })
        };
        match read() {
            Some(r) => Some(Ok(r)),
            None => {
                self.at = self.raw.len();
                Some(Err(damaged("record")))
            }
        }
    }
}

/// One source segment in a merge: its records in order, documents renumbered, deleted ones
/// skipped.
struct MergeCursor {
    store: MentionStore,
    new_ids: Vec<DocId>,
    decompressor: zstd::bulk::Decompressor<'static>,
    block: usize,
    raw: Vec<u8>,
    at: usize,
    /// The current record: (new doc, key length, start, end) in `raw`.
    current: Option<(DocId, usize, usize, usize)>,
}

impl MergeCursor {
    fn new(store: MentionStore, new_ids: Vec<DocId>) -> tantivy::Result<MergeCursor> {
        let mut c = MergeCursor {
            store,
            new_ids,
            decompressor: zstd::bulk::Decompressor::new()?,
            block: 0,
            raw: Vec::new(),
            at: 0,
            current: None,
        };
        c.advance()?;
        Ok(c)
    }

    fn current(&self) -> Option<RecordRef<'_>> {
        self.current.map(|(doc, key_len, s, e)| RecordRef {
            doc,
            key_len,
            record: &self.raw[s..e],
        })
    }

    /// Moves to the next record of a live document.
    fn advance(&mut self) -> tantivy::Result<()> {
        loop {
            if self.at >= self.raw.len() {
                if self.block >= self.store.blocks() {
                    self.current = None;
                    return Ok(());
                }
                self.store
                    .decompress(&mut self.decompressor, self.block, &mut self.raw)?;
                self.block += 1;
                self.at = 0;
                continue;
            }
            let mut records = Records {
                raw: &self.raw,
                at: self.at,
            };
            let r = records.next().expect("not at the end")?;
            self.at = records.at;
            let start = r.record.as_ptr() as usize - self.raw.as_ptr() as usize;
            let new_doc = *self
                .new_ids
                .get(r.doc as usize)
                .ok_or_else(|| damaged("document past the segment's end"))?;
            if new_doc != DocId::MAX {
                self.current = Some((new_doc, r.key_len, start, start + r.record.len()));
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::mention_data;

    fn record(surname: &str, key: &str, tail: &str) -> Vec<u8> {
        let mut r = mention_data::prefix(surname, Some(key));
        r.extend_from_slice(tail.as_bytes());
        r
    }

    fn store_of(records: &[(DocId, Vec<u8>)]) -> MentionStore {
        let mut w = MentionWriter {
            field: Field::from_field_id(0),
            chunks: Vec::new(),
            records: Vec::new(),
        };
        for (doc, r) in records {
            w.add(*doc, r).unwrap();
        }
        let dir = tantivy::directory::RamDirectory::create();
        let path = std::path::Path::new("x.mentions");
        w.write_sorted(tantivy::directory::Directory::open_write(&dir, path).unwrap())
            .unwrap();
        let bytes = tantivy::directory::Directory::open_read(&dir, path)
            .unwrap()
            .read_bytes()
            .unwrap();
        MentionStore::from_bytes(bytes).unwrap()
    }

    /// Many records over many blocks: a prefix finds exactly its records, in (key, doc)
    /// order, whether they sit inside one block or run across several.
    #[test]
    fn a_prefix_finds_exactly_its_records_across_blocks() {
        let mut records = Vec::new();
        let filler = "x".repeat(700);
        for doc in 0..400u32 {
            // Every doc mentions "person:smith"; every third also "person:john smith";
            // others a person whose surname only shares smith's first letters.
            records.push((doc, record("person:smith", "person:smith", &filler)));
            if doc % 3 == 0 {
                records.push((
                    doc,
                    record("person:smith", "person:john smith", &format!("{doc}")),
                ));
            }
            records.push((doc, record("person:smithers", "person:smithers", &filler)));
            records.push((doc, record("org:smith", "org:smith", "")));
        }
        records.reverse();
        let store = store_of(&records);
        assert!(store.blocks() > 10, "{} blocks", store.blocks());

        let collect = |prefix: &[u8]| {
            let mut out = Vec::new();
            store
                .for_each_with_prefix(prefix, |r| out.push((r.doc, r.record.to_vec())))
                .unwrap();
            out
        };
        let surname = collect(&mention_data::prefix("person:smith", None));
        assert_eq!(surname.len(), 400 + 134);
        // Sorted by key, then doc: one entity's records are one run.
        let john = mention_data::prefix("person:smith", Some("person:john smith"));
        let runs = surname
            .chunk_by(|a, b| a.1.starts_with(&john) == b.1.starts_with(&john))
            .count();
        assert_eq!(runs, 2);
        assert!(surname.windows(2).all(|w| {
            let (a, b) = (&w[0], &w[1]);
            let ka = &a.1[..key_len(&a.1).unwrap()];
            let kb = &b.1[..key_len(&b.1).unwrap()];
            (ka, a.0) < (kb, b.0)
        }));
        let docs: Vec<DocId> = collect(&john).iter().map(|r| r.0).collect();
        assert_eq!(docs, (0..400).step_by(3).collect::<Vec<_>>());
        assert_eq!(
            collect(&mention_data::prefix("person:smithers", None)).len(),
            400
        );
        assert_eq!(collect(&mention_data::prefix("org:smith", None)).len(), 400);
        assert!(collect(&mention_data::prefix("person:smit", None)).is_empty());
        assert!(collect(&mention_data::prefix("zzz", None)).is_empty());
        assert!(collect(&mention_data::prefix("a", None)).is_empty());

        let mut all = 0;
        store.for_each(|_| all += 1).unwrap();
        assert_eq!(all, records.len());
    }

    #[test]
    fn an_empty_store_reads_as_empty() {
        let store = store_of(&[]);
        assert_eq!(store.blocks(), 0);
        let mut n = 0;
        store
            .for_each_with_prefix(b"\x0cperson:smith", |_| n += 1)
            .unwrap();
        store.for_each(|_| n += 1).unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn a_cut_file_is_an_error_not_a_panic() {
        let store = store_of(&[(0, record("person:a", "person:a", "context"))]);
        let b = store.bytes.as_slice();
        for cut in [0, 3, b.len() / 2, b.len() - 1] {
            assert!(MentionStore::from_bytes(OwnedBytes::new(b[..cut].to_vec())).is_err());
        }
    }

    /// Every mention, as `mentions` prints it, for a few names: one line per mention.
    fn listing(index: &crate::index::NewsIndex, names: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for name in names {
            crate::search::mentions::for_each_article(index, name, None, |a| {
                for m in &a.mentions {
                    out.push(serde_json::to_string(m).unwrap());
                }
                Ok(())
            })
            .unwrap();
        }
        out
    }

    /// On the sample corpus ingested a file at a time (a segment each), with one file's
    /// articles replaced (deleted in their segment): the listing leaves the deleted records
    /// out, and merging every segment into one changes nothing, records included.
    #[test]
    fn deleted_records_stay_out_and_a_merge_keeps_every_record() {
        use crate::index::writer::{ingest, IngestOptions, NoProgress};
        let tmp = tempfile::tempdir().unwrap();
        let corpus = tmp.path().join("corpus");
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
        let mut files = Vec::new();
        for f in walkdir::WalkDir::new(&sample).sort_by_file_name() {
            let f = f.unwrap();
            if f.file_type().is_file() {
                let to = corpus.join(f.path().strip_prefix(&sample).unwrap());
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(f.path(), &to).unwrap();
                files.push(to);
            }
        }
        let index = crate::index::NewsIndex::open_or_create(&tmp.path().join("idx")).unwrap();
        // A segment per file: records in many segments.
        let opts = IngestOptions {
            entities: true,
            ..crate::index::testing::segment_per_ingest()
        };
        for f in &files {
            ingest(&index, std::slice::from_ref(f), &opts, &NoProgress).unwrap();
        }
        index.reload().unwrap();
        let names = [
            "Chemezov",
            "Sergei Chemezov",
            "Okafor",
            "Varnholt Steel",
            "Lindqvist",
        ];
        let before = listing(&index, &names);
        let chemezov_story = files
            .iter()
            .find(|f| f.ends_with("02-chemezov-warns-strike-exports.txt"))
            .unwrap();
        let in_story = |lines: &[String]| {
            lines
                .iter()
                .filter(|l| l.contains("02-chemezov-warns-strike-exports"))
                .count()
        };
        assert!(in_story(&before) >= 3, "{before:#?}");

        // The story is rewritten: its old articles are deleted, the new one added.
        std::fs::write(
            chemezov_story,
            "Port reopens after talks\n\nThe harbour master, Maria Lindqvist, said on \
             Tuesday that Port Halvard was open again. Lindqvist thanked the crews.\n",
        )
        .unwrap();
        ingest(
            &index,
            std::slice::from_ref(chemezov_story),
            &opts,
            &NoProgress,
        )
        .unwrap();
        index.reload().unwrap();
        let replaced = listing(&index, &names);
        assert!(index.searcher().segment_readers().len() >= 3);
        let story: Vec<&String> = replaced
            .iter()
            .filter(|l| l.contains("02-chemezov-warns-strike-exports"))
            .collect();
        assert_eq!(story.len(), 2, "{story:#?}");
        assert!(story.iter().all(|l| l.contains("Lindqvist")));
        assert_eq!(
            replaced.len(),
            before.len() - in_story(&before) + 2,
            "only the story's mentions changed"
        );

        // One merge of every segment.
        let mut writer: tantivy::IndexWriter = index.index.writer(50_000_000).unwrap();
        let ids = index.index.searchable_segment_ids().unwrap();
        writer.merge(&ids).wait().unwrap();
        writer.wait_merging_threads().unwrap();
        index.reload().unwrap();
        assert_eq!(index.searcher().segment_readers().len(), 1);
        assert_eq!(listing(&index, &names), replaced);
        let report = crate::index::check::check(&index.path);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}
