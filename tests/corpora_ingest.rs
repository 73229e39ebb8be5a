//! Ingest on the real corpora in ../shared/corpora, through the real binary.

mod common;

use common::*;
use tempfile::TempDir;

#[test]
fn bbc_counts_duplicates_and_latin1() {
    let tmp = TempDir::new().unwrap();
    let index = tmp.path().join("idx");
    let bbc = corpora().join("bbc");
    let (s, code) = ingest(&[&bbc], &index, &[]);
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["files"], 2225);
    assert_eq!(s["articles"], 2127);
    assert_eq!(s["duplicates"], 98);
    assert_eq!(s["errors"].as_array().unwrap().len(), 0);
    assert!(s["bytes"].as_u64().unwrap() > 4_000_000);

    // sport/199.txt holds a Latin-1 pound sign: it must come out as "£".
    let out = run(&[
        "show",
        "bbc/sport/199.txt",
        "--json",
        "--index",
        index.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let article: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = format!("{} {}", article["headline"], article["body"]);
    assert!(text.contains('£'), "pound sign lost: {text}");
    assert!(!text.contains('\u{FFFD}'), "replacement char in {text}");
    let st = stats(&index);
    assert_eq!(st["articles"], 2127);

    // Re-ingesting changes nothing.
    let (again, code) = ingest(&[&bbc], &index, &[]);
    assert_eq!(code, 0);
    assert_eq!(again["articles"], 0);
    assert_eq!(again["duplicates"], 0);
    assert_eq!(again["files_unchanged"], 2225);
    assert_eq!(stats(&index)["articles"], 2127);
    assert_eq!(stats(&index)["passages"], st["passages"]);
}
