//! Byte decoding: UTF-8, with a Windows-1252 / Latin-1 fallback.

use std::borrow::Cow;

use super::{ErrorKind, FileError};

/// Windows-1252 code points for bytes 0x80..=0x9F (0 = undefined).
const CP1252_HIGH: [u32; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// Windows-1252 character for one byte (None for the 5 undefined bytes).
#[inline]
pub(crate) fn cp1252_char(b: u8) -> Option<char> {
    match b {
        0..=0x7F | 0xA0..=0xFF => Some(b as char),
        _ => match CP1252_HIGH[(b - 0x80) as usize] {
            0 => None,
            c => char::from_u32(c),
        },
    }
}

/// UTF-8 if valid (borrowed, no copy). Otherwise, when the invalid bytes look
/// like Windows-1252 / Latin-1 (none of the 5 undefined C1 bytes, at most a
/// quarter of all bytes invalid) each valid UTF-8 run is kept and each stray byte is
/// decoded as Windows-1252 — this handles pure Latin-1 text as well as UTF-8
/// text with a few Latin-1 bytes mixed in. Anything else: lossy UTF-8.
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut invalid = 0usize;
    let mut undefined = false;
    for chunk in bytes.utf8_chunks() {
        for &b in chunk.invalid() {
            invalid += 1;
            undefined |= matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D);
        }
    }
    if undefined || invalid * 4 > bytes.len() {
        return String::from_utf8_lossy(bytes);
    }
    let mut out = String::with_capacity(bytes.len() + invalid);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.push(cp1252_char(b).unwrap_or('\u{FFFD}'));
        }
    }
    Cow::Owned(out)
}

/// Decode a whole text file: Empty / Binary checks, UTF-16 (with BOM),
/// UTF-8 BOM stripped, CRLF / CR normalised to LF.
pub(crate) fn decode_file(bytes: &[u8]) -> Result<String, FileError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError::new(ErrorKind::Empty, "empty file"));
    }
    let text: Cow<'_, str> = if bytes.starts_with(&[0xFF, 0xFE]) {
        encoding_rs::UTF_16LE.decode_with_bom_removal(bytes).0
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        encoding_rs::UTF_16BE.decode_with_bom_removal(bytes).0
    } else {
        if memchr::memchr(0, bytes).is_some() {
            return Err(FileError::new(
                ErrorKind::Binary,
                "file contains NUL bytes (binary?)",
            ));
        }
        decode_text(bytes)
    };
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    if text.trim().is_empty() {
        return Err(FileError::new(ErrorKind::Empty, "empty file"));
    }
    Ok(normalize_newlines(text))
}

/// CRLF and lone CR -> LF.
pub(crate) fn normalize_newlines(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_borrowed() {
        assert!(matches!(
            decode_text("héllo £".as_bytes()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn latin1_and_cp1252() {
        assert_eq!(decode_text(b"cost \xA3100 caf\xE9"), "cost £100 café");
        assert_eq!(
            decode_text(b"\x93quoted\x94 \x80 5"),
            "\u{201C}quoted\u{201D} € 5"
        );
        // UTF-8 text with one stray Latin-1 byte: both survive.
        assert_eq!(
            decode_text(
                "naïve \u{2014} "
                    .as_bytes()
                    .iter()
                    .copied()
                    .chain(*b"\xA3")
                    .collect::<Vec<_>>()
                    .as_slice()
            ),
            "naïve \u{2014} £"
        );
    }

    #[test]
    fn garbage_is_lossy() {
        let s = decode_text(b"\x81\x8D\xFF\xFE");
        assert!(s.contains('\u{FFFD}'));
        let s = decode_text(b"\xC0\xC1\xF5\xFF\xFE");
        assert!(s.contains('\u{FFFD}'));
    }

    #[test]
    fn file_decoding() {
        assert_eq!(
            decode_file(b"\xEF\xBB\xBFa\r\nb\rc\n").unwrap(),
            "a\nb\nc\n"
        );
        assert_eq!(decode_file(b"  \n\t ").unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(decode_file(b"").unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(
            decode_file(b"\xEF\xBB\xBF \n").unwrap_err().kind,
            ErrorKind::Empty
        );
        assert_eq!(
            decode_file(b"abc\0def").unwrap_err().kind,
            ErrorKind::Binary
        );
        assert_eq!(decode_file(b"\xFF\xFEh\0i\0").unwrap(), "hi");
    }
}
