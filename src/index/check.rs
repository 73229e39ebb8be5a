//! Verifying an index folder: `newsindex check`.
//!
//! Every step that fails becomes a problem in the report instead of an error, so that one
//! run lists everything that is wrong: the marker and its format version, tantivy's
//! `meta.json`, the schema, every segment file (present, checksum), every stored document
//! (decodes), and the links between documents: every passage's article exists and its offsets
//! lie inside the article's body, every article has its file record, every file record's
//! articles exist, no article id is used twice, and the counts agree.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;
use tantivy::schema::Value;
use tantivy::{DocAddress, DocId, Index};

use super::{schema, NewsIndex, StoredArticle};

/// At most this many problems of one kind are listed (the count is always exact).
const MAX_LISTED: usize = 20;

/// What `check` found.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    pub path: String,
    /// True when no problem was found.
    pub ok: bool,
    pub segments: usize,
    pub articles: u64,
    pub passages: u64,
    pub files: u64,
    /// Mention records: one per article and entity.
    pub mentions: u64,
    /// Number of problems found (the list may be shortened).
    pub problem_count: usize,
    pub problems: Vec<String>,
}

struct Problems {
    list: Vec<String>,
    count: usize,
    per_kind: HashMap<&'static str, usize>,
}

impl Problems {
    fn push(&mut self, kind: &'static str, msg: String) {
        self.count += 1;
        let n = self.per_kind.entry(kind).or_default();
        *n += 1;
        if *n <= MAX_LISTED {
            self.list.push(msg);
        } else if *n == MAX_LISTED + 1 {
            self.list
                .push(format!("... more problems of kind `{kind}` not listed"));
        }
    }
}

/// Checks the index at `path`. Never fails: whatever is wrong is in the report.
pub fn check(path: &Path) -> CheckReport {
    let mut report = CheckReport {
        path: path.display().to_string(),
        ..Default::default()
    };
    let mut problems = Problems {
        list: Vec::new(),
        count: 0,
        per_kind: HashMap::new(),
    };
    check_into(path, &mut report, &mut problems);
    report.problem_count = problems.count;
    report.problems = problems.list;
    report.ok = report.problem_count == 0;
    report
}

fn check_into(path: &Path, report: &mut CheckReport, problems: &mut Problems) {
    if !path.is_dir() {
        problems.push("missing", format!("no index folder at {}", path.display()));
        return;
    }
    if let Err(e) = super::check_marker(path) {
        problems.push("marker", format!("{e:#}"));
        return;
    }
    // Tantivy's meta.json and the schema.
    let index = match Index::open_in_dir(path) {
        Ok(mut i) => {
            i.register_plugin(super::mention_store::plugin());
            i
        }
        Err(e) => {
            problems.push(
                "meta",
                format!("cannot open the tantivy index (meta.json): {e}"),
            );
            return;
        }
    };
    let metas = match index.load_metas() {
        Ok(m) => m,
        Err(e) => {
            problems.push("meta", format!("cannot read meta.json: {e}"));
            return;
        }
    };
    report.segments = metas.segments.len();
    // Every file of every segment is there and its checksum is right.
    let mut files_ok = true;
    for seg in &metas.segments {
        use tantivy::index::SegmentComponent as C;
        let mut components = vec![
            C::Postings,
            C::Positions,
            C::Terms,
            C::Store,
            C::FastFields,
            C::FieldNorms,
        ];
        if seg.has_deletes() {
            components.push(C::Delete);
        }
        for c in components {
            let f = seg.relative_path(c);
            if !path.join(&f).exists() {
                files_ok = false;
                problems.push(
                    "segment_file",
                    format!(
                        "segment {}: file {} is missing",
                        seg.id().uuid_string(),
                        f.display()
                    ),
                );
            }
        }
    }
    match index.validate_checksum() {
        Ok(damaged) => {
            let mut damaged: Vec<_> = damaged.into_iter().collect();
            damaged.sort();
            for f in damaged {
                files_ok = false;
                problems.push(
                    "segment_file",
                    format!("segment file {} is damaged (bad checksum)", f.display()),
                );
            }
        }
        Err(e) => {
            files_ok = false;
            problems.push("segment_file", format!("cannot verify checksums: {e}"));
        }
    }
    if !files_ok {
        return;
    }
    let ni = match NewsIndex::from_index(index, path) {
        Ok(ni) => ni,
        Err(e) => {
            problems.push("schema", format!("{e:#}"));
            return;
        }
    };
    check_documents(&ni, report, problems);
}

struct PassageInfo {
    article_id: String,
    start: u64,
    end: u64,
    at: String,
}

/// Reads every live document of every segment and checks the links between them.
fn check_documents(index: &NewsIndex, report: &mut CheckReport, problems: &mut Problems) {
    use tantivy::collector::DocSetCollector;
    use tantivy::query::TermQuery;
    use tantivy::schema::IndexRecordOption;
    use tantivy::Term;
    let f = &index.fields;
    let searcher = index.searcher();
    // Which documents are of which kind, from the `kind` postings.
    let mut kinds: HashMap<DocAddress, &'static str> = HashMap::new();
    for kind in [
        schema::KIND_ARTICLE,
        schema::KIND_PASSAGE,
        schema::KIND_FILE,
    ] {
        let q = TermQuery::new(
            Term::from_field_text(f.kind, kind),
            IndexRecordOption::Basic,
        );
        match searcher.search(&q, &DocSetCollector) {
            Ok(docs) => {
                for d in docs {
                    if let Some(other) = kinds.insert(d, kind) {
                        problems.push(
                            "document",
                            format!("{d:?} is both a {other} and a {kind} document"),
                        );
                    }
                }
            }
            Err(e) => problems.push("postings", format!("cannot read the {kind} postings: {e}")),
        }
    }
    // article id -> (file, body length in chars)
    let mut articles: HashMap<String, (String, u64)> = HashMap::new();
    let mut passages: Vec<PassageInfo> = Vec::new();
    // file path -> article ids in its record
    let mut records: HashMap<String, Vec<String>> = HashMap::new();
    for (seg_ord, seg) in searcher.segment_readers().iter().enumerate() {
        let ff = seg.fast_fields();
        let columns = (
            ff.u64("passage_start"),
            ff.u64("passage_end"),
            ff.str("article_id"),
            ff.u64("passage_no"),
            ff.str("entity_count"),
            ff.bytes("file_state"),
        );
        let (starts, ends, ids, numbers, counts, file_states) = match columns {
            (Ok(s), Ok(e), Ok(ids), Ok(n), Ok(c), Ok(fs)) => (s, e, ids, n, c, fs),
            _ => {
                problems.push(
                    "fast_fields",
                    format!("segment {seg_ord}: cannot open the passage columns"),
                );
                continue;
            }
        };
        // Mention records per document, from the segment's mention file; each must decode.
        let mut records_per_doc: HashMap<DocId, usize> = HashMap::new();
        let read = super::mention_store::MentionStore::open(seg).and_then(|store| {
            let mut undecodable = 0usize;
            store.for_each(|r| {
                let mut decoded = Vec::new();
                *records_per_doc.entry(r.doc).or_default() += 1;
                let ok = super::mention_data::header(r.record).is_some_and(|h| {
                    super::mention_data::decode(r.record, &h, &mut decoded).is_some()
                });
                undecodable += usize::from(!ok);
            })?;
            Ok(undecodable)
        });
        match read {
            Ok(0) => {}
            Ok(n) => problems.push(
                "mentions",
                format!("segment {seg_ord}: {n} mention records do not decode"),
            ),
            Err(e) => problems.push(
                "mentions",
                format!("segment {seg_ord}: cannot read the mention records: {e}"),
            ),
        }
        // The article id of a document, from the fast field (ids are not stored). Each lookup
        // opens a compressed dictionary block, and an article's documents are consecutive, so
        // the last id read is kept.
        let ord_of = |doc_id| ids.as_ref().and_then(|col| col.term_ords(doc_id).next());
        let last = std::cell::RefCell::new((None, String::new()));
        let id_of = |doc_id| {
            let ord = ord_of(doc_id);
            let mut last = last.borrow_mut();
            if last.0 != ord {
                last.1.clear();
                if let (Some(col), Some(ord)) = (&ids, ord) {
                    let _ = col.ord_to_str(ord, &mut last.1);
                }
                last.0 = ord;
            }
            last.1.clone()
        };
        for doc_id in seg.doc_ids_alive() {
            let addr = DocAddress::new(seg_ord as u32, doc_id);
            let at = format!("segment {seg_ord} doc {doc_id}");
            let doc = match super::read_doc(&searcher, addr) {
                Ok(d) => d,
                Err(e) => {
                    problems.push("document", format!("{at}: cannot read: {e}"));
                    continue;
                }
            };
            let text = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .map(String::from)
            };
            match kinds.get(&addr).copied() {
                Some(schema::KIND_ARTICLE) => {
                    report.articles += 1;
                    // One mention record and one count per entity of the article.
                    let n_records = records_per_doc.get(&doc_id).copied().unwrap_or(0);
                    let n_counts = counts.as_ref().map_or(0, |c| c.term_ords(doc_id).count());
                    if n_records != n_counts {
                        problems.push(
                            "mentions",
                            format!(
                                "{at}: {n_records} mention records for {n_counts} entity counts"
                            ),
                        );
                    }
                    report.mentions += n_records as u64;
                    let Some(json) = text(f.stored) else {
                        problems.push("article", format!("{at}: article without its stored text"));
                        continue;
                    };
                    let a: StoredArticle = match serde_json::from_str(&json) {
                        Ok(a) => a,
                        Err(e) => {
                            problems.push(
                                "stored_json",
                                format!("{at}: stored article does not decode: {e}"),
                            );
                            continue;
                        }
                    };
                    let id = id_of(doc_id);
                    if id != a.id {
                        problems.push(
                            "article",
                            format!(
                                "{at}: article id {id:?} differs from its stored id {:?}",
                                a.id
                            ),
                        );
                    }
                    let file = a.file.clone();
                    let len = a.body.chars().count() as u64;
                    if articles.insert(id.clone(), (file, len)).is_some() {
                        problems.push("duplicate_id", format!("article id {id:?} is used twice"));
                    }
                }
                Some(schema::KIND_FILE) => {
                    report.files += 1;
                    let info = text(f.file_info).unwrap_or_default();
                    match serde_json::from_str::<serde_json::Value>(&info) {
                        Ok(v) => {
                            let path = v["path"].as_str().unwrap_or_default().to_string();
                            let ids: Vec<String> = v["articles"]
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|p| p[0].as_str().map(String::from))
                                        .collect()
                                })
                                .unwrap_or_default();
                            if path.is_empty() || !v["articles"].is_array() {
                                problems.push(
                                    "file_record",
                                    format!("{at}: file record without path or article list"),
                                );
                            }
                            // What a re-ingest loads must agree with the record.
                            let mut bytes = Vec::new();
                            let state = file_states
                                .as_ref()
                                .and_then(|c| {
                                    let ord = c.term_ords(doc_id).next()?;
                                    c.ord_to_bytes(ord, &mut bytes).ok()?.then_some(())
                                })
                                .and_then(|()| super::state::file_state_summary(&bytes));
                            if state != Some((path.clone(), ids.len())) {
                                problems.push(
                                    "file_record",
                                    format!(
                                        "{at}: the file state of {path} does not match its record"
                                    ),
                                );
                            }
                            if records.insert(path.clone(), ids).is_some() {
                                problems.push(
                                    "file_record",
                                    format!("file {path} has two file records"),
                                );
                            }
                        }
                        Err(e) => problems.push(
                            "stored_json",
                            format!("{at}: file record does not decode: {e}"),
                        ),
                    }
                }
                Some(schema::KIND_PASSAGE) => {
                    report.passages += 1;
                    // The layout search relies on: passage N sits N + 1 documents after its
                    // article document, in the same segment (`index::schema`).
                    let no = numbers.first(doc_id).unwrap_or(u64::MAX);
                    let article_doc = u64::from(doc_id).checked_sub(no.saturating_add(1));
                    let laid_out = article_doc.is_some_and(|d| {
                        let d = d as DocId;
                        kinds.get(&DocAddress::new(seg_ord as u32, d))
                            == Some(&schema::KIND_ARTICLE)
                            && ord_of(d).is_some()
                            && ord_of(d) == ord_of(doc_id)
                    });
                    if !laid_out {
                        problems.push(
                            "layout",
                            format!("{at}: passage {no} does not follow its article document"),
                        );
                    }
                    passages.push(PassageInfo {
                        article_id: id_of(doc_id),
                        start: starts.first(doc_id).unwrap_or(u64::MAX),
                        end: ends.first(doc_id).unwrap_or(u64::MAX),
                        at,
                    });
                }
                _ => problems.push(
                    "document",
                    format!("{at}: not an article, passage or file document"),
                ),
            }
        }
    }
    let mut with_passage: HashSet<&str> = HashSet::new();
    for p in &passages {
        match articles.get(&p.article_id) {
            None => problems.push(
                "orphan_passage",
                format!(
                    "{}: passage of article {:?}, which is not in the index",
                    p.at, p.article_id
                ),
            ),
            Some((_, len)) => {
                with_passage.insert(&p.article_id);
                if p.start > p.end || p.end > *len {
                    problems.push(
                        "offsets",
                        format!(
                            "{}: passage offsets {}..{} do not lie inside article {:?} ({} chars)",
                            p.at, p.start, p.end, p.article_id, len
                        ),
                    );
                }
            }
        }
    }
    let mut ids: Vec<&String> = articles.keys().collect();
    ids.sort();
    for id in ids {
        let (file, _) = &articles[id];
        if !with_passage.contains(id.as_str()) {
            problems.push("article", format!("article {id:?} has no passage"));
        }
        match records.get(file) {
            None => problems.push(
                "missing_record",
                format!("article {id:?}: its file {file} has no file record"),
            ),
            Some(list) if !list.contains(id) => problems.push(
                "missing_record",
                format!("article {id:?} is not listed in the record of its file {file}"),
            ),
            _ => {}
        }
    }
    let mut listed = 0u64;
    let mut paths: Vec<&String> = records.keys().collect();
    paths.sort();
    for path in paths {
        for id in &records[path] {
            listed += 1;
            if !articles.contains_key(id) {
                problems.push(
                    "missing_article",
                    format!("file record {path} lists article {id:?}, which is not in the index"),
                );
            }
        }
    }
    if listed != report.articles {
        problems.push(
            "counts",
            format!(
                "file records list {listed} articles, the index holds {}",
                report.articles
            ),
        );
    }
    // The `kind` terms agree with the stored documents.
    for (kind, n) in [
        (schema::KIND_ARTICLE, report.articles),
        (schema::KIND_PASSAGE, report.passages),
        (schema::KIND_FILE, report.files),
    ] {
        match super::stats::count_kind(index, kind) {
            Ok(c) if c == n => {}
            Ok(c) => problems.push(
                "counts",
                format!("{c} documents are indexed as {kind}s, {n} are stored"),
            ),
            Err(e) => problems.push("counts", format!("cannot count {kind}s: {e}")),
        }
    }
}
