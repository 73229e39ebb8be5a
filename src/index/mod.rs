//! The on-disk index: schema, opening/validating a folder, building it from articles, stats.

pub mod check;
mod damage;
pub mod mapped;
pub mod mention_data;
pub mod mention_store;
pub mod merges;
pub mod passages;
mod queue;
pub mod schema;
mod state;
pub mod stats;
mod stem_cache;
pub mod writer;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument};

pub use damage::read_doc;
use mapped::ReleasingDirectory;
pub use schema::Fields;

/// Written next to tantivy's files so that we recognise our own index folders.
const MARKER_FILE: &str = "newsindex.json";

#[derive(Serialize, Deserialize)]
struct Marker {
    format: String,
    schema_version: u64,
}

/// Everything stored about one article, kept once per article (as JSON in the article doc).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredArticle {
    pub id: String,
    pub file: String,
    pub position: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<usize>,
    pub headline: String,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub publisher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dateline: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub topics: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub places: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub people: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub orgs: Vec<String>,
}

/// An opened newsindex folder.
pub struct NewsIndex {
    pub index: Index,
    pub fields: Fields,
    pub path: PathBuf,
    reader: IndexReader,
}

impl NewsIndex {
    /// Opens an existing index for reading, with a clear error when the folder is missing, is
    /// not a newsindex index, or was written by a newer version. For merges and commands that
    /// read much of the index: the pages it maps are released beyond a budget (`mapped`).
    pub fn open(path: &Path) -> Result<NewsIndex> {
        Self::open_existing(path, false)
    }

    /// [`NewsIndex::open`] for ranked search, which reads scattered pages: the kernel is told
    /// not to read ahead. After the page cache was dropped, on 1 GB, the first `search` takes
    /// 0.35 to 0.45 s instead of 0.71 to 1.01 s; `mentions`, which reads one run of its
    /// records, took 0.50 s instead of 0.36 to 0.40 s that way, so it keeps read-ahead.
    /// Warm, neither changes beyond the noise.
    pub fn open_for_search(path: &Path) -> Result<NewsIndex> {
        Self::open_existing(path, true)
    }

    /// Opens an existing index; `scattered` tells the kernel its pages are read at random.
    fn open_existing(path: &Path, scattered: bool) -> Result<NewsIndex> {
        if !path.is_dir() {
            bail!(
                "no index at {}: run `newsindex ingest PATH --index {}` first",
                path.display(),
                path.display()
            );
        }
        check_marker(path)?;
        let cannot = || format!("cannot open the index at {}", path.display());
        // Read-ahead serves merges, scans of columns and `mentions`' runs of records; a
        // ranked search touches term dictionary blocks, postings and field norms here and there.
        let mut index = if scattered {
            let dir = MmapDirectory::open_with_madvice(path, tantivy::directory::Advice::Random)
                .with_context(cannot)?;
            Index::open(dir)
        } else {
            // Merges and scans read much of the index: see `mapped` for why their pages are
            // released.
            Index::open(ReleasingDirectory::open(path).with_context(cannot)?)
        }
        .with_context(cannot)?;
        // Tantivy does not persist plugins: the mention records' plugin is attached on every
        // open, before anything reads, writes or merges a segment.
        index.register_plugin(mention_store::plugin());
        Self::from_index(index, path)
    }

    /// Opens the index at `path`, creating it (and the folder) when there is none.
    ///
    /// Creation is crash-safe: the marker is written first (atomically), then tantivy's
    /// `meta.json`; a folder left with only the marker by a killed run is created again.
    pub fn open_or_create(path: &Path) -> Result<NewsIndex> {
        let fresh = !path.exists() || only_leftovers_of_creation(path)?;
        if !fresh {
            return Self::open_existing(path, false);
        }
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create the index folder {}", path.display()))?;
        let marker = Marker {
            format: "newsindex".into(),
            schema_version: schema::SCHEMA_VERSION,
        };
        write_atomic(
            &path.join(MARKER_FILE),
            &serde_json::to_vec_pretty(&marker)?,
        )?;
        let (schema, _) = schema::build_schema();
        let dir = ReleasingDirectory::open(path)
            .with_context(|| format!("cannot open {} as an index folder", path.display()))?;
        // The document store keeps tantivy's defaults, lz4 in 16 KB blocks, by measurement
        // (40 MB of `scale-corpus`, three runs each): zstd level 1 made the index 8.6% smaller
        // at the same ingest speed, but `search` 11% slower in process (each article shown
        // decompresses its block); 64 KB blocks made it only 1.4% smaller.
        let index = Index::builder()
            .schema(schema)
            .settings(tantivy::IndexSettings::default())
            .register_plugin(mention_store::plugin())
            .open_or_create(dir)
            .with_context(|| format!("cannot create an index at {}", path.display()))?;
        Self::from_index(index, path)
    }

    fn from_index(mut index: Index, path: &Path) -> Result<NewsIndex> {
        let (expected, fields) = schema::build_schema();
        if index.schema() != expected {
            bail!(
                "the index at {} has a different schema than this newsindex expects; \
                 re-create it with `newsindex ingest` into a new folder",
                path.display()
            );
        }
        schema::register_tokenizers(&index);
        // tantivy's own searches (`Searcher::search`: the file records an ingest reads, `check`,
        // `stats`) run over the segments on every core. User searches share them out
        // themselves (`search::parallel`), with less hand-over per query.
        index
            .set_default_multithread_executor()
            .context("cannot start the search threads")?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .with_context(|| format!("cannot read the index at {}", path.display()))?;
        Ok(NewsIndex {
            index,
            fields,
            path: path.to_path_buf(),
            reader,
        })
    }

    /// A searcher on the last commit.
    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// Makes the reader see the latest commit.
    pub fn reload(&self) -> Result<()> {
        self.reader.reload()?;
        Ok(())
    }

    /// Decodes the stored article of an article document.
    pub fn stored_article(&self, doc: &TantivyDocument) -> Result<StoredArticle> {
        Ok(serde_json::from_str(self.stored_json(doc)?)?)
    }

    /// The id of a stored article, without building the rest (headline, body, labels).
    pub fn stored_article_id(&self, doc: &TantivyDocument) -> Result<String> {
        #[derive(Deserialize)]
        struct IdOnly {
            id: String,
        }
        Ok(serde_json::from_str::<IdOnly>(self.stored_json(doc)?)?.id)
    }

    fn stored_json<'d>(&self, doc: &'d TantivyDocument) -> Result<&'d str> {
        use tantivy::schema::Value;
        doc.get_first(self.fields.stored)
            .and_then(|v| v.as_str())
            .context("article document without stored text")
    }

    /// Loads one article by id (None if no such article).
    pub fn article(&self, searcher: &tantivy::Searcher, id: &str) -> Result<Option<StoredArticle>> {
        use tantivy::collector::TopDocs;
        use tantivy::query::{BooleanQuery, Occur, TermQuery};
        use tantivy::schema::IndexRecordOption;
        use tantivy::Term;
        let f = &self.fields;
        let q = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.article_id, id),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.kind, schema::KIND_ARTICLE),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        match top.first() {
            Some((_, addr)) => Ok(Some(self.stored_article(&read_doc(searcher, *addr)?)?)),
            None => Ok(None),
        }
    }
}

/// True when `path` is empty, or holds nothing but what an interrupted creation leaves: our
/// marker, tantivy's lock/bookkeeping files and the temporary file of an atomic write that was
/// cut short (`.tmpXXXXXX`, before its rename to `meta.json`), and no `meta.json`.
fn only_leftovers_of_creation(path: &Path) -> Result<bool> {
    let names: Vec<String> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    Ok(names.iter().all(|n| {
        n == MARKER_FILE
            || n == ".managed.json"
            || (n.starts_with(".tantivy-") && n.ends_with(".lock"))
            || (n.starts_with('.') && n.contains(MARKER_FILE))
            || n.starts_with(".tmp")
    }))
}

/// Writes a file atomically: a temporary file in the same folder, then a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".newsindex.json")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Name of the file that marks a folder as a newsindex index.
pub const MARKER: &str = MARKER_FILE;

fn check_marker(path: &Path) -> Result<()> {
    let marker_path = path.join(MARKER_FILE);
    let raw = match std::fs::read(&marker_path) {
        Ok(raw) => raw,
        Err(_) if path.join("meta.json").exists() => bail!(
            "{} is a tantivy index but not a newsindex index (no {MARKER_FILE})",
            path.display()
        ),
        Err(_) => bail!(
            "{} is not a newsindex index (no {MARKER_FILE}); pass an empty or new folder to create one",
            path.display()
        ),
    };
    let marker: Marker = serde_json::from_slice(&raw)
        .with_context(|| format!("{} is corrupt", marker_path.display()))?;
    if marker.format != "newsindex" {
        bail!("{} is not a newsindex index", path.display());
    }
    if marker.schema_version > schema::SCHEMA_VERSION {
        bail!(
            "the index at {} was written by a newer newsindex (index format {}, this build reads {}); upgrade newsindex",
            path.display(),
            marker.schema_version,
            schema::SCHEMA_VERSION
        );
    }
    if marker.schema_version < schema::SCHEMA_VERSION {
        bail!(
            "the index at {} uses an older format ({}); re-create it with `newsindex ingest`",
            path.display(),
            marker.schema_version
        );
    }
    Ok(())
}

/// Total size in bytes of the files in a folder (not recursive: tantivy writes a flat folder).
pub fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Test helpers for indexes of several segments, shared by the modules' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::writer::IngestOptions;
    use super::NewsIndex;

    /// An empty index in a temporary folder (kept while the folder lives).
    pub fn empty_index() -> (tempfile::TempDir, NewsIndex) {
        let tmp = tempfile::tempdir().unwrap();
        let index = NewsIndex::open_or_create(&tmp.path().join("idx")).unwrap();
        (tmp, index)
    }

    /// The sample corpus shipped in `data/sample`.
    pub fn sample() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
    }

    /// Ingest options that leave a segment per ingest (no tail merge) and tag no entities.
    pub fn segment_per_ingest() -> IngestOptions {
        IngestOptions {
            entities: false,
            merge_tail: false,
            ..IngestOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A creation killed at any point leaves a folder that the next ingest creates again,
    /// including one killed inside tantivy's atomic write of `meta.json` (seen in the crash
    /// test: "meta.json does not exist" on the re-run).
    #[test]
    fn interrupted_creation_is_created_again() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("idx");
        std::fs::create_dir(&dir).unwrap();
        for (leftover, bytes) in [
            (MARKER_FILE, &b""[..]),
            (".tantivy-writer.lock", b""),
            (".managed.json", b"[]"),
            (".tmpAb12Cd", b"{\"index_settings\""),
        ] {
            std::fs::write(dir.join(leftover), bytes).unwrap();
            assert!(only_leftovers_of_creation(&dir).unwrap(), "{leftover}");
        }
        std::fs::write(
            dir.join(MARKER_FILE),
            serde_json::to_vec(&Marker {
                format: "newsindex".into(),
                schema_version: schema::SCHEMA_VERSION,
            })
            .unwrap(),
        )
        .unwrap();
        let index = NewsIndex::open_or_create(&dir).unwrap();
        assert_eq!(index.searcher().num_docs(), 0);
        assert!(dir.join("meta.json").exists());
        // A folder with anything else in it is not taken for a leftover.
        let other = tmp.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("notes.txt"), b"mine").unwrap();
        assert!(!only_leftovers_of_creation(&other).unwrap());
    }
}
