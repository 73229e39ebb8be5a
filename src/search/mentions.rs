//! Every mention of a person (or organisation, or place) in the archive, and entity facets.
//!
//! Both read the per-article *mention documents* (one per article and entity, see
//! `index::schema`) through fast fields, so listing is exhaustive and never limited to a top k,
//! and only the articles that really mention the entity are opened.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Result};
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};

use super::articles::ArticleIds;
use crate::entities::EntityType;
use crate::index::passages::split_passages;
use crate::index::schema::{entity_key, KIND_MENTION};
use crate::index::{NewsIndex, StoredArticle};

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

/// One mention, with the passage around it.
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
    /// The passage holding the mention (the headline itself for a headline mention).
    pub passage: String,
    pub passage_start: usize,
    pub passage_end: usize,
    /// Char offsets of the mention inside `passage`.
    pub highlight: (usize, usize),
}

/// Every mention of one entity in one article.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleMentions {
    pub article_id: String,
    pub headline: String,
    pub date: Option<String>,
    pub source: String,
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

/// Lists every mention of `name` in the archive. A one-word name (a surname) matches every
/// entity whose canonical name ends with it or is it; a longer name matches that canonical
/// name only, so "Sergei Chemezov" never lists "Nadia Chemezov".
pub fn mentions(index: &NewsIndex, name: &str, kind: Option<EntityType>) -> Result<MentionsReport> {
    let norm = normalize_name(name);
    if norm.is_empty() {
        bail!("empty name");
    }
    let single = !norm.contains(' ');
    let kinds: Vec<EntityType> = match kind {
        Some(k) => vec![k],
        None => EntityType::ALL.to_vec(),
    };
    let f = &index.fields;
    let field = if single { f.entity_last } else { f.entity };
    let terms = kinds
        .iter()
        .map(|k| Term::from_field_text(field, &entity_key(k.as_str(), &norm)));
    let searcher = index.searcher();
    let rows = searcher.search(&TermSetQuery::new(terms), &EntityRows)?;

    // Article id -> the entity keys it matched.
    let mut by_article: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        by_article.entry(r.article_id).or_default().push(r.entity);
    }
    let mut articles = Vec::new();
    for (id, keys) in by_article {
        let Some(a) = index.article(&searcher, &id)? else {
            continue;
        };
        let wanted =
            |m: &crate::index::StoredMention| keys.contains(&entity_key(&m.kind, &m.canonical));
        let mut hits = Vec::new();
        for m in a.headline_mentions.iter().filter(|m| wanted(m)) {
            hits.push(hit(
                &a,
                m,
                true,
                (0, a.headline.chars().count()),
                a.headline.clone(),
            ));
        }
        let body_mentions: Vec<_> = a.mentions.iter().filter(|m| wanted(m)).collect();
        if !body_mentions.is_empty() {
            let passages = split_passages(&a.body);
            let mut pi = 0;
            for m in body_mentions {
                while pi + 1 < passages.len() && passages[pi].char_end <= m.start {
                    pi += 1;
                }
                let p = passages[pi];
                hits.push(hit(
                    &a,
                    m,
                    false,
                    (p.char_start, p.char_end),
                    a.body[p.start..p.end].to_string(),
                ));
            }
        }
        if hits.is_empty() {
            continue;
        }
        articles.push(ArticleMentions {
            article_id: a.id.clone(),
            headline: a.headline.clone(),
            date: a.date.clone(),
            source: a.file.clone(),
            count: hits.len(),
            mentions: hits,
        });
    }
    // A timeline: oldest first, undated last.
    articles.sort_by(|x, y| {
        (x.date.is_none(), &x.date, &x.article_id).cmp(&(y.date.is_none(), &y.date, &y.article_id))
    });
    let total_mentions = articles.iter().map(|a| a.count).sum();
    Ok(MentionsReport {
        query: name.to_string(),
        total_articles: articles.len(),
        total_mentions,
        articles,
    })
}

fn hit(
    a: &StoredArticle,
    m: &crate::index::StoredMention,
    in_headline: bool,
    (ps, pe): (usize, usize),
    passage: String,
) -> MentionHit {
    MentionHit {
        article_id: a.id.clone(),
        headline: a.headline.clone(),
        date: a.date.clone(),
        kind: m.kind.clone(),
        canonical: m.canonical.clone(),
        surface: m.surface.clone(),
        start: m.start,
        end: m.end,
        in_headline,
        passage,
        passage_start: ps,
        passage_end: pe,
        highlight: (m.start - ps, m.end - ps),
    }
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
    let mention_docs: Box<dyn Query> = Box::new(TermQuery::new(
        Term::from_field_text(f.kind, KIND_MENTION),
        IndexRecordOption::Basic,
    ));
    let q: Box<dyn Query> = match query {
        None => mention_docs,
        Some(text) => {
            let parsed = super::query::parse_query(index, text, super::Conjunction::Any)?;
            let passages = super::articles::article_level(index, &searcher, parsed)?;
            let ids = searcher.search(passages.as_ref(), &ArticleIds)?;
            let terms = ids.iter().map(|id| Term::from_field_text(f.article_id, id));
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, mention_docs),
                (Occur::Must, Box::new(TermSetQuery::new(terms))),
            ]))
        }
    };
    let prefix = kind.map(|k| format!("{}:", k.as_str()));
    let mut totals: HashMap<String, (u64, u64)> = HashMap::new();
    for r in searcher.search(q.as_ref(), &EntityRows)? {
        if prefix
            .as_ref()
            .is_some_and(|p| !r.entity.starts_with(p.as_str()))
        {
            continue;
        }
        let e = totals.entry(r.entity).or_default();
        e.0 += 1;
        e.1 += r.count;
    }
    let mut out: Vec<EntityCount> = totals
        .into_iter()
        .filter_map(|(key, (articles, mentions))| {
            let (kind, name) = key.split_once(':')?;
            (kind != "misc" || prefix.is_some()).then(|| EntityCount {
                kind: kind.to_string(),
                name: name.to_string(),
                articles,
                mentions,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (b.mentions, b.articles, &a.kind, &a.name).cmp(&(a.mentions, a.articles, &b.kind, &b.name))
    });
    out.truncate(n);
    Ok(out)
}

/// A mention document read from fast fields.
pub struct EntityRow {
    pub article_id: String,
    pub entity: String,
    pub count: u64,
}

/// Collects every matching mention document (article id, entity key, count).
pub struct EntityRows;

pub struct SegmentEntityRows {
    article: Option<StrColumn>,
    entity: Option<StrColumn>,
    count: Column<u64>,
    rows: Vec<(u64, u64, u64)>,
}

impl Collector for EntityRows {
    type Fruit = Vec<EntityRow>;
    type Child = SegmentEntityRows;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let ff = reader.fast_fields();
        Ok(SegmentEntityRows {
            article: ff.str("article_id")?,
            entity: ff.str("entity")?,
            count: ff.u64("mention_count")?,
            rows: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<EntityRow>>) -> tantivy::Result<Vec<EntityRow>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentEntityRows {
    type Fruit = Vec<EntityRow>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let ord = |c: &Option<StrColumn>| c.as_ref().and_then(|c| c.term_ords(doc).next());
        if let (Some(a), Some(e)) = (ord(&self.article), ord(&self.entity)) {
            self.rows.push((a, e, self.count.first(doc).unwrap_or(0)));
        }
    }

    fn harvest(self) -> Vec<EntityRow> {
        let (Some(ac), Some(ec)) = (&self.article, &self.entity) else {
            return Vec::new();
        };
        let mut names: HashMap<(bool, u64), String> = HashMap::new();
        let mut name = |col: &StrColumn, is_entity: bool, ord: u64| -> String {
            names
                .entry((is_entity, ord))
                .or_insert_with(|| {
                    let mut s = String::new();
                    let _ = col.ord_to_str(ord, &mut s);
                    s
                })
                .clone()
        };
        self.rows
            .iter()
            .map(|&(a, e, count)| EntityRow {
                article_id: name(ac, false, a),
                entity: name(ec, true, e),
                count,
            })
            .collect()
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
