//! Search quality on real data: the Reuters relevance sets built by
//! scripts/build_relevance_sets.py, the plain-tantivy baseline ratio, highlights on every hit,
//! fuzzy / prefix / --like.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;

use common::{corpora, has_match, newsindex, search};
use serde_json::Value;

/// MAP ratio (newsindex / plain tantivy) on the Reuters topic set must stay above this floor;
/// measured a little above it (see README, "Search quality").
const TOPIC_MAP_RATIO_FLOOR: f64 = 1.12;

struct Fixture {
    _dir: tempfile::TempDir,
    index: PathBuf,
    baseline: PathBuf,
    rel: PathBuf,
}

/// Reuters-21578 indexed once per test binary, plus the relevance sets.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index");
        let reuters = corpora().join("reuters21578");
        let rel = dir.path().join("relevance");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build_relevance_sets.py");
        let mut py = StdCommand::new("python3");
        py.arg(&script).arg(&rel).arg("--corpus").arg(&reuters);
        let input = if sgml_supported() {
            reuters.clone()
        } else {
            let j = dir.path().join("reuters.jsonl");
            py.arg("--jsonl").arg(&j);
            j
        };
        let st = py.status().expect("python3 runs");
        assert!(st.success(), "build_relevance_sets.py failed");
        let out = newsindex()
            .arg("ingest")
            .arg(&input)
            .arg("--index")
            .arg(&index)
            .args([
                "--ext",
                if sgml_supported() { "sgm" } else { "jsonl" },
                "--json",
                "-q",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(2),
            "ingest failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Fixture {
            baseline: dir.path().join("baseline"),
            _dir: dir,
            index,
            rel,
        }
    })
}

/// Whether this build parses Reuters SGML (the parsers may land after this test).
fn sgml_supported() -> bool {
    newsindex::ingest::detect_format(Path::new("x.sgm")).is_some()
}

fn eval(set: &str, extra: &[&str]) -> Value {
    let f = fixture();
    let out = newsindex()
        .arg("eval")
        .arg("--index")
        .arg(&f.index)
        .arg("--queries")
        .arg(f.rel.join(format!("{set}.queries")))
        .arg("--qrels")
        .arg(f.rel.join(format!("{set}.qrels")))
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn topic_set_beats_plain_tantivy() {
    let f = fixture();
    let run = f.rel.join("topics.run");
    let v = eval(
        "topics",
        &[
            "--baseline-index",
            f.baseline.to_str().unwrap(),
            "--run-out",
            run.to_str().unwrap(),
        ],
    );
    for k in ["map", "ndcg10", "p10", "mrr10", "recall100", "queries"] {
        assert!(v.get(k).is_some(), "--json lacks {k}: {v}");
    }
    assert_eq!(v["queries"], 40);
    let ratio = v["map_ratio"].as_f64().unwrap();
    eprintln!("topics: {v}");
    assert!(
        ratio >= TOPIC_MAP_RATIO_FLOOR,
        "MAP ratio {ratio:.3} < {TOPIC_MAP_RATIO_FLOOR}: {v}"
    );
    // The run file is TREC format, ranks from 1.
    let text = std::fs::read_to_string(run).unwrap();
    let first: Vec<&str> = text.lines().next().unwrap().split(' ').collect();
    assert_eq!(first.len(), 6);
    assert_eq!(first[1], "Q0");
    assert_eq!(first[3], "1");
}

#[test]
fn people_set_is_measured() {
    let v = eval("people", &["--per-query"]);
    assert!(v["queries"].as_u64().unwrap() > 50);
    assert!(v["map"].as_f64().unwrap() > 0.3, "{v}");
    assert_eq!(
        v["per_query"].as_array().unwrap().len() as u64,
        v["queries"].as_u64().unwrap()
    );
}

/// Every shown hit marks a match, over a few hundred single- and multi-word queries.
#[test]
fn every_hit_shows_a_match() {
    let f = fixture();
    let mut queries: Vec<String> = Vec::new();
    for set in ["topics", "people"] {
        let text = std::fs::read_to_string(f.rel.join(format!("{set}.queries"))).unwrap();
        for line in text.lines() {
            let q = line.split('\t').nth(1).unwrap();
            queries.push(q.to_string());
            queries.extend(q.split(' ').map(String::from));
        }
    }
    queries.sort();
    queries.dedup();
    assert!(queries.len() >= 200, "{} queries", queries.len());
    // One process per query is slow; ask 20 hits of each.
    let mut hits_seen = 0;
    for q in &queries {
        for h in search(&f.index, q, &["-n", "20"]) {
            hits_seen += 1;
            assert!(has_match(&h), "query {q:?}: hit without a highlight: {h}");
        }
    }
    assert!(hits_seen > 2000);
}

#[test]
fn fuzzy_prefix_and_like() {
    let f = fixture();
    // A misspelt name finds the right person, and the highlight marks the real spelling.
    let hits = search(&f.index, "volker~1", &[]);
    assert!(!hits.is_empty());
    for h in &hits {
        assert!(has_match(h), "{h}");
    }
    let volcker = hits
        .iter()
        .filter(|h| {
            format!("{} {}", h["headline"], h["passage"])
                .to_lowercase()
                .contains("volcker")
        })
        .count();
    assert!(
        volcker >= 5,
        "{volcker} of {} hits mention Volcker",
        hits.len()
    );

    // A prefix matches several words, all highlighted.
    let hits = search(&f.index, "petro*", &["-n", "30"]);
    assert!(hits.len() >= 10);
    let mut words = std::collections::HashSet::new();
    for h in &hits {
        assert!(has_match(h), "{h}");
        let p = h["passage"].as_str().unwrap();
        for s in h["highlights"].as_array().unwrap() {
            let (a, b) = (
                s[0].as_u64().unwrap() as usize,
                s[1].as_u64().unwrap() as usize,
            );
            let w = common::span(p, a, b).to_lowercase();
            assert!(w.starts_with("petro"), "{w}");
            words.insert(w);
        }
    }
    assert!(words.len() >= 2, "{words:?}");

    // A fielded prefix.
    assert!(!search(&f.index, "headline:opec*", &[]).is_empty());

    // --like: similar articles, never the article itself, sharing its topic mostly.
    let seed = &search(&f.index, "cocoa", &[])[0];
    let id = seed["article_id"].as_str().unwrap();
    let out = newsindex()
        .args(["search", "--like", id, "--json", "--index"])
        .arg(&f.index)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h["article_id"] != id));
    let cocoa = hits
        .iter()
        .filter(|h| format!("{h}").to_lowercase().contains("cocoa"))
        .count();
    assert!(cocoa >= 7, "{cocoa} of 10 like-hits mention cocoa");

    // --like of an unknown id is an error.
    let out = newsindex()
        .args(["search", "--like", "no-such-id", "--index"])
        .arg(&f.index)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn date_range_and_field_terms() {
    let f = fixture();
    let all = search(&f.index, "oil", &["-n", "50"]);
    assert!(!all.is_empty());
    let march = search(&f.index, "oil date:1987-03", &["-n", "50", "--all"]);
    for h in &march {
        if let Some(d) = h["date"].as_str() {
            assert!(d.starts_with("1987-03"), "{d}");
        }
    }
    for h in search(&f.index, "headline:cocoa", &[]) {
        assert!(
            !h["headline_highlights"].as_array().unwrap().is_empty(),
            "{h}"
        );
    }
}
