//! Every mention of a person (or organisation, or place) in the archive, and entity facets.
//!
//! Both read the entity columns of article documents (one value per article and entity, see
//! `index::schema`) through fast fields, so listing is exhaustive and never limited to a top k,
//! and no article is opened.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::directory::error::OpenReadError;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, TantivyError, Term};

use super::articles::ArticleIds;
use super::ords;
use crate::entities::EntityType;
use crate::index::mention_data;
use crate::index::mention_store::MentionStore;
use crate::index::schema::{entity_key, parse_entity_count, surname_key, KIND_ARTICLE};
use crate::index::NewsIndex;

/// Titles dropped from a name the user types: `Mr. Chemezov` is `Chemezov`.
const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "sir",
    "dame",
    "lord",
    "lady",
    "president",
    "minister",
    "senator",
    "gov",
    "governor",
    "gen",
    "general",
    "col",
    "capt",
    "rev",
    "judge",
];

/// A name as a user types it, normalised: lowercased, titles and possessive stripped.
pub fn normalize_name(name: &str) -> String {
    let mut words: Vec<String> = name.split_whitespace().map(|w| w.to_lowercase()).collect();
    while words.len() > 1 && TITLES.contains(&words[0].trim_end_matches('.')) {
        words.remove(0);
    }
    if let Some(last) = words.last_mut() {
        for suffix in ["'s", "’s", "'", "’"] {
            if let Some(stripped) = last.strip_suffix(suffix) {
                *last = stripped.to_string();
                break;
            }
        }
    }
    words.join(" ")
}

/// One mention, with the context around it.
#[derive(Debug, Clone, Serialize)]
pub struct MentionHit {
    pub article_id: String,
    pub headline: String,
    pub date: Option<String>,
    pub kind: String,
    pub canonical: String,
    pub surface: String,
    /// Char offsets of the mention in the body (or in the headline when `in_headline`).
    pub start: usize,
    pub end: usize,
    pub in_headline: bool,
    /// The context of the mention: the sentence around it, within its line and at most about
    /// 110 bytes either side (the headline itself for a headline mention).
    pub passage: String,
    /// Char offsets of `passage` in the body (or headline).
    pub passage_start: usize,
    pub passage_end: usize,
    /// Char offsets of the mention inside `passage`.
    pub highlight: (usize, usize),
}

/// One mention as streamed by [`for_each_article`], borrowing from the index's records.
/// Same fields (and JSON) as [`MentionHit`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MentionRef<'a> {
    pub article_id: &'a str,
    pub headline: &'a str,
    pub date: Option<&'a str>,
    pub kind: &'a str,
    pub canonical: &'a str,
    pub surface: &'a str,
    pub start: usize,
    pub end: usize,
    pub in_headline: bool,
    pub passage: &'a str,
    pub passage_start: usize,
    pub passage_end: usize,
    pub highlight: (usize, usize),
}

impl MentionRef<'_> {
    pub fn to_hit(&self) -> MentionHit {
        MentionHit {
            article_id: self.article_id.to_string(),
            headline: self.headline.to_string(),
            date: self.date.map(str::to_string),
            kind: self.kind.to_string(),
            canonical: self.canonical.to_string(),
            surface: self.surface.to_string(),
            start: self.start,
            end: self.end,
            in_headline: self.in_headline,
            passage: self.passage.to_string(),
            passage_start: self.passage_start,
            passage_end: self.passage_end,
            highlight: self.highlight,
        }
    }
}

/// Every mention of the entity in one article, headline first, then in body order.
#[derive(Debug, Clone)]
pub struct ArticleRef<'a> {
    pub article_id: &'a str,
    pub headline: &'a str,
    pub date: Option<&'a str>,
    pub mentions: Vec<MentionRef<'a>>,
}

/// Every mention of one entity in one article.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleMentions {
    pub article_id: String,
    pub headline: String,
    pub date: Option<String>,
    pub count: usize,
    pub mentions: Vec<MentionHit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MentionsReport {
    pub query: String,
    pub articles: Vec<ArticleMentions>,
    pub total_articles: usize,
    pub total_mentions: usize,
}

/// Articles and mentions listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub articles: usize,
    pub mentions: usize,
}

/// Lists every mention of `name` in the archive, collected. See [`for_each_article`].
pub fn mentions(index: &NewsIndex, name: &str, kind: Option<EntityType>) -> Result<MentionsReport> {
    let mut articles = Vec::new();
    let totals = for_each_article(index, name, kind, |a| {
        articles.push(ArticleMentions {
            article_id: a.article_id.to_string(),
            headline: a.headline.to_string(),
            date: a.date.map(str::to_string),
            count: a.mentions.len(),
            mentions: a.mentions.iter().map(MentionRef::to_hit).collect(),
        });
        Ok(())
    })?;
    Ok(MentionsReport {
        query: name.to_string(),
        articles,
        total_articles: totals.articles,
        total_mentions: totals.mentions,
    })
}

/// Streams every mention of `name` in the archive to `f`, one article at a time, oldest
/// article first (undated last, then by id). A one-word name (a surname) matches every entity
/// whose canonical name ends with it or is it; a longer name matches that canonical name only,
/// so "Sergei Chemezov" never lists "Nadia Chemezov".
///
/// Everything printed comes from the article documents' `mention_data` column (see
/// `index::mention_data`): no article is opened, and only the column blocks of the matched
/// entities are read, so the cost follows the number of mentions.
pub fn for_each_article(
    index: &NewsIndex,
    name: &str,
    kind: Option<EntityType>,
    mut f: impl FnMut(&ArticleRef<'_>) -> Result<()>,
) -> Result<Totals> {
    let norm = normalize_name(name);
    if norm.is_empty() {
        bail!("empty name");
    }
    let single = !norm.contains(' ');
    let kinds: Vec<EntityType> = match kind {
        Some(k) => vec![k],
        None => EntityType::ALL.to_vec(),
    };
    // The records of the name: one run of each segment's mention file per entity type.
    let prefixes: Vec<Vec<u8>> = kinds
        .iter()
        .map(|k| {
            let key = entity_key(k.as_str(), &norm);
            mention_data::prefix(
                &surname_key(k.as_str(), &norm),
                (!single).then_some(key.as_str()),
            )
        })
        .collect();
    // Every matched record of a live article, copied into one buffer, with its article id.
    // Segments are read in parallel (each into its own buffer, joined after).
    struct Entry {
        range: (usize, usize),
        id: Arc<str>,
        date: Option<(usize, usize)>,
    }
    let read_segment = |reader: &SegmentReader| -> tantivy::Result<(Vec<u8>, Vec<Entry>)> {
        let damaged = || {
            tantivy::TantivyError::InternalError(
                "damaged mention record in the index: run `newsindex check`".into(),
            )
        };
        let store = MentionStore::open(reader)?;
        let Some(ids) = reader.fast_fields().str("article_id")? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let alive = reader.alive_bitset();
        let mut arena: Vec<u8> = Vec::new();
        // (record's range in the arena, its document)
        let mut rows: Vec<((usize, usize), DocId)> = Vec::new();
        for p in &prefixes {
            store.for_each_with_prefix(p, |r| {
                if alive.is_none_or(|a| a.is_alive(r.doc)) {
                    rows.push(((arena.len(), arena.len() + r.record.len()), r.doc));
                    arena.extend_from_slice(r.record);
                }
            })?;
        }
        let doc_ords: Vec<Option<u64>> =
            rows.iter().map(|&(_, d)| ids.term_ords(d).next()).collect();
        let mut id_ords: Vec<u64> = doc_ords.iter().flatten().copied().collect();
        ords::sort_unique(&mut id_ords);
        let names = ords::strings(&ids, &id_ords)?;
        let mut entries = Vec::with_capacity(rows.len());
        for ((range, _), ord) in rows.into_iter().zip(doc_ords) {
            let Some(ord) = ord else { continue };
            let h = mention_data::header(&arena[range.0..range.1]).ok_or_else(damaged)?;
            let date = h.date.map(|s| {
                let at = s.as_ptr() as usize - arena[range.0..].as_ptr() as usize + range.0;
                (at, at + s.len())
            });
            entries.push(Entry {
                range,
                id: names[ords::index_of(&id_ords, ord)].clone(),
                date,
            });
        }
        Ok((arena, entries))
    };
    // Tantivy opens a segment's own files while it holds the index's meta lock, so that an
    // ingest in another process cannot delete them under a reader, but not a plugin's files:
    // a segment merged away, its files deleted, between opening the searcher and reading its
    // mention file, is read again from a new searcher, which no longer has it.
    let mut attempts = 0;
    let per_segment = loop {
        let searcher = index.searcher();
        let read = super::parallel::map(read_segment, searcher.segment_readers().iter());
        match read {
            Err(TantivyError::OpenReadError(OpenReadError::FileDoesNotExist(_)))
                if attempts < 5 =>
            {
                attempts += 1;
                index.reload()?;
            }
            read => break read?,
        }
    };
    let mut arena: Vec<u8> = Vec::with_capacity(per_segment.iter().map(|p| p.0.len()).sum());
    let mut entries: Vec<Entry> = Vec::new();
    for (seg_arena, seg_entries) in per_segment {
        let base = arena.len();
        arena.extend_from_slice(&seg_arena);
        entries.extend(seg_entries.into_iter().map(|e| Entry {
            range: (base + e.range.0, base + e.range.1),
            date: e.date.map(|(a, b)| (base + a, base + b)),
            id: e.id,
        }));
    }
    // A timeline: oldest first, undated last.
    let date_of = |e: &Entry| e.date.map(|(a, b)| &arena[a..b]);
    entries.sort_by(|x, y| {
        let (dx, dy) = (date_of(x), date_of(y));
        (dx.is_none(), dx, &x.id).cmp(&(dy.is_none(), dy, &y.id))
    });

    let mut totals = Totals::default();
    let mut decoded = Vec::new();
    for group in entries.chunk_by(|a, b| a.id == b.id) {
        decoded.clear();
        let mut mentions: Vec<MentionRef> = Vec::new();
        let mut article = None;
        for e in group {
            let rec = &arena[e.range.0..e.range.1];
            let h = mention_data::header(rec).context("damaged mention record")?;
            let kind = h.key.split_once(':').map_or("", |(k, _)| k);
            let from = decoded.len();
            mention_data::decode(rec, &h, &mut decoded).context("damaged mention record")?;
            for d in &decoded[from..] {
                mentions.push(MentionRef {
                    article_id: &e.id,
                    headline: h.headline,
                    date: h.date,
                    kind,
                    canonical: d.canonical,
                    surface: &d.context[d.byte_start..d.byte_end],
                    start: d.start,
                    end: d.end,
                    in_headline: d.in_headline,
                    passage: d.context,
                    passage_start: d.context_start,
                    passage_end: d.context_end,
                    highlight: (d.start - d.context_start, d.end - d.context_start),
                });
            }
            article.get_or_insert((h.headline, h.date));
        }
        let Some((headline, date)) = article else {
            continue;
        };
        if mentions.is_empty() {
            continue;
        }
        // Several entities (a surname query): headline first, then in text order.
        if group.len() > 1 {
            mentions.sort_by_key(|m| (!m.in_headline, m.start));
        }
        totals.articles += 1;
        totals.mentions += mentions.len();
        f(&ArticleRef {
            article_id: &group[0].id,
            headline,
            date,
            mentions,
        })?;
    }
    Ok(totals)
}

/// One entity and how often it is mentioned.
#[derive(Debug, Clone, Serialize)]
pub struct EntityCount {
    pub kind: String,
    pub name: String,
    pub articles: u64,
    pub mentions: u64,
}

/// The most mentioned entities, in the whole archive or in the articles matching `query`.
pub fn top_entities(
    index: &NewsIndex,
    query: Option<&str>,
    kind: Option<EntityType>,
    n: usize,
) -> Result<Vec<EntityCount>> {
    let f = &index.fields;
    let searcher = index.searcher();
    let article_docs: Box<dyn Query> = Box::new(TermQuery::new(
        Term::from_field_text(f.kind, KIND_ARTICLE),
        IndexRecordOption::Basic,
    ));
    let q: Box<dyn Query> = match query {
        None => article_docs,
        Some(text) => {
            let parsed = super::query::parse_query(index, text, super::Conjunction::Any)?;
            let passages = super::articles::article_level(index, &searcher, parsed)?;
            let ids = super::search_segments(&searcher, passages.as_ref(), &ArticleIds)?;
            let terms = ids.iter().map(|id| Term::from_field_text(f.article_id, id));
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, article_docs),
                (Occur::Must, Box::new(TermSetQuery::new(terms))),
            ]))
        }
    };
    let prefix = kind.map(|k| format!("{}:", k.as_str()));
    let segments = super::search_segments(&searcher, q.as_ref(), &EntityHistograms)?;

    // Each segment's `entity_count` dictionary is sorted, and a key's values (`key<TAB>n`)
    // are adjacent (a tab sorts before any character of a name), so merging the segments'
    // streams visits each entity once, in key order: memory stays the size of the answer,
    // not of the archive's millions of names.
    let mut cursors = Vec::with_capacity(segments.len());
    for s in &segments {
        let stream = match &prefix {
            Some(p) => s.column.dictionary().prefix_range(p).into_stream()?,
            None => s.column.dictionary().stream()?,
        };
        cursors.push(Cursor {
            stream,
            histogram: &s.histogram,
            primed: false,
            done: false,
            key: Vec::new(),
        });
    }
    // (key, cursor, articles, mentions) of each cursor's next entity, smallest key first.
    type Head = Reverse<(Vec<u8>, usize, u64, u64)>;
    let mut heads: BinaryHeap<Head> = BinaryHeap::new();
    for (i, c) in cursors.iter_mut().enumerate() {
        if let Some((key, articles, mentions)) = c.next_entity() {
            heads.push(Reverse((key, i, articles, mentions)));
        }
    }
    // The best `n` so far, worst on top.
    let mut best: BinaryHeap<Reverse<Ranked>> = BinaryHeap::new();
    let mut current: Option<(Vec<u8>, u64, u64)> = None;
    let mut finish = |entity: Option<(Vec<u8>, u64, u64)>| {
        let Some((key, articles, mentions)) = entity else {
            return;
        };
        // Most entities cannot enter the top n: skip them before making any string.
        let worst = best.peek().map(|w| (w.0 .0.mentions, w.0 .0.articles));
        if best.len() >= n && worst.is_some_and(|w| (mentions, articles) < w) {
            return;
        }
        let key = String::from_utf8_lossy(&key).into_owned();
        let Some((kind, name)) = key.split_once(':') else {
            return;
        };
        if kind == "misc" && prefix.is_none() {
            return;
        }
        best.push(Reverse(Ranked(EntityCount {
            kind: kind.to_string(),
            name: name.to_string(),
            articles,
            mentions,
        })));
        if best.len() > n {
            best.pop();
        }
    };
    while let Some(Reverse((key, i, articles, mentions))) = heads.pop() {
        match &mut current {
            Some(c) if c.0 == key => {
                c.1 += articles;
                c.2 += mentions;
            }
            _ => finish(current.replace((key, articles, mentions))),
        }
        if let Some((key, articles, mentions)) = cursors[i].next_entity() {
            heads.push(Reverse((key, i, articles, mentions)));
        }
    }
    finish(current);
    let mut out: Vec<EntityCount> = best.into_iter().map(|r| r.0 .0).collect();
    out.sort_by(|a, b| Ranked::order(b, a));
    Ok(out)
}

/// An entity ordered by how often it is mentioned (most first when reversed), ties by type
/// and name.
struct Ranked(EntityCount);

impl Ranked {
    fn order(a: &EntityCount, b: &EntityCount) -> std::cmp::Ordering {
        (a.mentions, a.articles, &b.kind, &b.name).cmp(&(b.mentions, b.articles, &a.kind, &a.name))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        Ranked::order(&self.0, &other.0).is_eq()
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        Ranked::order(&self.0, &other.0)
    }
}

/// One segment's `entity_count` dictionary, walked in order, with how many matching articles
/// hold each value.
struct Cursor<'a> {
    stream: tantivy::columnar::Streamer<'a>,
    histogram: &'a [u32],
    /// The stream stands on a value not consumed yet.
    primed: bool,
    /// The stream has ended (a range stream must not be advanced past its end).
    done: bool,
    key: Vec<u8>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> bool {
        self.done = self.done || !self.stream.advance();
        !self.done
    }

    /// The next entity held by a matching article: (key, articles, mentions), the values of
    /// its key (one per mention count) summed.
    fn next_entity(&mut self) -> Option<(Vec<u8>, u64, u64)> {
        let held = |c: &Self| {
            let n = c.histogram.get(c.stream.term_ord() as usize).copied();
            u64::from(n.unwrap_or(0))
        };
        loop {
            if !self.primed && !self.advance() {
                return None;
            }
            self.primed = false;
            let Some((key, count)) = parse_entity_count(self.stream.key()) else {
                continue;
            };
            self.key.clear();
            self.key.extend_from_slice(key);
            let mut articles = held(self);
            let mut mentions = articles * count;
            while self.advance() {
                match parse_entity_count(self.stream.key()) {
                    Some((key, count)) if key == self.key.as_slice() => {
                        let n = held(self);
                        articles += n;
                        mentions += n * count;
                    }
                    _ => {
                        self.primed = true;
                        break;
                    }
                }
            }
            if articles > 0 {
                return Some((self.key.clone(), articles, mentions));
            }
        }
    }
}

/// Counts, per segment, how many matching article documents hold each `entity_count` value.
struct EntityHistograms;

struct SegmentEntities {
    column: StrColumn,
    histogram: Vec<u32>,
}

struct SegmentHistogram(Option<SegmentEntities>);

impl Collector for EntityHistograms {
    type Fruit = Vec<SegmentEntities>;
    type Child = SegmentHistogram;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(SegmentHistogram(
            reader
                .fast_fields()
                .str("entity_count")?
                .map(|column| SegmentEntities {
                    histogram: vec![0; column.dictionary().num_terms()],
                    column,
                }),
        ))
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Option<SegmentEntities>>,
    ) -> tantivy::Result<Vec<SegmentEntities>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentHistogram {
    type Fruit = Option<SegmentEntities>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(s) = &mut self.0 {
            for o in s.column.term_ords(doc) {
                if let Some(n) = s.histogram.get_mut(o as usize) {
                    *n += 1;
                }
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::schema::label_key;

    #[test]
    fn names_lose_titles_and_possessives() {
        assert_eq!(normalize_name("Mr. Chemezov's"), "chemezov");
        assert_eq!(normalize_name("  Sergei   CHEMEZOV "), "sergei chemezov");
        assert_eq!(normalize_name("President Amara Okafor"), "amara okafor");
        assert_eq!(normalize_name("Mr"), "mr");
    }

    #[test]
    fn keys_are_lowercase_and_typed() {
        assert_eq!(
            entity_key("person", "Sergei Chemezov"),
            "person:sergei chemezov"
        );
        assert_eq!(label_key(" Port Halvard "), "port halvard");
    }
}
