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

/// Counts `<D>label</D>` inside `<TAG>...</TAG>` over the Reuters files, independently of the
/// parser under test (a plain string scan).
fn reuters_label_count(tag: &str, label: &str) -> usize {
    let dir = corpora().join("reuters21578");
    let (open, close, item) = (
        format!("<{tag}>"),
        format!("</{tag}>"),
        format!("<D>{label}</D>"),
    );
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "sgm") {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            for part in text.split(open.as_str()).skip(1) {
                if part
                    .split(close.as_str())
                    .next()
                    .unwrap_or("")
                    .contains(&item)
                {
                    n += 1;
                }
            }
        }
    }
    n
}

#[test]
fn reuters_every_element_accounted_for_with_labels_and_entities() {
    let tmp = TempDir::new().unwrap();
    let index = tmp.path().join("idx");
    let reuters = corpora().join("reuters21578");
    let (s, code) = ingest(&[&reuters], &index, &["--ext", "sgm", "--no-entities"]);
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["files"], 22);
    assert_eq!(s["errors"].as_array().unwrap().len(), 0, "{s}");
    let articles = s["articles"].as_u64().unwrap();
    let dups = s["duplicates"].as_u64().unwrap();
    assert_eq!(articles + dups, 21_578, "{s}");
    assert!(dups < 1000, "{s}");

    // reut2-017.sgm (Latin-1) is in: its NEWIDs run from 17001 to 18000.
    let out = run(&[
        "show",
        "reuters-17500",
        "--json",
        "--index",
        index.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(a["file"].as_str().unwrap().ends_with("reut2-017.sgm"));

    // Entities decoded: company tags were written `&lt;Acme Corp>` and must read `<Acme Corp>`.
    let hits = search(&index, "corp inc", &["-n", "300"]);
    assert!(hits
        .iter()
        .any(|h| h["passage"].as_str().unwrap().contains('<')));
    for h in &hits {
        let p = h["passage"].as_str().unwrap();
        assert!(
            !p.contains("&lt;") && !p.contains("&amp;") && !p.contains("&#"),
            "{p}"
        );
        assert!(!p.chars().any(|c| c.is_control() && c != '\n'), "{p:?}");
    }

    // Topic and people labels are searchable, and every hit really carries the label.
    for (field, tag, label) in [
        ("topics", "TOPICS", "cocoa"),
        ("people", "PEOPLE", "reagan"),
        ("places", "PLACES", "el-salvador"),
    ] {
        let hits = search(&index, &format!("{field}:{label}"), &["-n", "5000"]);
        let labelled = reuters_label_count(tag, label);
        assert!(
            hits.len() <= labelled,
            "{field}:{label}: {} hits > {labelled} labelled",
            hits.len()
        );
        assert!(
            hits.len() * 10 >= labelled * 9,
            "{field}:{label}: {} hits, {labelled} labelled",
            hits.len()
        );
        for h in hits.iter().take(20) {
            let out = run(&[
                "show",
                h["article_id"].as_str().unwrap(),
                "--json",
                "--index",
                index.to_str().unwrap(),
            ]);
            let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(
                a[field].as_array().unwrap().iter().any(|v| v == label),
                "{a}"
            );
        }
    }

    // Brief articles (title, no body) are kept and found by their headline.
    let st = stats(&index);
    assert_eq!(st["articles"].as_u64().unwrap(), articles);
}
