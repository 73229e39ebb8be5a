//! Finding the matched words in a passage or headline.
//!
//! The text is run through the same analyzer as at index time, and a token is highlighted when
//! its indexed form is one of the query's terms for that field, so what is highlighted is
//! exactly what matched (a query for "strikes" highlights "strike" and "striking" too).

use std::collections::HashSet;

use tantivy::query::Query;
use tantivy::tokenizer::TextAnalyzer;

use crate::index::schema::text_analyzer;
use crate::index::NewsIndex;

pub struct Highlighter {
    body_terms: HashSet<Vec<u8>>,
    headline_terms: HashSet<Vec<u8>>,
}

impl Highlighter {
    pub fn new(index: &NewsIndex, query: &dyn Query) -> Highlighter {
        let f = &index.fields;
        let mut body_terms = HashSet::new();
        let mut headline_terms = HashSet::new();
        query.query_terms(&mut |term, _| {
            let bytes = term.serialized_value_bytes().to_vec();
            if term.field() == f.body {
                body_terms.insert(bytes);
            } else if term.field() == f.headline {
                headline_terms.insert(bytes);
            }
        });
        Highlighter {
            body_terms,
            headline_terms,
        }
    }

    /// Char offset pairs of the matches in a passage.
    pub fn body(&self, text: &str) -> Vec<(usize, usize)> {
        matches(text, &self.body_terms)
    }

    /// Char offset pairs of the matches in a headline.
    pub fn headline(&self, text: &str) -> Vec<(usize, usize)> {
        matches(text, &self.headline_terms)
    }
}

fn matches(text: &str, terms: &HashSet<Vec<u8>>) -> Vec<(usize, usize)> {
    if terms.is_empty() || text.is_empty() {
        return Vec::new();
    }
    let mut analyzer: TextAnalyzer = text_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut spans = Vec::new();
    while let Some(tok) = stream.next() {
        if terms.contains(tok.text.as_bytes()) {
            spans.push((tok.offset_from, tok.offset_to));
        }
    }
    to_char_offsets(text, &spans)
}

/// Converts sorted byte spans to char spans in one pass.
pub fn to_char_offsets(text: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(spans.len());
    let (mut byte, mut chars) = (0, 0);
    let mut to_chars = |b: usize| {
        if b >= byte {
            chars += text[byte..b].chars().count();
        } else {
            chars -= text[b..byte].chars().count();
        }
        byte = b;
        chars
    };
    for &(s, e) in spans {
        let cs = to_chars(s);
        let ce = to_chars(e);
        out.push((cs, ce));
    }
    out
}

/// Wraps each span (char offsets) of `text` in `open`/`close`.
pub fn mark(text: &str, spans: &[(usize, usize)], open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len() + spans.len() * (open.len() + close.len()));
    let mut spans = spans.iter().peekable();
    for (i, c) in text.chars().enumerate() {
        if spans.peek().is_some_and(|s| s.0 == i) {
            out.push_str(open);
        }
        out.push(c);
        if let Some(&&(_, e)) = spans.peek() {
            if e == i + 1 {
                out.push_str(close);
                spans.next();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_wraps_char_spans() {
        let t = "Café owners strike in Zürich";
        assert_eq!(
            mark(t, &[(12, 18), (22, 28)], "**", "**"),
            "Café owners **strike** in **Zürich**"
        );
    }

    #[test]
    fn byte_spans_become_char_spans() {
        let t = "£5 rise";
        assert_eq!(to_char_offsets(t, &[(2, 3), (4, 8)]), vec![(1, 2), (3, 7)]);
    }
}
