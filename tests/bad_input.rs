//! Bad input is reported with its path and reason, and every good article is still indexed.

mod common;

use std::fs;

use common::*;
use tempfile::TempDir;

#[test]
fn empty_binary_truncated_and_looping_inputs_are_reported() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("in");
    fs::create_dir_all(docs.join("sub")).unwrap();
    fs::write(
        docs.join("good.txt"),
        "Port strike ends\n\nDockers returned to work on Monday.\n",
    )
    .unwrap();
    fs::write(docs.join("empty.txt"), "").unwrap();
    fs::write(
        docs.join("binary.txt"),
        b"\x00\x01\x02PK\x03\x04 not text \x00",
    )
    .unwrap();
    fs::write(
        docs.join("feed.jsonl"),
        concat!(
            "{\"id\":\"f1\",\"headline\":\"Drought deepens\",\"body\":\"Reservoirs fell again.\"}\n",
            "{\"id\":\"f2\",\"headline\":\"Truncated\",\"bo\n",
            "{\"id\":\"f3\",\"headline\":\"Rain at last\",\"body\":\"Farmers welcomed the storms.\"}\n",
        ),
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&docs, docs.join("sub/loop")).unwrap();

    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 2, "partial failure exit code: {s}");
    assert_eq!(s["articles"], 3, "{s}");
    let errors = s["errors"].as_array().unwrap();
    let find = |name: &str| {
        errors
            .iter()
            .find(|e| e["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no error reported for {name}: {s}"))
    };
    assert_eq!(find("empty.txt")["kind"], "empty");
    assert_eq!(find("binary.txt")["kind"], "binary");
    let truncated = find("feed.jsonl");
    assert_eq!(truncated["line"], 2);
    assert!(!truncated["reason"].as_str().unwrap().is_empty());
    #[cfg(unix)]
    assert_eq!(find("loop")["kind"], "symlink_loop");

    for q in ["dockers", "reservoirs", "farmers"] {
        assert_eq!(search(&index, q, &[]).len(), 1, "{q}");
    }

    // Text output names the file and the reason on stderr.
    let out = run(&[
        "ingest",
        docs.to_str().unwrap(),
        "--index",
        tmp.path().join("idx2").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("empty.txt"), "{stderr}");
    assert!(stderr.contains("feed.jsonl:2"), "{stderr}");
}

#[test]
fn nothing_indexable_gives_its_own_exit_code() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("in");
    fs::create_dir_all(&docs).unwrap();
    fs::write(docs.join("empty.txt"), "  \n").unwrap();
    let (s, code) = ingest(&[&docs], &tmp.path().join("idx"), &[]);
    assert_eq!(code, 3, "{s}");
}

#[test]
fn missing_or_foreign_index_is_a_clear_error() {
    let tmp = TempDir::new().unwrap();
    let out = run(&[
        "search",
        "oil",
        "--index",
        tmp.path().join("nope").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no index at"));
    let foreign = tmp.path().join("foreign");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("notes.txt"), "hello").unwrap();
    let out = run(&["stats", "--index", foreign.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a newsindex index"));
}

/// A thread count of 0 is refused with the flag's name, not silently taken as 1; nothing is
/// created.
#[test]
fn zero_threads_is_refused_by_name() {
    let tmp = TempDir::new().unwrap();
    let index = tmp.path().join("idx");
    let sample = sample();
    for cmd in ["ingest", "bench"] {
        for flag in ["--threads", "--prep-threads"] {
            let out = run(&[
                cmd,
                sample.to_str().unwrap(),
                "--index",
                index.to_str().unwrap(),
                flag,
                "0",
            ]);
            assert_eq!(out.status.code(), Some(2), "{cmd} {flag}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(flag) && err.contains("at least 1"),
                "{cmd} {flag}: {err}"
            );
            assert!(!index.exists(), "{cmd} {flag} created an index");
        }
    }
}
