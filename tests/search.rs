//! Passage search through the real binary, on the sample corpus and on BBC.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

/// The sample corpus, indexed once for this test binary.
fn sample_index() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf, Value)> = OnceLock::new();
    let (_, idx, summary) = DIR.get_or_init(|| build_index(&sample(), &[]));
    assert_eq!(summary["articles"], 30);
    idx
}

fn ids(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| {
            h["article_id"]
                .as_str()
                .unwrap()
                .trim_start_matches("sample/")
                .to_string()
        })
        .collect()
}

fn body_text(h: &Value) -> String {
    h["passage"].as_str().unwrap().to_lowercase()
}

#[test]
fn json_hits_have_every_field_and_consistent_offsets() {
    let hits = search(sample_index(), "steel exports", &["-n", "30"]);
    assert!(hits.len() >= 5);
    for (i, h) in hits.iter().enumerate() {
        for k in [
            "rank",
            "score",
            "article_id",
            "headline",
            "date",
            "source",
            "passage",
            "passage_start",
            "passage_end",
            "highlights",
        ] {
            assert!(h.get(k).is_some(), "missing {k} in {h}");
        }
        assert_eq!(h["rank"], i + 1);
        let (s, e) = (
            h["passage_start"].as_u64().unwrap(),
            h["passage_end"].as_u64().unwrap(),
        );
        assert_eq!(
            (e - s) as usize,
            h["passage"].as_str().unwrap().chars().count()
        );
        // The passage is exactly that span of the stored body.
        let out = run(&[
            "show",
            h["article_id"].as_str().unwrap(),
            "--json",
            "--index",
            sample_index().to_str().unwrap(),
        ]);
        let article: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            span(article["body"].as_str().unwrap(), s as usize, e as usize),
            h["passage"].as_str().unwrap()
        );
        // Each highlight marks a word of the query (stemmed: "export" matches "exports").
        for pair in h["highlights"].as_array().unwrap() {
            let w = span(
                h["passage"].as_str().unwrap(),
                pair[0].as_u64().unwrap() as usize,
                pair[1].as_u64().unwrap() as usize,
            )
            .to_lowercase();
            assert!(w.starts_with("steel") || w.starts_with("export"), "{w}");
        }
    }
    // Scores never increase down the list.
    for w in hits.windows(2) {
        assert!(w[0]["score"].as_f64().unwrap() >= w[1]["score"].as_f64().unwrap());
    }
}

#[test]
fn every_hit_shows_a_match() {
    for q in [
        "port strike",
        "drought",
        "steel",
        "privacy ruling",
        "merger talks",
        "Okafor",
        "funding round",
        "grain barges",
    ] {
        let hits = search(sample_index(), q, &["-n", "30", "--per-article", "2"]);
        assert!(!hits.is_empty(), "{q}");
        for h in &hits {
            assert!(has_match(h), "{q}: no highlight in {h}");
        }
    }
}

#[test]
fn topic_query_ranks_relevant_articles_first() {
    // Hand-judged relevance in tests/fixtures/sample_facts.json.
    let facts: Value = serde_json::from_str(include_str!("fixtures/sample_facts.json")).unwrap();
    for topic in facts["topics"].as_array().unwrap() {
        let q = topic["query"].as_str().unwrap();
        let relevant: Vec<&str> = topic["relevant"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let got = ids(&search(sample_index(), q, &["-n", "3"]));
        let top_relevant = got
            .iter()
            .filter(|id| relevant.contains(&id.as_str()))
            .count();
        assert!(
            top_relevant >= 2.min(relevant.len()),
            "{q}: top 3 {got:?}, relevant {relevant:?}"
        );
    }
}

#[test]
fn headline_only_match_is_found() {
    // "threaten" appears only in the headline of wire/01.
    let hits = search(sample_index(), "threaten", &[]);
    assert!(
        ids(&hits).contains(&"wire/01-dockworkers-threaten-strike.txt".to_string()),
        "{hits:?}"
    );
    let h = hits
        .iter()
        .find(|h| {
            h["article_id"]
                .as_str()
                .unwrap()
                .ends_with("01-dockworkers-threaten-strike.txt")
        })
        .unwrap();
    assert!(!h["headline_highlights"].as_array().unwrap().is_empty());
}

#[test]
fn phrase_matches_only_the_phrase() {
    let phrase = search(
        sample_index(),
        "\"port strike\"",
        &["-n", "30", "--per-article", "5"],
    );
    assert!(!phrase.is_empty());
    for h in &phrase {
        let text = format!(
            "{} {}",
            h["headline"].as_str().unwrap().to_lowercase(),
            body_text(h)
        );
        assert!(text.contains("port strike"), "{text}");
    }
    let loose = search(sample_index(), "port strike", &["-n", "30"]);
    assert!(loose.len() > phrase.len().min(loose.len()) || loose.len() >= phrase.len());
}

#[test]
fn not_excludes_and_all_requires() {
    let with = search(sample_index(), "drought", &["-n", "30"]);
    let without = search(sample_index(), "drought NOT barges", &["-n", "30"]);
    assert!(without.len() < with.len());
    for h in &without {
        let show = run(&[
            "show",
            h["article_id"].as_str().unwrap(),
            "--json",
            "--index",
            sample_index().to_str().unwrap(),
        ]);
        let a: Value = serde_json::from_slice(&show.stdout).unwrap();
        let text = format!("{} {}", a["headline"], a["body"]).to_lowercase();
        assert!(
            !text.contains("barge"),
            "NOT ignored for {}",
            h["article_id"]
        );
    }
    let any = search(sample_index(), "drought merger", &["-n", "30"]);
    let all = search(sample_index(), "drought merger", &["-n", "30", "--all"]);
    assert!(all.len() < any.len());
}

#[test]
fn date_range_filters() {
    let hits = search(
        sample_index(),
        "strike date:[2024-07-01 TO 2024-07-31]",
        &["-n", "30"],
    );
    assert!(!hits.is_empty());
    for h in &hits {
        let d = h["date"].as_str().unwrap();
        assert!(d.starts_with("2024-07"), "{d}");
    }
    let year = search(sample_index(), "steel date:2025", &["-n", "30"]);
    assert!(!year.is_empty());
    assert!(year
        .iter()
        .all(|h| h["date"].as_str().unwrap().starts_with("2025")));
}

#[test]
fn per_article_groups_passages() {
    let hits = search(sample_index(), "strike", &["-n", "5", "--per-article", "3"]);
    let mut counts = std::collections::HashMap::new();
    for h in &hits {
        *counts
            .entry(h["article_id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 5);
    assert!(counts.values().all(|&n| n <= 3));
    assert!(counts.values().any(|&n| n > 1));
}

#[test]
fn bad_queries_are_refused_clearly() {
    for (q, needle) in [
        ("nosuchfield:x", "unknown field"),
        ("date:[2024-13-01 TO 2025]", "bad date"),
        ("NOT strike", "at least one"),
    ] {
        let out = run(&["search", q, "--index", sample_index().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{q}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{q}: {err}");
    }
}

#[test]
fn text_output_marks_matches_without_colour() {
    let out = run(&[
        "search",
        "drought",
        "--index",
        sample_index().to_str().unwrap(),
        "-n",
        "2",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("**drought**") || text.contains("**Drought**"),
        "{text}"
    );
    assert!(!text.contains('\x1b'));
}

/// Text pasted from an article searches as text: a possessive, a Reuters ticker in angle
/// brackets, a colon after a word and a dash between spaces used to be tantivy syntax errors
/// ("Syntax Error", "Range query need to target a specific field", "unknown field").
#[test]
fn pasted_prose_is_searched_as_text() {
    let hits = search(sample_index(), "Voss's campaign", &[]);
    assert!(!hits.is_empty());
    // "Voss's" is the phrase "voss s": the best hit holds it, highlighted.
    let top = &hits[0];
    assert!(body_text(top).contains("voss's campaign"), "{top}");
    let marked: Vec<String> = top["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            span(
                top["passage"].as_str().unwrap(),
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
            )
            .to_lowercase()
        })
        .collect();
    assert!(marked.iter().any(|w| w == "voss"), "{marked:?}");
    assert!(marked.iter().any(|w| w == "campaign"), "{marked:?}");
    for q in [
        "Haldorsen <HLD> mayor",
        "Update: Haldorsen mayor",
        "Haldorsen - mayor",
    ] {
        let hits = search(sample_index(), q, &[]);
        assert!(
            hits.iter().any(|h| body_text(h).contains("haldorsen")),
            "{q}: {hits:?}"
        );
    }
    // Real syntax still works, and a real mistake is still an error naming the query.
    assert!(!search(sample_index(), "headline:mayor", &[]).is_empty());
    for (q, says) in [
        ("headlin:mayor", "unknown field"),
        ("(mayor", "parentheses"),
    ] {
        let out = run(&["search", q, "--index", sample_index().to_str().unwrap()]);
        assert!(!out.status.success(), "{q}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(q) && err.contains(says), "{q}: {err}");
    }
}
