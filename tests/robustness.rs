//! Robustness of everything around ingest: bad queries are refused with a clear message,
//! damaged / foreign / newer index folders give clear errors (never a panic) and `check`
//! lists what is wrong, one writer at a time, readers during an ingest.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tempfile::TempDir;

fn sample_index(tmp: &TempDir) -> PathBuf {
    let index = tmp.path().join("idx");
    let (s, code) = ingest(&[&sample()], &index, &[]);
    assert_eq!(code, 0, "{s}");
    index
}

fn no_panic(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{what}: panicked: {stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "{what}: panic exit code");
    assert!(out.status.code().is_some(), "{what}: killed by a signal");
}

fn search_out(index: &Path, q: &str) -> Output {
    run(&["search", q, "--index", index.to_str().unwrap()])
}

#[test]
fn bad_queries_are_refused_with_a_clear_message() {
    let tmp = TempDir::new().unwrap();
    let index = sample_index(&tmp);
    let refused = [
        ("\"unbalanced quote", ""),
        ("nosuchfield:oil", "unknown field"),
        ("date:[2004-13-01 TO 2005]", "date"),
        ("date:[yesterday TO today]", "date"),
        ("", "empty query"),
        ("   ", "empty query"),
        ("(strike AND", ""),
        ("headline:", ""),
        ("NOT strike", ""),
    ];
    for (q, expect) in refused {
        let out = search_out(&index, q);
        no_panic(&out, q);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            // Some of these are read leniently by the parser; that is fine, as an answer.
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{q:?}: {stderr}");
        assert!(stderr.starts_with("newsindex: error:"), "{q:?}: {stderr}");
        assert!(
            stderr.to_lowercase().contains(expect),
            "{q:?}: message should mention {expect:?}: {stderr}"
        );
    }
    // The ones that must be refused, whatever the parser's leniency.
    for q in ["nosuchfield:oil", "date:[2004-13-01 TO 2005]", ""] {
        assert_eq!(search_out(&index, q).status.code(), Some(1), "{q:?}");
    }
    // Odd but valid queries are answered.
    for q in [
        "strike",
        "\"dock workers\"",
        "date:2004",
        "date:[* TO *]",
        "strike^3 OR port~1",
        "ünïcödé 中文 😀",
        "a:b:c",
        "((((strike))))",
        "-",
        "*",
        "\\",
    ] {
        let out = search_out(&index, q);
        no_panic(&out, q);
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "{q:?}: {:?}",
            out.status
        );
    }
}

#[test]
fn huge_limits_do_not_overflow() {
    let tmp = TempDir::new().unwrap();
    let index = sample_index(&tmp);
    for args in [
        vec!["-n", "18446744073709551615"],
        vec!["--per-article", "18446744073709551615"],
        vec!["-n", "0"],
        vec!["--per-article", "0"],
    ] {
        let mut a = vec!["search", "strike", "--index", index.to_str().unwrap()];
        a.extend(args.iter());
        let out = run(&a);
        no_panic(&out, &format!("{args:?}"));
    }
}

/// Index folder fixtures: built once, then damaged in different ways.
fn damaged(tmp: &TempDir, name: &str, damage: impl FnOnce(&Path)) -> PathBuf {
    let index = tmp.path().join(name);
    let (s, code) = ingest(&[&sample()], &index, &[]);
    assert_eq!(code, 0, "{s}");
    damage(&index);
    index
}

fn largest_segment_file(index: &Path, ext: &str) -> PathBuf {
    fs::read_dir(index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap_or_else(|| panic!("no .{ext} file in {}", index.display()))
}

fn check_out(index: &Path) -> (Value, i32, Output) {
    let out = run(&["check", "--json", "--index", index.to_str().unwrap()]);
    no_panic(&out, "check");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let code = out.status.code().unwrap();
    (v, code, out)
}

#[test]
fn check_passes_a_sound_index() {
    let tmp = TempDir::new().unwrap();
    let index = sample_index(&tmp);
    let (r, code, _) = check_out(&index);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["ok"], true);
    assert_eq!(r["articles"], stats(&index)["articles"]);
    assert!(r["passages"].as_u64().unwrap() >= r["articles"].as_u64().unwrap());
    let text = run(&["check", "--index", index.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("ok: no problem found"));
}

#[test]
fn damaged_foreign_and_newer_indexes_give_clear_errors() {
    let tmp = TempDir::new().unwrap();
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        (
            "truncated store",
            damaged(&tmp, "trunc_store", |i| {
                let f = largest_segment_file(i, "store");
                let len = fs::metadata(&f).unwrap().len();
                fs::OpenOptions::new()
                    .write(true)
                    .open(&f)
                    .unwrap()
                    .set_len(len / 2)
                    .unwrap();
            }),
            "",
        ),
        (
            "truncated postings",
            damaged(&tmp, "trunc_idx", |i| {
                let f = largest_segment_file(i, "idx");
                fs::OpenOptions::new()
                    .write(true)
                    .open(&f)
                    .unwrap()
                    .set_len(3)
                    .unwrap();
            }),
            "",
        ),
        (
            "flipped bytes",
            damaged(&tmp, "flipped", |i| {
                let f = largest_segment_file(i, "store");
                let mut b = fs::read(&f).unwrap();
                let mid = b.len() / 2;
                for x in &mut b[mid..mid + 16] {
                    *x ^= 0xFF;
                }
                fs::write(&f, b).unwrap();
            }),
            "",
        ),
        (
            "deleted segment file",
            damaged(&tmp, "deleted", |i| {
                fs::remove_file(largest_segment_file(i, "term")).unwrap();
            }),
            "",
        ),
        (
            "garbled meta.json",
            damaged(&tmp, "garbled", |i| {
                fs::write(i.join("meta.json"), "{\"segments\": [ garbage").unwrap();
            }),
            "meta.json",
        ),
        (
            "empty meta.json",
            damaged(&tmp, "empty_meta", |i| {
                fs::write(i.join("meta.json"), "").unwrap();
            }),
            "meta.json",
        ),
        (
            "no meta.json",
            damaged(&tmp, "no_meta", |i| {
                fs::remove_file(i.join("meta.json")).unwrap();
            }),
            "",
        ),
        (
            "newer version",
            damaged(&tmp, "newer", |i| {
                fs::write(
                    i.join("newsindex.json"),
                    "{\"format\":\"newsindex\",\"schema_version\":999}",
                )
                .unwrap();
            }),
            "newer",
        ),
        (
            "older version",
            damaged(&tmp, "older", |i| {
                fs::write(
                    i.join("newsindex.json"),
                    "{\"format\":\"newsindex\",\"schema_version\":0}",
                )
                .unwrap();
            }),
            "older",
        ),
        (
            "garbled marker",
            damaged(&tmp, "bad_marker", |i| {
                fs::write(i.join("newsindex.json"), "\u{0}\u{1}not json").unwrap();
            }),
            "corrupt",
        ),
        (
            "foreign marker",
            damaged(&tmp, "foreign_marker", |i| {
                fs::write(
                    i.join("newsindex.json"),
                    "{\"format\":\"otherthing\",\"schema_version\":1}",
                )
                .unwrap();
            }),
            "not a newsindex",
        ),
        (
            "tantivy index without marker",
            damaged(&tmp, "no_marker", |i| {
                fs::remove_file(i.join("newsindex.json")).unwrap();
            }),
            "not a newsindex",
        ),
        (
            "a file, not a folder",
            {
                let p = tmp.path().join("plainfile");
                fs::write(&p, "hello").unwrap();
                p
            },
            "",
        ),
    ];
    for (what, index, expect) in &cases {
        let (r, code, _) = check_out(index);
        assert_ne!(code, 0, "{what}: check found nothing: {r}");
        assert_eq!(r["ok"], false, "{what}");
        let problems = r["problems"].as_array().unwrap();
        assert!(!problems.is_empty(), "{what}: {r}");
        let all = problems
            .iter()
            .map(|p| p.as_str().unwrap().to_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains(expect), "{what}: expected {expect:?} in {all}");
        eprintln!("{what}: {}", problems[0]);

        // Every reader refuses or answers; none panics.
        let i = index.to_str().unwrap();
        for args in [
            vec!["stats", "--index", i],
            vec!["search", "strike", "--index", i],
            vec![
                "show",
                "wire/01-dockworkers-threaten-strike.txt",
                "--index",
                i,
            ],
        ] {
            let out = run(&args);
            no_panic(&out, &format!("{what}: {args:?}"));
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.starts_with("newsindex: error:"), "{what}: {stderr}");
            }
        }
        // Ingest into a damaged index fails cleanly or repairs; it never panics.
        let out = run(&[
            "ingest",
            sample().to_str().unwrap(),
            "--index",
            i,
            "--quiet",
        ]);
        no_panic(&out, &format!("{what}: ingest"));
    }
    // Metadata damage is refused by every command, with the reason.
    for name in ["garbled", "newer", "bad_marker", "no_marker"] {
        let out = run(&["stats", "--index", tmp.path().join(name).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
    }
}

#[test]
fn check_finds_broken_links_between_documents() {
    // An index whose article documents were deleted behind newsindex's back: every passage
    // is an orphan, every file record lists missing articles.
    let tmp = TempDir::new().unwrap();
    let index = sample_index(&tmp);
    {
        let ni = newsindex::index::NewsIndex::open(&index).unwrap();
        let mut w: tantivy::IndexWriter = ni.index.writer_with_num_threads(1, 15 << 20).unwrap();
        w.delete_term(tantivy::Term::from_field_text(
            ni.fields.kind,
            newsindex::index::schema::KIND_ARTICLE,
        ));
        w.commit().unwrap();
    }
    let (r, code, _) = check_out(&index);
    assert_ne!(code, 0);
    let all = r["problems"].to_string();
    assert!(all.contains("not in the index"), "{all}");
    assert!(r["problem_count"].as_u64().unwrap() > 10, "{r}");
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_newsindex"))
}

/// A corpus that takes a few seconds to ingest with frequent commits.
fn slow_corpus(tmp: &TempDir) -> PathBuf {
    let docs = tmp.path().join("bbc");
    copy_tree(&corpora().join("bbc"), &docs);
    docs
}

fn spawn(args: &[&std::ffi::OsStr]) -> std::process::Child {
    Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn one_writer_at_a_time_and_readers_during_ingest() {
    let tmp = TempDir::new().unwrap();
    let docs = slow_corpus(&tmp);
    let index = tmp.path().join("idx");
    let first = spawn(&[
        "ingest".as_ref(),
        docs.as_os_str(),
        "--index".as_ref(),
        index.as_os_str(),
        "--json".as_ref(),
        "--commit-every".as_ref(),
        "10".as_ref(),
    ]);
    // Wait for the first commit to be on disk.
    let started = Instant::now();
    while stats_opt(&index).is_none_or(|n| n == 0) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no commit seen"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    // A second writer fails at once, with a clear message.
    let extra = tmp.path().join("extra");
    fs::create_dir_all(&extra).unwrap();
    fs::write(
        extra.join("late.txt"),
        "Late story\n\nQuillsworth arrived after the first ingest.\n",
    )
    .unwrap();
    let t = Instant::now();
    let second = run(&[
        "ingest",
        extra.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
    ]);
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
    assert!(stderr.contains("--wait"), "{stderr}");
    assert!(took < Duration::from_secs(5), "second writer took {took:?}");

    // A waiting writer starts once the first is done.
    let waiter = spawn(&[
        "ingest".as_ref(),
        extra.as_os_str(),
        "--index".as_ref(),
        index.as_os_str(),
        "--json".as_ref(),
        "--wait".as_ref(),
    ]);

    // Readers run during the ingest and see a growing committed count.
    let has_mentions = String::from_utf8_lossy(&run(&["--help"]).stdout).contains("mentions");
    let mut counts = Vec::new();
    let mut reads = 0;
    let mut first = first;
    while first.try_wait().unwrap().is_none() {
        let i = index.to_str().unwrap();
        let st = run(&["stats", "--json", "--index", i]);
        assert!(
            st.status.success(),
            "stats during ingest: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let v: Value = serde_json::from_slice(&st.stdout).unwrap();
        counts.push(v["articles"].as_u64().unwrap());
        let s = run(&["search", "government", "--json", "--index", i]);
        assert!(
            s.status.success(),
            "search during ingest: {}",
            String::from_utf8_lossy(&s.stderr)
        );
        if has_mentions {
            let m = run(&["mentions", "Blair", "--index", i]);
            no_panic(&m, "mentions during ingest");
            assert!(
                m.status.success(),
                "mentions during ingest: {}",
                String::from_utf8_lossy(&m.stderr)
            );
        }
        let c = run(&["check", "--index", i]);
        no_panic(&c, "check during ingest");
        reads += 1;
    }
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success());
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["index_articles"], 2127);
    assert!(reads >= 2, "the ingest ended before readers could run");
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "committed count went backwards: {counts:?}"
    );

    let out = waiter.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("waiting"), "{stderr}");
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    // It started from the first ingest's last commit: one new article, none duplicated.
    assert_eq!(s["articles"], 1, "{s}");
    assert_eq!(s["index_articles"], 2128, "{s}");
    assert_eq!(search(&index, "quillsworth", &[]).len(), 1);
}

fn stats_opt(index: &Path) -> Option<u64> {
    if !index.join("meta.json").exists() {
        return None;
    }
    let out = run(&["stats", "--json", "--index", index.to_str().unwrap()]);
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["articles"].as_u64()
}

/// Damage anywhere in the document store gives an error or an answer, never a panic: 16
/// flipped bytes at 50 places across the largest store file. (tantivy's store reader trusts
/// the offsets inside a block; at some places the flip made it slice out of bounds.)
#[test]
fn flipped_bytes_anywhere_in_the_store_never_panic() {
    let tmp = TempDir::new().unwrap();
    let sound = sample_index(&tmp);
    let store = largest_segment_file(&sound, "store");
    let bytes = fs::read(&store).unwrap();
    let mut errors = 0;
    for step in 0..50 {
        let at = (bytes.len() * step / 50).min(bytes.len() - 16);
        let mut b = bytes.clone();
        for x in &mut b[at..at + 16] {
            *x ^= 0xFF;
        }
        fs::write(&store, &b).unwrap();
        for args in [
            vec!["search", "strike", "--index", sound.to_str().unwrap()],
            vec![
                "search",
                "minister",
                "--json",
                "--index",
                sound.to_str().unwrap(),
            ],
        ] {
            let out = run(&args);
            no_panic(&out, &format!("flip at {at}: {args:?}"));
            if !out.status.success() {
                errors += 1;
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    stderr.starts_with("newsindex: error:"),
                    "flip at {at}: {stderr}"
                );
            }
        }
    }
    fs::write(&store, &bytes).unwrap();
    assert!(errors > 0, "no flip was noticed: the test damages nothing");
    assert!(
        run(&["search", "strike", "--index", sound.to_str().unwrap()])
            .status
            .success()
    );
}

/// `newsindex search ... | head`: the reader closes the pipe before the results are printed.
/// The command ends quietly (killed by SIGPIPE, as Unix tools are), never with a panic.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = TempDir::new().unwrap();
    let index = sample_index(&tmp);
    let i = index.to_str().unwrap();
    for args in [
        vec!["search", "strike", "-n", "50", "--index", i],
        vec!["search", "strike", "--json", "--index", i],
        vec!["stats", "--index", i],
        vec!["mentions", "halvard", "--index", i],
    ] {
        let mut child = Command::new(bin())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command can print anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}
