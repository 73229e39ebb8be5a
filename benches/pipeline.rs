//! Criterion benchmarks of each pipeline stage on fixed inputs:
//! parse each format, tokenize + tag entities, index a fixed batch, passage search, mentions.
//!
//! Inputs are the sample corpus in `data/sample` (always present), rendered into every input
//! format, plus the real corpora in `../shared/corpora` when they are beside the repository.
//! Run: `cargo bench --bench pipeline` (add `-- parse` etc. to pick a group).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use newsindex::entities::Tagger;
use newsindex::index::writer::{ingest, IngestOptions, NoProgress};
use newsindex::index::NewsIndex;
use newsindex::ingest::{parse_bytes, Article, Format, ParseOptions};
use newsindex::search::{mentions::mentions, search, SearchOptions};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The sample corpus as articles.
fn sample_articles() -> Vec<Article> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root().join("data/sample")).sort_by_file_name() {
        let e = e.unwrap();
        let Some(format) = newsindex::ingest::detect_format(e.path()) else {
            continue;
        };
        if !e.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        out.extend(
            parse_bytes(e.path(), &bytes, format, &ParseOptions::default())
                .unwrap()
                .articles,
        );
    }
    out
}

/// The same articles rendered in each format, repeated to about 1 MB.
fn rendered(articles: &[Article]) -> Vec<(Format, &'static str, Vec<u8>)> {
    let reps = 1
        + (1 << 20)
            / articles
                .iter()
                .map(|a| a.body.len() + a.headline.len())
                .sum::<usize>()
                .max(1);
    let all: Vec<&Article> = (0..reps).flat_map(|_| articles.iter()).collect();
    let jsonl: String = all
        .iter()
        .map(|a| {
            serde_json::json!({"headline": a.headline, "body": a.body, "date": a.date}).to_string()
                + "\n"
        })
        .collect();
    let json = serde_json::to_vec(
        &all.iter()
            .map(|a| serde_json::json!({"headline": a.headline, "body": a.body}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["headline", "body", "date"]).unwrap();
    for a in &all {
        csv.write_record([
            a.headline.as_str(),
            a.body.as_str(),
            a.date.as_deref().unwrap_or(""),
        ])
        .unwrap();
    }
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let sgml: String = all
        .iter()
        .enumerate()
        .map(|(i, a)| {
            format!(
                "<REUTERS NEWID=\"{i}\">\n<DATE>26-FEB-1987 15:01:01.79</DATE>\n<TOPICS><D>trade</D></TOPICS>\n<TEXT>\n<TITLE>{}</TITLE>\n<BODY>{}\n Reuter\n&#3;</BODY></TEXT>\n</REUTERS>\n",
                esc(&a.headline),
                esc(&a.body)
            )
        })
        .collect();
    let a0 = &articles[0];
    let html = format!(
        "<html><head><title>{}</title></head><body><nav>Home</nav><article><h1>{}</h1>{}</article></body></html>",
        esc(&a0.headline),
        esc(&a0.headline),
        a0.body.split("\n\n").map(|p| format!("<p>{}</p>", esc(p))).collect::<String>()
    );
    let text = format!("{}\n\n{}\n", a0.headline, a0.body);
    vec![
        (Format::Text, "text", text.into_bytes()),
        (Format::Html, "html", html.into_bytes()),
        (Format::JsonLines, "jsonl", jsonl.into_bytes()),
        (Format::Json, "json", json),
        (Format::Csv, "csv", csv.into_inner().unwrap()),
        (Format::Sgml, "sgml", sgml.into_bytes()),
    ]
}

fn bench_parse(c: &mut Criterion) {
    let articles = sample_articles();
    let mut g = c.benchmark_group("parse");
    for (format, name, bytes) in rendered(&articles) {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let path = PathBuf::from(format!("bench.{name}"));
        g.bench_with_input(BenchmarkId::from_parameter(name), &bytes, |b, bytes| {
            b.iter(|| {
                parse_bytes(&path, black_box(bytes), format, &ParseOptions::default()).unwrap()
            })
        });
    }
    g.finish();
}

fn bench_tag(c: &mut Criterion) {
    let articles = sample_articles();
    let tagger = Tagger::builtin();
    let words: usize = articles
        .iter()
        .map(|a| a.body.split_whitespace().count() + a.headline.split_whitespace().count())
        .sum();
    let mut g = c.benchmark_group("entities");
    // Throughput in whitespace-separated words (the tagger's tokens are slightly more).
    g.throughput(Throughput::Elements(words as u64));
    g.bench_function("tokenize_tag_resolve_sample", |b| {
        b.iter(|| tag_all(tagger, &articles))
    });
    g.finish();

    // Real news, when the corpora are beside the repository: BBC's 2,225 stories have a
    // vocabulary large enough that the tagger's per-thread word cache fills and is reset, as it
    // is during an ingest (the sample corpus fits in it and is tagged from the cache).
    let bbc = bbc_articles();
    if !bbc.is_empty() {
        let bytes: usize = bbc.iter().map(|a| a.headline.len() + a.body.len()).sum();
        let mut g = c.benchmark_group("entities");
        g.sample_size(10);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("tokenize_tag_resolve_bbc", |b| {
            b.iter(|| tag_all(tagger, &bbc))
        });
        g.finish();
    }
}

/// Tags every article, as an ingest does.
fn tag_all(tagger: &Tagger, articles: &[Article]) {
    for a in articles {
        black_box(tagger.tag_document(&a.headline, &a.body));
    }
}

/// BBC's stories as articles, or none when the corpora are not beside the repository.
fn bbc_articles() -> Vec<Article> {
    let dir = root().join("../shared/corpora/bbc");
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        if !e.file_type().is_file() || e.path().extension().is_none_or(|x| x != "txt") {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        if let Ok(parsed) = parse_bytes(e.path(), &bytes, Format::Text, &ParseOptions::default()) {
            out.extend(parsed.articles);
        }
    }
    out
}

fn bench_index_and_search(c: &mut Criterion) {
    let tmp = tempfile::TempDir::new().unwrap();
    let sample = root().join("data/sample");
    let bytes: u64 = walkdir::WalkDir::new(&sample)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    let mut n = 0;
    g.bench_function("sample_batch_full_pipeline", |b| {
        b.iter(|| {
            n += 1;
            let dir = tmp.path().join(format!("i{n}"));
            let index = NewsIndex::open_or_create(&dir).unwrap();
            black_box(
                ingest(
                    &index,
                    std::slice::from_ref(&sample),
                    &IngestOptions::default(),
                    &NoProgress,
                )
                .unwrap(),
            );
        })
    });
    g.finish();

    // Search over BBC when the corpora are present, else over the sample.
    let corpus = root().join("../shared/corpora/bbc");
    let corpus = if corpus.exists() { corpus } else { sample };
    let dir = tmp.path().join("search");
    let index = NewsIndex::open_or_create(&dir).unwrap();
    ingest(&index, &[corpus], &IngestOptions::default(), &NoProgress).unwrap();
    let queries = newsindex::bench::default_queries(&index, 50).unwrap();
    let mut g = c.benchmark_group("search");
    g.bench_function("passages_top10", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(search(&index, &queries[i], &SearchOptions::default()).unwrap())
        })
    });
    let people: Vec<String> = newsindex::search::mentions::top_entities(
        &index,
        None,
        Some(newsindex::entities::EntityType::Person),
        20,
    )
    .unwrap()
    .into_iter()
    .map(|e| e.name)
    .collect();
    if !people.is_empty() {
        g.bench_function("mentions_top_people", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % people.len();
                black_box(mentions(&index, &people[i], None).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_parse, bench_tag, bench_index_and_search);
criterion_main!(benches);
