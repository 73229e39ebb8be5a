//! Reading stored documents from an index that may be damaged.
//!
//! tantivy's document store trusts the offsets inside a block: bytes damaged on disk can make
//! it slice out of bounds and panic (`StoreReader::get_document_bytes_from_block`) where other
//! damage gives an error. A damaged index is bad input, so a read that panics is turned into
//! an error naming the document, and the panic message is not printed.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use anyhow::{anyhow, Result};
use tantivy::{DocAddress, Searcher, TantivyDocument};

thread_local! {
    /// Set while this thread reads a stored document: a panic then is reported as damage.
    static READING: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once, a panic hook that stays silent for panics inside `read_doc` and passes
/// every other panic to the hook that was there before.
fn quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !READING.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// The stored document at `addr`; an error, never a panic, when its block is damaged.
pub fn read_doc(searcher: &Searcher, addr: DocAddress) -> Result<TantivyDocument> {
    quiet_hook();
    READING.with(|r| r.set(true));
    let read = catch_unwind(AssertUnwindSafe(|| searcher.doc::<TantivyDocument>(addr)));
    READING.with(|r| r.set(false));
    match read {
        Ok(doc) => Ok(doc?),
        Err(_) => Err(anyhow!(
            "the document store of segment {} is damaged (document {} cannot be read): \
             run `newsindex check` and ingest again into a new index",
            addr.segment_ord,
            addr.doc_id
        )),
    }
}
