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

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<InputFile>,
    pub errors: Vec<WalkError>,
    /// Files passed over inside folders: unsupported types, documentation files (README,
    /// LICENSE, ...), and types excluded by the caller's extension filter.
    pub skipped: usize,
}

/// Walks `roots` (files or folders), following symlinks (walkdir detects cycles), skipping
/// hidden files and folders, in a deterministic (sorted) order. `extensions`, when not empty,
/// keeps only files with one of these extensions (lowercase, no dot).
pub fn walk(roots: &[PathBuf], extensions: &[String]) -> Walked {
    let mut files = Vec::new();
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
            let path = match entry.path().canonicalize() {
                Ok(p) => p,
                Err(e) => {
                    errors.push(WalkError {
                        path: entry.path().to_path_buf(),
                        reason: e.to_string(),
                        kind: WalkErrorKind::NotFound,
                    });
                    continue;
                }
            };
            let meta = entry.metadata().ok();
            let rel = path
                .strip_prefix(&base)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            files.push(InputFile {
                rel,
                format,
                size: meta.as_ref().map(|m| m.len()).unwrap_or(0),
                mtime: meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
                path,
            });
        }
    }
    drop_repeats(&mut files);
    Walked {
        files,
        errors,
        skipped,
    }
}

/// Keeps the first of files reached twice (through two roots, or a link), in walk order.
/// Sorting indexes instead of keeping a set of every path saves a copy of each path: on a
/// million-file archive, about 100 MB.
fn drop_repeats(files: &mut Vec<InputFile>) {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| files[a].path.cmp(&files[b].path).then(a.cmp(&b)));
    let mut repeat = vec![false; files.len()];
    for pair in order.windows(2) {
        if files[pair[0]].path == files[pair[1]].path {
            repeat[pair[1]] = true;
        }
    }
    let mut i = 0;
    files.retain(|_| {
        i += 1;
        !repeat[i - 1]
    });
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
    .any(|d| stem == *d || stem.starts_with(&format!("{d}.")))
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
    fn a_file_reached_twice_is_walked_once_where_first_met() {
        let tmp = tempfile::TempDir::new().unwrap();
        let root = tmp.path().join("news");
        std::fs::create_dir_all(root.join("b")).unwrap();
        std::fs::write(root.join("a.txt"), "A\nbody").unwrap();
        std::fs::write(root.join("b/c.txt"), "C\nbody").unwrap();
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
        assert_eq!(walked.files[0].rel, "b/c.txt");
        assert!(walked.errors.is_empty());
    }
}
