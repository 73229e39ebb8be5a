//! Every mention of a person, checked against hand-counted articles (tests/fixtures/mentions,
//! written for this purpose; expected.json was counted by hand, see its README).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mentions")
}

fn index() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf, Value)> = OnceLock::new();
    let (_, idx, summary) = DIR.get_or_init(|| build_index(&fixtures(), &["--ext", "txt"]));
    assert_eq!(summary["articles"], 8);
    idx
}

/// file name -> (headline surfaces, body surfaces), in order.
type PerFile = BTreeMap<String, (Vec<String>, Vec<String>)>;

fn file_of(article_id: &str) -> String {
    article_id.rsplit('/').next().unwrap().to_string()
}

fn got_per_file(hits: &[Value]) -> PerFile {
    let mut out = PerFile::new();
    for h in hits {
        let e = out
            .entry(file_of(h["article_id"].as_str().unwrap()))
            .or_default();
        let s = h["surface"].as_str().unwrap().to_string();
        if h["in_headline"].as_bool().unwrap() {
            e.0.push(s);
        } else {
            e.1.push(s);
        }
    }
    out
}

fn expected_per_file(expected: &Value, person: &str) -> PerFile {
    let mut out = PerFile::new();
    for (file, parts) in expected["files"].as_object().unwrap() {
        let list = |part: &str| -> Vec<String> {
            parts[part][person]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let (h, b) = (list("headline"), list("body"));
        if !h.is_empty() || !b.is_empty() {
            out.insert(file.clone(), (h, b));
        }
    }
    out
}

#[test]
fn every_mention_of_each_person_exactly() {
    let expected: Value =
        serde_json::from_str(include_str!("fixtures/mentions/expected.json")).unwrap();
    let mut failures = Vec::new();
    for (person, totals) in expected["totals"].as_object().unwrap() {
        let (hits, summary) = mentions(index(), person, &["--type", "person"]);
        let got = got_per_file(&hits);
        let want = expected_per_file(&expected, person);
        if got != want {
            failures.push(format!("{person}:\n  want {want:?}\n  got  {got:?}"));
        }
        assert_eq!(summary["mentions"].as_u64().unwrap(), hits.len() as u64);
        if summary["articles"] != totals["articles"] || summary["mentions"] != totals["mentions"] {
            failures.push(format!("{person}: totals {summary} vs hand count {totals}"));
        }
        // Offsets are char offsets that slice the passage to the mention.
        for h in &hits {
            let p = h["passage"].as_str().unwrap();
            let (s, e) = (
                h["highlight"][0].as_u64().unwrap() as usize,
                h["highlight"][1].as_u64().unwrap() as usize,
            );
            assert_eq!(span(p, s, e), h["surface"].as_str().unwrap());
            assert_eq!(h["canonical"], person.as_str());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_surname_alone_finds_everyone_it_resolves_to_and_standalone_uses() {
    let expected: Value =
        serde_json::from_str(include_str!("fixtures/mentions/expected.json")).unwrap();
    let (hits, summary) = mentions(index(), "Chemezov", &[]);
    let want: u64 = ["Sergei Chemezov", "Nadia Chemezov"]
        .iter()
        .map(|p| expected["totals"][p]["mentions"].as_u64().unwrap())
        .sum::<u64>()
        + expected["surname_only"]["Chemezov"]["mentions"]
            .as_u64()
            .unwrap();
    assert_eq!(summary["mentions"].as_u64().unwrap(), want, "{hits:#?}");
    let standalone: Vec<&Value> = hits
        .iter()
        .filter(|h| h["canonical"] == "Chemezov")
        .collect();
    assert_eq!(
        standalone.len() as u64,
        expected["surname_only"]["Chemezov"]["mentions"]
            .as_u64()
            .unwrap()
    );
    assert!(standalone
        .iter()
        .all(|h| file_of(h["article_id"].as_str().unwrap()).starts_with("04-")));
}

#[test]
fn a_full_name_does_not_match_a_namesake() {
    let (hits, _) = mentions(index(), "Mr. Sergei Chemezov's", &[]);
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["canonical"] == "Sergei Chemezov"));
}

#[test]
fn person_field_is_searchable() {
    let hits = search(index(), "person:\"nadia chemezov\"", &["-n", "20"]);
    let files: Vec<String> = hits
        .iter()
        .map(|h| file_of(h["article_id"].as_str().unwrap()))
        .collect();
    let expected: Value =
        serde_json::from_str(include_str!("fixtures/mentions/expected.json")).unwrap();
    let want = expected_per_file(&expected, "Nadia Chemezov");
    for f in want.keys() {
        assert!(
            files.contains(f),
            "{f} not found by person: query, got {files:?}"
        );
    }
}
