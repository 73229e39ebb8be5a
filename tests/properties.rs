//! Property tests: passage offsets slice the body exactly and cover it; article ids do not
//! depend on the run, the corpus location or the thread count; any sequence of edits,
//! re-ingested, leaves each distinct article once; no query string panics.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::*;
use newsindex::index::passages::{split_passages, MAX_PASSAGE_BYTES};
use newsindex::index::schema::KIND_ARTICLE;
use newsindex::index::writer::{ingest as ingest_lib, IngestOptions, NoProgress};
use newsindex::index::NewsIndex;
use newsindex::search::{search as search_lib, Conjunction, SearchOptions};
use once_cell::sync::Lazy;
use proptest::prelude::*;
use tantivy::collector::DocSetCollector;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};
use tempfile::TempDir;

/// Bodies built from the pieces that matter to the splitter: words, sentence ends, blank
/// lines, runs of spaces and tabs, CR LF, multi-byte chars, very long words.
fn body() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z]{1,12}".prop_map(|w| w + " "),
        1 => Just(". ".to_string()),
        1 => Just("! ".to_string()),
        1 => Just("? ".to_string()),
        1 => Just(".\" ".to_string()),
        1 => Just("\n".to_string()),
        1 => Just("\n\n".to_string()),
        1 => Just("\r\n\r\n".to_string()),
        1 => Just(" \t \n  \n".to_string()),
        1 => "[éüß£€—“”中文ğ]{1,6}",
        1 => "\\PC{1,20}",
        1 => "[A-Z][a-z]{0,8}".prop_map(|w| format!(". {w} ")),
        1 => (1usize..3000).prop_map(|n| "w".repeat(n)),
        1 => (1usize..1500).prop_map(|n| "é".repeat(n)),
        1 => (1usize..200).prop_map(|n| "Word. ".repeat(n)),
    ];
    prop::collection::vec(piece, 0..120).prop_map(|v| v.concat())
}

fn check_passages(body: &str) -> Result<(), TestCaseError> {
    let ps = split_passages(body);
    prop_assert!(!ps.is_empty());
    let mut prev_end = 0;
    let mut prev_char_end = 0;
    for p in &ps {
        prop_assert!(p.start <= p.end && p.end <= body.len(), "{p:?}");
        prop_assert!(body.is_char_boundary(p.start) && body.is_char_boundary(p.end));
        // In order, not overlapping, and only whitespace between passages.
        prop_assert!(p.start >= prev_end, "overlap: {p:?} after {prev_end}");
        prop_assert!(
            body[prev_end..p.start].trim().is_empty(),
            "text outside passages: {:?}",
            &body[prev_end..p.start]
        );
        // Char offsets name the same text as byte offsets.
        prop_assert_eq!(
            p.char_start,
            prev_char_end + body[prev_end..p.start].chars().count()
        );
        prop_assert_eq!(
            p.char_end - p.char_start,
            body[p.start..p.end].chars().count()
        );
        let text = &body[p.start..p.end];
        prop_assert!(text.len() <= MAX_PASSAGE_BYTES, "{} bytes", text.len());
        if !text.is_empty() {
            prop_assert_eq!(text.trim(), text, "passage not trimmed");
        }
        prev_end = p.end;
        prev_char_end = p.char_end;
    }
    prop_assert!(
        body[prev_end..].trim().is_empty(),
        "text after the last passage"
    );
    // With only whitespace outside them, the passages cover every other char of the body.
    let covered: usize = ps
        .iter()
        .map(|p| {
            body[p.start..p.end]
                .chars()
                .filter(|c| !c.is_whitespace())
                .count()
        })
        .sum();
    prop_assert_eq!(covered, body.chars().filter(|c| !c.is_whitespace()).count());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn passages_slice_the_body_exactly(body in body()) {
        check_passages(&body)?;
    }

    #[test]
    fn passages_of_arbitrary_text(body in "\\PC*") {
        check_passages(&body)?;
    }
}

/// Every article id with its headline, read through the library.
fn ids(index: &Path) -> BTreeMap<String, String> {
    let ni = NewsIndex::open(index).unwrap();
    let searcher = ni.searcher();
    let q = TermQuery::new(
        Term::from_field_text(ni.fields.kind, KIND_ARTICLE),
        IndexRecordOption::Basic,
    );
    searcher
        .search(&q, &DocSetCollector)
        .unwrap()
        .into_iter()
        .map(|addr| {
            let d: TantivyDocument = searcher.doc(addr).unwrap();
            let a = ni.stored_article(&d).unwrap();
            (a.id, a.headline)
        })
        .collect()
}

/// A small corpus with traps for ids: duplicates, JSON ids that collide with each other and
/// with file names, records without ids.
#[derive(Debug, Clone)]
struct Corpus {
    texts: Vec<(u8, String, String)>,
    lines: Vec<(Option<u8>, String, String)>,
}

fn corpus() -> impl Strategy<Value = Corpus> {
    let text = (0u8..12, "[A-Z][a-z]{2,8}", "[a-z ]{0,40}");
    let line = (prop::option::of(0u8..6), "[A-Z][a-z]{2,8}", "[a-z ]{0,40}");
    (
        prop::collection::vec(text, 1..12),
        prop::collection::vec(line, 0..12),
    )
        .prop_map(|(texts, lines)| Corpus { texts, lines })
}

fn write_corpus(c: &Corpus, root: &Path) {
    fs::create_dir_all(root.join("sub")).unwrap();
    for (n, head, body) in &c.texts {
        let dir = if n % 2 == 0 {
            root.to_path_buf()
        } else {
            root.join("sub")
        };
        fs::write(dir.join(format!("{n}.txt")), format!("{head}\n\n{body}\n")).unwrap();
    }
    let mut jsonl = String::new();
    for (id, head, body) in &c.lines {
        let v = match id {
            Some(id) => serde_json::json!({"id": format!("x{id}"), "headline": head, "body": body}),
            None => serde_json::json!({"headline": head, "body": body}),
        };
        jsonl.push_str(&v.to_string());
        jsonl.push('\n');
    }
    if !jsonl.is_empty() {
        fs::write(root.join("feed.jsonl"), jsonl).unwrap();
    }
}

fn ingest_with_threads(docs: &Path, index: &Path, threads: usize) -> BTreeMap<String, String> {
    let ni = NewsIndex::open_or_create(index).unwrap();
    let opts = IngestOptions {
        threads,
        memory_bytes: (15 << 20) * threads,
        ..Default::default()
    };
    ingest_lib(&ni, &[docs.to_path_buf()], &opts, &NoProgress).unwrap();
    drop(ni);
    ids(index)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The same corpus, in two places, with 1 and 2 threads: the same ids for the same articles.
    #[test]
    fn article_ids_are_stable_across_runs_places_and_threads(c in corpus()) {
        let tmp = TempDir::new().unwrap();
        let a = tmp.path().join("one/news");
        let b = tmp.path().join("two/deeper/news");
        write_corpus(&c, &a);
        write_corpus(&c, &b);
        let one = ingest_with_threads(&a, &tmp.path().join("i1"), 1);
        let two = ingest_with_threads(&b, &tmp.path().join("i2"), 2);
        let again = ingest_with_threads(&a, &tmp.path().join("i3"), 2);
        prop_assert!(!one.is_empty());
        prop_assert_eq!(&one, &two);
        prop_assert_eq!(&one, &again);
    }
}

/// Five stories that files share, so edits move, copy and drop articles between files.
const STORIES: [&str; 5] = ["Albatross", "Bittern", "Cormorant", "Dunlin", "Egret"];

/// Each step is what the three files hold (story numbers; an empty file is deleted).
fn edits() -> impl Strategy<Value = Vec<[Vec<usize>; 3]>> {
    let file = prop::collection::vec(0..STORIES.len(), 0..4);
    prop::collection::vec([file.clone(), file.clone(), file], 1..5)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// After every re-ingest (with `--prune`), the index holds each distinct story of the
    /// current files exactly once, whatever moved where: the model is the set of stories.
    #[test]
    fn reingesting_any_edits_keeps_each_distinct_article_once(steps in edits()) {
        let tmp = TempDir::new().unwrap();
        let docs = tmp.path().join("news");
        fs::create_dir_all(&docs).unwrap();
        let index = tmp.path().join("idx");
        let opts = IngestOptions { prune: true, ..Default::default() };
        let base = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        for (n, step) in steps.iter().enumerate() {
            for (f, stories) in step.iter().enumerate() {
                let path = docs.join(format!("{}.jsonl", ["a", "b", "c"][f]));
                if stories.is_empty() {
                    let _ = fs::remove_file(&path);
                    continue;
                }
                let lines: String = stories
                    .iter()
                    .map(|&s| {
                        let name = STORIES[s];
                        let v = serde_json::json!({
                            "headline": format!("{name} seen"),
                            "body": format!("A {name} was seen at the lake."),
                        });
                        format!("{v}\n")
                    })
                    .collect();
                fs::write(&path, lines).unwrap();
                // A distinct mtime each step, so no edit hides behind a coarse clock.
                fs::File::options()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_modified(base + std::time::Duration::from_secs(n as u64))
                    .unwrap();
            }
            let ni = NewsIndex::open_or_create(&index).unwrap();
            ingest_lib(&ni, std::slice::from_ref(&docs), &opts, &NoProgress).unwrap();
            drop(ni);
            let mut got: Vec<String> = ids(&index).into_values().collect();
            got.sort();
            let expected: Vec<String> = step
                .iter()
                .flatten()
                .map(|&s| format!("{} seen", STORIES[s]))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            prop_assert_eq!(got, expected, "after step {}", n);
        }
    }
}

#[test]
fn real_corpus_ids_are_the_same_with_one_and_two_threads() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("tech");
    copy_tree(&corpora().join("bbc/tech"), &docs);
    let (i1, i2) = (tmp.path().join("i1"), tmp.path().join("i2"));
    let (s1, c1) = ingest(&[&docs], &i1, &["--threads", "1"]);
    let (s2, c2) = ingest(&[&docs], &i2, &["--threads", "2", "--commit-every", "37"]);
    assert_eq!((c1, c2), (0, 0), "{s1} {s2}");
    let (a, b) = (ids(&i1), ids(&i2));
    assert!(a.len() > 300);
    assert_eq!(a, b);
}

struct Fixture {
    index: NewsIndex,
    _dir: TempDir,
}

static FIXTURE: Lazy<Fixture> = Lazy::new(|| {
    let dir = TempDir::new().unwrap();
    let index = NewsIndex::open_or_create(&dir.path().join("idx")).unwrap();
    let opts = IngestOptions {
        threads: 1,
        memory_bytes: 15 << 20,
        ..Default::default()
    };
    ingest_lib(&index, &[sample()], &opts, &NoProgress).unwrap();
    Fixture { index, _dir: dir }
});

/// Query strings made of the pieces the query syntax cares about.
fn query() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-z]{1,8}",
        1 => Just("\"".to_string()),
        1 => Just("(".to_string()),
        1 => Just(")".to_string()),
        1 => Just("[".to_string()),
        1 => Just("]".to_string()),
        1 => Just("{".to_string()),
        1 => Just("}".to_string()),
        1 => Just(":".to_string()),
        1 => Just("*".to_string()),
        1 => Just("~".to_string()),
        1 => Just("^2".to_string()),
        1 => Just("\\".to_string()),
        1 => Just(" TO ".to_string()),
        1 => Just(" AND ".to_string()),
        1 => Just(" OR ".to_string()),
        1 => Just(" NOT ".to_string()),
        1 => Just("-".to_string()),
        1 => Just("+".to_string()),
        1 => Just(" ".to_string()),
        1 => prop::sample::select(vec![
            "date:", "headline:", "body:", "source:", "topics:", "people:", "person:",
            "org:", "location:", "nosuchfield:", "article_id:", "kind:", "passage_no:",
        ])
        .prop_map(String::from),
        1 => "[0-9]{1,5}(-[0-9]{1,3}){0,3}",
        1 => "\\PC{1,4}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Every query string is answered or refused with a message; none panics.
    #[test]
    fn any_query_string_is_answered_or_refused(q in query()) {
        for conjunction in [Conjunction::Any, Conjunction::All] {
            let opts = SearchOptions { limit: 3, per_article: 2, conjunction, ..Default::default() };
            if let Err(e) = search_lib(&FIXTURE.index, &q, &opts) {
                let msg = format!("{e:#}");
                prop_assert!(!msg.is_empty());
            }
        }
    }
}
