//! People in the sample corpus are found by full name and by surname, and `entities` facet
//! counts match the hand count in tests/fixtures/sample_facts.json.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn index() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf, Value)> = OnceLock::new();
    &DIR.get_or_init(|| build_index(&sample(), &[])).1
}

fn facts() -> Value {
    serde_json::from_str(include_str!("fixtures/sample_facts.json")).unwrap()
}

fn mention_summary(name: &str) -> (Vec<Value>, Value) {
    mentions(index(), name, &["--type", "person"])
}

fn article_key(id: &str) -> String {
    id.trim_start_matches("sample/").to_string()
}

#[test]
fn every_person_is_found_by_full_name_and_by_surname() {
    for p in facts()["persons"].as_array().unwrap() {
        let name = p["canonical"].as_str().unwrap();
        let surname = p["surname"].as_str().unwrap();
        let want: Vec<String> = p["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let (hits, summary) = mention_summary(name);
        let mut got: Vec<String> = hits
            .iter()
            .map(|h| article_key(h["article_id"].as_str().unwrap()))
            .collect();
        got.sort();
        got.dedup();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got, want_sorted, "{name}: articles");
        assert_eq!(summary["mentions"], p["total_mentions"], "{name}: mentions");
        // By surname: at least every article of the person (namesakes may add more).
        let (by_surname, _) = mention_summary(surname);
        let got: Vec<String> = by_surname
            .iter()
            .map(|h| article_key(h["article_id"].as_str().unwrap()))
            .collect();
        for a in &want {
            assert!(got.contains(a), "{surname}: {a} missing");
        }
    }
}

#[test]
fn entity_facets_match_the_hand_count() {
    let rows = json_lines(&["entities", "--json", "-n", "200"], index());
    let find = |kind: &str, name: &str| {
        rows.iter()
            .find(|r| r["kind"] == kind && r["name"] == name.to_lowercase())
            .unwrap_or_else(|| panic!("{kind} {name} not in entities: {rows:?}"))
            .clone()
    };
    for p in facts()["persons"].as_array().unwrap() {
        let r = find("person", p["canonical"].as_str().unwrap());
        assert_eq!(r["articles"], p["article_count"], "{r}");
        assert_eq!(r["mentions"], p["total_mentions"], "{r}");
    }
    for o in facts()["organisations"].as_array().unwrap() {
        let r = find("org", o["name"].as_str().unwrap());
        assert_eq!(r["articles"], o["article_count"], "{r}");
    }
}
