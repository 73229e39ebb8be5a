//! `newsindex bench` through the real binary on BBC: its report must agree with what the
//! index it built actually holds, and with the plain tantivy build it compares against.

mod common;

use common::*;
use serde_json::Value;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn bench_report_matches_the_index_it_built() {
    let bbc = corpora().join("bbc");
    let tmp = tempfile::TempDir::new().unwrap();
    let index = tmp.path().join("idx");
    let bbc_arg = bbc.to_str().unwrap();
    let args = [
        "bench",
        bbc_arg,
        "--compare-plain",
        "--json",
        "--rounds",
        "2",
    ];
    let lines = json_lines(&args, &index);
    assert_eq!(lines.len(), 1, "bench --json prints one object");
    let r = &lines[0];

    // Every BBC file is one article; duplicates are counted, not indexed.
    let files: Vec<_> = walkdir::WalkDir::new(&bbc)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "txt"))
        .collect();
    assert_eq!(r["files"], files.len());
    assert_eq!(r["errors"], 0);
    let (articles, dups) = (
        r["articles"].as_u64().unwrap(),
        r["duplicates"].as_u64().unwrap(),
    );
    assert_eq!(articles + dups, files.len() as u64);
    assert!(dups > 0, "BBC has duplicate articles");
    let bytes: u64 = files.iter().map(|e| e.metadata().unwrap().len()).sum();
    assert_eq!(r["corpus_bytes"], bytes);

    // The index it reports is the one on disk, and `stats` sees the same articles.
    let on_disk: u64 = walkdir::WalkDir::new(&index)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert_eq!(r["index_bytes"], on_disk);
    let stats = json_lines(&["stats", "--json"], &index);
    assert_eq!(stats[0]["articles"], articles, "stats: {}", stats[0]);
    assert_eq!(stats[0]["segments"], r["segments"], "stats: {}", stats[0]);
    assert!(r["tail_merged"].as_u64().is_some(), "{r}");

    // Stages in pipeline order, with sane figures; MB/s is corpus MB over the stage's seconds.
    let stages = r["stages"].as_array().unwrap();
    let names: Vec<&str> = stages
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["read", "parse", "entities", "passages", "index", "commit", "merge", "total"]
    );
    for s in stages {
        let secs = f(&s["seconds"]);
        assert!(secs >= 0.0, "{s}");
        if secs > 0.01 {
            let mbs = bytes as f64 / 1e6 / secs;
            assert!((f(&s["mb_per_s"]) - mbs).abs() / mbs < 1e-6, "{s}");
        } else if secs < 1e-3 {
            // No rate over no time (a merge that never ran), not a huge number.
            for rate in ["articles_per_s", "mb_per_s", "tokens_per_s"] {
                assert!(s[rate].is_null(), "{s}");
            }
        }
    }
    assert!(f(&stages[2]["seconds"]) > 0.0, "tagging takes time");
    assert!((f(&stages[7]["seconds"]) - f(&r["seconds"])).abs() < 1e-9);
    assert!(f(&r["peak_rss_mb"]) > 10.0);
    assert!(f(&r["peak_anon_mb"]) > 10.0 && f(&r["peak_anon_mb"]) <= f(&r["peak_rss_mb"]));

    // CPU by kind of thread: tagging BBC (about half a CPU second) ran in newsindex's
    // preparing threads, one per core at most, indexing in tantivy's; no group used more CPU
    // than its threads had, nor the build more than the machine's cores (with a sample
    // period's slack).
    let groups = r["thread_cpu"].as_array().unwrap();
    let group = |name: &str| {
        groups
            .iter()
            .find(|g| g["group"] == name)
            .unwrap_or_else(|| panic!("no {name} in {groups:?}"))
    };
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    let preparing = group("newsindex preparing");
    assert!(f(&preparing["cpu_seconds"]) > 0.1, "{groups:?}");
    assert!(f(&preparing["concurrent"]) <= cores, "{groups:?}");
    assert!(
        f(&group("tantivy indexing")["cpu_seconds"]) > 0.0,
        "{groups:?}"
    );
    for g in groups {
        assert!(f(&g["busy"]) <= 1.1, "{g}");
    }
    let cpu: f64 = groups.iter().map(|g| f(&g["cpu_seconds"])).sum();
    assert!(cpu <= f(&r["seconds"]) * cores * 1.1 + 0.1, "{groups:?}");

    // Each preparing stage's CPU: a thread uses at most the time that passes, tagging uses
    // some, and the four stages together are work the preparing threads did (a stage charged
    // twice, or a thread's whole CPU charged to each stage, would break this).
    let mut stages_cpu = 0.0;
    for s in &stages[..4] {
        let (secs, cpu) = (f(&s["seconds"]), f(&s["cpu_seconds"]));
        assert!(0.0 <= cpu && cpu <= secs + 1e-3, "{s}");
        stages_cpu += cpu;
    }
    assert!(
        f(&stages[2]["cpu_seconds"]) > 0.05,
        "tagging BBC: {}",
        stages[2]
    );
    assert!(
        stages_cpu <= f(&preparing["cpu_seconds"]) * 1.2 + 0.1,
        "{stages:?} {groups:?}"
    );
    for s in &stages[4..] {
        assert!(s["cpu_seconds"].is_null(), "{s}");
    }

    // Latencies: ordered percentiles over queries x rounds runs.
    for key in ["search_rank", "search_full"] {
        let l = &r[key];
        assert_eq!(l["queries"], 200, "{key}: 200 queries from the headlines");
        assert_eq!(l["runs"], 400, "{key}");
        assert!(0.0 < f(&l["p50_ms"]), "{key}");
        assert!(f(&l["p50_ms"]) <= f(&l["p95_ms"]) && f(&l["p95_ms"]) <= f(&l["p99_ms"]));
    }

    // End to end: a new `newsindex` process per run, the first 20 queries, and the person.
    let e2e = &r["search_end_to_end"];
    assert_eq!(e2e["queries"], 20);
    assert_eq!(e2e["runs"], 40);
    assert!(
        f(&e2e["p50_ms"]) > f(&r["search_full"]["p50_ms"]),
        "a new process costs more than a search in one: {e2e}"
    );
    assert_eq!(r["mentions_end_to_end"]["runs"], 5);

    // The most mentioned person: `mentions` lists exactly as many as the report says, and no
    // person's `entities` count is higher.
    let (name, n) = (
        r["top_person"][0].as_str().unwrap(),
        r["top_person"][1].as_u64().unwrap(),
    );
    let lines = json_lines(&["mentions", name, "--json"], &index);
    let listed = lines.iter().filter(|l| l.get("summary").is_none()).count();
    assert_eq!(listed as u64, n, "mentions of {name}");
    let top = json_lines(
        &["entities", "--type", "person", "-n", "1", "--json"],
        &index,
    );
    assert_eq!(top[0]["name"], name, "{}", top[0]);

    // The plain build indexed the same files, every article (it does not de-duplicate).
    let p = &r["plain"];
    assert_eq!(p["bytes"], bytes);
    assert_eq!(p["articles"], files.len());
    assert!(f(&p["index_bytes"]) > 0.0);
    assert_eq!(p["search_top10"]["runs"], 400);
    assert_eq!(p["search_top10_threads"]["runs"], 400);
    assert!(p["segments"].as_u64().unwrap() >= 1);
    let ratio = f(&r["mb_per_s"]) / f(&p["mb_per_s"]);
    assert!((f(&r["throughput_ratio"]) - ratio).abs() < 1e-9);
    // Plain tantivy's build used CPU, no more than the machine had in its time, and the CPU
    // ratio is the two builds' thread CPU over each other.
    let plain_cpu = f(&p["cpu_seconds"]);
    assert!(plain_cpu > 0.0, "{p}");
    assert!(plain_cpu <= f(&p["seconds"]) * cores * 1.1 + 0.1, "{p}");
    assert!((f(&r["cpu_ratio"]) - cpu / plain_cpu).abs() < 1e-9, "{r}");
}

#[test]
fn bench_optimize_reports_the_merge_and_leaves_the_index_merged() {
    // A small indexing heap leaves BBC in several segments for the merge to join.
    let bbc = corpora().join("bbc");
    let tmp = tempfile::TempDir::new().unwrap();
    let index = tmp.path().join("idx");
    let args = [
        "bench",
        bbc.to_str().unwrap(),
        "--optimize",
        "--memory",
        "15",
        "--json",
        "--rounds",
        "1",
    ];
    let r = &json_lines(&args, &index)[0];
    let o = &r["optimize"];
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    let (before, after) = (
        o["segments_before"].as_u64().unwrap(),
        o["segments_after"].as_u64().unwrap(),
    );
    assert!(before >= 2, "several segments to merge: {o}");
    assert_eq!(after, before.min(cores), "one segment per core: {o}");
    // The index on disk is the merged one, and still answers for every article.
    let stats = &json_lines(&["stats", "--json"], &index)[0];
    assert_eq!(stats["segments"].as_u64().unwrap(), after, "{stats}");
    assert_eq!(stats["articles"], r["articles"]);
    // Build and merge together are slower than the build alone; memory is reported.
    assert!(f(&o["seconds"]) > 0.0, "{o}");
    let combined = f(&r["corpus_bytes"]) / 1e6 / (f(&r["seconds"]) + f(&o["seconds"]));
    assert!(
        (f(&o["mb_per_s"]) - combined).abs() / combined < 1e-9,
        "{o}"
    );
    assert!(f(&o["mb_per_s"]) < f(&r["mb_per_s"]));
    assert!(f(&o["peak_anon_mb"]) > 1.0 && f(&o["peak_anon_mb"]) <= f(&o["peak_rss_mb"]));
    assert!(
        o.get("throughput_ratio").is_none(),
        "no plain build, no ratio: {o}"
    );
    assert!(r.get("cpu_ratio").is_none(), "no plain build, no CPU ratio");
}

/// A corpus whose JSON names its fields otherwise is benchmarked as `ingest --field` reads it,
/// by both builds: without the mapping there is nothing to index.
#[test]
fn bench_reads_the_fields_field_maps() {
    let tmp = tempfile::TempDir::new().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let story = |hed: &str, copy: &str| serde_json::json!({"story": {"hed": hed, "copy": copy}});
    let items = serde_json::json!({"results": [
        story("Harbour cranes idle as dockers strike",
              "Dockers at the port of Quillhaven walked out on Monday over pay.\n\nThe union said the strike would last a week."),
        story("Quillhaven council backs new ferry",
              "The council voted to fund a second ferry.\n\nMayor Odile Farrant said the service would start in spring."),
        story("Farrant defends ferry budget",
              "Mayor Odile Farrant defended the cost of the ferry on Tuesday. Farrant said fares would stay low."),
    ]});
    std::fs::write(corpus.join("wire.json"), items.to_string()).unwrap();
    let dir = corpus.to_str().unwrap();
    let mapped = [
        "bench",
        dir,
        "--field",
        "headline=story.hed",
        "--field",
        "body=story.copy",
        "--compare-plain",
        "--json",
        "--rounds",
        "1",
    ];
    let r = &json_lines(&mapped, &tmp.path().join("a"))[0];
    assert_eq!(
        (r["articles"].as_u64(), r["errors"].as_u64()),
        (Some(3), Some(0)),
        "{r}"
    );
    assert_eq!(r["plain"]["articles"], 3, "{r}");
    assert_eq!(r["top_person"][0], "odile farrant", "{r}");
    let plain = ["bench", dir, "--json", "--rounds", "1"];
    let r = &json_lines(&plain, &tmp.path().join("b"))[0];
    assert_eq!(
        (r["articles"].as_u64(), r["errors"].as_u64()),
        (Some(0), Some(3)),
        "{r}"
    );
    let out = run(&["bench", dir, "--field", "nope=x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--field nope=x"));
}
