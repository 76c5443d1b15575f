//! Incremental request parsing (Redis: `networking.c`, `processMultibulkBuffer` and
//! `processInlineBuffer`).
//!
//! A client's bytes arrive in arbitrary pieces. [`RequestParser::parse`] looks at the unconsumed
//! part of the client's query buffer and either finds one complete command (returning how many
//! bytes it used) or says "not enough bytes yet" — a normal outcome, not an error. The parser
//! remembers how far it got, so a command split over many reads (a 100 MB SET, an MSET with a
//! million arguments) is scanned once, not once per read.
//!
//! Arguments are not copied: for a multibulk request the parser records `(start, end)` spans into
//! the query buffer; the dispatcher hands handlers `&[u8]` slices of it, and whatever a command
//! stores is copied once, into its own allocation. Inline commands (`telnet`-style `SET k v`)
//! need unquoting, so their arguments are owned.
//!
//! Two request forms, as in Redis:
//! ```text
//! multibulk:  *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n
//! inline:     SET k "hello world"\r\n
//! ```

/// Longest header line (`*<n>` / `$<n>`) or inline request accepted without its newline
/// (Redis: `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Largest bulk for which a client that has not authenticated may send (Redis: 16 KiB) and the
/// largest multibulk count it may announce.
const UNAUTHENTICATED_BULK_MAX: i64 = 16 * 1024;
const UNAUTHENTICATED_MULTIBULK_MAX: i64 = 10;

/// A protocol error: Redis replies `-ERR Protocol error: <msg>` and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

#[derive(Debug, PartialEq, Eq)]
pub enum ParseOutcome {
    /// A command is ready: its arguments are in the parser; `consumed` bytes may be dropped
    /// from the buffer after it runs.
    Complete { consumed: usize },
    /// Not enough bytes yet. `need` is a lower bound on the total bytes the command needs, used
    /// to grow the buffer once for a large argument instead of many times.
    Incomplete { need: usize },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Form {
    MultiBulk,
    Inline,
}

/// Resumable parser state for one connection.
#[derive(Default)]
pub struct RequestParser {
    form: Option<Form>,
    /// Arguments still to read in the current multibulk request.
    args_left: usize,
    /// Bytes of the current request already parsed.
    pos: usize,
    /// Argument spans of a multibulk request (offsets into the buffer given to `parse`).
    pub spans: Vec<(usize, usize)>,
    /// Arguments of an inline request (unquoted, hence owned).
    pub inline_args: Vec<Vec<u8>>,
    /// The `need` of the last `Incomplete` outcome (0 after a complete request).
    need: usize,
}

pub struct ParseLimits {
    pub max_bulk_len: i64,
    pub authenticated: bool,
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    // Redis searches for '\r' with `strchr` and assumes '\n' follows. `strchr` stops at a NUL
    // byte, so a NUL before the '\r' reads as "no line end yet" (the request then waits, or is
    // rejected as too big), exactly as in Redis.
    let p = buf[from..].iter().position(|&b| b == b'\r' || b == 0)?;
    (buf[from + p] == b'\r').then_some(from + p)
}

impl RequestParser {
    /// True when the last completed request was inline (arguments are in `inline_args`).
    pub fn is_inline(&self) -> bool {
        self.form == Some(Form::Inline)
    }

    /// Forgets the current request (after it ran, or after a protocol error).
    pub fn reset(&mut self) {
        self.need = 0;
        self.form = None;
        self.args_left = 0;
        self.pos = 0;
        self.spans.clear();
        self.inline_args.clear();
    }

    /// Total bytes the pending request needs, as far as its headers tell (0 if unknown).
    pub fn need_hint(&self) -> usize {
        self.need
    }

    /// Parses the request at the start of `buf`. On `Complete`, call [`reset`](Self::reset)
    /// after consuming the arguments.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &ParseLimits,
    ) -> Result<ParseOutcome, ProtocolError> {
        let outcome = self.parse_request(buf, limits)?;
        if let ParseOutcome::Incomplete { need } = outcome {
            self.need = need;
        }
        Ok(outcome)
    }

    fn parse_request(
        &mut self,
        buf: &[u8],
        limits: &ParseLimits,
    ) -> Result<ParseOutcome, ProtocolError> {
        if self.form.is_none() {
            match buf.first() {
                None => return Ok(ParseOutcome::Incomplete { need: 1 }),
                Some(b'*') => self.form = Some(Form::MultiBulk),
                Some(_) => self.form = Some(Form::Inline),
            }
        }
        match self.form {
            Some(Form::Inline) => self.parse_inline(buf),
            _ => self.parse_multibulk(buf, limits),
        }
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Result<ParseOutcome, ProtocolError> {
        // Redis finds the newline with `strchr`, which stops at a NUL byte: a NUL before the
        // newline means "no newline yet", so the request waits (until it is too big).
        let newline = match buf.iter().position(|&b| b == b'\n' || b == 0) {
            Some(n) if buf[n] == b'\n' => n,
            _ => {
                if buf.len() > INLINE_MAX_SIZE {
                    return Err(ProtocolError("too big inline request".into()));
                }
                return Ok(ParseOutcome::Incomplete {
                    need: buf.len() + 1,
                });
            }
        };
        let mut line = &buf[..newline];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        match split_args(line) {
            Some(args) => self.inline_args = args,
            None => return Err(ProtocolError("unbalanced quotes in request".into())),
        }
        Ok(ParseOutcome::Complete {
            consumed: newline + 1,
        })
    }

    fn parse_multibulk(
        &mut self,
        buf: &[u8],
        limits: &ParseLimits,
    ) -> Result<ParseOutcome, ProtocolError> {
        if self.pos == 0 {
            // "*<count>\r\n"
            let cr = match find_crlf(buf, 1) {
                Some(cr) if cr + 1 < buf.len() => cr,
                Some(_) => {
                    return Ok(ParseOutcome::Incomplete {
                        need: buf.len() + 1,
                    })
                }
                None => {
                    if buf.len() > INLINE_MAX_SIZE {
                        return Err(ProtocolError("too big mbulk count string".into()));
                    }
                    return Ok(ParseOutcome::Incomplete {
                        need: buf.len() + 1,
                    });
                }
            };
            let count = match crate::util::parse_i64(&buf[1..cr]) {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Err(ProtocolError("invalid multibulk length".into())),
            };
            if !limits.authenticated && count > UNAUTHENTICATED_MULTIBULK_MAX {
                return Err(ProtocolError("unauthenticated multibulk length".into()));
            }
            self.pos = cr + 2;
            if count <= 0 {
                // "*0" or "*-1": an empty request, silently skipped as Redis does.
                return Ok(ParseOutcome::Complete { consumed: self.pos });
            }
            self.args_left = count as usize;
            // Don't trust the count for the allocation: a client could announce 2^31 arguments.
            self.spans.reserve(self.args_left.min(1024));
        }
        while self.args_left > 0 {
            let start = self.pos;
            if start >= buf.len() {
                return Ok(ParseOutcome::Incomplete { need: start + 1 });
            }
            // As in Redis, the header's line end is found before its first byte is checked.
            let cr = match find_crlf(buf, start) {
                Some(cr) if cr + 1 < buf.len() => cr,
                Some(_) => {
                    return Ok(ParseOutcome::Incomplete {
                        need: buf.len() + 1,
                    })
                }
                None => {
                    if buf.len() - start > INLINE_MAX_SIZE {
                        return Err(ProtocolError("too big bulk count string".into()));
                    }
                    return Ok(ParseOutcome::Incomplete {
                        need: buf.len() + 1,
                    });
                }
            };
            if buf[start] != b'$' {
                return Err(ProtocolError(format!(
                    "expected '$', got '{}'",
                    buf[start] as char
                )));
            }
            let len = match crate::util::parse_i64(&buf[start + 1..cr]) {
                Some(n) if n >= 0 && n <= limits.max_bulk_len => n,
                _ => return Err(ProtocolError("invalid bulk length".into())),
            };
            if !limits.authenticated && len > UNAUTHENTICATED_BULK_MAX {
                return Err(ProtocolError("unauthenticated bulk length".into()));
            }
            let data = cr + 2;
            let end = data + len as usize;
            if end + 2 > buf.len() {
                // Keep `pos` at this argument's header: it is re-read (cheaply) next time.
                return Ok(ParseOutcome::Incomplete { need: end + 2 });
            }
            self.spans.push((data, end));
            self.pos = end + 2;
            self.args_left -= 1;
        }
        Ok(ParseOutcome::Complete { consumed: self.pos })
    }
}

/// Splits an inline request line into arguments like Redis's `sdssplitargs`: whitespace
/// separates, "double quotes" support `\n \r \t \b \a \\ \" \xHH`, 'single quotes' only `\'`.
/// A closing quote must be followed by a space or the end. Returns None on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // `sdssplitargs` reads a C string: a NUL byte ends the line.
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                    cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if line[i] == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if line[i] == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else if in_sq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if line[i] == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

/// C's `isspace` in the "C" locale (unlike `u8::is_ascii_whitespace`, it includes `\v`).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ParseLimits = ParseLimits {
        max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn args_of(p: &RequestParser, buf: &[u8]) -> Vec<Vec<u8>> {
        if p.is_inline() {
            p.inline_args.clone()
        } else {
            p.spans.iter().map(|&(s, e)| buf[s..e].to_vec()).collect()
        }
    }

    #[test]
    fn parses_a_multibulk_command() {
        let buf = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut p = RequestParser::default();
        assert_eq!(
            p.parse(buf, &LIMITS),
            Ok(ParseOutcome::Complete {
                consumed: buf.len()
            })
        );
        assert_eq!(
            args_of(&p, buf),
            vec![b"SET".to_vec(), b"k".to_vec(), b"hello".to_vec()]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_command() {
        let buf = b"*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\0c\r\n";
        for cut in 0..buf.len() {
            let mut p = RequestParser::default();
            match p.parse(&buf[..cut], &LIMITS) {
                Ok(ParseOutcome::Incomplete { .. }) => {}
                other => panic!("cut {cut}: {other:?}"),
            }
            assert_eq!(
                p.parse(buf, &LIMITS),
                Ok(ParseOutcome::Complete {
                    consumed: buf.len()
                })
            );
            assert_eq!(args_of(&p, buf)[1], b"a\r\nb\0c".to_vec());
        }
    }

    #[test]
    fn parses_inline_with_quotes() {
        let buf = b"SET k \"hello world\\n\" 'it\\'s'\r\n";
        let mut p = RequestParser::default();
        assert!(matches!(
            p.parse(buf, &LIMITS),
            Ok(ParseOutcome::Complete { .. })
        ));
        assert_eq!(
            args_of(&p, buf),
            vec![
                b"SET".to_vec(),
                b"k".to_vec(),
                b"hello world\n".to_vec(),
                b"it's".to_vec()
            ]
        );
    }

    #[test]
    fn a_nul_byte_ends_an_inline_line_as_in_c() {
        // A NUL before the newline: no line yet (Redis's strchr stops at the NUL).
        let mut p = RequestParser::default();
        assert!(matches!(
            p.parse(b"\0\x01\r\n", &LIMITS),
            Ok(ParseOutcome::Incomplete { .. })
        ));
        // Inside a line, the NUL cuts the arguments short.
        assert_eq!(split_args(b"a\0b c"), Some(vec![b"a".to_vec()]));
        assert_eq!(split_args(b"\"a\0\""), None);
        assert_eq!(split_args(b"\x0ba\x0b"), Some(vec![b"a\x0b".to_vec()]));
    }

    #[test]
    fn rejects_bad_lengths_like_redis() {
        let cases: [(&[u8], &str); 5] = [
            (b"*abc\r\n", "invalid multibulk length"),
            (b"*1\r\n$-5\r\n", "invalid bulk length"),
            (b"*1\r\n$99999999999\r\n", "invalid bulk length"),
            (b"*1\r\n+foo\r\n", "expected '$', got '+'"),
            (b"SET \"a\"b\r\n", "unbalanced quotes in request"),
        ];
        for (input, msg) in cases {
            let mut p = RequestParser::default();
            assert_eq!(p.parse(input, &LIMITS), Err(ProtocolError(msg.into())));
        }
    }
}
