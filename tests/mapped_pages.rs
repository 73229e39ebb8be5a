//! The index folder that ingests and merges read through releases its mapped pages: the
//! process's resident memory falls by what was mapped, and every byte reads back the same.
//! (One test in a binary of its own: it measures this process's resident file pages.)

use std::io::Write;
use std::path::Path;

use newsindex::index::mapped::{ReleasingDirectory, Resident};
use tantivy::directory::TerminatingWrite;
use tantivy::Directory;

/// This process's resident file-backed pages, in MB (Linux).
fn resident_file_mb() -> Option<f64> {
    Resident::now().map(|r| r.file as f64 / 1e6)
}

/// A deterministic, incompressible-looking byte pattern.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn released_pages_leave_the_process_and_read_back_the_same() {
    if resident_file_mb().is_none() {
        eprintln!("skipped: no /proc/self/statm on this system");
        return;
    }
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = ReleasingDirectory::open(tmp.path()).unwrap();
    let len = 48 << 20;
    let written = pattern(len);
    let mut w = dir.open_write(Path::new("segment.idx")).unwrap();
    w.write_all(&written).unwrap();
    w.terminate().unwrap();

    // Tantivy often keeps only the bytes it read, not the file it read them through (as a
    // segment's mention records are kept): the mapping must still be found and released.
    let bytes = dir
        .open_read(Path::new("segment.idx"))
        .unwrap()
        .read_bytes()
        .unwrap();
    let before = resident_file_mb().unwrap();
    let first = checksum(bytes.as_slice());
    let mapped = resident_file_mb().unwrap();
    assert_eq!(
        first,
        checksum(&written),
        "the mapped file reads what was written"
    );
    assert!(
        mapped - before > 40.0,
        "reading 48 MiB should map it into the process: {before:.1} -> {mapped:.1} MB"
    );

    let released = dir.release_mapped_pages();
    let after = resident_file_mb().unwrap();
    assert!(
        released >= len as u64,
        "released {released} bytes of mappings"
    );
    assert!(
        mapped - after > 40.0,
        "releasing should give the pages back: {mapped:.1} -> {after:.1} MB"
    );

    // Still the same bytes: they come back from the page cache.
    assert_eq!(checksum(bytes.as_slice()), first);
    let again = dir.open_read(Path::new("segment.idx")).unwrap();
    assert_eq!(
        checksum(again.slice(1000..2000).read_bytes().unwrap().as_slice()),
        checksum(&written[1000..2000])
    );
    // Once nothing reads the file, it is unmapped and no longer released.
    drop((bytes, again));
    assert_eq!(dir.release_mapped_pages(), 0);
}
