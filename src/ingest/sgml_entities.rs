//! SGML / HTML character entities and control-character cleanup.

use std::borrow::Cow;

fn named(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" | "AMP" => "&",
        "lt" | "LT" => "<",
        "gt" | "GT" => ">",
        "quot" | "QUOT" => "\"",
        "apos" => "'",
        "nbsp" => " ",
        "ndash" => "\u{2013}",
        "mdash" => "\u{2014}",
        "hellip" => "\u{2026}",
        "lsquo" => "\u{2018}",
        "rsquo" => "\u{2019}",
        "sbquo" => "\u{201A}",
        "ldquo" => "\u{201C}",
        "rdquo" => "\u{201D}",
        "bdquo" => "\u{201E}",
        "laquo" => "\u{AB}",
        "raquo" => "\u{BB}",
        "lsaquo" => "\u{2039}",
        "rsaquo" => "\u{203A}",
        "bull" => "\u{2022}",
        "middot" => "\u{B7}",
        "copy" => "\u{A9}",
        "reg" => "\u{AE}",
        "trade" => "\u{2122}",
        "euro" => "\u{20AC}",
        "pound" => "\u{A3}",
        "yen" => "\u{A5}",
        "cent" => "\u{A2}",
        "curren" => "\u{A4}",
        "sect" => "\u{A7}",
        "para" => "\u{B6}",
        "deg" => "\u{B0}",
        "plusmn" => "\u{B1}",
        "times" => "\u{D7}",
        "divide" => "\u{F7}",
        "frac12" => "\u{BD}",
        "frac14" => "\u{BC}",
        "frac34" => "\u{BE}",
        "sup2" => "\u{B2}",
        "sup3" => "\u{B3}",
        "micro" => "\u{B5}",
        "iexcl" => "\u{A1}",
        "iquest" => "\u{BF}",
        "shy" => "",
        "zwj" | "zwnj" | "lrm" | "rlm" => "",
        "ensp" | "emsp" | "thinsp" => " ",
        "dagger" => "\u{2020}",
        "prime" => "\u{2032}",
        "agrave" => "à",
        "aacute" => "á",
        "acirc" => "â",
        "atilde" => "ã",
        "auml" => "ä",
        "aring" => "å",
        "aelig" => "æ",
        "ccedil" => "ç",
        "egrave" => "è",
        "eacute" => "é",
        "ecirc" => "ê",
        "euml" => "ë",
        "igrave" => "ì",
        "iacute" => "í",
        "icirc" => "î",
        "iuml" => "ï",
        "ntilde" => "ñ",
        "ograve" => "ò",
        "oacute" => "ó",
        "ocirc" => "ô",
        "otilde" => "õ",
        "ouml" => "ö",
        "oslash" => "ø",
        "ugrave" => "ù",
        "uacute" => "ú",
        "ucirc" => "û",
        "uuml" => "ü",
        "yacute" => "ý",
        "yuml" => "ÿ",
        "szlig" => "ß",
        "Agrave" => "À",
        "Aacute" => "Á",
        "Acirc" => "Â",
        "Atilde" => "Ã",
        "Auml" => "Ä",
        "Aring" => "Å",
        "AElig" => "Æ",
        "Ccedil" => "Ç",
        "Egrave" => "È",
        "Eacute" => "É",
        "Ecirc" => "Ê",
        "Euml" => "Ë",
        "Iacute" => "Í",
        "Icirc" => "Î",
        "Iuml" => "Ï",
        "Ntilde" => "Ñ",
        "Oacute" => "Ó",
        "Ocirc" => "Ô",
        "Ouml" => "Ö",
        "Oslash" => "Ø",
        "Uacute" => "Ú",
        "Ucirc" => "Û",
        "Uuml" => "Ü",
        "oelig" => "œ",
        "OElig" => "Œ",
        "scaron" => "š",
        "Scaron" => "Š",
        _ => return None,
    })
}

/// Characters dropped from text: C0 controls other than \n and \t, DEL and
/// C1 controls. (\r is handled separately.)
#[inline]
fn is_dropped_control(c: char) -> bool {
    (c < ' ' && c != '\n' && c != '\t') || ('\u{7F}'..='\u{9F}').contains(&c)
}

fn numeric(body: &str) -> Option<char> {
    let n = if let Some(hex) = body.strip_prefix('x').or_else(|| body.strip_prefix('X')) {
        u32::from_str_radix(hex, 16).ok()?
    } else {
        body.parse::<u32>().ok()?
    };
    // HTML convention: &#128;..&#159; mean Windows-1252 characters.
    if (0x80..=0x9F).contains(&n) {
        if let Some(c) = super::decode::cp1252_char(n as u8) {
            return Some(c);
        }
    }
    char::from_u32(n)
}

/// Decode named (common HTML/SGML set) and numeric (`&#NN;`, `&#xHH;`)
/// entities, and clean control characters: entities or raw characters that
/// are control characters (other than \n and \t) are removed, CRLF and lone
/// CR become LF. Unknown entities are left as written. Borrowed when nothing
/// changes.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    // Bytes that may need work: '&', C0 controls other than \n \t (incl. \r),
    // DEL, and 0xC2 (lead byte of U+0080..U+00BF, which holds the C1 controls).
    #[inline]
    fn special(b: u8) -> bool {
        b == b'&' || (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7F || b == 0xC2
    }
    let Some(first) = bytes.iter().position(|&b| special(b)) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut i = first;
    let mut run = first; // start of the pending ordinary run
    while i < bytes.len() {
        let b = bytes[i];
        if !special(b) {
            i += 1;
            continue;
        }
        // All special bytes are ASCII or a UTF-8 lead byte: char boundaries.
        out.push_str(&s[run..i]);
        match b {
            b'&' => {
                let semi = bytes[i + 1..]
                    .iter()
                    .take(12)
                    .position(|&c| c == b';')
                    .map(|p| i + 1 + p);
                let decoded = semi.and_then(|end| {
                    let body = &s[i + 1..end];
                    if let Some(num) = body.strip_prefix('#') {
                        numeric(num).map(|ch| (end, Dec::Char(ch)))
                    } else {
                        named(body).map(|r| (end, Dec::Str(r)))
                    }
                });
                match decoded {
                    Some((end, d)) => {
                        match d {
                            Dec::Char('\r') => out.push('\n'),
                            Dec::Char(ch) if is_dropped_control(ch) => {}
                            Dec::Char(ch) => out.push(ch),
                            Dec::Str(r) => out.push_str(r),
                        }
                        i = end + 1;
                    }
                    None => {
                        out.push('&');
                        i += 1;
                    }
                }
            }
            b'\r' => {
                out.push('\n');
                i += 1;
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
            0xC2 => {
                // U+0080..U+009F (C1 controls) are dropped, the rest kept.
                if matches!(bytes.get(i + 1), Some(0x80..=0x9F)) {
                } else {
                    out.push_str(&s[i..i + 2]);
                }
                i += 2;
            }
            _ => i += 1, // other control byte: dropped
        }
        run = i;
    }
    out.push_str(&s[run..]);
    Cow::Owned(out)
}

enum Dec {
    Char(char),
    Str(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a &lt;b&gt; &amp; &quot;c&quot; &apos;d"),
            "a <b> & \"c\" 'd"
        );
        assert_eq!(
            decode_entities("x&#3;y&#22;&#5;&#31;&#1;&#2;&#127;z"),
            "xyz"
        );
        assert_eq!(
            decode_entities("&#65;&#x42;&#150;&eacute;&nbsp;"),
            "AB\u{2013}é "
        );
        assert_eq!(
            decode_entities("AT&T &unknown; & done &"),
            "AT&T &unknown; & done &"
        );
        assert_eq!(decode_entities("a\r\nb\rc\u{3}\td"), "a\nb\nc\td");
        assert!(matches!(decode_entities("plain text\n"), Cow::Borrowed(_)));
        assert_eq!(decode_entities("caf\u{e9} \u{85}x"), "caf\u{e9} x");
    }
}
