//! The tantivy schema: one index holding three kinds of documents.
//!
//! * **passage** documents are what queries match. Each holds one passage of one article's
//!   body (indexed, not stored) plus copies of the article's headline, date, source and labels,
//!   so that a query can filter and boost on them without a join.
//! * **article** documents store each article's full text once (headline, body, metadata) and
//!   are never matched by user queries: passages point at them by `article_id`. They also hold
//!   the article's entities: each entity's key (`person:sergei chemezov`) and surname key
//!   (`person:chemezov`), indexed, a `key<TAB>count` value in a fast column for entity counts,
//!   and one record per entity in the segment's mention file with each mention's offsets and context
//!   and the article's date and headline (`index::mention_data`): they answer "every mention of
//!   X" and entity facet counts without reading articles. (Version 3 had a separate document
//!   per article and entity, ten an article: indexing them took a quarter of the build.)
//! * **file** documents record each ingested file's content hash, which makes re-ingesting
//!   incremental: an unchanged file is skipped, a changed one has its articles replaced.
//!
//! An article's documents are added as one batch, so they sit in one segment as consecutive
//! doc ids: the article document, then its passages in order (`passage_no` 0, 1, ...). Merges
//! keep that order. Search uses it to find all of an article's
//! passages from any one of them, and the article document just before the first.
//!
//! Only passage documents carry values in the user-searchable fields, so a user query can never
//! hit an article or file document; the `kind` field is there for bookkeeping queries.

use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, FAST, STORED,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::Index;

/// Version of the on-disk layout; bumped when the schema changes incompatibly.
/// Version 3: an article's documents are consecutive in one segment (see the module notes).
/// Version 4: an article's entities live on its article document, not on documents of their own.
/// Version 5: mention records live in a file per segment of their own, not in a bytes column.
pub const SCHEMA_VERSION: u64 = 5;

/// Tokenizer for headline and body: lowercase + English (Porter/Snowball) stemming.
pub const TEXT_TOKENIZER: &str = "news_en";
/// Tokenizer for labels and entity names: the whole value, lowercased.
pub const LABEL_TOKENIZER: &str = "label";

pub const KIND_PASSAGE: &str = "passage";
pub const KIND_ARTICLE: &str = "article";
pub const KIND_FILE: &str = "file";

/// Handles to every field, resolved once from the schema.
#[derive(Clone, Debug)]
pub struct Fields {
    pub kind: Field,
    pub article_id: Field,
    pub file: Field,
    // --- passage documents: searchable ---
    pub headline: Field,
    pub body: Field,
    pub date: Field,
    pub source: Field,
    pub topics: Field,
    pub places: Field,
    pub people: Field,
    pub orgs: Field,
    pub person: Field,
    pub org: Field,
    pub location: Field,
    pub passage_no: Field,
    pub passage_start: Field,
    pub passage_end: Field,
    // --- article documents: stored once ---
    pub content_hash: Field,
    pub stored: Field,
    // --- article documents: the article's entities, one value per entity ---
    /// `type:canonical name`, lowercased: `person:sergei chemezov`.
    pub entity: Field,
    /// `type:last word of the canonical name`: `person:chemezov`.
    pub entity_last: Field,
    /// `type:canonical name<TAB>mentions in the article`, in a fast column only: entity counts
    /// are a histogram of its ordinals.
    pub entity_count: Field,
    /// Per mention: offsets, surface, canonical name and context; per article: date and
    /// headline (see `index::mention_data`), kept in each segment's `.mentions` file (see
    /// `index::mention_store`): listing reads no article.
    pub mention_data: Field,
    // --- file documents ---
    pub file_hash: Field,
    pub file_info: Field,
    /// What an ingest run keeps of the file in memory, compactly, in a fast column: reading it
    /// for every file touches only this column, not the document store (see `index::state`).
    pub file_state: Field,
    pub dup_of: Field,
    pub schema_version: Field,
}

/// Builds the schema. Every searchable field a user can name in a query (`headline:`,
/// `body:`, `date:`, `source:`, `topics:`, `places:`, `people:`, `orgs:`, `person:`, `org:`,
/// `location:`) is only ever set on passage documents.
pub fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TEXT_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    // Only headline and body are scored with length normalisation: every other field skips
    // field norms, which cost a byte per document per field, whether the document has the
    // field or not (the index has about five documents an article).
    // Labels are matched whole (a phrase query on them is never needed), so no positions.
    let label = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(LABEL_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs)
            .set_fieldnorms(false),
    );
    let source = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    // Matched whole, never scored.
    let keyword = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    // Read for every ranked passage while grouping hits: fast fields, not the doc store.
    let fast_u64 = NumericOptions::default().set_fast();
    let date = DateOptions::default()
        .set_indexed()
        .set_fast()
        .set_precision(DateTimePrecision::Seconds);

    // Ids, files, entities and counts are read from fast fields (or the article's stored
    // JSON), never from the doc store: stored on every passage document, they
    // made up most of it.
    let kind = b.add_text_field("kind", keyword.clone());
    let article_id = b.add_text_field("article_id", keyword.clone() | FAST);
    let file = b.add_text_field("file", keyword.clone());
    let headline = b.add_text_field("headline", text.clone());
    let body = b.add_text_field("body", text);
    let date = b.add_date_field("date", date);
    let source = b.add_text_field("source", source);
    let topics = b.add_text_field("topics", label.clone());
    let places = b.add_text_field("places", label.clone());
    let people = b.add_text_field("people", label.clone());
    let orgs = b.add_text_field("orgs", label.clone());
    let person = b.add_text_field("person", label.clone());
    let org = b.add_text_field("org", label.clone());
    let location = b.add_text_field("location", label);
    let passage_no = b.add_u64_field("passage_no", fast_u64.clone());
    let passage_start = b.add_u64_field("passage_start", fast_u64.clone());
    let passage_end = b.add_u64_field("passage_end", fast_u64);
    // Content and file hashes are only read back from stored documents (and the file record),
    // never looked up by term: stored, not indexed (version 2; version 1 indexed them, which
    // put tens of thousands of random unique terms in the term dictionaries).
    let content_hash = b.add_text_field("content_hash", STORED);
    // Serialized JSON of the whole article, stored once per article.
    let stored = b.add_text_field("article", STORED);
    let entity = b.add_text_field("entity", keyword.clone());
    let entity_last = b.add_text_field("entity_last", keyword);
    let entity_count = b.add_text_field("entity_count", FAST);
    // Kept by a segment plugin of our own, not in a column (see `index::mention_store`).
    let mention_data = b.add_custom_field(
        "mention_data",
        super::mention_store::FIELD_TYPE,
        serde_json::json!({}),
    );
    let file_hash = b.add_text_field("file_hash", STORED);
    let file_info = b.add_text_field("file_info", STORED);
    let file_state = b.add_bytes_field("file_state", FAST);
    let dup_of = b.add_text_field("dup_of", STORED);
    let schema_version = b.add_u64_field("schema_version", STORED);
    let schema = b.build();
    let fields = Fields {
        kind,
        article_id,
        file,
        headline,
        body,
        date,
        source,
        topics,
        places,
        people,
        orgs,
        person,
        org,
        location,
        passage_no,
        passage_start,
        passage_end,
        content_hash,
        stored,
        entity,
        entity_last,
        entity_count,
        mention_data,
        file_hash,
        file_info,
        file_state,
        dup_of,
        schema_version,
    };
    (schema, fields)
}

/// The analyzer used for headline and body, also used to find highlight offsets so that what
/// is highlighted is exactly what matched.
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(super::stem_cache::CachedEnglishStemmer)
        .build()
}

fn label_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build()
}

/// Normalises a label or entity name the way [`LABEL_TOKENIZER`] does.
pub fn label_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Registers our tokenizers on an index (they are not persisted by tantivy).
pub fn register_tokenizers(index: &Index) {
    let m = index.tokenizers();
    m.register(TEXT_TOKENIZER, text_analyzer());
    m.register(LABEL_TOKENIZER, label_analyzer());
}

/// Names of the fields a user can put before a colon in a query.
pub const QUERY_FIELDS: &[&str] = &[
    "headline", "body", "date", "source", "topics", "places", "people", "orgs", "person", "org",
    "location",
];

/// The key of an entity in the `entity` field: `person:sergei chemezov`.
pub fn entity_key(kind: &str, name: &str) -> String {
    format!("{kind}:{}", label_key(name))
}

/// The key of an entity's surname in the `entity_last` field: `person:chemezov`.
pub fn surname_key(kind: &str, name: &str) -> String {
    let name = label_key(name);
    let last = name.rsplit(' ').next().unwrap_or(&name);
    format!("{kind}:{last}")
}

/// The `entity_count` value of an entity mentioned `count` times in an article.
pub fn entity_count_value(key: &str, count: usize) -> String {
    format!("{key}\t{count}")
}

/// Splits an `entity_count` value into its entity key and count. A key's values sort
/// together, before any longer key it prefixes: a tab sorts before any character of a name.
pub fn parse_entity_count(value: &[u8]) -> Option<(&[u8], u64)> {
    let tab = value.iter().rposition(|&b| b == b'\t')?;
    let count = std::str::from_utf8(&value[tab + 1..]).ok()?.parse().ok()?;
    Some((&value[..tab], count))
}
