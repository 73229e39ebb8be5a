//! Decoding arbitrary bytes to text and normalising arbitrary date strings never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsindex::ingest::decode_text;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let _ = newsindex::ingest::normalize_date(&text);
});
