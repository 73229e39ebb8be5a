//! newsindex: a search engine for news archives.
//!
//! The pipeline, one module per stage: [`ingest`] (find files, parse formats) ->
//! [`index`] (passages, schema, writing) -> [`search`] (queries, ranking, highlights) ->
//! [`cli`] (the `newsindex` command).

pub mod bench;
pub mod cli;
pub mod entities;
pub mod index;
pub mod ingest;
pub mod search;
