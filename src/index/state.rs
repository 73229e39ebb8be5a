//! What the index already holds, loaded once per ingest run from the file documents: which
//! files are indexed (size, mtime, content hash), which article ids are taken, and which
//! article contents are indexed (for de-duplication).
//!
//! This bookkeeping grows with the archive, so it is kept compact: every path is interned once
//! in one arena, files are small fixed records addressed by index, articles are fixed records
//! in one arena, looked up through tables of 32-bit indexes, and article ids and content hashes
//! are 64- and 128-bit keys rather than strings. About 110 bytes a file already indexed plus
//! 50 bytes an article; a file new to the index costs only its articles (see `State`). The
//! full records (ids and hashes as text) live in the index, and are read back only in the
//! rare cases that need them.

use std::hash::BuildHasher;
use std::path::PathBuf;

use anyhow::{Context, Result};
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

use super::queue::{QueuedDoc, Writer};
use super::schema::{Fields, KIND_FILE};
use super::NewsIndex;
use crate::ingest::walk::{compact_mtime, InputFile};

/// A file's position in the run's path table, or, with `UNNAMED` set, a file indexed this run
/// that was given no path slot (see `State`).
pub(super) type FileIx = u32;

/// Marks a `FileIx` that numbers a file of this run rather than a slot of the path table.
const UNNAMED: FileIx = 1 << 31;

/// 128 bits of a blake3 hash (file contents or article headline + body). A collision among
/// 2^32 items has a probability of about 2^-64.
pub(super) type Digest = u128;

/// The digest of a hash written as hex (the first 32 hex digits are used).
pub(super) fn digest(hex: &str) -> Digest {
    u128::from_str_radix(hex.get(..32).unwrap_or(hex), 16).unwrap_or(0)
}

/// A 64-bit key for an article id, used only to tell whether an id is taken: a collision among
/// a million ids (probability about 3e-8) would only give one article a `~2` suffix.
fn id_key(id: &str) -> u64 {
    FxBuildHasher.hash_one(id) ^ (id.len() as u64).rotate_left(32)
}

/// What is recorded about each ingested file, stored as JSON in its file document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct FileRecord {
    pub path: String,
    /// Path relative to the ingest root, used in default article ids.
    pub rel: String,
    pub hash: String,
    pub size: u64,
    pub mtime: u128,
    /// (article id, content hash) of each indexed article.
    pub articles: ArticleList,
    /// Content hashes of this file's articles that were duplicates of others.
    pub duplicates: HashList,
    /// The file's slot in this run's path table, or an `UNNAMED` number (not stored).
    #[serde(skip)]
    pub ix: FileIx,
    /// Where this file's articles start in the run's article arena (not stored).
    #[serde(skip)]
    first: u32,
}

/// The (id, content hash) pairs of a file's articles, held compactly while a file with many
/// articles (a 200 MB JSON lines file has 150,000) is indexed: the ids in one string, the
/// hashes as numbers. Stored as the JSON list `[[id, hex hash], ...]`.
#[derive(Debug, Clone, Default)]
pub(super) struct ArticleList {
    ids: String,
    /// End of each id in `ids`.
    ends: Vec<usize>,
    hashes: Vec<Digest>,
}

impl ArticleList {
    pub fn push(&mut self, id: &str, hash: Digest) {
        self.ids.push_str(id);
        self.ends.push(self.ids.len());
        self.hashes.push(hash);
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Digest)> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .zip(&self.hashes)
            .map(|((start, &end), &h)| (&self.ids[start..end], h))
    }
}

/// The hex form of a digest, as `content_hash` writes it.
pub(super) fn hex(h: Digest) -> String {
    format!("{h:032x}")
}

impl Serialize for ArticleList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|(id, h)| (id, hex(h))))
    }
}

impl<'de> Deserialize<'de> for ArticleList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(String, String)> = Vec::deserialize(d)?;
        let mut list = ArticleList::default();
        for (id, h) in pairs {
            list.push(&id, digest(&h));
        }
        Ok(list)
    }
}

/// Content hashes, held as numbers and stored as a JSON list of hex strings.
#[derive(Debug, Clone, Default)]
pub(super) struct HashList(pub Vec<Digest>);

impl Serialize for HashList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|&h| hex(h)))
    }
}

impl<'de> Deserialize<'de> for HashList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let hashes: Vec<String> = Vec::deserialize(d)?;
        Ok(HashList(hashes.iter().map(|h| digest(h)).collect()))
    }
}

/// The file document of a record: written last, so a file whose record is in a commit is
/// complete in it.
pub(super) fn file_document(fields: &Fields, record: &FileRecord) -> Result<TantivyDocument> {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.kind, KIND_FILE);
    doc.add_text(fields.file, &record.path);
    doc.add_text(fields.file_hash, &record.hash);
    for &h in &record.duplicates.0 {
        doc.add_text(fields.dup_of, hex(h));
    }
    doc.add_text(fields.file_info, serde_json::to_string(record)?);
    doc.add_bytes(fields.file_state, &encode_file_state(record));
    Ok(doc)
}

/// A file's record as the run keeps it: what `State::load` reads for every indexed file.
///
/// Reading the stored records of a million files decompressed nearly every block of the
/// document store (each file's record sits after its articles), so a re-ingest that changed
/// nothing mapped the whole store: 880 MB resident on 1 GB of text. This column holds only
/// what the run keeps, in binary: path, size, mtime, file digest, (id key, content digest) per
/// article and the duplicates' digests.
struct FileState {
    path: String,
    size: u64,
    mtime: u64,
    hash: Digest,
    articles: Vec<(u64, Digest)>,
    duplicates: Vec<Digest>,
}

fn encode_file_state(r: &FileRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + r.path.len() + 24 * r.articles.len());
    out.extend_from_slice(&(r.path.len() as u32).to_le_bytes());
    out.extend_from_slice(r.path.as_bytes());
    out.extend_from_slice(&r.size.to_le_bytes());
    out.extend_from_slice(&compact_mtime(r.mtime).to_le_bytes());
    out.extend_from_slice(&digest(&r.hash).to_le_bytes());
    out.extend_from_slice(&(r.articles.len() as u32).to_le_bytes());
    for (id, h) in r.articles.iter() {
        out.extend_from_slice(&id_key(id).to_le_bytes());
        out.extend_from_slice(&h.to_le_bytes());
    }
    out.extend_from_slice(&(r.duplicates.0.len() as u32).to_le_bytes());
    for h in &r.duplicates.0 {
        out.extend_from_slice(&h.to_le_bytes());
    }
    out
}

/// The path and number of articles of a `file_state` value (for `check`); None when damaged.
pub(super) fn file_state_summary(b: &[u8]) -> Option<(String, usize)> {
    let f = decode_file_state(b)?;
    Some((f.path, f.articles.len()))
}

/// None when the bytes are not a whole record.
fn decode_file_state(b: &[u8]) -> Option<FileState> {
    struct R<'a>(&'a [u8]);
    impl<'a> R<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
            self.0 = rest;
            Some(head)
        }
        fn u32(&mut self) -> Option<u32> {
            Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
        }
        fn u64(&mut self) -> Option<u64> {
            Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
        }
        fn u128(&mut self) -> Option<u128> {
            Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
        }
    }
    let mut r = R(b);
    let n = r.u32()? as usize;
    let path = std::str::from_utf8(r.take(n)?).ok()?.to_string();
    let (size, mtime, hash) = (r.u64()?, r.u64()?, r.u128()?);
    let n = r.u32()? as usize;
    let articles = (0..n)
        .map(|_| Some((r.u64()?, r.u128()?)))
        .collect::<Option<Vec<_>>>()?;
    let n = r.u32()? as usize;
    let duplicates = (0..n).map(|_| r.u128()).collect::<Option<Vec<_>>>()?;
    r.0.is_empty().then_some(FileState {
        path,
        size,
        mtime,
        hash,
        articles,
        duplicates,
    })
}

/// Every path the run has met, interned once: one arena of text plus a table of indexes.
#[derive(Default)]
struct Paths {
    arena: String,
    /// Start of each path in the arena; a path ends where the next starts.
    starts: Vec<usize>,
    table: hashbrown::HashTable<FileIx>,
}

impl Paths {
    fn get(&self, ix: FileIx) -> &str {
        let i = ix as usize;
        let end = self.starts.get(i + 1).copied().unwrap_or(self.arena.len());
        &self.arena[self.starts[i]..end]
    }

    fn find(&self, path: &str) -> Option<FileIx> {
        let hash = FxBuildHasher.hash_one(path);
        self.table.find(hash, |&ix| self.get(ix) == path).copied()
    }

    fn intern(&mut self, path: &str) -> FileIx {
        if let Some(ix) = self.find(path) {
            return ix;
        }
        let ix = FileIx::try_from(self.starts.len()).expect("fewer than 2^32 files");
        self.starts.push(self.arena.len());
        self.arena.push_str(path);
        let hash = FxBuildHasher.hash_one(path);
        let Paths {
            arena,
            starts,
            table,
        } = self;
        let lookup = |&ix: &FileIx| {
            let i = ix as usize;
            let end = starts.get(i + 1).copied().unwrap_or(arena.len());
            FxBuildHasher.hash_one(&arena[starts[i]..end])
        };
        table.insert_unique(hash, ix, lookup);
        ix
    }

    fn len(&self) -> usize {
        self.starts.len()
    }
}

/// One indexed article: its id key, content digest (as two halves, so the record needs no
/// 16-byte alignment) and file. 32 bytes.
#[derive(Clone, Copy)]
struct ArticleEntry {
    id: u64,
    digest: [u64; 2],
    file: FileIx,
}

fn halves(d: Digest) -> [u64; 2] {
    [(d >> 64) as u64, d as u64]
}

fn whole(h: [u64; 2]) -> Digest {
    (u128::from(h[0]) << 64) | u128::from(h[1])
}

/// What is kept in memory of an indexed file: 40 bytes, its articles in the arena.
#[derive(Default)]
pub(super) struct FileMeta {
    pub size: u64,
    /// Nanoseconds since the epoch, saturated at `u64::MAX` (as the walk records it).
    pub mtime: u64,
    /// Digest of the file's bytes; 0 forces the next read to parse it.
    hash: [u64; 2],
    /// The file's articles: `articles[first..first + count]` of the state's arena.
    first: u32,
    count: u32,
}

impl FileMeta {
    pub fn hash(&self) -> Digest {
        whole(self.hash)
    }
}

#[derive(Default)]
struct FileSlot {
    meta: FileMeta,
    /// The file has documents in the index (or will at the next commit): `meta` is valid.
    indexed: bool,
    /// Found by this run's walk.
    seen: bool,
}

/// A set of article arena indexes, looked up by a key of the article (id or content): 4
/// bytes a slot where a map from key to file costs 16 to 32.
#[derive(Default)]
struct ArticleTable(hashbrown::HashTable<u32>);

impl ArticleTable {
    fn find<K: std::hash::Hash + PartialEq>(
        &self,
        arena: &[ArticleEntry],
        key: K,
        key_of: impl Fn(&ArticleEntry) -> K,
    ) -> Option<u32> {
        let hash = FxBuildHasher.hash_one(&key);
        self.0
            .find(hash, |&i| key_of(&arena[i as usize]) == key)
            .copied()
    }

    /// Points `key` at article `i`, replacing the article it pointed at.
    fn put<K: std::hash::Hash + PartialEq>(
        &mut self,
        arena: &[ArticleEntry],
        i: u32,
        key_of: impl Fn(&ArticleEntry) -> K,
    ) {
        let key = key_of(&arena[i as usize]);
        let hash = FxBuildHasher.hash_one(&key);
        match self
            .0
            .find_mut(hash, |&j| key_of(&arena[j as usize]) == key)
        {
            Some(slot) => *slot = i,
            None => {
                self.0.insert_unique(hash, i, |&j| {
                    FxBuildHasher.hash_one(key_of(&arena[j as usize]))
                });
            }
        }
    }

    /// Removes `key` if it points at an article of file `ix`; true if it did.
    fn remove_if_of<K: std::hash::Hash + PartialEq>(
        &mut self,
        arena: &[ArticleEntry],
        key: K,
        ix: FileIx,
        key_of: impl Fn(&ArticleEntry) -> K,
    ) -> bool {
        let hash = FxBuildHasher.hash_one(&key);
        match self
            .0
            .find_entry(hash, |&j| key_of(&arena[j as usize]) == key)
        {
            Ok(entry) if arena[*entry.get() as usize].file == ix => {
                entry.remove();
                true
            }
            _ => false,
        }
    }
}

fn by_id(a: &ArticleEntry) -> u64 {
    a.id
}

fn by_content(a: &ArticleEntry) -> [u64; 2] {
    a.digest
}

/// What the index holds, kept up to date as the run adds and removes files.
///
/// Files loaded from the index have a path slot. A file first indexed this run gets one only
/// if it holds a duplicate (it may have to be read again, see `orphaned_duplicates`); the
/// others, nearly all of a first ingest, leave only their articles' 32-byte entries, which
/// de-duplication and unique ids need. Their paths are never looked up again in the run: the
/// walk yields each path once. So the run's memory grows by about 50 bytes an article, not
/// the 150 bytes a file plus 50 an article that a slot for every file cost.
pub(super) struct State {
    paths: Paths,
    /// Parallel to `paths`.
    files: Vec<FileSlot>,
    /// How many unnamed files this run has begun (the low bits of their `FileIx`).
    unnamed: u32,
    /// Every article indexed, loaded or added this run (a removed file's stay, unreferenced).
    articles: Vec<ArticleEntry>,
    /// Content digest -> the indexed article with that content.
    owner: ArticleTable,
    /// Article id key -> the article that holds it.
    ids: ArticleTable,
    /// File -> content digests of its articles that duplicated others.
    duplicates: FxHashMap<FileIx, Box<[Digest]>>,
    /// Content digest -> files holding a duplicate of it.
    dup_holders: FxHashMap<Digest, Vec<FileIx>>,
    /// Content digests whose indexed article was removed this run.
    released: Vec<Digest>,
    /// Relative paths of files given a slot this run (their record may not be committed).
    rels: FxHashMap<FileIx, String>,
    /// Files already read again for an orphaned duplicate: at most once a run, so the rounds
    /// end even if files change while they are read.
    requeued: FxHashSet<FileIx>,
}

impl State {
    pub fn load(index: &NewsIndex) -> Result<State> {
        let searcher = index.searcher();
        let f = &index.fields;
        let q = TermQuery::new(
            Term::from_field_text(f.kind, KIND_FILE),
            IndexRecordOption::Basic,
        );
        let mut state = State {
            paths: Paths::default(),
            files: Vec::new(),
            articles: Vec::new(),
            owner: ArticleTable::default(),
            ids: ArticleTable::default(),
            duplicates: FxHashMap::default(),
            dup_holders: FxHashMap::default(),
            released: Vec::new(),
            rels: FxHashMap::default(),
            requeued: FxHashSet::default(),
            unnamed: 0,
        };
        let mut by_segment: Vec<Vec<tantivy::DocId>> =
            vec![Vec::new(); searcher.segment_readers().len()];
        for addr in searcher.search(&q, &DocSetCollector)? {
            by_segment[addr.segment_ord as usize].push(addr.doc_id);
        }
        let damaged = || anyhow::anyhow!("damaged file record: the index is damaged");
        for (seg, docs) in by_segment.iter().enumerate() {
            if docs.is_empty() {
                continue;
            }
            let column = searcher
                .segment_reader(seg as u32)
                .fast_fields()
                .bytes("file_state")?;
            let Some(column) = column else {
                return Err(damaged());
            };
            let mut ords = Vec::with_capacity(docs.len());
            for &d in docs {
                ords.push(column.term_ords(d).next().ok_or_else(damaged)?);
            }
            // Sorted, the column's dictionary is read in one pass, each block once.
            ords.sort_unstable();
            ords.dedup();
            let mut bad = false;
            column
                .dictionary()
                .sorted_ords_to_term_cb(&ords, |b| match decode_file_state(b) {
                    Some(f) => state.insert_loaded(f),
                    None => bad = true,
                })?;
            if bad {
                return Err(damaged());
            }
        }
        Ok(state)
    }

    fn insert_loaded(&mut self, f: FileState) {
        let ix = self.slot(&f.path);
        let first = self.next_article();
        for &(id, h) in &f.articles {
            self.add_article(ix, id, h);
        }
        self.insert_meta(ix, first, f.size, f.mtime, f.hash, &f.duplicates);
    }

    /// The slot of a path, created if new.
    fn slot(&mut self, path: &str) -> FileIx {
        let ix = self.paths.intern(path);
        if self.files.len() < self.paths.len() {
            self.files.resize_with(self.paths.len(), FileSlot::default);
        }
        ix
    }

    fn next_article(&self) -> u32 {
        u32::try_from(self.articles.len()).expect("fewer than 2^32 articles")
    }

    /// Whether an indexed article has this content.
    fn content_indexed(&self, h: Digest) -> bool {
        self.owner
            .find(&self.articles, halves(h), by_content)
            .is_some()
    }

    /// Adds an article of file `ix` and claims its id and content.
    fn add_article(&mut self, ix: FileIx, id: u64, content: Digest) {
        let i = self.next_article();
        self.articles.push(ArticleEntry {
            id,
            digest: halves(content),
            file: ix,
        });
        self.owner.put(&self.articles, i, by_content);
        self.ids.put(&self.articles, i, by_id);
    }

    /// Records an indexed file (loaded, or finished this run) whose articles were added to
    /// the arena from `first` on.
    fn insert_meta(
        &mut self,
        ix: FileIx,
        first: u32,
        size: u64,
        mtime: u64,
        hash: Digest,
        duplicates: &[Digest],
    ) {
        for &h in duplicates {
            let holders = self.dup_holders.entry(h).or_default();
            if !holders.contains(&ix) {
                holders.push(ix);
            }
        }
        if duplicates.is_empty() {
            self.duplicates.remove(&ix);
        } else {
            self.duplicates.insert(ix, duplicates.into());
        }
        let count = self.next_article() - first;
        let slot = &mut self.files[ix as usize];
        slot.indexed = true;
        slot.meta = FileMeta {
            size,
            mtime,
            hash: halves(hash),
            first,
            count,
        };
    }

    /// The indexed file at `path`, if any.
    pub fn record(&self, path: &str) -> Option<&FileMeta> {
        let ix = self.paths.find(path)?;
        let slot = &self.files[ix as usize];
        slot.indexed.then_some(&slot.meta)
    }

    /// Notes that the walk found `path` (files not found may be pruned).
    pub fn mark_seen(&mut self, path: &str) {
        if let Some(ix) = self.paths.find(path) {
            self.files[ix as usize].seen = true;
        }
    }

    /// Indexed files the walk did not find and that no longer exist.
    pub fn gone_files(&self) -> Vec<String> {
        self.files
            .iter()
            .enumerate()
            .filter(|(_, s)| s.indexed && !s.seen)
            .map(|(ix, _)| self.paths.get(ix as FileIx))
            .filter(|p| !std::path::Path::new(p).exists())
            .map(String::from)
            .collect()
    }

    /// Deletes every document of a file; returns how many articles it had.
    pub fn remove_file(&mut self, writer: &Writer, index: &NewsIndex, path: &str) -> usize {
        // A file without a record has no documents in any commit (a file's documents and its
        // record are always committed together), so there is nothing to delete. Skipping the
        // delete matters: tantivy keeps every pending delete until the next commit.
        let Some(ix) = self.paths.find(path) else {
            return 0;
        };
        let slot = &mut self.files[ix as usize];
        if !std::mem::take(&mut slot.indexed) {
            return 0;
        }
        let (first, count) = (slot.meta.first as usize, slot.meta.count as usize);
        writer.delete_term(Term::from_field_text(index.fields.file, path));
        for a in first..first + count {
            let ArticleEntry { id, digest, .. } = self.articles[a];
            if self
                .owner
                .remove_if_of(&self.articles, digest, ix, by_content)
            {
                self.released.push(whole(digest));
            }
            self.ids.remove_if_of(&self.articles, id, ix, by_id);
        }
        for h in self.duplicates.remove(&ix).unwrap_or_default().iter() {
            if let Some(v) = self.dup_holders.get_mut(h) {
                v.retain(|&p| p != ix);
            }
        }
        count
    }

    /// Same bytes, new mtime: rewrites only the file document so the next run skips the file
    /// without reading it.
    pub fn touch(&mut self, writer: &Writer, index: &NewsIndex, f: &InputFile) -> Result<()> {
        let path = f.path.to_string_lossy();
        let Some(ix) = self.paths.find(&path) else {
            return Ok(());
        };
        let slot = &mut self.files[ix as usize];
        if !slot.indexed {
            return Ok(());
        }
        slot.meta.size = f.size;
        slot.meta.mtime = compact_mtime(f.mtime);
        // The full record (ids as text) is only in the index: read it back.
        let Some(mut record) = stored_record(index, &path)? else {
            return Ok(());
        };
        record.size = f.size;
        record.mtime = f.mtime;
        let fields = &index.fields;
        writer.delete_query(Box::new(file_doc_query(fields, &path)))?;
        writer.add_document(QueuedDoc::untracked(file_document(fields, &record)?))?;
        Ok(())
    }

    /// Starts (re)indexing a file: deletes its old documents and returns its new record.
    pub fn begin_file(
        &mut self,
        writer: &Writer,
        index: &NewsIndex,
        f: &InputFile,
        hash: String,
        articles_removed: &mut usize,
    ) -> FileRecord {
        let path = f.path.to_string_lossy().into_owned();
        *articles_removed += self.remove_file(writer, index, &path);
        let ix = match self.paths.find(&path) {
            Some(ix) => ix,
            None => {
                self.unnamed += 1;
                assert!(self.unnamed < UNNAMED, "fewer than 2^31 files a run");
                UNNAMED | self.unnamed
            }
        };
        FileRecord {
            path,
            rel: f.rel.clone(),
            hash,
            size: f.size,
            mtime: f.mtime,
            ix,
            first: self.next_article(),
            ..Default::default()
        }
    }

    /// Whether an article with this content is already indexed. If so, the file being indexed
    /// is remembered as holding a duplicate of it.
    pub fn is_duplicate(&mut self, record: &mut FileRecord, content_hash: &str) -> bool {
        let h = digest(content_hash);
        if !self.content_indexed(h) {
            return false;
        }
        self.name(record);
        let holders = self.dup_holders.entry(h).or_default();
        if !holders.contains(&record.ix) {
            holders.push(record.ix);
        }
        record.duplicates.0.push(h);
        true
    }

    /// Gives the file being indexed a path slot if it has none, moving its articles so far
    /// to it.
    fn name(&mut self, record: &mut FileRecord) {
        if record.ix & UNNAMED == 0 {
            return;
        }
        let ix = self.slot(&record.path);
        for a in &mut self.articles[record.first as usize..] {
            a.file = ix;
        }
        record.ix = ix;
    }

    /// Claims an id (made unique) and a content for an article of the file being indexed.
    /// Ids of that file were released by `begin_file`, so an id still taken belongs to another
    /// file or to an earlier article of this one, and gets a `~N` suffix.
    pub fn claim(&mut self, record: &mut FileRecord, id: String, content_hash: &str) -> String {
        let taken = |s: &State, id: &str| s.ids.find(&s.articles, id_key(id), by_id).is_some();
        let id = if taken(self, &id) {
            (2..)
                .map(|n| format!("{id}~{n}"))
                .find(|c| !taken(self, c))
                .expect("an unused suffix")
        } else {
            id
        };
        let h = digest(content_hash);
        // The file's articles are consecutive in the arena: files are indexed one at a time,
        // from `begin_file` to `finish_file`.
        debug_assert_eq!(
            record.first + record.articles.len() as u32,
            self.next_article()
        );
        self.add_article(record.ix, id_key(&id), h);
        record.articles.push(&id, h);
        id
    }

    /// Forgets the articles of a file that failed part-way (their documents are deleted).
    pub fn abandon_file(&mut self, record: &FileRecord) {
        for (id, h) in record.articles.iter() {
            self.ids
                .remove_if_of(&self.articles, id_key(id), record.ix, by_id);
            self.owner
                .remove_if_of(&self.articles, halves(h), record.ix, by_content);
        }
        for h in &record.duplicates.0 {
            if let Some(v) = self.dup_holders.get_mut(h) {
                v.retain(|&p| p != record.ix);
            }
        }
    }

    /// Ends a file: its record is written last, so a file whose record is in a commit is
    /// complete in it.
    pub fn finish_file(
        &mut self,
        writer: &Writer,
        fields: &Fields,
        record: FileRecord,
    ) -> Result<()> {
        writer.add_document(QueuedDoc::untracked(file_document(fields, &record)?))?;
        if record.ix & UNNAMED != 0 {
            // Its articles stay claimed in the arena; nothing looks the file up again.
            return Ok(());
        }
        if record.duplicates.0.is_empty() {
            self.rels.remove(&record.ix);
        } else {
            self.rels.insert(record.ix, record.rel.clone());
        }
        self.insert_meta(
            record.ix,
            record.first,
            record.size,
            compact_mtime(record.mtime),
            digest(&record.hash),
            &record.duplicates.0,
        );
        Ok(())
    }

    /// Files that hold a duplicate of an article removed this run and not indexed again: they
    /// must be read again so the duplicate takes the original's place. That includes files
    /// read earlier in this run, while the original was still indexed.
    pub fn orphaned_duplicates(&mut self, index: &NewsIndex) -> Vec<InputFile> {
        let mut out: Vec<InputFile> = Vec::new();
        for h in std::mem::take(&mut self.released) {
            if self.content_indexed(h) {
                continue;
            }
            for ix in self.dup_holders.get(&h).cloned().unwrap_or_default() {
                if !self.files[ix as usize].indexed || !self.requeued.insert(ix) {
                    continue;
                }
                let p = self.paths.get(ix).to_string();
                let path = PathBuf::from(&p);
                let Some(format) = crate::ingest::detect_format(&path) else {
                    continue;
                };
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                // Forget the old hash so the file is parsed, not skipped as unchanged.
                self.files[ix as usize].meta.hash = [0, 0];
                // A file indexed this run has its relative path kept; any other has its
                // record in the last commit.
                let rel = match self.rels.get(&ix) {
                    Some(rel) => rel.clone(),
                    None => stored_record(index, &p)
                        .ok()
                        .flatten()
                        .map(|r| r.rel)
                        .unwrap_or_default(),
                };
                out.push(InputFile {
                    rel,
                    format,
                    size: meta.len(),
                    mtime: meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map(|d| d.as_nanos())
                        .unwrap_or(0),
                    path,
                });
            }
        }
        out
    }
}

/// The query for a file's file document.
fn file_doc_query(fields: &Fields, path: &str) -> BooleanQuery {
    BooleanQuery::intersection(vec![
        Box::new(TermQuery::new(
            Term::from_field_text(fields.kind, KIND_FILE),
            IndexRecordOption::Basic,
        )),
        Box::new(TermQuery::new(
            Term::from_field_text(fields.file, path),
            IndexRecordOption::Basic,
        )),
    ])
}

/// A file's full record as of the last commit.
fn stored_record(index: &NewsIndex, path: &str) -> Result<Option<FileRecord>> {
    let searcher = index.searcher();
    let hits = searcher.search(
        &file_doc_query(&index.fields, path),
        &TopDocs::with_limit(1).order_by_score(),
    )?;
    let Some((_, addr)) = hits.first() else {
        return Ok(None);
    };
    let doc = super::read_doc(&searcher, *addr)?;
    let info = doc
        .get_first(index.fields.file_info)
        .and_then(|v| v.as_str())
        .context("file document without its record: the index is damaged")?;
    Ok(Some(
        serde_json::from_str(info).context("damaged file record")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_intern_once_and_find_again() {
        let mut p = Paths::default();
        let a = p.intern("/x/a.txt");
        let b = p.intern("/x/b.txt");
        assert_ne!(a, b);
        assert_eq!(p.intern("/x/a.txt"), a);
        assert_eq!(p.get(a), "/x/a.txt");
        assert_eq!(p.get(b), "/x/b.txt");
        assert_eq!(p.find("/x/b.txt"), Some(b));
        assert_eq!(p.find("/x/c.txt"), None);
        // Many paths: the table grows and every one is still found.
        let ixs: Vec<FileIx> = (0..5000)
            .map(|i| p.intern(&format!("/d/{i}.txt")))
            .collect();
        for (i, ix) in ixs.iter().enumerate() {
            assert_eq!(p.find(&format!("/d/{i}.txt")), Some(*ix));
            assert_eq!(p.get(*ix), format!("/d/{i}.txt"));
        }
    }

    #[test]
    fn article_tables_find_replace_and_remove_by_owner() {
        let mut arena = Vec::new();
        let mut ids = ArticleTable::default();
        let mut owner = ArticleTable::default();
        let mut add = |arena: &mut Vec<ArticleEntry>, id: u64, d: Digest, file: FileIx| {
            arena.push(ArticleEntry {
                id,
                digest: halves(d),
                file,
            });
            let i = arena.len() as u32 - 1;
            ids.put(arena, i, by_id);
            owner.put(arena, i, by_content);
        };
        for n in 0..3000u64 {
            add(&mut arena, n, u128::from(n) << 70 | 7, (n % 5) as FileIx);
        }
        // The same id again, from another file: the table points at the newest.
        add(&mut arena, 42, 1, 9);
        let at = |t: &ArticleTable, arena: &[ArticleEntry], id: u64| {
            t.find(arena, id, by_id).map(|i| arena[i as usize].file)
        };
        assert_eq!(at(&ids, &arena, 42), Some(9));
        assert_eq!(at(&ids, &arena, 43), Some(3));
        assert_eq!(at(&ids, &arena, 5000), None);
        let d = halves(u128::from(1234u64) << 70 | 7);
        assert!(owner.find(&arena, d, by_content).is_some());
        // Only the file that holds a key removes it.
        assert!(!owner.remove_if_of(&arena, d, 0, by_content));
        assert!(owner.remove_if_of(&arena, d, 4, by_content));
        assert!(owner.find(&arena, d, by_content).is_none());
        assert!(!ids.remove_if_of(&arena, 42, 2, by_id));
        assert!(ids.remove_if_of(&arena, 42, 9, by_id));
        assert_eq!(at(&ids, &arena, 42), None);
        assert_eq!(whole(halves(u128::MAX - 5)), u128::MAX - 5);
    }

    #[test]
    fn file_records_keep_their_json_shape() {
        let json = r#"{"path":"/a/f.jsonl","rel":"f.jsonl","hash":"ab","size":3,"mtime":4,
            "articles":[["x","000000000000000000000000000000ff"],["y~2","0000000000000000000000000000abcd"]],
            "duplicates":["0000000000000000000000000000beef"]}"#;
        let r: FileRecord = serde_json::from_str(json).unwrap();
        let pairs: Vec<(&str, Digest)> = r.articles.iter().collect();
        assert_eq!(pairs, vec![("x", 0xff), ("y~2", 0xabcd)]);
        let back: serde_json::Value = serde_json::to_value(&r).unwrap();
        let orig: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back["articles"], orig["articles"]);
        assert_eq!(back["duplicates"], orig["duplicates"]);
    }

    #[test]
    fn file_states_round_trip_and_refuse_damage() {
        let mut r = FileRecord {
            path: "/a/é.jsonl".into(),
            hash: "000000000000000000000000000000ff".into(),
            size: 12,
            mtime: u128::from(u64::MAX) + 5,
            ..Default::default()
        };
        r.articles.push("x", 7);
        r.articles.push("y~2", u128::MAX);
        r.duplicates.0.push(9);
        let b = encode_file_state(&r);
        let f = decode_file_state(&b).unwrap();
        assert_eq!(f.path, "/a/é.jsonl");
        assert_eq!((f.size, f.mtime, f.hash), (12, u64::MAX, 0xff));
        assert_eq!(
            f.articles,
            vec![(id_key("x"), 7), (id_key("y~2"), u128::MAX)]
        );
        assert_eq!(f.duplicates, vec![9]);
        assert!(decode_file_state(&b[..b.len() - 1]).is_none());
        let mut longer = b.clone();
        longer.push(0);
        assert!(decode_file_state(&longer).is_none());
    }

    #[test]
    fn digests_read_hex_hashes() {
        assert_eq!(digest("00000000000000000000000000000010"), 16);
        assert_eq!(
            digest("ffffffffffffffffffffffffffffffffabc"),
            u128::MAX,
            "only the first 32 digits count"
        );
        assert_eq!(digest("not hex"), 0);
    }
}
