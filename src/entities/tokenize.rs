//! CoNLL-compatible tokenizer: splits punctuation, keeps abbreviations ("U.S.", "Inc."),
//! hyphenated words, numbers with `,`/`.`, splits possessive `'s` and `n't`.

/// A token as a byte range of the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Token {
    pub start: u32,
    pub end: u32,
}

/// Abbreviations that keep their final period.
const ABBREV: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "inc", "corp", "ltd", "co", "cos", "bros",
    "gen", "col", "lt", "capt", "maj", "sgt", "adm", "sen", "rep", "gov", "rev", "messrs", "mt",
    "ft", "no", "vs", "etc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "plc", "cie", "fig", "approx", "dept", "univ", "assn", "ave", "blvd", "calif",
    "fla", "ill", "mass", "mich", "minn", "penn", "tenn", "tex", "va", "wash", "wis", "conn",
    "ariz", "colo", "ga", "ind", "kan", "ky", "la", "md", "mo", "nev", "okla", "ore", "pa",
];

fn is_abbrev(w: &[u8]) -> bool {
    if w.len() > 6 {
        return false;
    }
    let mut buf = [0u8; 8];
    for (i, b) in w.iter().enumerate() {
        buf[i] = b.to_ascii_lowercase();
    }
    let l = &buf[..w.len()];
    ABBREV.iter().any(|a| a.as_bytes() == l)
}

#[inline]
fn char_at(s: &str, i: usize) -> Option<char> {
    let b = *s.as_bytes().get(i)?;
    if b < 0x80 {
        Some(b as char)
    } else {
        s[i..].chars().next()
    }
}

#[inline]
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric())
}

/// Length (in bytes) of a clitic starting at apostrophe position `i`, if any:
/// `'s`, `'d`, `'m`, `'ll`, `'re`, `'ve` followed by a non-word char.
fn clitic_len(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'\'') {
        return None;
    }
    let rest = &b[i + 1..];
    for cl in [&b"s"[..], b"d", b"m", b"ll", b"re", b"ve"] {
        if rest.len() >= cl.len() && rest[..cl.len()].eq_ignore_ascii_case(cl) {
            let after = rest.get(cl.len()).copied();
            if after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c >= 0x80)) {
                return Some(1 + cl.len());
            }
        }
    }
    None
}

/// Tokenizes `text`, appending to `out` (byte offsets relative to `text`).
pub fn tokenize_into(text: &str, out: &mut Vec<Token>) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        let c0 = b[i];
        if c0 == b' ' || c0 == b'\n' || c0 == b'\t' || c0 == b'\r' {
            i += 1;
            continue;
        }
        let c = match char_at(text, i) {
            Some(c) => c,
            None => break,
        };
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let start = i;
        if is_word_char(c) {
            let mut j = i + c.len_utf8();
            let mut has_dot = false;
            loop {
                if j >= n {
                    break;
                }
                let cj = b[j];
                if cj < 0x80 {
                    if cj.is_ascii_alphanumeric() {
                        j += 1;
                        continue;
                    }
                    let next_word = j + 1 < n && char_at(text, j + 1).is_some_and(is_word_char);
                    match cj {
                        b'-' | b'&' if next_word => {
                            j += 1;
                            continue;
                        }
                        b'.' if next_word => {
                            has_dot = true;
                            j += 1;
                            continue;
                        }
                        b',' if next_word
                            && b[j - 1].is_ascii_digit()
                            && b[j + 1].is_ascii_digit() =>
                        {
                            j += 1;
                            continue;
                        }
                        b'\'' => {
                            // n't
                            if j >= start + 2
                                && (b[j - 1] == b'n' || b[j - 1] == b'N')
                                && j + 1 < n
                                && (b[j + 1] == b't' || b[j + 1] == b'T')
                                && (j + 2 >= n || !b[j + 2].is_ascii_alphanumeric())
                                && j - 1 > start
                            {
                                j -= 1;
                                break;
                            }
                            if clitic_len(b, j).is_some() {
                                break;
                            }
                            if next_word {
                                j += 1;
                                continue;
                            }
                            break;
                        }
                        b'.' => {
                            // trailing period: keep for abbreviations / initials / dotted words
                            let w = &b[start..j];
                            let single_upper = w.len() == 1 && w[0].is_ascii_uppercase();
                            if has_dot || single_upper || is_abbrev(w) {
                                j += 1;
                            }
                            break;
                        }
                        _ => break,
                    }
                } else {
                    match char_at(text, j) {
                        Some(ch) if is_word_char(ch) => j += ch.len_utf8(),
                        _ => break,
                    }
                }
            }
            out.push(Token {
                start: start as u32,
                end: j as u32,
            });
            i = j;
            continue;
        }
        if c0 == b'\'' {
            if let Some(l) = clitic_len(b, i) {
                out.push(Token {
                    start: i as u32,
                    end: (i + l) as u32,
                });
                i += l;
                continue;
            }
            // n't
            if i + 2 < n + 1 && b.get(i + 1).is_some_and(|x| *x == b't' || *x == b'T') {
                // handled in word branch
            }
        }
        if c0 == b'n' || c0 == b'N' {
            // unreachable: 'n' is a word char
        }
        // punctuation: group runs of the same ASCII char (e.g. "--", "...")
        let mut j = i + c.len_utf8();
        if c0 < 0x80 && matches!(c0, b'-' | b'.' | b'`' | b'\'' | b'=' | b'*') {
            while j < n && b[j] == c0 {
                j += 1;
            }
        }
        out.push(Token {
            start: start as u32,
            end: j as u32,
        });
        i = j;
    }
}

/// Convenience wrapper returning a fresh vector.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut v = Vec::new();
    tokenize_into(text, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        tokenize(s)
            .iter()
            .map(|t| &s[t.start as usize..t.end as usize])
            .collect()
    }

    #[test]
    fn conll_style() {
        assert_eq!(
            toks("The U.S. firm Acme Inc. said it's Mr. Smith's $1,200.50 deal (don't)."),
            vec![
                "The", "U.S.", "firm", "Acme", "Inc.", "said", "it", "'s", "Mr.", "Smith", "'s",
                "$", "1,200.50", "deal", "(", "do", "n't", ")", "."
            ]
        );
        assert_eq!(
            toks("Wimbledon-based O'Neill's 3-1 win... \"ok\""),
            vec![
                "Wimbledon-based",
                "O'Neill",
                "'s",
                "3-1",
                "win",
                "...",
                "\"",
                "ok",
                "\""
            ]
        );
        assert_eq!(toks("He left. Then"), vec!["He", "left", ".", "Then"]);
    }

    #[test]
    fn offsets_slice_exactly() {
        let s =
            "Zürich's café — “Société Générale” said 76% (£600m), Sergei Chemezov's plan.\n\nNext";
        let t = tokenize(s);
        let mut last = 0;
        for tok in &t {
            let piece = &s[tok.start as usize..tok.end as usize];
            assert!(!piece.is_empty());
            assert!(piece.trim() == piece);
            assert!(tok.start as usize >= last);
            last = tok.end as usize;
        }
        let joined: String = t
            .iter()
            .map(|x| &s[x.start as usize..x.end as usize])
            .collect();
        let nospace: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(joined, nospace);
    }
}
