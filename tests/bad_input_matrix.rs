//! The bad-input matrix: every kind of bad input is reported with its path (and line for
//! JSON lines) and a reason, the run goes on, and every good article is still indexed.
//! README.md ("Reliability") lists the same matrix.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;
use tempfile::TempDir;

/// A folder with one good article (found by the word `zanzibar`) and room for bad ones.
fn with_good(tmp: &TempDir) -> PathBuf {
    let docs = tmp.path().join("in");
    fs::create_dir_all(&docs).unwrap();
    fs::write(
        docs.join("good.txt"),
        "Spice harvest\n\nZanzibar growers sold a record clove crop this season.\n",
    )
    .unwrap();
    docs
}

fn errors_for<'a>(s: &'a Value, name: &str) -> Vec<&'a Value> {
    s["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().ends_with(name))
        .collect()
}

fn one_error<'a>(s: &'a Value, name: &str) -> &'a Value {
    let e = errors_for(s, name);
    assert!(!e.is_empty(), "no error reported for {name}: {s}");
    assert!(
        !e[0]["reason"].as_str().unwrap().is_empty(),
        "empty reason: {s}"
    );
    e[0]
}

/// The file names whose format this build reads (all of them once every parser is in).
fn supported<'a>(names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| newsindex::ingest::detect_format(Path::new(n)).is_some())
        .collect()
}

/// The good article is still there and searchable.
fn good_kept(index: &Path) {
    assert_eq!(search(index, "zanzibar", &[]).len(), 1);
}

#[test]
fn empty_files_in_every_format() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    let names = [
        "e.txt", "e.json", "e.jsonl", "e.csv", "e.sgm", "e.html", "ws.txt",
    ];
    let names: Vec<&str> = supported(&names);
    for n in &names {
        fs::write(docs.join(n), if *n == "ws.txt" { "  \n\n\t\n" } else { "" }).unwrap();
    }
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 2, "{s}");
    assert_eq!(s["articles"], 1, "{s}");
    for n in &names {
        assert_eq!(one_error(&s, n)["kind"], "empty", "{n}: {s}");
    }
    assert_eq!(s["error_counts"]["empty"], names.len(), "{s}");
    good_kept(&index);
}

#[test]
fn binary_files_in_every_format() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    let names = supported(&["b.txt", "b.json", "b.jsonl", "b.csv", "b.sgm", "b.html"]);
    for n in &names {
        let mut bytes = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
        bytes.extend((0..=255u8).cycle().take(4096));
        fs::write(docs.join(n), bytes).unwrap();
    }
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 2, "{s}");
    assert_eq!(s["articles"], 1, "{s}");
    for n in &names {
        assert_eq!(one_error(&s, n)["kind"], "binary", "{n}: {s}");
    }
    good_kept(&index);
}

#[test]
fn invalid_utf8_in_text_and_json_lines_is_decoded_not_dropped() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("in");
    fs::create_dir_all(&docs).unwrap();
    // Latin-1 pound sign (0xA3) and e-acute (0xE9): not valid UTF-8.
    fs::write(
        docs.join("latin1.txt"),
        b"Caf\xe9 prices\n\nA coffee in Quixotown now costs \xa35 says the owner.\n",
    )
    .unwrap();
    fs::write(
        docs.join("latin1.jsonl"),
        b"{\"id\":\"l1\",\"headline\":\"Caf\xe9 fees\",\"body\":\"Parking in Wobbleford costs \xa33.\"}\n",
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert!(code == 0 || code == 2, "{s}");
    // A JSON line with raw Latin-1 bytes is either decoded or reported with its line; the
    // text file is always decoded.
    let hits = search(&index, "quixotown", &[]);
    assert_eq!(hits.len(), 1, "{s}");
    assert!(hits[0]["passage"].as_str().unwrap().contains('£'), "{s}");
    if errors_for(&s, "latin1.jsonl").is_empty() {
        assert_eq!(search(&index, "wobbleford", &[]).len(), 1, "{s}");
    } else {
        assert_eq!(one_error(&s, "latin1.jsonl")["line"], 1, "{s}");
    }
}

#[test]
fn truncated_and_invalid_json_lines_are_reported_by_line() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    fs::write(
        docs.join("feed.jsonl"),
        concat!(
            "{\"id\":\"a\",\"headline\":\"Rain\",\"body\":\"Flooding hit Brumbleton.\"}\n",
            "{\"id\":\"b\",\"headline\":\"Trunc\n",
            "not json at all\n",
            "[1, 2, 3]\n",
            "{\"id\":\"c\",\"headline\":\"Sun\",\"body\":\"Drought hit Crumbleton.\"}\n",
            "{\"id\":\"d\",\"headline\":\"Cut",
        ),
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 2, "{s}");
    let lines: Vec<u64> = errors_for(&s, "feed.jsonl")
        .iter()
        .map(|e| e["line"].as_u64().expect("a JSON lines error has its line"))
        .collect();
    for l in [2, 3, 6] {
        assert!(lines.contains(&l), "line {l} not reported: {s}");
    }
    assert_eq!(search(&index, "brumbleton", &[]).len(), 1);
    assert_eq!(search(&index, "crumbleton", &[]).len(), 1);
    good_kept(&index);
}

#[test]
fn lines_and_paragraphs_of_many_megabytes() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    // One 6 MB paragraph without a blank line, and a 6 MB word with no space at all.
    let mut para = String::from("Long report\n\n");
    while para.len() < 6 << 20 {
        para.push_str("the committee heard evidence from witnesses for many hours ");
    }
    para.push_str("Flibbertigibbet closed the session.\n");
    fs::write(docs.join("long.txt"), &para).unwrap();
    let word = "x".repeat(6 << 20);
    fs::write(
        docs.join("word.txt"),
        format!("One word\n\nGrommetville {word} end\n"),
    )
    .unwrap();
    let body = "y".repeat(5 << 20);
    fs::write(
        docs.join("big.jsonl"),
        format!(
            "{{\"id\":\"big\",\"headline\":\"Huge line\",\"body\":\"Snorkelbury {body}\"}}\n\
             {{\"id\":\"small\",\"headline\":\"Small\",\"body\":\"Tiddlywick\"}}\n"
        ),
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["articles"], 5, "{s}");
    for q in [
        "flibbertigibbet",
        "grommetville",
        "snorkelbury",
        "tiddlywick",
    ] {
        let hits = search(&index, q, &[]);
        assert_eq!(hits.len(), 1, "{q}");
        // A passage stays small however long the line.
        assert!(hits[0]["passage"].as_str().unwrap().len() <= 1000, "{q}");
    }
    good_kept(&index);
}

#[test]
fn very_deep_folders() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    let mut deep = docs.clone();
    for _ in 0..400 {
        deep.push("d");
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(
        deep.join("deep.txt"),
        "Deep story\n\nSpelunkers reached Abyssford at last.\n",
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["articles"], 2, "{s}");
    assert_eq!(search(&index, "abyssford", &[]).len(), 1);
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_dangling_links() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    fs::create_dir_all(docs.join("a/b")).unwrap();
    std::os::unix::fs::symlink(&docs, docs.join("a/b/up")).unwrap();
    std::os::unix::fs::symlink(docs.join("a"), docs.join("a/b/self")).unwrap();
    std::os::unix::fs::symlink(docs.join("gone.txt"), docs.join("dangling.txt")).unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 2, "{s}");
    assert_eq!(s["articles"], 1, "{s}");
    assert_eq!(one_error(&s, "up")["kind"], "symlink_loop", "{s}");
    assert_eq!(one_error(&s, "self")["kind"], "symlink_loop", "{s}");
    assert_eq!(one_error(&s, "dangling.txt")["kind"], "not_found", "{s}");
    good_kept(&index);
}

/// True when this process runs as root (then file permissions do not stop reads).
#[cfg(unix)]
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn unreadable_files_and_folders() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    fs::write(docs.join("secret.txt"), "Secret\n\nHidden words.\n").unwrap();
    fs::set_permissions(docs.join("secret.txt"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::create_dir_all(docs.join("locked")).unwrap();
    fs::write(docs.join("locked/x.txt"), "X\n\nY.\n").unwrap();
    fs::set_permissions(docs.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    let index = tmp.path().join("idx");
    let mut cmd = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_newsindex")));
    cmd.arg("ingest")
        .arg(&docs)
        .arg("--index")
        .arg(&index)
        .arg("--json");
    if is_root() {
        // Root reads anything: run the binary as `nobody` so that permissions apply.
        for p in [tmp.path(), docs.as_path()] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o777)).unwrap();
        }
        fs::set_permissions(docs.join("good.txt"), fs::Permissions::from_mode(0o644)).unwrap();
        cmd.uid(65534).gid(65534);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: cannot run the binary as another user here ({e})");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if is_root() && stdout.trim().is_empty() {
        // e.g. the build folder is not readable by `nobody` on this machine.
        eprintln!(
            "skipped: the binary did not run as nobody: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let s: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(out.status.code(), Some(2), "{s}");
    assert_eq!(s["articles"], 1, "{s}");
    let secret = one_error(&s, "secret.txt");
    assert!(
        secret["reason"].as_str().unwrap().contains("ermission"),
        "{s}"
    );
    assert_eq!(one_error(&s, "locked")["kind"], "unreadable", "{s}");
}

#[cfg(unix)]
#[test]
fn a_fifo_does_not_hang_the_walk() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    let fifo = docs.join("pipe.txt");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo not available");
        return;
    }
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert!(code == 0 || code == 2, "{s}");
    assert_eq!(s["articles"], 1, "{s}");
    good_kept(&index);
}

#[test]
fn files_vanishing_while_the_walk_runs() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("in");
    fs::create_dir_all(&docs).unwrap();
    let n = 3000;
    for i in 0..n {
        fs::write(
            docs.join(format!("{i:05}.txt")),
            format!("Story {i}\n\nNumber {i} of the vanishing series, about harbour cranes.\n"),
        )
        .unwrap();
    }
    let index = tmp.path().join("idx");
    let child = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_newsindex")))
        .arg("ingest")
        .arg(&docs)
        .arg("--index")
        .arg(&index)
        .args(["--json", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Delete every other file, from the end backwards, while the ingest runs.
    let mut removed = 0;
    for i in (0..n).rev().step_by(2) {
        if fs::remove_file(docs.join(format!("{i:05}.txt"))).is_ok() {
            removed += 1;
        }
    }
    let out = child.wait_with_output().unwrap();
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = out.status.code().unwrap();
    assert!(code == 0 || code == 2, "{s}");
    // Every file is either indexed or reported as vanished (by the walk or when read);
    // nothing else goes wrong, and every file that stayed is indexed.
    let errors = s["errors"].as_array().unwrap();
    assert!(
        errors.iter().all(|e| e["kind"] == "not_found"),
        "other errors"
    );
    let articles = s["articles"].as_u64().unwrap();
    let found = s["files"].as_u64().unwrap();
    assert!(articles <= found && articles + errors.len() as u64 >= found);
    assert!(
        articles >= (n - removed) as u64,
        "a file that stayed was lost"
    );
    assert_eq!(
        stats(&index)["articles"].as_u64().unwrap(),
        s["articles"].as_u64().unwrap()
    );
}

#[test]
fn strict_stops_at_the_first_error() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    fs::write(docs.join("a_empty.txt"), "").unwrap();
    let index = tmp.path().join("idx");
    let errors_json = tmp.path().join("errors.json");
    let out = run(&[
        "ingest",
        docs.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--strict",
        "--errors-json",
        errors_json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--strict"), "{stderr}");
    assert!(stderr.contains("a_empty.txt"), "{stderr}");
    // The stop still writes the error that caused it.
    let errors: serde_json::Value =
        serde_json::from_slice(&fs::read(&errors_json).expect("--errors-json written")).unwrap();
    let errors = errors.as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0]["path"].as_str().unwrap().ends_with("a_empty.txt"));
    assert_eq!(errors[0]["kind"], "empty");
    // Walked in order, a_empty.txt comes before good.txt: nothing after it was indexed.
    assert_eq!(stats(&index)["articles"], 0);

    // Without the bad file, --strict indexes everything and exits 0.
    fs::remove_file(docs.join("a_empty.txt")).unwrap();
    let (s, code) = ingest(&[&docs], &index, &["--strict"]);
    assert_eq!(code, 0, "{s}");
    good_kept(&index);
}

#[test]
fn errors_json_lists_every_error_and_the_summary_counts_kinds() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    fs::write(docs.join("e1.txt"), "").unwrap();
    fs::write(docs.join("e2.txt"), "").unwrap();
    fs::write(docs.join("bin.txt"), b"\x00\x00\x00").unwrap();
    fs::write(
        docs.join("f.jsonl"),
        "{\n{\"id\":\"ok\",\"headline\":\"H\",\"body\":\"B\"}\n",
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let errors_file = tmp.path().join("errors.json");
    let out = run(&[
        "ingest",
        docs.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--errors-json",
        errors_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("errors 4 ("), "{stdout}");
    assert!(stdout.contains("empty 2"), "{stdout}");
    assert!(stdout.contains("binary 1"), "{stdout}");
    let errors: Vec<Value> = serde_json::from_slice(&fs::read(&errors_file).unwrap()).unwrap();
    assert_eq!(errors.len(), 4, "{errors:?}");
    for e in &errors {
        assert!(e["path"].as_str().unwrap().starts_with('/'), "{e}");
        assert!(!e["kind"].as_str().unwrap().is_empty());
        assert!(!e["reason"].as_str().unwrap().is_empty());
    }
    assert!(errors.iter().any(|e| e["line"] == 1));
}

#[test]
fn exit_codes_ok_partial_nothing() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    let (s, code) = ingest(&[&docs], &tmp.path().join("i1"), &[]);
    assert_eq!(code, 0, "{s}");
    fs::write(docs.join("e.txt"), "").unwrap();
    let (s, code) = ingest(&[&docs], &tmp.path().join("i2"), &[]);
    assert_eq!(code, 2, "{s}");
    let bad = tmp.path().join("bad");
    fs::create_dir_all(&bad).unwrap();
    fs::write(bad.join("e.txt"), "").unwrap();
    fs::write(bad.join("b.txt"), b"\x00").unwrap();
    let (s, code) = ingest(&[&bad], &tmp.path().join("i3"), &[]);
    assert_eq!(code, 3, "{s}");
    let (s, code) = ingest(&[&tmp.path().join("nope")], &tmp.path().join("i4"), &[]);
    assert_eq!(code, 3, "{s}");
}

/// Peak resident memory (VmHWM, kB) of a running process, or None once it has exited.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

/// Writes one JSON lines file of about `mb` MB (1.4 kB articles, then a last one naming
/// "Zebulon"), ingests it alone and returns (articles written, the run's summary, peak RSS kB).
#[cfg(target_os = "linux")]
fn ingest_one_big_file(mb: usize) -> (u64, Value, u64) {
    use std::io::Write;
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("in");
    fs::create_dir_all(&docs).unwrap();
    let mut f = std::io::BufWriter::new(fs::File::create(docs.join("huge.jsonl")).unwrap());
    let filler =
        "the council met again on tuesday and heard evidence from many witnesses ".repeat(20);
    let mut n = 0u64;
    let mut written = 0usize;
    while written < mb << 20 {
        let line = format!(
            "{{\"id\":\"h{n}\",\"headline\":\"Report {n}\",\"body\":\"Item {n}. {filler}\"}}\n"
        );
        f.write_all(line.as_bytes()).unwrap();
        written += line.len();
        n += 1;
    }
    f.write_all(
        b"{\"id\":\"last\",\"headline\":\"Final\",\"body\":\"Zebulon closed the file.\"}\n",
    )
    .unwrap();
    n += 1;
    drop(f);
    let index = tmp.path().join("idx");
    let child = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_newsindex")))
        .arg("ingest")
        .arg(&docs)
        .arg("--index")
        .arg(&index)
        .args([
            "--json",
            "--quiet",
            "--no-entities",
            // The smallest writer heap, so both sizes fill it: what differs between them is
            // then what the run keeps per article, not the heap filling up.
            "--memory",
            "16",
            "--threads",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let watcher = std::thread::spawn(move || {
        while let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        peak
    });
    let out = child.wait_with_output().unwrap();
    let peak_kb = watcher.join().unwrap();
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert_eq!(search(&index, "zebulon", &[]).len(), 1);
    (n, s, peak_kb)
}

/// A single 200 MB JSON lines file is streamed: indexed whole, with memory below its size, and
/// memory grows far more slowly than the file. Going from 40 MB to 200 MB of input (30,000 to
/// 140,000 articles) costs what is kept per article until the file is committed (ids and
/// content hashes, the file's record) and larger merges: 135 to 166 MB against 97 to 115 MB,
/// so 20 to 70 MB, never the text: a file read whole would cost at least its 200 MB, and the
/// 160 MB it grew by. (The bounds leave room for the noise between runs: a bound of 160 MB,
/// set from a first measurement of 129 MB, failed on a loaded machine.)
#[cfg(target_os = "linux")]
#[test]
fn a_single_200_mb_file_is_streamed() {
    let (n_small, s_small, small_kb) = ingest_one_big_file(40);
    assert_eq!(s_small["articles"].as_u64().unwrap(), n_small, "{s_small}");
    let (n, s, peak_kb) = ingest_one_big_file(200);
    assert_eq!(s["articles"].as_u64().unwrap(), n, "{s}");
    eprintln!(
        "one JSON lines file: 40 MB peak RSS {} MB; 200 MB peak RSS {} MB",
        small_kb / 1024,
        peak_kb / 1024
    );
    assert!(
        peak_kb < 200 * 1024,
        "peak RSS {} MB for a 200 MB file: it was not streamed",
        peak_kb / 1024
    );
    let growth_kb = peak_kb.saturating_sub(small_kb);
    assert!(
        growth_kb < 110 * 1024,
        "160 MB more input cost {} MB more memory: memory follows the file size",
        growth_kb / 1024
    );
}

#[test]
fn json_fields_of_the_wrong_type() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    fs::write(
        docs.join("types.jsonl"),
        concat!(
            "{\"id\":\"ok1\",\"headline\":\"Fine\",\"body\":\"Plumbley reopened the bridge.\"}\n",
            "{\"id\":\"bad1\",\"headline\":{\"nested\":true},\"body\":\"x\"}\n",
            "{\"id\":\"bad2\",\"headline\":\"H\",\"body\":12345}\n",
            "{\"id\":\"ok2\",\"headline\":\"Fine too\",\"body\":\"Quarrington won the vote.\"}\n",
        ),
    )
    .unwrap();
    fs::write(
        docs.join("types.json"),
        "[{\"id\":\"j1\",\"headline\":\"Good\",\"body\":\"Snodbury held the derby.\"},\
          {\"id\":\"j2\",\"headline\":[1,2],\"body\":false}]",
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 2, "{s}");
    let lines: Vec<u64> = errors_for(&s, "types.jsonl")
        .iter()
        .filter_map(|e| e["line"].as_u64())
        .collect();
    assert!(lines.contains(&2) && lines.contains(&3), "{s}");
    one_error(&s, "types.json");
    for q in ["plumbley", "quarrington", "snodbury"] {
        assert_eq!(search(&index, q, &[]).len(), 1, "{q}: {s}");
    }
    good_kept(&index);
}

#[test]
fn sgml_with_unclosed_tags() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    fs::write(
        docs.join("wire.sgm"),
        concat!(
            "<REUTERS NEWID=\"1\"><DATE>26-FEB-1987 15:01:01.79</DATE><TEXT><TITLE>Cocoa up</TITLE>",
            "<BODY>Gribbleton cocoa prices rose.</BODY></TEXT></REUTERS>\n",
            "<REUTERS NEWID=\"2\"><TEXT><TITLE>Never closed<BODY>Body without its end\n",
            "<REUTERS NEWID=\"3\"><TEXT><TITLE>Tin down</TITLE>",
            "<BODY>Wimbleford tin prices fell.</BODY></TEXT></REUTERS>\n",
            "<REUTERS NEWID=\"4\"><TEXT><TITLE>Cut off at the end of the file",
        ),
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert!(code == 0 || code == 2, "{s}");
    // The complete articles are indexed whatever happens to the broken ones.
    assert_eq!(search(&index, "gribbleton", &[]).len(), 1, "{s}");
    assert_eq!(search(&index, "wimbleford", &[]).len(), 1, "{s}");
    // The article cut off at the end of the file is reported.
    let e = one_error(&s, "wire.sgm");
    eprintln!("sgml errors: {:?}", errors_for(&s, "wire.sgm"));
    assert!(!e["kind"].as_str().unwrap().is_empty());
    good_kept(&index);
}

/// A `.json` export is read an item at a time: an item that is not valid JSON is reported
/// with its line and its place in the array, and every other item is kept; a file whose
/// brackets do not match fails whole, naming the line.
#[test]
fn a_bad_item_in_a_json_array_loses_only_itself() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    fs::write(
        docs.join("export.json"),
        concat!(
            "{\"status\": \"ok\",\n \"articles\": [\n",
            "  {\"headline\": \"Ferry\", \"body\": \"Quillhaven ordered a ferry.\"},\n",
            "  {\"headline\": \"No comma\" \"body\": \"Dunmarsh lost a comma.\"},\n",
            "  {\"headline\": \"Bridge\", \"body\": \"Marrowby opened a bridge.\"}\n",
            " ]}\n",
        ),
    )
    .unwrap();
    fs::write(
        docs.join("broken.json"),
        "[{\"headline\": \"Tunnel\", \"body\": \"Stoatley dug a tunnel.\"},\n {\"a\": [1}]\n",
    )
    .unwrap();
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 2, "{s}");
    let e = one_error(&s, "export.json");
    assert_eq!(
        (e["kind"].as_str(), e["line"].as_u64()),
        (Some("invalid_json"), Some(4)),
        "{s}"
    );
    assert!(
        e["reason"].as_str().unwrap().starts_with("articles[1]: "),
        "{s}"
    );
    for q in ["quillhaven", "marrowby"] {
        assert_eq!(search(&index, q, &[]).len(), 1, "{q}: {s}");
    }
    assert!(search(&index, "dunmarsh", &[]).is_empty(), "{s}");
    let e = one_error(&s, "broken.json");
    assert_eq!(e["kind"], "invalid_json", "{s}");
    assert!(e["reason"].as_str().unwrap().contains("line 2"), "{s}");
    assert!(search(&index, "stoatley", &[]).is_empty(), "{s}");
    good_kept(&index);
}

/// A text or HTML file, read whole as one article, is refused past 256 MiB by its size alone,
/// before it is read; the run goes on.
#[test]
fn huge_text_and_html_files_are_refused_by_their_size() {
    let tmp = TempDir::new().unwrap();
    let docs = with_good(&tmp);
    for name in ["huge.txt", "huge.html"] {
        // Sparse: no disk space used, and nothing to read if the size is checked first.
        let f = fs::File::create(docs.join(name)).unwrap();
        f.set_len(300 << 20).unwrap();
    }
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 2, "{s}");
    for name in ["huge.txt", "huge.html"] {
        let e = one_error(&s, name);
        assert_eq!(e["kind"], "too_large", "{s}");
        assert!(e["reason"].as_str().unwrap().contains("256 MiB"), "{s}");
    }
    good_kept(&index);
}
