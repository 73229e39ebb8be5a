//! Splitting an article body into passages, the unit that search ranks and shows.
//!
//! A passage is a paragraph (paragraphs are separated by blank lines). A paragraph longer than
//! [`MAX_PASSAGE_BYTES`] is cut into windows of whole sentences, and a single sentence longer
//! than that (a table row, a run-on line of many MB) is cut at a space, or anywhere on a char
//! boundary when there is none. Passages never overlap, and together with the separators
//! between them they cover the body exactly: offsets always slice the body.

/// Passages stay under this size (bytes) unless a single word is longer.
pub const MAX_PASSAGE_BYTES: usize = 900;
/// A paragraph shorter than this is merged with the next one when both fit in one passage,
/// so one-line paragraphs ("Reuter", a bare dateline) do not become passages of their own.
const MIN_PASSAGE_BYTES: usize = 80;

/// One passage: byte and char offsets into the body (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passage {
    pub start: usize,
    pub end: usize,
    pub char_start: usize,
    pub char_end: usize,
}

/// Splits `body` into passages. An empty body gives one empty passage, so that every article
/// is reachable through its headline.
pub fn split_passages(body: &str) -> Vec<Passage> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (start, end) in paragraphs(body) {
        if end - start <= MAX_PASSAGE_BYTES {
            push_merging(&mut ranges, body, (start, end));
        } else {
            for w in windows(body, start, end) {
                ranges.push(w);
            }
        }
    }
    if ranges.is_empty() {
        ranges.push((0, 0));
    }
    with_char_offsets(body, &ranges)
}

fn push_merging(ranges: &mut Vec<(usize, usize)>, body: &str, next: (usize, usize)) {
    if let Some(last) = ranges.last_mut() {
        let last_small = last.1 - last.0 < MIN_PASSAGE_BYTES;
        let next_small = next.1 - next.0 < MIN_PASSAGE_BYTES;
        if (last_small || next_small) && next.1 - last.0 <= MAX_PASSAGE_BYTES {
            debug_assert!(body.is_char_boundary(next.1));
            last.1 = next.1;
            return;
        }
    }
    ranges.push(next);
}

/// Byte ranges of the paragraphs: maximal runs of text between blank lines, trimmed.
fn paragraphs(body: &str) -> Vec<(usize, usize)> {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut para_start: Option<usize> = None;
    let mut last_non_ws = 0;
    let mut i = 0;
    let mut line_start = 0;
    while i <= bytes.len() {
        let at_end = i == bytes.len();
        if at_end || bytes[i] == b'\n' {
            let line = &body[line_start..i];
            if line.trim().is_empty() {
                if let Some(s) = para_start.take() {
                    out.push((s, last_non_ws));
                }
            } else {
                let lead = line.len() - line.trim_start().len();
                if para_start.is_none() {
                    para_start = Some(line_start + lead);
                }
                last_non_ws = line_start + line.trim_end().len();
            }
            line_start = i + 1;
        }
        i += 1;
    }
    if let Some(s) = para_start {
        out.push((s, last_non_ws));
    }
    out
}

/// Cuts one long paragraph into windows of whole sentences, each under the size cap.
fn windows(body: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut win_start = start;
    let mut win_end = start;
    for (s, e) in sentences(body, start, end) {
        if e - win_start <= MAX_PASSAGE_BYTES {
            win_end = e;
            continue;
        }
        if win_end > win_start {
            out.push((win_start, win_end));
        }
        // The sentence starts a new window; cut it further if it alone is too long.
        let mut s = skip_ws(body, s, e);
        while e - s > MAX_PASSAGE_BYTES {
            let cut = cut_point(body, s, s + MAX_PASSAGE_BYTES);
            out.push((s, trim_end(body, s, cut)));
            s = skip_ws(body, cut, e);
        }
        win_start = s;
        win_end = e;
    }
    if win_end > win_start {
        out.push((win_start, win_end));
    }
    out
}

/// Sentence ranges inside `start..end`: a sentence ends after `.`, `!` or `?` (and any closing
/// quotes or brackets) followed by whitespace and then an uppercase letter, digit or quote.
fn sentences(body: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let text = &body[start..end];
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut s = 0;
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b'.' | b'!' | b'?') {
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b'"' | b'\'' | b')' | b']') {
                j += 1;
            }
            let ws_end = j + text[j..]
                .bytes()
                .take_while(|c| c.is_ascii_whitespace())
                .count();
            if ws_end > j && ws_end < b.len() {
                let next = text[ws_end..].chars().next().unwrap_or(' ');
                if next.is_uppercase() || next.is_ascii_digit() || "\"'“‘(".contains(next) {
                    out.push((start + s, start + j));
                    s = ws_end;
                    i = ws_end;
                    continue;
                }
            }
        }
        i += 1;
    }
    if s < b.len() {
        out.push((start + s, end));
    }
    out
}

/// The last whitespace at or before `limit` (after `from`), else the char boundary at `limit`.
fn cut_point(body: &str, from: usize, limit: usize) -> usize {
    let mut limit = limit.min(body.len());
    while !body.is_char_boundary(limit) {
        limit -= 1;
    }
    match body[from..limit].rfind(char::is_whitespace) {
        Some(p) if p > 0 => from + p,
        _ => limit,
    }
}

fn skip_ws(body: &str, from: usize, end: usize) -> usize {
    from + body[from..end].len() - body[from..end].trim_start().len()
}

fn trim_end(body: &str, from: usize, to: usize) -> usize {
    from + body[from..to].trim_end().len()
}

/// Adds char offsets in one pass over the body.
fn with_char_offsets(body: &str, ranges: &[(usize, usize)]) -> Vec<Passage> {
    let mut out = Vec::with_capacity(ranges.len());
    let mut byte = 0;
    let mut chars = 0;
    let mut advance = |to: usize| {
        chars += body[byte..to].chars().count();
        byte = to;
        chars
    };
    for &(s, e) in ranges {
        let char_start = advance(s);
        let char_end = advance(e);
        out.push(Passage {
            start: s,
            end: e,
            char_start,
            char_end,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Vec<&str> {
        split_passages(body)
            .iter()
            .map(|p| &body[p.start..p.end])
            .collect()
    }

    #[test]
    fn paragraphs_become_passages() {
        let body = format!(
            "{}\n\n{}\n\n  {}  ",
            "a".repeat(100),
            "b".repeat(120),
            "c".repeat(90)
        );
        assert_eq!(
            texts(&body),
            vec!["a".repeat(100), "b".repeat(120), "c".repeat(90)]
        );
    }

    #[test]
    fn short_paragraphs_merge_with_neighbours() {
        let body = format!("LONDON\n\n{}\n\nReuter", "x".repeat(200));
        let t = texts(&body);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0], body);
    }

    #[test]
    fn long_paragraph_is_cut_into_sentence_windows() {
        let sentence = "The minister said the port would reopen on Monday. ";
        let body = sentence.repeat(60);
        let ps = split_passages(&body);
        assert!(ps.len() > 1);
        for p in &ps {
            let t = &body[p.start..p.end];
            assert!(t.len() <= MAX_PASSAGE_BYTES, "{}", t.len());
            assert!(t.starts_with("The minister"), "{t:?}");
            assert!(t.ends_with("Monday."), "{t:?}");
        }
    }

    #[test]
    fn a_huge_line_without_spaces_is_cut_on_char_boundaries() {
        let body = "é".repeat(5000);
        let ps = split_passages(&body);
        let total: usize = ps.iter().map(|p| p.end - p.start).sum();
        assert_eq!(total, body.len());
        for p in &ps {
            assert!(p.end - p.start <= MAX_PASSAGE_BYTES);
        }
    }

    #[test]
    fn char_offsets_match_byte_offsets() {
        let body = "Prices rose to £5 at the café.\n\nThe euro — €3 — fell on Tuesday, traders said again.";
        for p in split_passages(body) {
            let by_chars: String = body
                .chars()
                .skip(p.char_start)
                .take(p.char_end - p.char_start)
                .collect();
            assert_eq!(by_chars, &body[p.start..p.end]);
        }
    }

    #[test]
    fn empty_body_has_one_empty_passage() {
        assert_eq!(split_passages("").len(), 1);
        assert_eq!(split_passages("  \n\n ")[0].end, 0);
    }
}
