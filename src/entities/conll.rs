//! CoNLL-2003 reader (IOB1 or BIO/IOB2 tags in the last column) and tag-scheme helpers.

use super::EntityType;
use anyhow::{Context, Result};
use std::path::Path;

/// One article: sentences of (token, gold tag as written in the file).
#[derive(Debug, Clone, Default)]
pub struct ConllDoc {
    pub sentences: Vec<Vec<(String, String)>>,
}

/// An entity span over token indices `[start, end)` of one sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokSpan {
    pub start: usize,
    pub end: usize,
    pub kind: EntityType,
}

/// Reads a CoNLL file; `-DOCSTART-` lines split articles. A file without them is one article.
pub fn read_conll(path: &Path) -> Result<Vec<ConllDoc>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = super::lexicon::decode_text(&bytes);
    let mut docs: Vec<ConllDoc> = Vec::new();
    let mut cur = ConllDoc::default();
    let mut sent: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if !sent.is_empty() {
                cur.sentences.push(std::mem::take(&mut sent));
            }
            continue;
        }
        let mut cols = line.split_whitespace();
        let word = cols.next().unwrap_or("");
        if word == "-DOCSTART-" {
            if !sent.is_empty() {
                cur.sentences.push(std::mem::take(&mut sent));
            }
            if !cur.sentences.is_empty() {
                docs.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let tag = line.split_whitespace().last().unwrap_or("O");
        sent.push((word.to_string(), tag.to_string()));
    }
    if !sent.is_empty() {
        cur.sentences.push(sent);
    }
    if !cur.sentences.is_empty() {
        docs.push(cur);
    }
    Ok(docs)
}

fn parse_tag(tag: &str) -> Option<(char, EntityType)> {
    let (p, t) = tag.split_once('-')?;
    let kind = EntityType::parse(t)?;
    Some((p.chars().next()?.to_ascii_uppercase(), kind))
}

/// Converts IOB1, IOB2 (BIO) or BILOU/BIOES tags to spans.
pub fn tags_to_spans<S: AsRef<str>>(tags: &[S]) -> Vec<TokSpan> {
    let mut spans = Vec::new();
    let mut open: Option<(usize, EntityType)> = None;
    for (i, t) in tags.iter().enumerate() {
        let t = t.as_ref();
        match parse_tag(t) {
            None => {
                if let Some((s, k)) = open.take() {
                    spans.push(TokSpan {
                        start: s,
                        end: i,
                        kind: k,
                    });
                }
            }
            Some((p, k)) => {
                let continues =
                    matches!(open, Some((_, ok)) if ok == k) && matches!(p, 'I' | 'L' | 'E');
                if !continues {
                    if let Some((s, ok)) = open.take() {
                        spans.push(TokSpan {
                            start: s,
                            end: i,
                            kind: ok,
                        });
                    }
                    open = Some((i, k));
                }
                if matches!(p, 'L' | 'E' | 'U' | 'S') {
                    let (s, ok) = open.take().unwrap();
                    spans.push(TokSpan {
                        start: s,
                        end: i + 1,
                        kind: ok,
                    });
                }
            }
        }
    }
    if let Some((s, k)) = open {
        spans.push(TokSpan {
            start: s,
            end: tags.len(),
            kind: k,
        });
    }
    spans
}

fn short(k: EntityType) -> &'static str {
    match k {
        EntityType::Person => "PER",
        EntityType::Org => "ORG",
        EntityType::Location => "LOC",
        EntityType::Misc => "MISC",
    }
}

/// Spans to IOB1 tags (`I-` everywhere, `B-` only right after an adjacent same-type span).
pub fn spans_to_iob1(spans: &[TokSpan], n: usize) -> Vec<String> {
    let mut tags = vec!["O".to_string(); n];
    let mut prev_end_kind: Option<(usize, EntityType)> = None;
    for s in spans {
        for (i, tag) in tags.iter_mut().enumerate().take(s.end).skip(s.start) {
            let b = i == s.start && prev_end_kind == Some((s.start, s.kind));
            *tag = format!("{}-{}", if b { "B" } else { "I" }, short(s.kind));
        }
        prev_end_kind = Some((s.end, s.kind));
    }
    tags
}

/// Spans to BILOU tags.
pub fn spans_to_bilou(spans: &[TokSpan], n: usize) -> Vec<String> {
    let mut tags = vec!["O".to_string(); n];
    for s in spans {
        for (i, tag) in tags.iter_mut().enumerate().take(s.end).skip(s.start) {
            let p = if s.end - s.start == 1 {
                "U"
            } else if i == s.start {
                "B"
            } else if i + 1 == s.end {
                "L"
            } else {
                "I"
            };
            *tag = format!("{}-{}", p, short(s.kind));
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iob1_bilou_roundtrip() {
        let iob1: Vec<&str> = vec![
            "I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG", "O", "I-MISC",
        ];
        let spans = tags_to_spans(&iob1);
        assert_eq!(spans.len(), 5);
        assert_eq!(
            spans[0],
            TokSpan {
                start: 0,
                end: 2,
                kind: EntityType::Person
            }
        );
        assert_eq!(
            spans[1],
            TokSpan {
                start: 2,
                end: 3,
                kind: EntityType::Person
            }
        );
        let bilou = spans_to_bilou(&spans, iob1.len());
        assert_eq!(bilou[..4], ["B-PER", "L-PER", "U-PER", "O"]);
        assert_eq!(tags_to_spans(&bilou), spans);
        assert_eq!(spans_to_iob1(&tags_to_spans(&bilou), iob1.len()), iob1);
        // IOB2 input gives the same spans
        let iob2 = [
            "B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "O", "B-MISC",
        ];
        assert_eq!(tags_to_spans(&iob2), spans);
    }
}
