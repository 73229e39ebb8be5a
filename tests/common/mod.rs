//! Helpers shared by the integration tests: run the real binary, find the real corpora.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// `../shared/corpora` beside the repository (CI has it too). Tests that need it fail loudly
/// when it is missing rather than passing without checking anything.
pub fn corpora() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    assert!(
        p.join("README.md").exists(),
        "real corpora not found at {}: these tests read ../shared/corpora",
        p.display()
    );
    p
}

pub fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

pub fn newsindex() -> Command {
    let mut c = Command::cargo_bin("newsindex").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// Runs `newsindex args...` and returns its output, whatever the exit code.
pub fn run(args: &[&str]) -> Output {
    newsindex().args(args).output().unwrap()
}

/// Runs `newsindex ingest PATHS --index INDEX --json [extra]` and parses the summary.
pub fn ingest(paths: &[&Path], index: &Path, extra: &[&str]) -> (Value, i32) {
    let mut c = newsindex();
    c.arg("ingest");
    for p in paths {
        c.arg(p);
    }
    c.arg("--index").arg(index).arg("--json").args(extra);
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "ingest did not print JSON ({e}): stdout={stdout} stderr={}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

/// Runs `newsindex ARGS --index INDEX` (ARGS including `--json`), requires success, and
/// parses each output line.
pub fn json_lines(args: &[&str], index: &Path) -> Vec<Value> {
    let out = newsindex()
        .args(args)
        .arg("--index")
        .arg(index)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "newsindex {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each --json line parses"))
        .collect()
}

/// Runs `newsindex search QUERY --index INDEX --json [extra]` and parses each line.
pub fn search(index: &Path, query: &str, extra: &[&str]) -> Vec<Value> {
    json_lines(&[&["search", query, "--json"], extra].concat(), index)
}

pub fn stats(index: &Path) -> Value {
    let out = newsindex()
        .args(["stats", "--json", "--index"])
        .arg(index)
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Copies a folder tree (test fixtures only; into a temp dir).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// True when `hit` shows a match: a highlight in the passage or the headline.
pub fn has_match(hit: &Value) -> bool {
    !hit["highlights"].as_array().unwrap().is_empty()
        || !hit["headline_highlights"].as_array().unwrap().is_empty()
}

/// The text of char span `[s, e)` of `text`.
pub fn span(text: &str, s: usize, e: usize) -> String {
    text.chars().skip(s).take(e - s).collect()
}

/// Ingests `path` into a new temporary index, requiring exit code 0. Returns the temp dir
/// (keep it alive), the index folder and the ingest summary.
pub fn build_index(path: &Path, extra: &[&str]) -> (tempfile::TempDir, PathBuf, Value) {
    let tmp = tempfile::TempDir::new().unwrap();
    let idx = tmp.path().join("idx");
    let (s, code) = ingest(&[path], &idx, extra);
    assert_eq!(code, 0, "{s}");
    (tmp, idx, s)
}

/// `newsindex mentions NAME --json`: the mention objects and the summary object.
pub fn mentions(idx: &Path, name: &str, extra: &[&str]) -> (Vec<Value>, Value) {
    let mut lines = json_lines(&[&["mentions", name, "--json"], extra].concat(), idx);
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["summary"], true);
    (lines, summary)
}
