//! Finding the input files under the paths a user gives.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::{detect_format, Format};

/// One input file to ingest.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Canonical absolute path: the file's identity in the index.
    pub path: PathBuf,
    /// Path relative to the root's parent, e.g. `bbc/sport/199.txt`: used in article ids, so
    /// that ids do not depend on where the corpus lives on disk.
    pub rel: String,
    pub format: Format,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime: u128,
}

/// An mtime as kept in compact records: nanoseconds saturated at `u64::MAX` (the year 2554),
/// so two mtimes compare equal kept or not.
pub fn compact_mtime(ns: u128) -> u64 {
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// A problem met while walking: a symlink loop, an unreadable folder, a file that vanished.
#[derive(Debug, Clone)]
pub struct WalkError {
    pub path: PathBuf,
    pub reason: String,
    pub kind: WalkErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkErrorKind {
    SymlinkLoop,
    Unreadable,
    NotFound,
    Unsupported,
}

/// The files a walk found, in walk order, held compactly: every path's bytes in an arena and a
/// small fixed record per file. A million-file archive's list is about 64 MB this way; as
/// separate `InputFile`s (two heap strings each, in a growing vector) it held 550 MB, all of it
/// alive before the first article was indexed. Files are materialized one batch at a time, and
/// the list is kept in chunks of `CHUNK` files so that the chunks already ingested can be
/// released (`release_before`): late in a run, when segment merges bring the memory peak, little
/// of the list is left.
#[derive(Debug, Default)]
pub struct FileList {
    chunks: Vec<Chunk>,
    len: usize,
    /// Relative paths that are not a tail of their path (never from a walk; kept exact).
    other_rels: std::collections::HashMap<usize, String>,
}

/// Files in a chunk of a `FileList`.
const CHUNK: usize = 1 << 15;

#[derive(Debug, Default)]
struct Chunk {
    arena: Vec<u8>,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// End of the path in the chunk's arena; it starts where the previous one ends.
    end: u64,
    size: u64,
    /// Nanoseconds since the epoch, saturated at year 2554.
    mtime: u64,
    /// Where, in the path, the relative path (`InputFile::rel`) starts.
    rel: u32,
    format: Format,
}

impl FileList {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Frees the chunks that hold only files before position `n`: asking for any of those
    /// files afterwards panics.
    pub fn release_before(&mut self, n: usize) {
        for chunk in self.chunks.iter_mut().take(n / CHUNK) {
            *chunk = Chunk::default();
        }
    }

    fn entry(&self, i: usize) -> Entry {
        self.chunks[i / CHUNK].entries[i % CHUNK]
    }

    fn bytes(&self, i: usize) -> &[u8] {
        let (chunk, j) = (&self.chunks[i / CHUNK], i % CHUNK);
        let start = if j == 0 {
            0
        } else {
            chunk.entries[j - 1].end as usize
        };
        &chunk.arena[start..chunk.entries[j].end as usize]
    }

    /// The canonical path of file `i`.
    pub fn path(&self, i: usize) -> &Path {
        // SAFETY: the bytes are a whole path's `as_encoded_bytes`, written by `push` on this
        // platform and sliced only at the boundaries `push` recorded.
        Path::new(unsafe { std::ffi::OsStr::from_encoded_bytes_unchecked(self.bytes(i)) })
    }

    pub fn size(&self, i: usize) -> u64 {
        self.entry(i).size
    }

    /// Size and modification time of file `i`, as `InputFile` has them.
    pub fn get_stat(&self, i: usize) -> (u64, u128) {
        let e = self.entry(i);
        (e.size, e.mtime as u128)
    }

    /// File `i` as an owned `InputFile`.
    pub fn get(&self, i: usize) -> InputFile {
        let e = self.entry(i);
        let bytes = self.bytes(i);
        let rel = match self.other_rels.get(&i) {
            Some(rel) => rel.clone(),
            None => String::from_utf8_lossy(&bytes[e.rel as usize..]).into_owned(),
        };
        InputFile {
            path: self.path(i).to_path_buf(),
            rel,
            format: e.format,
            size: e.size,
            mtime: e.mtime as u128,
        }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = InputFile> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Appends a file.
    pub fn push(&mut self, f: &InputFile) {
        let bytes = f.path.as_os_str().as_encoded_bytes();
        if bytes.ends_with(f.rel.as_bytes()) {
            self.push_parts(
                &f.path,
                bytes.len() - f.rel.len(),
                f.format,
                f.size,
                f.mtime,
            );
        } else {
            self.other_rels.insert(self.len, f.rel.clone());
            self.push_parts(&f.path, 0, f.format, f.size, f.mtime);
        }
    }

    fn push_parts(&mut self, path: &Path, rel: usize, format: Format, size: u64, mtime: u128) {
        self.push_entry(
            path.as_os_str().as_encoded_bytes(),
            Entry {
                end: 0,
                size,
                mtime: compact_mtime(mtime),
                rel: u32::try_from(rel).unwrap_or(0),
                format,
            },
        );
    }

    /// Appends a path's bytes and its record (`end` is set here).
    fn push_entry(&mut self, bytes: &[u8], e: Entry) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Chunk::default());
        }
        let chunk = self.chunks.last_mut().expect("a chunk");
        chunk.arena.extend_from_slice(bytes);
        chunk.entries.push(Entry {
            end: chunk.arena.len() as u64,
            ..e
        });
        self.len += 1;
    }

    /// A list of the files at `keep`, in that order.
    fn select(&self, keep: impl Iterator<Item = usize>) -> FileList {
        let mut out = FileList::default();
        for i in keep {
            if let Some(rel) = self.other_rels.get(&i) {
                out.other_rels.insert(out.len, rel.clone());
            }
            out.push_entry(self.bytes(i), self.entry(i));
        }
        out
    }
}

impl FromIterator<InputFile> for FileList {
    fn from_iter<I: IntoIterator<Item = InputFile>>(iter: I) -> FileList {
        let mut list = FileList::default();
        for f in iter {
            list.push(&f);
        }
        list
    }
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walked {
    pub files: FileList,
    pub errors: Vec<WalkError>,
    /// Files passed over inside folders: unsupported types, documentation files (README,
    /// LICENSE, ...), and types excluded by the caller's extension filter.
    pub skipped: usize,
}

/// Walks `roots` (files or folders), following symlinks (walkdir detects cycles), skipping
/// hidden files and folders, in a deterministic (sorted) order. `extensions`, when not empty,
/// keeps only files with one of these extensions (lowercase, no dot).
pub fn walk(roots: &[PathBuf], extensions: &[String]) -> Walked {
    let mut files = FileList::default();
    let mut errors = Vec::new();
    let mut skipped = 0;
    for root in roots {
        if !root.exists() {
            errors.push(WalkError {
                path: root.clone(),
                reason: "no such file or folder".into(),
                kind: WalkErrorKind::NotFound,
            });
            continue;
        }
        let base = root
            .canonicalize()
            .ok()
            .and_then(|c| c.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let mut canonical = CanonicalPaths::default();
        let walker = WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    let (kind, reason) = if e.loop_ancestor().is_some() {
                        (
                            WalkErrorKind::SymlinkLoop,
                            format!(
                                "symlink loop back to {}",
                                e.loop_ancestor().unwrap().display()
                            ),
                        )
                    } else if e
                        .io_error()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
                    {
                        (WalkErrorKind::NotFound, "vanished or dangling link".into())
                    } else {
                        (WalkErrorKind::Unreadable, e.to_string())
                    };
                    errors.push(WalkError { path, reason, kind });
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let explicit = entry.depth() == 0;
            let format = detect_format(entry.path());
            if !explicit
                && (format.is_none()
                    || is_documentation(entry.path())
                    || !extension_wanted(entry.path(), extensions))
            {
                skipped += 1;
                continue;
            }
            let Some(format) = format else {
                errors.push(WalkError {
                    path: entry.path().to_path_buf(),
                    reason: "unsupported file type (expected .txt, .json, .jsonl, .ndjson, .sgm, .csv or .html)".into(),
                    kind: WalkErrorKind::Unsupported,
                });
                continue;
            };
            // The file's own metadata also tells whether it is still there (a walk of a
            // live archive can race with deletions): its folder's canonical path does not.
            let found = canonical.of(&entry).and_then(|path| {
                let meta = entry.metadata().map_err(std::io::Error::from)?;
                Ok((path, meta))
            });
            let (path, meta) = match found {
                Ok(found) => found,
                Err(e) => {
                    errors.push(WalkError {
                        path: entry.path().to_path_buf(),
                        reason: e.to_string(),
                        kind: WalkErrorKind::NotFound,
                    });
                    continue;
                }
            };
            // The relative path is the path's tail after the root's parent.
            let rel = path.strip_prefix(&base).unwrap_or(&path).as_os_str().len();
            let rel = path.as_os_str().len() - rel;
            files.push_parts(
                &path,
                rel,
                format,
                meta.len(),
                meta.modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
        }
    }
    drop_repeats(&mut files);
    Walked {
        files,
        errors,
        skipped,
    }
}

/// Canonical paths of walked files. A file that is not a symbolic link itself is its folder's
/// canonical path plus its name, so only each folder is resolved (`realpath` costs a system
/// call per component): files come folder by folder, and the last folder's is remembered.
/// On the 990,364 files of a 1 GB `scale-corpus`, an ingest that finds nothing changed (the
/// walk and a lookup per file) took 3.5 to 3.9 s instead of 4.7 to 4.8 s, a third less system
/// time (`benches/RESULTS.md`, the canonical-paths round).
#[derive(Default)]
struct CanonicalPaths {
    folder: PathBuf,
    canonical_folder: PathBuf,
}

impl CanonicalPaths {
    fn of(&mut self, entry: &walkdir::DirEntry) -> std::io::Result<PathBuf> {
        let path = entry.path();
        match (path.parent(), path.file_name()) {
            (Some(folder), Some(name))
                if !entry.path_is_symlink() && !folder.as_os_str().is_empty() =>
            {
                if folder != self.folder {
                    self.canonical_folder = folder.canonicalize()?;
                    self.folder = folder.to_path_buf();
                }
                Ok(self.canonical_folder.join(name))
            }
            // A linked file, or one with no folder of its own: resolved whole.
            _ => path.canonicalize(),
        }
    }
}

/// Keeps the first of files reached twice (through two roots, or a link), in walk order.
/// Sorting indexes instead of keeping a set of every path saves a copy of each path: on a
/// million-file archive, about 100 MB.
fn drop_repeats(files: &mut FileList) {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| files.bytes(a).cmp(files.bytes(b)).then(a.cmp(&b)));
    let mut repeat = vec![false; files.len()];
    for pair in order.windows(2) {
        if files.bytes(pair[0]) == files.bytes(pair[1]) {
            repeat[pair[1]] = true;
        }
    }
    if repeat.contains(&true) {
        *files = files.select((0..files.len()).filter(|&i| !repeat[i]));
    }
}

/// README, LICENSE and similar files that sit beside a corpus but are not articles.
fn is_documentation(path: &Path) -> bool {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_uppercase())
        .unwrap_or_default();
    [
        "README",
        "LICENSE",
        "LICENCE",
        "COPYING",
        "CHANGELOG",
        "NOTICE",
        "AUTHORS",
    ]
    .iter()
    .any(|d| {
        stem.strip_prefix(d)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

fn extension_wanted(path: &Path, extensions: &[String]) -> bool {
    extensions.is_empty()
        || path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .is_some_and(|e| extensions.contains(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_across_chunks_keeps_every_file_and_releases_whole_chunks() {
        let n = 2 * CHUNK + 5;
        let file = |i: usize| InputFile {
            path: PathBuf::from(format!("/corpus/{:03}/{i}.txt", i % 7)),
            rel: format!("{:03}/{i}.txt", i % 7),
            format: Format::Text,
            size: i as u64,
            mtime: 1_000 + i as u128,
        };
        let mut list: FileList = (0..n).map(file).collect();
        assert_eq!(list.len(), n);
        for i in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, n - 1] {
            let f = list.get(i);
            assert_eq!(f.path, file(i).path);
            assert_eq!(f.rel, file(i).rel);
            assert_eq!((f.size, f.mtime), (i as u64, 1_000 + i as u128));
        }
        // Position CHUNK + 3 is in the second chunk: only the first is released.
        list.release_before(CHUNK + 3);
        assert!(list.chunks[0].entries.is_empty() && list.chunks[0].arena.capacity() == 0);
        assert_eq!(list.get(CHUNK).path, file(CHUNK).path);
        assert_eq!(list.get(n - 1).path, file(n - 1).path);
        list.release_before(n);
        assert_eq!(
            list.get(n - 1).rel,
            file(n - 1).rel,
            "the last, partial chunk stays"
        );
    }

    /// Writes `text` to `path`, creating its folders.
    fn put(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_file_reached_twice_is_walked_once_where_first_met() {
        let tmp = tempfile::TempDir::new().unwrap();
        let root = tmp.path().join("news");
        put(&root.join("a.txt"), "A\nbody");
        put(&root.join("b/c.txt"), "C\nbody");
        // The sub-folder first, then its parent, then the sub-folder's file again.
        let roots = [root.join("b"), root.clone(), root.join("b/c.txt")];
        let walked = walk(&roots, &[]);
        let names: Vec<String> = walked
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["c.txt", "a.txt"]);
        // The first meeting decides the relative path too.
        assert_eq!(walked.files.get(0).rel, "b/c.txt");
        assert_eq!(walked.files.get(1).rel, "news/a.txt");
        assert_eq!(walked.files.get(1).size, 6);
        // A list made from `InputFile`s gives them back as they were.
        let mut odd = walked.files.get(0);
        odd.rel = "elsewhere/c.txt".into();
        let list: FileList = [walked.files.get(1), odd.clone()].into_iter().collect();
        assert_eq!(list.get(0).rel, "news/a.txt");
        assert_eq!(list.get(1).rel, "elsewhere/c.txt");
        assert_eq!(list.get(1).path, odd.path);
        assert_eq!(list.get(1).mtime, odd.mtime);
        assert!(walked.errors.is_empty());
    }

    /// Files are named by their canonical paths, however they were reached: through a linked
    /// folder, as a linked file, or under a root written with `..`.
    #[cfg(unix)]
    #[test]
    fn walked_paths_are_canonical_through_links_and_dots() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::TempDir::new().unwrap();
        let real = tmp.path().join("real");
        put(&real.join("sub/a.txt"), "A\nbody");
        put(&real.join("b.txt"), "B\nbody");
        let root = tmp.path().join("news");
        put(&root.join("plain/d.txt"), "D\nbody");
        symlink(real.join("sub"), root.join("linked")).unwrap();
        symlink(real.join("b.txt"), root.join("c.txt")).unwrap();
        let walked = walk(&[root.join("plain/../.")], &[]);
        assert!(walked.errors.is_empty(), "{:?}", walked.errors);
        let paths: Vec<PathBuf> = walked.files.iter().map(|f| f.path).collect();
        let canonical = |p: PathBuf| p.canonicalize().unwrap();
        assert_eq!(
            paths,
            [
                canonical(real.join("b.txt")),
                canonical(real.join("sub/a.txt")),
                canonical(root.join("plain/d.txt")),
            ]
        );
    }
}
