//! Crash safety: `ingest --commit-every N` is SIGKILLed at points spread over the run. Each
//! time the index must open and answer with its last commit (a prefix of the input, in walk
//! order), `check` must find it sound, and re-running the same ingest must complete it with
//! exactly the right articles: no duplicate, nothing lost.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use newsindex::index::schema::KIND_ARTICLE;
use newsindex::index::NewsIndex;
use tantivy::collector::DocSetCollector;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};
use tempfile::TempDir;

const COMMIT_EVERY: &str = "40";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_newsindex"))
}

fn spawn_ingest(docs: &Path, index: &Path) -> Child {
    Command::new(bin())
        .arg("ingest")
        .arg(docs)
        .arg("--index")
        .arg(index)
        .args(["--json", "--quiet", "--commit-every", COMMIT_EVERY])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until a running ingest has committed `commits` times (tantivy rewrites meta.json
/// at each commit; creating the index counts as one), or has exited.
fn wait_for_commits(child: &mut Child, index: &Path, commits: usize) {
    let mut last: Option<Vec<u8>> = None;
    let mut seen = 0;
    while seen < commits {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        let meta = std::fs::read(index.join("meta.json")).ok();
        if meta.is_some() && meta != last {
            seen += 1;
            last = meta;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Every article id in the index, read through the library (the ids must be unique).
fn article_ids(index: &Path) -> Vec<String> {
    let ni = NewsIndex::open(index).unwrap();
    let searcher = ni.searcher();
    let q = TermQuery::new(
        Term::from_field_text(ni.fields.kind, KIND_ARTICLE),
        IndexRecordOption::Basic,
    );
    let mut ids: Vec<String> = searcher
        .search(&q, &DocSetCollector)
        .unwrap()
        .into_iter()
        .map(|addr| {
            let d: TantivyDocument = searcher.doc(addr).unwrap();
            ni.stored_article(&d).unwrap().id
        })
        .collect();
    ids.sort_by(|a, b| Path::new(a).cmp(Path::new(b)));
    ids
}

fn assert_sound(index: &Path, what: &str) {
    let out = run(&["check", "--json", "--index", index.to_str().unwrap()]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: check printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: check found problems: {r}"
    );
}

/// Checks the state left by a kill; returns the number of committed articles (None when the
/// kill came before the index was created).
fn check_after_kill(index: &Path, reference: &[String], what: &str) -> Option<usize> {
    if !index.join("meta.json").exists() {
        return None; // killed while creating the folder: nothing committed, nothing to open
    }
    let st = stats(index);
    let n = st["articles"].as_u64().unwrap() as usize;
    let ids = article_ids(index);
    assert_eq!(ids.len(), n, "{what}: stats and documents disagree");
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), n, "{what}: duplicate article ids");
    // Commits hold whole files in walk order: the committed articles are a prefix.
    assert_eq!(
        ids.as_slice(),
        &reference[..n],
        "{what}: the committed articles are not a prefix of the input"
    );
    // Readers answer.
    let out = run(&[
        "search",
        "the",
        "--json",
        "--index",
        index.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{what}: search failed after the kill");
    assert_sound(index, what);
    Some(n)
}

/// Re-runs the ingest to completion and checks it has exactly the reference articles.
fn complete_and_check(docs: &Path, index: &Path, reference: &[String], what: &str) {
    let (s, code) = ingest(&[docs], index, &["--commit-every", COMMIT_EVERY]);
    assert_eq!(code, 0, "{what}: re-run failed: {s}");
    let ids = article_ids(index);
    assert_eq!(
        ids.len(),
        reference.len(),
        "{what}: wrong count after re-run"
    );
    assert_eq!(
        ids.as_slice(),
        reference,
        "{what}: wrong articles after re-run"
    );
    assert_eq!(
        s["index_articles"].as_u64().unwrap() as usize,
        reference.len()
    );
    assert_sound(index, what);
}

#[test]
fn sigkill_at_many_points_then_resume() {
    let tmp = TempDir::new().unwrap();
    // Two BBC sections (911 real articles, some duplicated): about 20 commits per run.
    let docs = tmp.path().join("bbc");
    for section in ["business", "tech"] {
        copy_tree(&corpora().join("bbc").join(section), &docs.join(section));
    }

    // A reference run: its duration spreads the kill points, its ids are the truth.
    let ref_index = tmp.path().join("ref");
    let started = Instant::now();
    let status = spawn_ingest(&docs, &ref_index).wait().unwrap();
    let full = started.elapsed();
    assert!(status.success());
    let reference = article_ids(&ref_index);
    assert!(reference.len() >= 850, "{}", reference.len());
    eprintln!("reference ingest: {full:?}, {} articles", reference.len());

    // 12 kill points from the very start to the very end of a run, each on a fresh index.
    // The first lands during start-up; the others after a growing number of commits (the
    // run makes about 22), plus a varying delay so that some land inside a commit. Counting
    // commits instead of timing keeps the points spread out on a loaded machine.
    let mut outcomes = Vec::new();
    for i in 0..12u32 {
        let index = tmp.path().join(format!("idx{i}"));
        let started = Instant::now();
        let mut child = spawn_ingest(&docs, &index);
        if i == 0 {
            std::thread::sleep(Duration::from_millis(2));
        } else {
            wait_for_commits(&mut child, &index, 1 + i as usize * 23 / 12);
            std::thread::sleep(Duration::from_millis(u64::from(i * 17 % 60)));
        }
        let at = started.elapsed();
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let what = format!("kill {i} at {at:?}");
        let committed = check_after_kill(&index, &reference, &what);
        complete_and_check(&docs, &index, &reference, &what);
        outcomes.push((at, committed, finished));
    }
    for (at, committed, finished) in &outcomes {
        eprintln!("killed at {at:?}: committed {committed:?}, finished before kill: {finished}");
    }
    // The kills really landed all over the run: before anything, in the middle, near the end.
    let mid = outcomes
        .iter()
        .filter(|(_, c, _)| c.is_some_and(|n| n > 0 && n < reference.len()))
        .count();
    assert!(mid >= 6, "too few kills landed mid-run: {outcomes:?}");

    // Kills during the resume runs themselves: kill, resume, kill, resume... on one index.
    let index = tmp.path().join("chained");
    let mut last = 0;
    for k in 1..=4u32 {
        let mut child = spawn_ingest(&docs, &index);
        // The meta.json already there counts as one: three new commits, then a kill.
        wait_for_commits(&mut child, &index, 4);
        child.kill().ok();
        child.wait().unwrap();
        if let Some(n) = check_after_kill(&index, &reference, &format!("chained kill {k}")) {
            assert!(
                n >= last,
                "chained kill {k}: committed articles went backwards"
            );
            last = n;
        }
    }
    complete_and_check(&docs, &index, &reference, "chained");
}
