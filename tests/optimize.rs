//! `newsindex optimize` (and `ingest --optimize`): the index is merged into fewer segments,
//! deleted documents are dropped, and what searches and listings return does not change.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;
use tempfile::TempDir;

/// `newsindex optimize --index INDEX --json [extra]`, required to succeed.
fn optimize(index: &Path, extra: &[&str]) -> Value {
    let mut lines = json_lines(&[&["optimize", "--json"], extra].concat(), index);
    assert_eq!(lines.len(), 1);
    lines.pop().unwrap()
}

fn check(index: &Path) -> Value {
    let mut lines = json_lines(&["check", "--json"], index);
    lines.pop().unwrap()
}

/// What a user sees of a search: each article with its score, best first. Articles with
/// equal scores may come in either order (their documents moved), so they are sorted by id
/// within a score.
fn ranked(index: &Path, query: &str) -> Vec<(String, String)> {
    let mut hits: Vec<(String, String)> = search(index, query, &["--limit", "5000"])
        .iter()
        .map(|h| {
            (
                format!("{:.4}", h["score"].as_f64().unwrap()),
                h["article_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Scores are printed best first; keep that order, ids sorted only among equal scores.
    hits.sort_by(|a, b| {
        b.0.parse::<f64>()
            .unwrap()
            .total_cmp(&a.0.parse::<f64>().unwrap())
            .then(a.1.cmp(&b.1))
    });
    hits
}

fn mention_lines(index: &Path, name: &str) -> Vec<Value> {
    mentions(index, name, &[]).0
}

#[test]
fn optimize_merges_bbc_and_every_search_and_mention_is_unchanged() {
    let tmp = TempDir::new().unwrap();
    let index = tmp.path().join("idx");
    // One ingest per section: five commits, five segments (too few to merge on their own).
    for section in ["business", "entertainment", "politics", "sport", "tech"] {
        let (s, code) = ingest(&[&corpora().join("bbc").join(section)], &index, &[]);
        assert_eq!(code, 0, "{s}");
    }
    let before = check(&index);
    assert_eq!(before["ok"], true, "{before}");
    assert_eq!(before["segments"], 5, "{before}");

    let queries = [
        "oil prices",
        "tony blair election",
        "mobile phone market",
        "\"world cup\"",
        "person:blair",
    ];
    let searches: Vec<_> = queries.iter().map(|q| ranked(&index, q)).collect();
    assert!(searches.iter().all(|s| s.len() >= 10), "{searches:?}");
    let names = ["blair", "gordon brown", "ronaldo"];
    let listings: Vec<_> = names.iter().map(|n| mention_lines(&index, n)).collect();
    assert!(listings.iter().all(|l| !l.is_empty()));
    let entities = json_lines(&["entities", "--json", "--limit", "50"], &index);

    let done = optimize(&index, &["--segments", "2"]);
    assert_eq!(done["segments_before"], 5, "{done}");
    assert_eq!(done["segments_after"], 2, "{done}");
    assert_eq!(done["deleted_docs"], 0, "{done}");
    let after = check(&index);
    assert_eq!(after["ok"], true, "{after}");
    assert_eq!(after["segments"], 2);
    for key in ["articles", "passages", "files", "mentions"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    // The merged segments' files are gone: one of each kind per segment left.
    let idx_files = fs::read_dir(&index)
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            p.extension().is_some_and(|x| x == "idx" || x == "mentions")
        })
        .count();
    assert_eq!(idx_files, 4);

    for (q, want) in queries.iter().zip(&searches) {
        assert_eq!(&ranked(&index, q), want, "{q}");
    }
    for (n, want) in names.iter().zip(&listings) {
        assert_eq!(&mention_lines(&index, n), want, "{n}");
    }
    assert_eq!(
        json_lines(&["entities", "--json", "--limit", "50"], &index),
        entities
    );

    // Down to one segment, searched without the thread pool: still the same answers.
    let one = optimize(&index, &["--segments", "1"]);
    assert_eq!(one["segments_after"], 1, "{one}");
    for (q, want) in queries.iter().zip(&searches) {
        assert_eq!(&ranked(&index, q), want, "{q}");
    }
    for (n, want) in names.iter().zip(&listings) {
        assert_eq!(&mention_lines(&index, n), want, "{n}");
    }
    // Nothing left to merge: nothing is rewritten.
    let again = optimize(&index, &["--segments", "1"]);
    assert_eq!(again["segments_before"], 1);
    assert_eq!(again["bytes_after"], one["bytes_after"]);
}

#[test]
fn optimize_drops_replaced_articles_and_ingest_goes_on_after_it() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("sample");
    copy_tree(&sample(), &docs);
    let index = tmp.path().join("idx");
    let (first, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 0, "{first}");
    let articles = first["articles"].as_u64().unwrap();

    // Rewrite one story: its old documents are deleted, not yet dropped.
    let story = docs.join("wire/04-drought-strands-barges.txt");
    let old = fs::read_to_string(&story).unwrap();
    let new = old.replacen(
        '\n',
        "\nQuillwort barges were towed upstream overnight.\n",
        1,
    );
    fs::write(&story, new).unwrap();
    let (edit, code) = ingest(&[&docs], &index, &["--optimize"]);
    assert_eq!(code, 0, "{edit}");
    assert_eq!(edit["articles_removed"], 1, "{edit}");
    let done = &edit["optimized"];
    assert!(done["deleted_docs"].as_u64().unwrap() > 1, "{edit}");
    assert!(
        done["segments_after"].as_u64().unwrap() <= done["segments_before"].as_u64().unwrap(),
        "{edit}"
    );
    let s = stats(&index);
    assert_eq!(s["deleted_docs"], 0, "{s}");
    assert_eq!(s["articles"].as_u64().unwrap(), articles);
    assert_eq!(search(&index, "quillwort", &[]).len(), 1);
    assert_eq!(check(&index)["ok"], true);

    // A new file after the merge is ingested and found as usual.
    fs::write(
        docs.join("wire/99-late-story.txt"),
        "Harbour pilots vote on Zanderling contract\n\nHarbour pilots at the port voted on \
         Tuesday on the Zanderling contract offered by the port authority.\n",
    )
    .unwrap();
    let (late, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 0, "{late}");
    assert_eq!(late["articles"], 1, "{late}");
    assert_eq!(search(&index, "zanderling", &[]).len(), 1);
    assert_eq!(stats(&index)["articles"].as_u64().unwrap(), articles + 1);
    assert_eq!(check(&index)["ok"], true);
}

#[test]
fn optimize_refuses_what_it_cannot_do() {
    let tmp = TempDir::new().unwrap();
    // No index there: a clear error naming the folder, nothing created.
    let missing = tmp.path().join("nothing-here");
    let out = run(&["optimize", "--index", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing-here"), "{err}");
    assert!(!missing.exists());
    // Zero segments is not a number of segments.
    let (_, idx, _) = build_index(&sample(), &[]);
    let out = run(&[
        "optimize",
        "--index",
        idx.to_str().unwrap(),
        "--segments",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
}

/// Each small ingest into a large archive adds a small segment; an ingest ends by merging
/// the small ones beside the large (the tail merge), so they do not pile up for every search
/// to walk, and nothing they hold is lost.
#[test]
fn small_ingests_into_a_large_archive_do_not_pile_up_segments() {
    let tmp = TempDir::new().unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&corpora().join("bbc")], &index, &[]);
    assert_eq!(code, 0, "{s}");
    let large = s["segments"].as_u64().unwrap();
    assert_eq!(s["tail_merged"], 0, "one ingest of similar segments: {s}");
    let words = ["quillhaven", "marrowby", "dunmarsh", "stoatley"];
    for (n, word) in words.iter().enumerate() {
        let dir = tmp.path().join(format!("late{n}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("story.txt"),
            format!("Late story {n}\n\nCouncillors in {word} voted on the harbour budget.\n"),
        )
        .unwrap();
        let (s, code) = ingest(&[&dir], &index, &[]);
        assert_eq!(code, 0, "{s}");
        // The first late segment waits alone; from the second on, the small ones are one.
        let expected = if n == 0 { 0 } else { 2 };
        assert_eq!(s["tail_merged"], expected, "ingest {n}: {s}");
        assert_eq!(
            s["segments"].as_u64().unwrap(),
            large + 1,
            "ingest {n}: {s}"
        );
        assert_eq!(stats(&index)["segments"], s["segments"], "ingest {n}");
    }
    for word in words {
        assert_eq!(search(&index, word, &[]).len(), 1, "{word}");
    }
    assert_eq!(check(&index)["ok"], true);
}
