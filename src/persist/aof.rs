//! The append-only file's formats: the multi-part manifest, the command stream (RESP arrays of
//! bulk strings, `#TS:` annotations), reading it back command by command, and a dataset
//! written as commands (a base file without RDB preamble). Redis: `aof.c` — `aofInfoFormat`,
//! `aofLoadManifestFromFile`, `getNewBaseFileNameAndMarkPreAsHistory`, `getNewIncrAofName`,
//! `markRewrittenIncrAofAsHistory`, `catAppendOnlyGenericCommand`, the parsing loop of
//! `loadSingleAppendOnlyFile`, `rewriteAppendOnlyFileRio`.
//!
//! # Layout (Redis 7.0's multi-part AOF)
//!
//! ```text
//!   <dir>/<appenddirname>/
//!      appendonly.aof.manifest          which files make the AOF, in load order:
//!          file appendonly.aof.2.base.rdb seq 2 type b      the snapshot of the last rewrite
//!          file appendonly.aof.1.incr.aof seq 1 type h      history: waiting for deletion
//!          file appendonly.aof.2.incr.aof seq 2 type i      the writes since, in order
//!      appendonly.aof.2.base.rdb        RDB (aof-use-rdb-preamble yes) or commands
//!      appendonly.aof.2.incr.aof        commands, appended as they happen
//! ```
//!
//! The manifest lists the base first, then history, then the incremental files; loading reads
//! the base and then each incremental file in order. Only the command layer touches files and
//! decides when; this module is pure formats, so it is tested on bytes.

use crate::db::value::Value;
use crate::db::{Db, Ms};
use crate::types::list::Elem;
use crate::types::set::Member;
use std::io::{self, BufRead, Read, Write};

/// Items per command when a collection is written as commands (Redis:
/// `AOF_REWRITE_ITEMS_PER_CMD`).
pub const ITEMS_PER_CMD: usize = 64;
/// Longest line the loader reads for `*<n>`, `$<len>` and annotations (Redis:
/// `AOF_ANNOTATION_LINE_MAX_LEN`).
const LINE_MAX: usize = 1024;

/// What a file of the manifest is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The snapshot the incremental files apply to (`type b`).
    Base,
    /// Writes after the base (`type i`).
    Incr,
    /// Replaced by a rewrite, to be deleted (`type h`).
    History,
}

impl FileKind {
    fn letter(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::Incr => 'i',
            FileKind::History => 'h',
        }
    }
}

/// One line of the manifest (Redis: `aofInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofInfo {
    pub name: String,
    pub seq: i64,
    pub kind: FileKind,
}

/// The manifest (Redis: `aofManifest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofInfo>,
    pub incr: Vec<AofInfo>,
    pub history: Vec<AofInfo>,
    /// The highest base and incremental sequence numbers given so far.
    pub base_seq: i64,
    pub incr_seq: i64,
}

/// Why a manifest was refused: the message, and the line (number, text) when one is at fault
/// (Redis logs both under `*** FATAL AOF MANIFEST FILE ERROR ***`).
#[derive(Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub line: Option<(usize, String)>,
    pub message: &'static str,
}

/// `<appendfilename>.manifest`.
pub fn manifest_name(appendfilename: &str) -> String {
    format!("{appendfilename}.manifest")
}

/// `temp-<appendfilename>.manifest`, written then renamed over the manifest.
pub fn temp_manifest_name(appendfilename: &str) -> String {
    format!("temp-{appendfilename}.manifest")
}

/// The file a rewrite child writes the new base to, before the parent renames it.
pub fn temp_rewrite_name(pid: i32) -> String {
    format!("temp-rewriteaof-bg-{pid}.aof")
}

impl Manifest {
    /// Parses a manifest file's text, with Redis's checks and messages.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        let fail = |line: Option<(usize, String)>, message| Err(ManifestError { line, message });
        if text.is_empty() {
            return fail(None, "Found an empty AOF manifest");
        }
        let mut max_incr_seq = 0;
        for (i, raw) in text.split_inclusive(|&b| b == b'\n').enumerate() {
            if raw.first() == Some(&b'#') {
                continue;
            }
            let line_text = String::from_utf8_lossy(raw).trim().to_string();
            let at = Some((i + 1, line_text.clone()));
            // Redis reads lines with `fgets` into 1024 bytes: a line that does not end
            // within them, newline included, is refused.
            if raw.last() != Some(&b'\n') || raw.len() > LINE_MAX {
                return fail(at, "The AOF manifest file contains too long line");
            }
            let trimmed = line_text.trim_matches(|c| " \t\r\n".contains(c));
            if trimmed.is_empty() {
                return fail(at, "Invalid AOF manifest file format");
            }
            let words = match crate::resp::parse::split_args(trimmed.as_bytes()) {
                Some(w) if w.len() >= 6 && w.len() % 2 == 0 => w,
                _ => return fail(at, "Invalid AOF manifest file format"),
            };
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in words.chunks(2) {
                let value = String::from_utf8_lossy(&pair[1]).into_owned();
                if pair[0].eq_ignore_ascii_case(b"file") {
                    if value.contains('/') {
                        return fail(at, "File can't be a path, just a filename");
                    }
                    name = Some(value);
                } else if pair[0].eq_ignore_ascii_case(b"seq") {
                    seq = atoll(&value);
                } else if pair[0].eq_ignore_ascii_case(b"type") {
                    kind = value.bytes().next();
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else {
                return fail(at, "Invalid AOF manifest file format");
            };
            if seq == 0 {
                return fail(at, "Invalid AOF manifest file format");
            }
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return fail(at, "Found duplicate base file information");
                    }
                    let kind = FileKind::Base;
                    m.base = Some(AofInfo { name, seq, kind });
                    m.base_seq = seq;
                }
                b'h' => {
                    let kind = FileKind::History;
                    m.history.push(AofInfo { name, seq, kind });
                }
                b'i' => {
                    if seq <= max_incr_seq {
                        return fail(at, "Found a non-monotonic sequence number");
                    }
                    let kind = FileKind::Incr;
                    m.incr.push(AofInfo { name, seq, kind });
                    m.incr_seq = seq;
                    max_incr_seq = seq;
                }
                _ => return fail(at, "Unknown AOF file type"),
            }
        }
        Ok(m)
    }

    /// The manifest's text: base, history, incremental files (Redis:
    /// `getAofManifestAsString`).
    pub fn format(&self) -> String {
        let mut out = String::new();
        let lines = self.base.iter().chain(&self.history).chain(&self.incr);
        for info in lines {
            out.push_str(&format!(
                "file {} seq {} type {}\n",
                repr_if_needed(&info.name),
                info.seq,
                info.kind.letter()
            ));
        }
        out
    }

    /// No base and no incremental file: nothing to load.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incr.is_empty()
    }

    /// A new base (`<appendfilename>.<seq>.base.rdb|aof`) replaces the current one, which
    /// becomes history (Redis: `getNewBaseFileNameAndMarkPreAsHistory`). Returns its name.
    pub fn new_base(&mut self, appendfilename: &str, rdb: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = FileKind::History;
            self.history.insert(0, old);
        }
        self.base_seq += 1;
        let suffix = if rdb { "rdb" } else { "aof" };
        let name = format!("{appendfilename}.{}.base.{suffix}", self.base_seq);
        let (seq, kind) = (self.base_seq, FileKind::Base);
        self.base = Some(AofInfo {
            name: name.clone(),
            seq,
            kind,
        });
        name
    }

    /// A new incremental file (`<appendfilename>.<seq>.incr.aof`) at the end (Redis:
    /// `getNewIncrAofName`). Returns its name.
    pub fn new_incr(&mut self, appendfilename: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{appendfilename}.{}.incr.aof", self.incr_seq);
        let (seq, kind) = (self.incr_seq, FileKind::Incr);
        self.incr.push(AofInfo {
            name: name.clone(),
            seq,
            kind,
        });
        name
    }

    /// The incremental file being written: the last one, created if there is none (Redis:
    /// `getLastIncrAofName`).
    pub fn last_incr(&mut self, appendfilename: &str) -> String {
        match self.incr.last() {
            Some(info) => info.name.clone(),
            None => self.new_incr(appendfilename),
        }
    }

    /// After a rewrite: every incremental file but the one being written (when `keep_last`)
    /// is covered by the new base and becomes history (Redis: `markRewrittenIncrAofAsHistory`).
    pub fn mark_rewritten_incr_as_history(&mut self, keep_last: bool) {
        let keep = usize::from(keep_last && !self.incr.is_empty());
        let covered = self.incr.len() - keep;
        // Newest first at the head of the history, as Redis adds them.
        for mut info in self.incr.drain(..covered).rev() {
            info.kind = FileKind::History;
            self.history.insert(0, info);
        }
    }
}

/// C's `atoll`: optional sign, digits, stop at the first other character.
fn atoll(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.wrapping_mul(10).wrapping_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// A file name as Redis writes it in the manifest: as is, or quoted and escaped when it holds
/// a space or a special character (Redis: `sdsneedsrepr` / `sdscatrepr`).
fn repr_if_needed(name: &str) -> String {
    let needs = name
        .bytes()
        .any(|b| b == b' ' || b == b'"' || b == b'\\' || !(0x21..0x7f).contains(&b));
    if !needs {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for b in name.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Appends `*<n>\r\n` then `$<len>\r\n<arg>\r\n` per argument (Redis:
/// `catAppendOnlyGenericCommand`).
pub fn append_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    let mut num = itoa_buf();
    out.push(b'*');
    out.extend_from_slice(fmt_usize(&mut num, argv.len()));
    out.extend_from_slice(b"\r\n");
    for arg in argv {
        let arg = arg.as_ref();
        out.push(b'$');
        out.extend_from_slice(fmt_usize(&mut num, arg.len()));
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// The decimal digits of `n`, written at the end of `buf`.
fn fmt_usize(buf: &mut [u8; 20], mut n: usize) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// `SELECT <db>` as the AOF writes it before a command of another database.
pub fn append_select(out: &mut Vec<u8>, db: usize) {
    append_command(out, &[b"SELECT".as_slice(), db.to_string().as_bytes()]);
}

/// `#TS:<unix seconds>\r\n`, the annotation `aof-timestamp-enabled` writes when the second
/// changes (Redis: `genAofTimestampAnnotationIfNeeded`).
pub fn append_timestamp(out: &mut Vec<u8>, unix_secs: i64) {
    out.extend_from_slice(format!("#TS:{unix_secs}\r\n").as_bytes());
}

// =============================================================================================
// Reading commands back.
// =============================================================================================

/// Why the command stream stopped before its end.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The file ends inside a command: everything before `valid_up_to` is whole (Redis's
    /// `uxeof`; `aof-load-truncated` decides whether to cut there and go on).
    Truncated { valid_up_to: u64 },
    /// Bytes that are not a command, at `offset` (Redis's `fmterr`).
    Format { offset: u64 },
    /// The disk failed.
    Io(String),
}

/// Reads commands from an AOF stream (after an RDB preamble, if any): `Ok(Some(argv))` per
/// command, `Ok(None)` at a clean end. `#` annotation lines are skipped. Offsets count from
/// `start`, the stream's position in its file.
pub struct CommandReader<R: BufRead> {
    src: R,
    /// Offset of the next byte to read.
    pos: u64,
    /// Offset just after the last whole command.
    valid_up_to: u64,
    line: Vec<u8>,
}

impl<R: BufRead> CommandReader<R> {
    pub fn new(src: R, start: u64) -> CommandReader<R> {
        CommandReader {
            src,
            pos: start,
            valid_up_to: start,
            line: Vec::new(),
        }
    }

    /// The offset after the last whole command read.
    pub fn valid_up_to(&self) -> u64 {
        self.valid_up_to
    }

    /// One line of at most [`LINE_MAX`] bytes, like `fgets`; `Ok(false)` at end of file.
    fn read_line(&mut self) -> Result<bool, ReadError> {
        self.line.clear();
        let mut limited = (&mut self.src).take(LINE_MAX as u64 - 1);
        let n = limited
            .read_until(b'\n', &mut self.line)
            .map_err(|e| ReadError::Io(e.to_string()))?;
        self.pos += n as u64;
        Ok(n > 0)
    }

    fn truncated(&self) -> ReadError {
        ReadError::Truncated {
            valid_up_to: self.valid_up_to,
        }
    }

    /// The next command, skipping annotations.
    pub fn next_command(&mut self) -> Result<Option<Vec<Vec<u8>>>, ReadError> {
        loop {
            let line_at = self.pos;
            if !self.read_line()? {
                return Ok(None);
            }
            match self.line.first() {
                Some(b'#') => {
                    self.valid_up_to = self.pos;
                    continue;
                }
                Some(b'*') => {}
                _ => return Err(ReadError::Format { offset: line_at }),
            }
            if self.line.len() < 2 {
                return Err(self.truncated());
            }
            let argc = atoll(&String::from_utf8_lossy(&self.line[1..]));
            if argc < 1 {
                return Err(ReadError::Format { offset: line_at });
            }
            // Capacity grows with what is actually read, never from the header's claim.
            let mut argv = Vec::with_capacity((argc as usize).min(1024));
            for _ in 0..argc {
                let arg_at = self.pos;
                if !self.read_line()? {
                    return Err(self.truncated());
                }
                if self.line.first() != Some(&b'$') {
                    return Err(ReadError::Format { offset: arg_at });
                }
                let len = atoll(&String::from_utf8_lossy(&self.line[1..]));
                let len = u64::try_from(len).map_err(|_| ReadError::Format { offset: arg_at })?;
                let mut arg = Vec::new();
                let got = (&mut self.src)
                    .take(len)
                    .read_to_end(&mut arg)
                    .map_err(|e| ReadError::Io(e.to_string()))?;
                self.pos += got as u64;
                if (got as u64) < len {
                    return Err(self.truncated());
                }
                let mut crlf = Vec::with_capacity(2);
                let got = (&mut self.src)
                    .take(2)
                    .read_to_end(&mut crlf)
                    .map_err(|e| ReadError::Io(e.to_string()))?;
                self.pos += got as u64;
                if got < 2 {
                    return Err(self.truncated());
                }
                argv.push(arg);
            }
            return Ok(Some(argv));
        }
    }

    /// The command just returned was applied: the file is whole up to here.
    pub fn mark_valid(&mut self) {
        self.valid_up_to = self.pos;
    }
}

// =============================================================================================
// The dataset as commands (a base file with `aof-use-rdb-preamble no`).
// =============================================================================================

/// Writes every key of `dbs` as the commands that rebuild it (Redis: `rewriteAppendOnlyFileRio`):
/// `SELECT`, then per key `SET`, or `RPUSH` / `SADD` / `ZADD` / `HMSET` in batches of
/// [`ITEMS_PER_CMD`], a stream as a `RESTORE` of its DUMP payload, and `PEXPIREAT` for a TTL.
/// Keys already expired at `now` are left out. With `aof-timestamp-enabled` the file opens
/// with a `#TS:` annotation of `now`.
pub fn write_dataset_commands<W: Write>(
    dbs: &[Db],
    now: Ms,
    opts: DatasetOptions,
    out: &mut W,
) -> io::Result<()> {
    let compression = opts.compression;
    let mut buf = Vec::with_capacity(1 << 16);
    if opts.timestamp {
        append_timestamp(&mut buf, now / 1000);
    }
    // The libraries first, so scripts in later commands find them (Redis: `rewriteFunctions`).
    for code in &opts.functions {
        append_command(&mut buf, &[b"FUNCTION".as_slice(), b"LOAD", code]);
    }
    for db in dbs.iter().filter(|db| !db.is_empty()) {
        append_select(&mut buf, db.id);
        for (key, obj) in db.dict.iter() {
            let expire = db.get_expire(key);
            if expire.is_some_and(|when| when < now) {
                continue;
            }
            append_value_commands(&mut buf, key, &obj.value, compression);
            if let Some(when) = expire {
                append_command(
                    &mut buf,
                    &[b"PEXPIREAT".as_slice(), key, when.to_string().as_bytes()],
                );
            }
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    out.write_all(&buf)?;
    out.flush()
}

/// How [`write_dataset_commands`] writes.
#[derive(Clone, Debug)]
pub struct DatasetOptions {
    /// LZF inside the DUMP payloads (streams).
    pub compression: bool,
    /// Open with a `#TS:` annotation.
    pub timestamp: bool,
    /// Function library codes, written as `FUNCTION LOAD` commands before the keys.
    pub functions: Vec<Vec<u8>>,
}

/// The commands that rebuild one value under `key`.
fn append_value_commands(buf: &mut Vec<u8>, key: &[u8], value: &Value, compression: bool) {
    let batched = |buf: &mut Vec<u8>, cmd: &[u8], items: &mut dyn Iterator<Item = Vec<Vec<u8>>>| {
        let mut argv: Vec<Vec<u8>> = vec![cmd.to_vec(), key.to_vec()];
        let mut in_batch = 0;
        for item in items {
            argv.extend(item);
            in_batch += 1;
            if in_batch == ITEMS_PER_CMD {
                append_command(buf, &argv);
                argv.truncate(2);
                in_batch = 0;
            }
        }
        if in_batch > 0 {
            append_command(buf, &argv);
        }
    };
    match value {
        Value::Str(s) => append_command(buf, &[b"SET".as_slice(), key, s]),
        Value::List(list) => batched(
            buf,
            b"RPUSH",
            &mut list.iter().map(|e| match e {
                Elem::Int(n) => vec![n.to_string().into_bytes()],
                Elem::Str(s) => vec![s.to_vec()],
            }),
        ),
        Value::Set(set) => batched(
            buf,
            b"SADD",
            &mut set.iter().map(|m| match m {
                Member::Int(n) => vec![n.to_string().into_bytes()],
                Member::Str(s) => vec![s.to_vec()],
            }),
        ),
        Value::ZSet(z) => batched(
            buf,
            b"ZADD",
            &mut z.iter().map(|(member, score)| {
                let score = crate::util::format_double(score).into_bytes();
                vec![score, member.to_vec()]
            }),
        ),
        Value::Hash(h) => batched(
            buf,
            b"HMSET",
            &mut h.iter().map(|(f, v)| vec![f.to_vec(), v.to_vec()]),
        ),
        Value::Stream(_) => {
            let payload = crate::persist::rdb::dump_payload(value, compression);
            append_command(buf, &[b"RESTORE".as_slice(), key, b"0", &payload]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_in_redis_order_base_history_incr() {
        let text = "file appendonly.aof.2.base.rdb seq 2 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type h\n\
                    file appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text.as_bytes()).expect("parse");
        assert_eq!((m.base_seq, m.incr_seq), (2, 2));
        assert_eq!(m.format(), text);
    }

    #[test]
    fn a_rewrite_moves_the_old_base_and_covered_incr_files_to_history() {
        let mut m = Manifest::default();
        assert_eq!(
            m.new_base("appendonly.aof", true),
            "appendonly.aof.1.base.rdb"
        );
        assert_eq!(m.last_incr("appendonly.aof"), "appendonly.aof.1.incr.aof");
        assert_eq!(m.new_incr("appendonly.aof"), "appendonly.aof.2.incr.aof");
        assert_eq!(
            m.new_base("appendonly.aof", false),
            "appendonly.aof.2.base.aof"
        );
        m.mark_rewritten_incr_as_history(true);
        assert_eq!(
            m.format(),
            "file appendonly.aof.2.base.aof seq 2 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.rdb seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n"
        );
    }

    #[test]
    fn bad_manifests_are_refused_with_redis_messages() {
        let err = |text: &str| Manifest::parse(text.as_bytes()).unwrap_err().message;
        assert_eq!(err(""), "Found an empty AOF manifest");
        assert_eq!(err("file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(
            err("file a seq 1 type i odd\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            err("file a/b seq 1 type b\n"),
            "File can't be a path, just a filename"
        );
        assert_eq!(
            err("file a seq 1 type b\nfile b seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(
            err("file a seq 2 type i\nfile b seq 1 type i\n"),
            "Found a non-monotonic sequence number"
        );
        let long = format!("file {} seq 1 type b\n", "x".repeat(1100));
        assert_eq!(err(&long), "The AOF manifest file contains too long line");
    }

    #[test]
    fn a_name_with_a_space_is_quoted_in_the_manifest_and_read_back() {
        let mut m = Manifest::default();
        m.new_incr("my aof");
        let text = m.format();
        assert_eq!(text, "file \"my aof.1.incr.aof\" seq 1 type i\n");
        assert_eq!(Manifest::parse(text.as_bytes()).expect("parse"), m);
    }

    #[test]
    fn the_reader_returns_commands_skips_annotations_and_locates_truncation() {
        let mut bytes = b"#TS:1628217470\r\n".to_vec();
        append_select(&mut bytes, 3);
        append_command(&mut bytes, &[b"SET".as_slice(), b"k", b"v\r\n"]);
        let whole = bytes.len() as u64;
        bytes.extend_from_slice(b"*2\r\n$3\r\nDEL\r\n$1\r");
        let mut r = CommandReader::new(&bytes[..], 0);
        assert_eq!(
            r.next_command(),
            Ok(Some(vec![b"SELECT".to_vec(), b"3".to_vec()]))
        );
        r.mark_valid();
        let set = vec![b"SET".to_vec(), b"k".to_vec(), b"v\r\n".to_vec()];
        assert_eq!(r.next_command(), Ok(Some(set)));
        r.mark_valid();
        assert_eq!(
            r.next_command(),
            Err(ReadError::Truncated { valid_up_to: whole })
        );
        let mut bad = CommandReader::new(&b"*1\r\n$4\r\nPING\r\n!!!\r\n"[..], 0);
        assert!(bad.next_command().expect("ping").is_some());
        assert_eq!(bad.next_command(), Err(ReadError::Format { offset: 14 }));
    }
}
