//! The Html parser never panics on arbitrary bytes; articles it returns split into passages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsindex::ingest::{Format, ParseOptions};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::parse("x.html", Format::Html, data, &ParseOptions::default());
});
