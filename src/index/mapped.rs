//! A memory-mapped index folder whose mapped pages are handed back to the kernel when there
//! are many of them.
//!
//! Tantivy reads segments through `mmap`. Every page a merge reads stays mapped into the
//! process until the merged segments are deleted, so a process's resident set grew with the
//! size of what it merged: at 1 GB of text an ingest's peak was about 400 MB of its own memory
//! plus 350 to 400 MB of mapped index pages, and `optimize`, which reads the whole index,
//! peaked at 2.5 GB (5.2 GB at 2 GB) for under 200 MB of its own.
//!
//! [`ReleasingDirectory`] maps the index's files itself (tantivy's [`MmapDirectory`] does the
//! rest) and runs a watcher thread: when the process has more than [`MAPPED_BUDGET`] of file
//! pages resident, it tells the kernel with `madvise(MADV_DONTNEED)` that the mappings are not
//! needed for now. For a read-only file mapping that only drops the pages from this process's
//! page tables: they stay in the page cache, and the next read of one maps it again (a minor
//! fault, no disk read), so nothing a reader sees changes. With it, `optimize` of 1 GB peaks
//! at about 290 MB instead of 2.5 GB, at the same speed (README, "What the mapped-pages round
//! measured"). Ranked search keeps the plain [`MmapDirectory`]: it maps little, and every
//! fault would count.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use stable_deref_trait::StableDeref;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback, WatchHandle,
    WritePtr,
};
use tantivy::Directory;

/// File pages the process may keep mapped before the index's mappings are released. The
/// executable's own code counts too (10 to 20 MB).
pub const MAPPED_BUDGET: u64 = 128 << 20;

/// How often the watcher reads the process's resident file pages. A merge copying a
/// segment's document store from the page cache can map a GB a second, so a check every
/// 100 ms could overshoot the budget by as much; a read of `statm` takes microseconds.
const WATCH_EVERY: Duration = Duration::from_millis(10);

/// An index folder read through `mmap` whose mapped pages are released beyond a budget.
///
/// Files are mapped here, not by the [`MmapDirectory`] it wraps for everything else: tantivy
/// keeps a file's bytes long after it drops the handle it read them through (a segment's
/// mention records, for one), so only the mappings themselves tell what is still mapped.
#[derive(Clone, Debug)]
pub struct ReleasingDirectory {
    inner: MmapDirectory,
    root: PathBuf,
    maps: Arc<Mappings>,
}

/// Every file mapped and still in use, by path: one mapping per file, shared by its readers.
#[derive(Debug, Default)]
struct Mappings {
    files: Mutex<HashMap<PathBuf, Weak<Mapping>>>,
}

/// One file's read-only mapping; unmapped when the last bytes read from it are dropped.
#[derive(Debug)]
struct Mapping(memmap2::Mmap);

/// What tantivy holds: the bytes of a mapping, which keep it alive.
struct MappedBytes(Arc<Mapping>);

impl Deref for MappedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0 .0
    }
}

// SAFETY: the bytes are those of a mapping owned through the `Arc`: moving `MappedBytes`
// moves the pointer, not the mapping, so the slice stays where it is.
unsafe impl StableDeref for MappedBytes {}

impl ReleasingDirectory {
    /// Opens `path` as tantivy's [`MmapDirectory`] does and starts the watcher, which ends
    /// once every clone of the directory is dropped.
    pub fn open(path: &Path) -> tantivy::Result<ReleasingDirectory> {
        let inner = MmapDirectory::open(path)?;
        let maps = Arc::new(Mappings::default());
        if resident_file_bytes().is_some() {
            let watched = Arc::downgrade(&maps);
            std::thread::Builder::new()
                .name("newsindex mapped pages".into())
                .spawn(move || watch(watched, MAPPED_BUDGET))
                .map_err(|e| tantivy::TantivyError::SystemError(e.to_string()))?;
        }
        Ok(ReleasingDirectory {
            inner,
            root: path.to_path_buf(),
            maps,
        })
    }

    /// Releases every mapped page of the files in use now; returns how many bytes of
    /// mappings were released (resident or not).
    pub fn release_mapped_pages(&self) -> u64 {
        self.maps.release()
    }

    /// The file's mapping, shared with its other readers; None for an empty file.
    fn map(&self, path: &Path) -> Result<Option<Arc<Mapping>>, OpenReadError> {
        let full = self.root.join(path);
        let mut files = self.maps.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mapping) = files.get(&full).and_then(Weak::upgrade) {
            return Ok(Some(mapping));
        }
        let failed = |e: io::Error| {
            if e.kind() == io::ErrorKind::NotFound {
                OpenReadError::FileDoesNotExist(path.to_path_buf())
            } else {
                OpenReadError::wrap_io_error(e, path.to_path_buf())
            }
        };
        let file = File::open(&full).map_err(failed)?;
        if file.metadata().map_err(failed)?.len() == 0 {
            // An empty file cannot be mapped.
            return Ok(None);
        }
        // SAFETY: index files are written once and never changed in place (tantivy's
        // write-once directory contract), so the mapped bytes do not change under a reader.
        let mapping = Arc::new(Mapping(
            unsafe { memmap2::Mmap::map(&file) }.map_err(failed)?,
        ));
        files.retain(|_, m| m.strong_count() > 0);
        files.insert(full, Arc::downgrade(&mapping));
        Ok(Some(mapping))
    }
}

/// Checks the process's resident file pages every [`WATCH_EVERY`] and releases the mappings
/// when they exceed `budget`, until the directory is gone.
fn watch(maps: Weak<Mappings>, budget: u64) {
    loop {
        std::thread::sleep(WATCH_EVERY);
        let Some(maps) = maps.upgrade() else { return };
        if resident_file_bytes().is_some_and(|bytes| bytes > budget) {
            maps.release();
        }
    }
}

impl Mappings {
    fn release(&self) -> u64 {
        // Hold the mappings (not the lock) while advising: one dropped meanwhile stays mapped.
        let mapped: Vec<Arc<Mapping>> = {
            let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
            files.values().filter_map(Weak::upgrade).collect()
        };
        mapped
            .iter()
            .filter(|m| dont_need(&m.0))
            .map(|m| m.0.len() as u64)
            .sum()
    }
}

/// Tells the kernel the pages of a read-only file mapping are not needed for now.
#[cfg(unix)]
fn dont_need(mapping: &memmap2::Mmap) -> bool {
    // SAFETY (of the advice): the mapping is read-only and shared, so dropping its pages from
    // this process loses nothing: the next read maps the same bytes from the page cache.
    unsafe { mapping.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) }.is_ok()
}

#[cfg(not(unix))]
fn dont_need(_mapping: &memmap2::Mmap) -> bool {
    false
}

/// This process's resident memory, in bytes, from `/proc/self/statm` (Linux; None elsewhere).
#[derive(Clone, Copy, Debug)]
pub struct Resident {
    /// Every resident page.
    pub total: u64,
    /// Resident pages backed by files (mapped index files, the executable) or shared memory.
    pub file: u64,
}

impl Resident {
    pub fn now() -> Option<Resident> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let mut pages = statm.split_whitespace().skip(1).map(|v| v.parse::<u64>());
        let (total, file) = (pages.next()?.ok()?, pages.next()?.ok()?);
        let page = page_size();
        Some(Resident {
            total: total * page,
            file: file * page,
        })
    }

    /// The rest: heap, stacks and other anonymous memory.
    pub fn anonymous(&self) -> u64 {
        self.total.saturating_sub(self.file)
    }
}

/// The process's resident file pages, in bytes (None where it cannot be read: nothing is
/// released there).
fn resident_file_bytes() -> Option<u64> {
    Resident::now().map(|r| r.file)
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    #[cfg(unix)]
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    #[cfg(not(unix))]
    let page = 4096;
    page.max(1) as u64
}

impl Directory for ReleasingDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        let bytes = match self.map(path)? {
            Some(mapping) => OwnedBytes::new(MappedBytes(mapping)),
            None => OwnedBytes::empty(),
        };
        Ok(Arc::new(bytes))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.inner.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.inner.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}
