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

/// The number of preparing threads changes how fast a build goes, never what it holds: BBC
/// built with one preparing thread and with three gives the same counts, the same ranked
/// passages and the same mentions.
#[test]
fn bbc_builds_the_same_index_whatever_the_preparing_threads() {
    let tmp = TempDir::new().unwrap();
    let bbc = corpora().join("bbc");
    let build = |n: &str| {
        let index = tmp.path().join(format!("idx-{n}"));
        let (s, code) = ingest(&[&bbc], &index, &["--threads", "1", "--prep-threads", n]);
        assert_eq!(code, 0, "{s}");
        (index, s)
    };
    let (one, s1) = build("1");
    let (three, s3) = build("3");
    assert_eq!(s1["articles"], 2127);
    for key in ["articles", "duplicates", "passages"] {
        assert_eq!(s1[key], s3[key], "{key}");
    }
    let ranked = |index: &std::path::Path, q: &str| -> Vec<(String, u64)> {
        search(index, q, &[])
            .iter()
            .map(|h| {
                let id = h["article_id"].as_str().unwrap().to_string();
                (id, h["passage_no"].as_u64().unwrap())
            })
            .collect()
    };
    for q in [
        "oil prices",
        "chancellor gordon brown budget",
        "mobile phone games",
    ] {
        let a = ranked(&one, q);
        assert!(a.len() >= 5, "{q}: {a:?}");
        assert_eq!(a, ranked(&three, q), "{q}");
    }
    let (m1, summary1) = mentions(&one, "Blair", &[]);
    assert!(
        m1.len() > 100,
        "Blair is mentioned in hundreds of BBC articles"
    );
    assert_eq!((m1, summary1), mentions(&three, "Blair", &[]));
}
