//! English stemming with a per-tokenizer cache of the words already stemmed.
//!
//! Tantivy's `Stemmer` filter runs the Snowball algorithm on every token and allocates a new
//! string for most of them. News text is Zipfian: a few thousand words make most of its
//! tokens, so a cache of the words seen so far answers nearly every token with one lookup and
//! a copy into the token's own buffer. In a profile of ingest (40 MB of `scale-corpus`),
//! stemming took about 9% of all CPU time before, the cache 4.6% (most of it the one cache
//! miss per token: the lookup is random by nature). The stems are the same algorithm's
//! (frostem, the crate tantivy's filter calls), so the index is the same; a test compares both
//! on real text.
//!
//! Tantivy clones the analyzer for each segment writer (and each query); each clone starts
//! with its own empty cache: no locking. The cache is bounded and simply cleared when full.

use std::borrow::Cow;

use hashbrown::HashMap;
use rustc_hash::FxBuildHasher;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Words kept in the map before it is cleared: about 4 MB per analyzer at most (tantivy keeps
/// one analyzer per text field and indexing thread: four while indexing).
const MAX_ENTRIES: usize = 50_000;

/// An English Snowball stemmer that remembers the stem of each word it has seen.
#[derive(Clone, Copy, Default)]
pub struct CachedEnglishStemmer;

impl TokenFilter for CachedEnglishStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner: tokenizer,
            cache: StemCache::default(),
        }
    }
}

#[derive(Clone)]
pub struct CachedStemmerFilter<T> {
    inner: T,
    cache: StemCache,
}

/// Bytes of a word (and of its stem) kept in a front slot; longer words go to the map.
const SLOT_BYTES: usize = 15;
/// Front slots: 16,384 x 32 bytes, small enough to stay in the CPU's caches.
const SLOTS: usize = 1 << 14;

/// Distinct words the map holds before the front is built.
const FRONT_AFTER: usize = 2048;

/// One front slot: a short word and its stem, inline.
#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
struct Slot {
    /// 0: empty.
    word_len: u8,
    stem_len: u8,
    word: [u8; SLOT_BYTES],
    stem: [u8; SLOT_BYTES],
}

/// Two levels: a direct-mapped front of short words, inline, which answers most tokens without
/// a pointer to follow, and behind it a map of every word seen (most of them stem to
/// themselves: `None`, nothing to copy).
#[derive(Default)]
struct StemCache {
    front: Vec<Slot>,
    map: HashMap<String, Option<Box<str>>, FxBuildHasher>,
}

/// A clone starts empty: tantivy clones the analyzer for each segment writer and each query.
impl Clone for StemCache {
    fn clone(&self) -> Self {
        StemCache::default()
    }
}

#[inline]
fn slot_of(word: &[u8]) -> usize {
    use std::hash::{BuildHasher, Hasher};
    let mut h = FxBuildHasher.build_hasher();
    h.write(word);
    (h.finish() >> 32) as usize & (SLOTS - 1)
}

impl StemCache {
    /// Replaces `text` by its stem.
    fn stem_in_place(&mut self, text: &mut String) {
        let word = text.as_bytes();
        let short = word.len() <= SLOT_BYTES;
        let slot = if short { slot_of(word) } else { 0 };
        if short && !self.front.is_empty() {
            let s = &self.front[slot];
            if s.word_len as usize == word.len() && &s.word[..word.len()] == word {
                let stem = &s.stem[..s.stem_len as usize];
                if stem != word {
                    // A stem is valid UTF-8 (it came from a `str`).
                    let stem = std::str::from_utf8(stem).expect("stems are UTF-8");
                    text.clear();
                    text.push_str(stem);
                }
                return;
            }
        }
        if self.map.len() >= MAX_ENTRIES {
            self.map.clear();
        }
        // The front is built once the analyzer has seen enough words to be indexing, not for
        // the short-lived analyzers of a query or a highlight (512 KB to fill each time).
        if self.front.is_empty() && self.map.len() >= FRONT_AFTER {
            self.front = vec![Slot::default(); SLOTS];
        }
        let stem =
            self.map.entry_ref(text.as_str()).or_insert_with(|| {
                match frostem::Stemmer::new(frostem::Algorithm::English).stem(text) {
                    Cow::Borrowed(s) if s == text.as_str() => None,
                    s => Some(Box::<str>::from(s.as_ref())),
                }
            });
        let stem_bytes = stem.as_deref().unwrap_or(text.as_str()).as_bytes();
        if short && stem_bytes.len() <= SLOT_BYTES && !self.front.is_empty() {
            let s = &mut self.front[slot];
            s.word_len = text.len() as u8;
            s.word[..text.len()].copy_from_slice(text.as_bytes());
            s.stem_len = stem_bytes.len() as u8;
            s.stem[..stem_bytes.len()].copy_from_slice(stem_bytes);
        }
        if let Some(stem) = stem {
            text.clear();
            text.push_str(stem);
        }
    }
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerTokenStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerTokenStream {
            tail: self.inner.token_stream(text),
            cache: &mut self.cache,
        }
    }
}

pub struct CachedStemmerTokenStream<'a, T> {
    tail: T,
    cache: &'a mut StemCache,
}

impl<T: TokenStream> TokenStream for CachedStemmerTokenStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        self.cache.stem_in_place(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{
        Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    };

    fn tokens(a: &mut TextAnalyzer, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        let mut ts = a.token_stream(text);
        while let Some(t) = ts.next() {
            out.push(t.clone());
        }
        out
    }

    /// Same tokens, stems, offsets and positions as tantivy's own `Stemmer`, on the sample
    /// corpus and, when present, on BBC's articles; a second pass is answered from the cache.
    #[test]
    fn same_stems_as_tantivys_stemmer() {
        let mut texts: Vec<String> = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in [root.join("data/sample"), root.join("../shared/corpora/bbc")] {
            for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
                if e.file_type().is_file() {
                    if let Ok(b) = std::fs::read(e.path()) {
                        texts.push(String::from_utf8_lossy(&b).into_owned());
                    }
                }
            }
        }
        texts.push("Running runners ran; généralement ÉTATS-UNIS's flies' 1990s".into());
        assert!(texts.len() > 5, "no texts to compare on");
        let mut plain = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build();
        let mut cached = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(CachedEnglishStemmer)
            .build();
        let mut n = 0;
        for _pass in 0..2 {
            for t in &texts {
                let (a, b) = (tokens(&mut plain, t), tokens(&mut cached, t));
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(&b) {
                    assert_eq!(
                        (&x.text, x.offset_from, x.offset_to, x.position),
                        (&y.text, y.offset_from, y.offset_to, y.position)
                    );
                }
                n += a.len();
            }
        }
        assert!(n > 1000, "only {n} tokens compared");
    }

    #[test]
    fn cache_is_bounded() {
        let mut c = StemCache::default();
        for i in 0..MAX_ENTRIES + 10 {
            let mut w = format!("word{i}s");
            c.stem_in_place(&mut w);
            assert_eq!(w, format!("word{i}"));
        }
        assert!(c.map.len() <= MAX_ENTRIES);
    }
}
