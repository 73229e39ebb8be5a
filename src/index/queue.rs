//! A bounded hand-over of documents to tantivy's indexing threads.
//!
//! tantivy queues added documents in a channel bounded at 10,000 *operations*. An article is
//! one operation of 10 to 30 documents (so that its documents stay consecutive in one
//! segment), so that bound alone let the documents of 10,000 articles, over 100,000, wait in
//! the channel whenever tagging ran ahead of indexing. Each batch we add therefore carries a
//! ticket that the indexing thread drops once it has indexed the batch, and `admit` waits
//! while more than a fixed number of documents are out: memory stays bounded by a constant,
//! not by how far one stage runs ahead of the other.

use std::sync::{Arc, Condvar, Mutex};

use tantivy::schema::Document;
use tantivy::TantivyDocument;

/// Documents allowed between us and tantivy's indexing threads: a few hundred articles,
/// which keeps both indexing threads fed.
const MAX_OUT: usize = 8192;

/// A document, with its batch's ticket if it is the batch's last.
pub struct QueuedDoc {
    doc: TantivyDocument,
    _ticket: Option<Ticket>,
}

impl QueuedDoc {
    /// A document outside the gate's count (file records, rare and small).
    pub fn untracked(doc: TantivyDocument) -> QueuedDoc {
        QueuedDoc { doc, _ticket: None }
    }

    /// The document itself (the mention records' plugin reads its field directly).
    pub fn doc(&self) -> &TantivyDocument {
        &self.doc
    }
}

impl Document for QueuedDoc {
    type Value<'a> = <TantivyDocument as Document>::Value<'a>;
    type FieldsValuesIter<'a> = <TantivyDocument as Document>::FieldsValuesIter<'a>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        self.doc.iter_fields_and_values()
    }

    fn into_tantivy_document(self) -> TantivyDocument {
        self.doc
    }
}

/// The index writer, taking tracked documents.
pub type Writer = tantivy::IndexWriter<QueuedDoc>;

/// Counts the documents handed to tantivy and not indexed yet.
#[derive(Default)]
pub struct Gate {
    out: Mutex<usize>,
    freed: Condvar,
}

/// Returned (dropped) when tantivy has indexed the document that carries it, the last of a
/// batch: one indexing thread indexes a batch in order, so the whole batch is then done. One
/// ticket a batch keeps the lock off the per-document path.
pub struct Ticket {
    gate: Arc<Gate>,
    docs: usize,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut out = self.gate.out.lock().unwrap_or_else(|e| e.into_inner());
        *out -= self.docs;
        if *out <= MAX_OUT / 2 {
            self.gate.freed.notify_one();
        }
    }
}

impl Gate {
    /// Waits until `docs` more documents may go out (an article larger than the whole
    /// allowance goes alone), then wraps them, the last one with the batch's ticket.
    ///
    /// If no ticket comes back for a minute, it stops waiting: tantivy's indexing threads have
    /// stopped (an error such as a full disk), and the next hand-over reports their error
    /// instead of this run hanging.
    pub fn admit(
        self: &Arc<Gate>,
        docs: Vec<TantivyDocument>,
    ) -> impl ExactSizeIterator<Item = QueuedDoc> + use<'_> {
        const STALLED: std::time::Duration = std::time::Duration::from_secs(60);
        let n = docs.len();
        {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            while *out > 0 && *out + n > MAX_OUT {
                let before = *out;
                let (guard, timeout) = self
                    .freed
                    .wait_timeout(out, STALLED)
                    .unwrap_or_else(|e| e.into_inner());
                out = guard;
                if timeout.timed_out() && *out >= before {
                    break;
                }
            }
            *out += n;
        }
        docs.into_iter().enumerate().map(move |(i, doc)| QueuedDoc {
            doc,
            _ticket: (i + 1 == n).then(|| Ticket {
                gate: Arc::clone(self),
                docs: n,
            }),
        })
    }

    /// Documents out now.
    #[cfg(test)]
    fn out(&self) -> usize {
        *self.out.lock().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_return_when_documents_are_dropped_and_admit_waits_for_them() {
        let gate = Arc::new(Gate::default());
        let docs: Vec<QueuedDoc> = gate
            .admit(vec![TantivyDocument::default(); MAX_OUT])
            .collect();
        assert_eq!(gate.out(), MAX_OUT);
        // The next admission must wait until the first documents are indexed (dropped).
        let waiter = {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || {
                gate.admit(vec![TantivyDocument::default(); 10])
                    .collect::<Vec<_>>()
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "admitted past the allowance");
        drop(docs);
        let admitted = waiter.join().unwrap();
        assert_eq!(admitted.len(), 10);
        assert_eq!(gate.out(), 10);
        drop(admitted);
        assert_eq!(gate.out(), 0);
        // An article larger than the allowance still goes, alone.
        let big = Arc::new(Gate::default());
        assert_eq!(
            big.admit(vec![TantivyDocument::default(); MAX_OUT + 5])
                .count(),
            MAX_OUT + 5
        );
    }
}
