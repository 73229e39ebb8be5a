//! Any query string is answered or refused with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsindex::index::writer::{ingest, IngestOptions, NoProgress};
use newsindex::index::NewsIndex;
use newsindex::search::{search, Conjunction, SearchOptions};
use once_cell::sync::Lazy;

struct Fixture {
    index: NewsIndex,
    _dir: tempfile::TempDir,
}

/// A tiny index, built once per fuzzing process.
static FIXTURE: Lazy<Fixture> = Lazy::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("a.txt"),
        "Port strike ends\n\nDockers in Rotterdam returned to work on Monday, the union said.\n\nShipping rates fell.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("feed.jsonl"),
        "{\"id\":\"f1\",\"headline\":\"Oil prices rise\",\"body\":\"Crude rose 3% as OPEC cut output.\",\"date\":\"1987-03-02\"}\n\
         {\"id\":\"f2\",\"headline\":\"Café prices\",\"body\":\"Le café coûte £5 à Paris — «cher».\",\"date\":\"2004-11-30\"}\n",
    )
    .unwrap();
    let index = NewsIndex::open_or_create(&dir.path().join("idx")).unwrap();
    let opts = IngestOptions {
        threads: 1,
        memory_bytes: 15 << 20,
        ..Default::default()
    };
    ingest(&index, &[docs], &opts, &NoProgress).unwrap();
    Fixture { index, _dir: dir }
});

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    let fx = &*FIXTURE;
    for conjunction in [Conjunction::Any, Conjunction::All] {
        let opts = SearchOptions {
            limit: 3,
            per_article: 2,
            conjunction,
            ..Default::default()
        };
        let _ = search(&fx.index, q, &opts);
    }
});
