//! Reading a `.json` file as a stream: where each JSON value ends, found without building it.
//!
//! A news export is often one JSON array of articles (or an object around one), hundreds of
//! megabytes long. Parsed whole, such a file costs several times its size in memory
//! (`serde_json::Value` trees: 707 MB of peak RSS for a 100 MB array); here only the file's
//! skeleton is read byte by byte (brackets, commas, strings), and each article's bytes are
//! handed on alone, to be parsed by serde_json and dropped. Memory is bounded by the largest
//! article, not by the file.
//!
//! The scanner checks the skeleton only: that brackets match, that strings end, that items
//! are separated by commas. Whether an item is valid JSON is serde_json's to say, item by
//! item (see `json::parse_json`).

use std::io::{self, BufRead, Read};

use super::{ErrorKind, FileError};

/// Where a value [`Scanner::value`] read starts, and whether it fit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scanned {
    /// Not longer than the limit asked for (else the bytes were skipped, not kept).
    pub fits: bool,
    /// 1-based line of its first byte.
    pub line: usize,
}

/// A byte stream read token by token, counting lines for error messages.
pub(crate) struct Scanner<'a> {
    reader: &'a mut dyn BufRead,
    /// 1-based line of the next unread byte.
    pub line: usize,
}

fn invalid(reason: String) -> FileError {
    FileError::new(ErrorKind::InvalidJson, reason)
}

/// Bytes that end a number, `true`, `false` or `null`.
fn ends_scalar(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'[' | b']' | b'{' | b'}' | b'"'
    )
}

/// How a byte shows in an error message.
fn shown(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02X}")
    }
}

impl<'a> Scanner<'a> {
    pub fn new(reader: &'a mut dyn BufRead) -> Scanner<'a> {
        Scanner { reader, line: 1 }
    }

    /// The next byte that is not JSON whitespace, left unread (None at the end of the stream).
    pub fn peek(&mut self) -> Result<Option<u8>, FileError> {
        loop {
            let buf = self.reader.fill_buf().map_err(FileError::io)?;
            if buf.is_empty() {
                return Ok(None);
            }
            let (skipped, found) = match buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(i) => (i, Some(buf[i])),
                None => (buf.len(), None),
            };
            self.line += memchr::memchr_iter(b'\n', &buf[..skipped]).count();
            self.reader.consume(skipped);
            if found.is_some() {
                return Ok(found);
            }
        }
    }

    /// Consumes `b` if it is the next token.
    pub fn eat(&mut self, b: u8) -> Result<bool, FileError> {
        let found = self.peek()? == Some(b);
        if found {
            self.reader.consume(1);
        }
        Ok(found)
    }

    /// Consumes `expected` as the next token, or fails naming what was there instead.
    pub fn expect(&mut self, expected: u8, context: &str) -> Result<(), FileError> {
        match self.peek()? {
            Some(b) if b == expected => {
                self.reader.consume(1);
                Ok(())
            }
            Some(b) => Err(invalid(format!(
                "invalid JSON at line {}: expected `{}` {context}, found {}",
                self.line,
                expected as char,
                shown(b)
            ))),
            None => Err(invalid(format!(
                "invalid JSON: the file ends where `{}` was expected {context}",
                expected as char
            ))),
        }
    }

    /// Copies the next JSON value's bytes into `out` (cleared first). Keeps at most `max`
    /// bytes: when the value is longer, `out` is left empty and the value skipped.
    /// Fails when the value's brackets do not match or the stream ends inside it.
    pub fn value(&mut self, out: &mut Vec<u8>, max: usize) -> Result<Scanned, FileError> {
        out.clear();
        let first = self.peek()?;
        let start_line = self.line;
        let first = match first {
            Some(b @ (b',' | b':' | b']' | b'}')) => {
                return Err(invalid(format!(
                    "invalid JSON at line {start_line}: expected a value, found {}",
                    shown(b)
                )))
            }
            Some(b) => b,
            None => {
                return Err(invalid(
                    "invalid JSON: the file ends where a value was expected".into(),
                ))
            }
        };
        let scalar = !matches!(first, b'"' | b'{' | b'[');
        // Closing brackets still expected, innermost last.
        let mut open: Vec<u8> = Vec::new();
        let (mut in_string, mut escaped, mut started) = (false, false, false);
        let mut keep = true;
        loop {
            let buf = self.reader.fill_buf().map_err(FileError::io)?;
            if buf.is_empty() {
                if scalar {
                    return Ok(Scanned {
                        fits: keep,
                        line: start_line,
                    });
                }
                return Err(invalid(format!(
                    "invalid JSON: the file ends inside the value that starts at line {start_line}"
                )));
            }
            let mut i = 0;
            let mut done = false;
            let mut lines = 0;
            while i < buf.len() {
                let b = buf[i];
                if b == b'\n' {
                    lines += 1;
                }
                if !started {
                    started = true;
                    match b {
                        b'"' => in_string = true,
                        b'{' => open.push(b'}'),
                        b'[' => open.push(b']'),
                        _ => {}
                    }
                } else if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if open.is_empty() {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                } else if scalar {
                    if ends_scalar(b) {
                        // Not part of the value: left unread.
                        if b == b'\n' {
                            lines -= 1;
                        }
                        done = true;
                        break;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' => open.push(b'}'),
                        b'[' => open.push(b']'),
                        b'}' | b']' => {
                            let expected = open.pop().expect("inside a container");
                            if b != expected {
                                return Err(invalid(format!(
                                    "invalid JSON at line {}: {} where `{}` was expected",
                                    self.line + lines,
                                    shown(b),
                                    expected as char
                                )));
                            }
                            if open.is_empty() {
                                i += 1;
                                done = true;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            if keep && out.len() + i <= max {
                out.extend_from_slice(&buf[..i]);
            } else if keep {
                keep = false;
                out.clear();
                out.shrink_to(64 << 10);
            }
            self.reader.consume(i);
            self.line += lines;
            if done {
                return Ok(Scanned {
                    fits: keep,
                    line: start_line,
                });
            }
        }
    }
}

/// UTF-16 (a file that starts with its byte-order mark) read as UTF-8, a block at a time.
pub(crate) struct Utf16Reader<'a> {
    inner: &'a mut dyn BufRead,
    decoder: encoding_rs::Decoder,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

/// The UTF-16 encoding whose byte-order mark starts the stream, if one does.
pub(crate) fn utf16_bom(
    reader: &mut dyn BufRead,
) -> io::Result<Option<&'static encoding_rs::Encoding>> {
    let head = reader.fill_buf()?;
    Ok(if head.starts_with(&[0xFF, 0xFE]) {
        Some(encoding_rs::UTF_16LE)
    } else if head.starts_with(&[0xFE, 0xFF]) {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    })
}

impl<'a> Utf16Reader<'a> {
    /// Reads `inner`, which starts with `encoding`'s byte-order mark (dropped).
    pub fn new(
        inner: &'a mut dyn BufRead,
        encoding: &'static encoding_rs::Encoding,
    ) -> Utf16Reader<'a> {
        Utf16Reader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            out: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for Utf16Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Utf16Reader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.out.len() && !self.done {
            let input = self.inner.fill_buf()?;
            let last = input.is_empty();
            let n = input.len().min(64 << 10);
            let room = self.decoder.max_utf8_buffer_length(n).unwrap_or(4 * n + 16);
            self.out.resize(room, 0);
            let (_, read, written, _) =
                self.decoder
                    .decode_to_utf8(&input[..n], &mut self.out, last);
            self.inner.consume(read);
            self.out.truncate(written);
            self.pos = 0;
            self.done = last;
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of `input`, as the scanner delimits them (a comma or whitespace between).
    fn values(input: &[u8], chunk: usize) -> Result<Vec<(String, usize)>, FileError> {
        let mut r = io::BufReader::with_capacity(chunk, input);
        let mut sc = Scanner::new(&mut r);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(b) = sc.peek()? {
            if b == b',' {
                sc.expect(b',', "")?;
                continue;
            }
            let v = sc.value(&mut buf, 1 << 20)?;
            assert!(v.fits);
            out.push((String::from_utf8(buf.clone()).unwrap(), v.line));
        }
        Ok(out)
    }

    #[test]
    fn values_end_where_json_says_whatever_the_read_size() {
        let input = br#"{"a": "x}]\"", "b": [1, {"c": null}]}, 42,
 "s\\", true ,[ "]" ]
-1.5e3"#;
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let v = values(input, chunk).unwrap();
            let texts: Vec<&str> = v.iter().map(|(s, _)| s.as_str()).collect();
            assert_eq!(
                texts,
                [
                    r#"{"a": "x}]\"", "b": [1, {"c": null}]}"#,
                    "42",
                    r#""s\\""#,
                    "true",
                    r#"[ "]" ]"#,
                    "-1.5e3"
                ],
                "chunk {chunk}"
            );
            let lines: Vec<usize> = v.iter().map(|(_, l)| *l).collect();
            assert_eq!(lines, [1, 1, 2, 2, 2, 3], "chunk {chunk}");
            for (s, _) in &v {
                serde_json::from_str::<serde_json::Value>(s).unwrap();
            }
        }
    }

    #[test]
    fn broken_skeletons_fail_with_their_line() {
        let e = values(b"[1,\n{\"a\": [2}\n]", 3).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidJson);
        assert!(
            e.reason.contains("line 2") && e.reason.contains("`}`"),
            "{}",
            e.reason
        );
        let e = values(b"\n\n{\"a\": \"never ends}", 5).unwrap_err();
        assert!(e.reason.contains("starts at line 3"), "{}", e.reason);
    }

    #[test]
    fn a_value_longer_than_the_limit_is_skipped_whole() {
        let input = b"[\"0123456789\", \"ok\"]";
        let mut r: &[u8] = input;
        let mut sc = Scanner::new(&mut r);
        sc.expect(b'[', "").unwrap();
        let mut buf = Vec::new();
        assert!(!sc.value(&mut buf, 5).unwrap().fits);
        assert!(buf.is_empty());
        sc.expect(b',', "").unwrap();
        assert!(sc.value(&mut buf, 5).unwrap().fits);
        assert_eq!(buf, b"\"ok\"");
        sc.expect(b']', "").unwrap();
        assert_eq!(sc.peek().unwrap(), None);
    }

    #[test]
    fn utf16_is_read_as_utf8() {
        let text = "[{\"title\": \"Café £5 — 東京\"}]";
        for (bom, enc) in [([0xFF, 0xFE], true), ([0xFE, 0xFF], false)] {
            let mut bytes = bom.to_vec();
            for u in text.encode_utf16() {
                bytes.extend(if enc {
                    u.to_le_bytes()
                } else {
                    u.to_be_bytes()
                });
            }
            let mut r = io::BufReader::with_capacity(3, &bytes[..]);
            let encoding = utf16_bom(&mut r).unwrap().expect("a byte-order mark");
            let mut u = Utf16Reader::new(&mut r, encoding);
            let mut s = String::new();
            u.read_to_string(&mut s).unwrap();
            assert_eq!(s, text);
        }
        let mut plain: &[u8] = b"[1]";
        assert!(utf16_bom(&mut plain).unwrap().is_none());
    }
}
