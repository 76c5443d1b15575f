//! `cjson`, lua-cjson's JSON `encode` / `decode` and the `cjson.null` sentinel (Redis:
//! `deps/lua/src/lua_cjson.c`, with `strbuf.c` and `fpconv.c`). The decoder follows the C
//! tokenizer, so errors read the same. Known difference: no `encode_*` / `decode_*`
//! configuration functions.

use super::{err, fmt_14g, number, type_name};
use mlua::{LightUserData, Lua, MultiValue, Table, Value};

fn json_null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// Deepest table nesting `cjson.encode` accepts (lua-cjson's `encode_max_depth`, as Redis
/// configures it). Only tables count: the 1000th nested table may hold scalars, not a table.
const JSON_ENCODE_MAX_DEPTH: usize = 1000;

/// Appends `v` as JSON. `depth` is the number of tables enclosing `v`.
fn json_encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err(err("Cannot serialise number: must not be NaN or Inf"));
            }
            out.extend_from_slice(fmt_14g(*n).as_bytes())
        }
        Value::String(s) => json_string(&s.as_bytes(), out),
        Value::Table(t) => {
            if depth >= JSON_ENCODE_MAX_DEPTH {
                return Err(err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    JSON_ENCODE_MAX_DEPTH + 1
                )));
            }
            let pairs: Vec<(Value, Value)> =
                t.pairs::<Value, Value>().collect::<mlua::Result<_>>()?;
            // An array when every key is a positive integer (lua-cjson's lua_array_length).
            let mut max = 0usize;
            let mut is_array = !pairs.is_empty();
            for (k, _) in &pairs {
                match number(k) {
                    Some(n)
                        if matches!(k, Value::Integer(_) | Value::Number(_))
                            && n >= 1.0
                            && n == n.floor() =>
                    {
                        max = max.max(n as usize)
                    }
                    _ => {
                        is_array = false;
                        break;
                    }
                }
            }
            if is_array && max > 10 && max > pairs.len() * 2 {
                return Err(err("Cannot serialise table: excessively sparse array"));
            }
            if is_array {
                out.push(b'[');
                for i in 1..=max {
                    if i > 1 {
                        out.push(b',');
                    }
                    json_encode(&t.raw_get::<Value>(i)?, out, depth + 1)?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match k {
                        Value::String(s) => json_string(&s.as_bytes(), out),
                        Value::Integer(_) | Value::Number(_) => {
                            out.push(b'"');
                            json_encode(k, out, depth + 1)?;
                            out.push(b'"');
                        }
                        other => {
                            return Err(err(format!(
                                "Cannot serialise {}: table key must be a number or string",
                                type_name(Some(other))
                            )))
                        }
                    }
                    out.push(b':');
                    json_encode(v, out, depth + 1)?;
                }
                out.push(b'}');
            }
        }
        other => {
            return Err(err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            )))
        }
    }
    Ok(())
}

fn json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{:04x}", b).as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// lua-cjson's decoder (`json_next_token`, `json_parse_*_context`), kept close to the C so
/// errors read the same: "Expected <what> but found <token> at character <n>".
///
/// Like the original (compiled with `decode_invalid_numbers` on), numbers are read with
/// `strtod` rules, so `+1`, `0x10`, `inf` and `nan` are accepted, and a NUL byte ends the input.
struct JsonDecoder<'a> {
    data: &'a [u8],
    pos: usize,
    depth: usize,
}

/// A token: its kind, where it starts (0-based), and its value.
enum JsonToken {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    /// T_ERROR, with lua-cjson's description ("invalid token", "invalid number", ...).
    Error(&'static str),
}

impl JsonToken {
    /// How a found token is named in errors (`json_token_type_name`, or the error text).
    fn name(&self) -> &'static str {
        match self {
            JsonToken::ObjBegin => "T_OBJ_BEGIN",
            JsonToken::ObjEnd => "T_OBJ_END",
            JsonToken::ArrBegin => "T_ARR_BEGIN",
            JsonToken::ArrEnd => "T_ARR_END",
            JsonToken::Str(_) => "T_STRING",
            JsonToken::Num(_) => "T_NUMBER",
            JsonToken::Bool(_) => "T_BOOLEAN",
            JsonToken::Null => "T_NULL",
            JsonToken::Colon => "T_COLON",
            JsonToken::Comma => "T_COMMA",
            JsonToken::End => "T_END",
            JsonToken::Error(e) => e,
        }
    }
}

/// Length of the longest prefix of `s` that C's `strtod` would parse as a number.
fn strtod_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let negative = s.first() == Some(&b'-');
    let rest = &s[i..];
    let lower = |n: usize| rest.get(..n).map(|p| p.to_ascii_lowercase());
    if lower(8).as_deref() == Some(b"infinity") || lower(3).as_deref() == Some(b"inf") {
        let len = if lower(8).as_deref() == Some(b"infinity") {
            8
        } else {
            3
        };
        let v = if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return Some((v, i + len));
    }
    if lower(3).as_deref() == Some(b"nan") {
        return Some((f64::NAN, i + 3));
    }
    if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        let digits = rest[2..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if digits > 0 {
            let v = rest[2..2 + digits].iter().fold(0f64, |acc, &d| {
                acc * 16.0 + (d as char).to_digit(16).unwrap_or(0) as f64
            });
            return Some((if negative { -v } else { v }, i + 2 + digits));
        }
    }
    let start = i;
    let int_digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        frac_digits = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = s[j.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    let text = std::str::from_utf8(&s[start..i]).ok()?;
    let v: f64 = text.parse().ok()?;
    Some((if negative { -v } else { v }, i))
}

impl JsonDecoder<'_> {
    fn next_token(&mut self) -> (JsonToken, usize) {
        while matches!(self.data.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
        let at = self.pos;
        let Some(&ch) = self.data.get(at).filter(|&&c| c != 0) else {
            return (JsonToken::End, at);
        };
        let single = match ch {
            b'{' => Some(JsonToken::ObjBegin),
            b'}' => Some(JsonToken::ObjEnd),
            b'[' => Some(JsonToken::ArrBegin),
            b']' => Some(JsonToken::ArrEnd),
            b':' => Some(JsonToken::Colon),
            b',' => Some(JsonToken::Comma),
            _ => None,
        };
        if let Some(token) = single {
            self.pos += 1;
            return (token, at);
        }
        let rest = &self.data[at..];
        if ch == b'"' {
            return self.string();
        }
        let looks_invalid_number = || {
            let mut p = rest;
            if p.first() == Some(&b'+') {
                return true;
            }
            if p.first() == Some(&b'-') {
                p = &p[1..];
            }
            match p.first() {
                Some(b'0') => {
                    matches!(p.get(1), Some(c) if (c | 0x20) == b'x' || c.is_ascii_digit())
                }
                Some(c) if *c <= b'9' => false,
                _ => {
                    let head = p.get(..3).map(|h| h.to_ascii_lowercase());
                    matches!(head.as_deref(), Some(b"inf") | Some(b"nan"))
                }
            }
        };
        if ch == b'-'
            || ch.is_ascii_digit()
            || (!rest.starts_with(b"null") && looks_invalid_number())
        {
            return match strtod_prefix(rest) {
                Some((v, len)) => {
                    self.pos += len;
                    (JsonToken::Num(v), at)
                }
                None => (JsonToken::Error("invalid number"), at),
            };
        }
        for (word, token) in [
            (&b"true"[..], JsonToken::Bool(true)),
            (b"false", JsonToken::Bool(false)),
            (b"null", JsonToken::Null),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return (token, at);
            }
        }
        (JsonToken::Error("invalid token"), at)
    }

    /// A string token (`json_parse_string`); errors point at the offending byte.
    fn string(&mut self) -> (JsonToken, usize) {
        let at = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let ch = match self.data.get(self.pos) {
                None | Some(0) => return (JsonToken::Error("unexpected end of string"), self.pos),
                Some(&c) => c,
            };
            if ch == b'"' {
                self.pos += 1;
                return (JsonToken::Str(out), at);
            }
            if ch != b'\\' {
                out.push(ch);
                self.pos += 1;
                continue;
            }
            let escaped = match self.data.get(self.pos + 1) {
                Some(b'"') => b'"',
                Some(b'\\') => b'\\',
                Some(b'/') => b'/',
                Some(b'b') => 0x08,
                Some(b'f') => 0x0c,
                Some(b'n') => b'\n',
                Some(b'r') => b'\r',
                Some(b't') => b'\t',
                Some(b'u') => match self.unicode_escape() {
                    Some(c) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        continue;
                    }
                    None => return (JsonToken::Error("invalid unicode escape code"), self.pos),
                },
                _ => return (JsonToken::Error("invalid escape code"), self.pos),
            };
            out.push(escaped);
            self.pos += 2;
        }
    }

    /// `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx`; advances past it.
    fn unicode_escape(&mut self) -> Option<char> {
        let hex = |at: usize| -> Option<u32> {
            let digits = self.data.get(at..at + 4)?;
            let text = std::str::from_utf8(digits).ok()?;
            u32::from_str_radix(text, 16).ok()
        };
        let first = hex(self.pos + 2)?;
        let (code, len) = if (0xD800..0xDC00).contains(&first) {
            if self.data.get(self.pos + 6..self.pos + 8) != Some(b"\\u") {
                return None;
            }
            let low = hex(self.pos + 8)?;
            if !(0xDC00..0xE000).contains(&low) {
                return None;
            }
            (0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00), 12)
        } else if (0xDC00..0xE000).contains(&first) {
            return None;
        } else {
            (first, 6)
        };
        let c = char::from_u32(code)?;
        self.pos += len;
        Some(c)
    }

    fn error(&self, expected: &str, token: &JsonToken, at: usize) -> mlua::Error {
        err(format!(
            "Expected {expected} but found {} at character {}",
            token.name(),
            at + 1
        ))
    }

    fn descend(&mut self) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > 1000 {
            return Err(err(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth, self.pos
            )));
        }
        Ok(())
    }

    fn value(&mut self, lua: &Lua, token: JsonToken, at: usize) -> mlua::Result<Value> {
        Ok(match token {
            JsonToken::Str(s) => Value::String(lua.create_string(&s)?),
            JsonToken::Num(n) => Value::Number(n),
            JsonToken::Bool(b) => Value::Boolean(b),
            JsonToken::Null => json_null(),
            JsonToken::ObjBegin => {
                self.descend()?;
                let t = lua.create_table()?;
                let (mut token, mut at) = self.next_token();
                if !matches!(token, JsonToken::ObjEnd) {
                    loop {
                        let JsonToken::Str(key) = token else {
                            return Err(self.error("object key string", &token, at));
                        };
                        let (colon, colon_at) = self.next_token();
                        if !matches!(colon, JsonToken::Colon) {
                            return Err(self.error("colon", &colon, colon_at));
                        }
                        let (v, v_at) = self.next_token();
                        let v = self.value(lua, v, v_at)?;
                        t.raw_set(lua.create_string(&key)?, v)?;
                        let (next, next_at) = self.next_token();
                        if matches!(next, JsonToken::ObjEnd) {
                            break;
                        }
                        if !matches!(next, JsonToken::Comma) {
                            return Err(self.error("comma or object end", &next, next_at));
                        }
                        (token, at) = self.next_token();
                    }
                }
                self.depth -= 1;
                Value::Table(t)
            }
            JsonToken::ArrBegin => {
                self.descend()?;
                let t = lua.create_table()?;
                let (mut token, mut at) = self.next_token();
                if !matches!(token, JsonToken::ArrEnd) {
                    for i in 1.. {
                        let v = self.value(lua, token, at)?;
                        t.raw_set(i, v)?;
                        let (next, next_at) = self.next_token();
                        if matches!(next, JsonToken::ArrEnd) {
                            break;
                        }
                        if !matches!(next, JsonToken::Comma) {
                            return Err(self.error("comma or array end", &next, next_at));
                        }
                        (token, at) = self.next_token();
                    }
                }
                self.depth -= 1;
                Value::Table(t)
            }
            other => return Err(self.error("value", &other, at)),
        })
    }
}

fn json_decode(lua: &Lua, data: &[u8]) -> mlua::Result<Value> {
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(err("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut decoder = JsonDecoder {
        data,
        pos: 0,
        depth: 0,
    };
    let (token, at) = decoder.next_token();
    let value = decoder.value(lua, token, at)?;
    let (end, end_at) = decoder.next_token();
    if !matches!(end, JsonToken::End) {
        return Err(decoder.error("the end", &end, end_at));
    }
    Ok(value)
}

pub(super) fn cjson_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("null", json_null())?;
    t.raw_set(
        "encode",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(err("bad argument #1 to 'encode' (expected 1 argument)"));
            }
            let mut out = Vec::new();
            json_encode(&args[0], &mut out, 0)?;
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "decode",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(err("bad argument #1 to 'decode' (expected 1 argument)"));
            }
            match &args[0] {
                Value::String(s) => json_decode(lua, &s.as_bytes()),
                Value::Integer(_) | Value::Number(_) => {
                    let text = number(&args[0]).map(fmt_14g).unwrap_or_default();
                    json_decode(lua, text.as_bytes())
                }
                other => Err(err(format!(
                    "bad argument #1 to 'decode' (string expected, got {})",
                    type_name(Some(other))
                ))),
            }
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_prefix_reads_what_c_reads() {
        assert_eq!(strtod_prefix(b"123abc"), Some((123.0, 3)));
        assert_eq!(strtod_prefix(b"-1.5e3,"), Some((-1500.0, 6)));
        assert_eq!(strtod_prefix(b"0x10"), Some((16.0, 4)));
        assert_eq!(strtod_prefix(b"1e"), Some((1.0, 1)));
        assert_eq!(strtod_prefix(b"-"), None);
        assert_eq!(strtod_prefix(b"inf"), Some((f64::INFINITY, 3)));
    }
}
