//! Lua <-> RESP conversion, both directions (Redis: `script_lua.c`, `redisProtocolToLuaType`
//! and `luaReplyToRedisReply`).
//!
//! | RESP reply (from redis.call)  | Lua value                        |
//! |-------------------------------|----------------------------------|
//! | integer `:n`                  | number                           |
//! | bulk `$`                      | string; null bulk -> `false`     |
//! | array `*`                     | table (array); null array -> `false` |
//! | status `+s`                   | `{ok = s}`                       |
//! | error `-e`                    | `{err = e}` (raised by redis.call) |
//! | RESP3 map `%` / set `~`       | `{k = v}` / `{member = true}`    |
//! | RESP3 null `_` / boolean `#`  | `nil` / `true`, `false`          |
//! | RESP3 double `,`              | `{double = n}`                   |
//!
//! The other way, a script's result: number -> integer (truncated: 3.99 -> 3), string -> bulk,
//! `true` -> `:1`, `false` -> null, a table -> an array that stops at the first `nil`, unless it
//! has an `err` (error reply), `ok` (status), `double`, `map` or `set` field. RESP3 booleans
//! reach the client only when the script chose `redis.setresp(3)`.

use crate::resp::reply::ReplyBuffer;
use mlua::{Lua, Table, Value};

/// Nesting at which Redis's converter runs out of Lua stack (`lua_checkstack` fails after
/// 7995 levels with the default LUAI_MAXCSTACK) and emits an error element instead.
const MAX_DEPTH: usize = 7995;
/// Field Redis sets on error tables made from a command's error reply, so that passing the
/// error on (raised by redis.call or returned) does not count it twice.
pub const STATS_COUNTED: &str = "ignore_error_stats_update";
/// Command replies are shallow; this only bounds the recursive RESP parser below.
const MAX_REPLY_DEPTH: usize = 1000;

/// Appends a script's result `value` to `out`. `script_resp` is the protocol the script chose
/// with `redis.setresp` (it decides how booleans are sent).
///
/// Iterative, with an explicit stack: a script can return a table nested thousands deep (even
/// one that contains itself), which would overflow the thread's stack if converted
/// recursively. Each aggregate writes its header, then pushes its elements in reverse order.
pub fn lua_to_reply(out: &mut ReplyBuffer, value: &Value, script_resp: u8) {
    let mut stack: Vec<(Value, usize)> = vec![(value.clone(), 0)];
    while let Some((value, depth)) = stack.pop() {
        if depth >= MAX_DEPTH {
            out.error("ERR reached lua stack limit");
            continue;
        }
        match value {
            Value::String(s) => out.bulk(&s.as_bytes()),
            Value::Boolean(b) if script_resp == 2 => {
                if b {
                    out.integer(1)
                } else {
                    out.null()
                }
            }
            Value::Boolean(b) => out.boolean(b),
            Value::Integer(n) => out.integer(n),
            Value::Number(n) => out.integer(lua_number_to_i64(n)),
            Value::Table(t) => {
                let children = table_to_reply(out, &t);
                stack.extend(children.into_iter().rev().map(|v| (v, depth + 1)));
            }
            _ => out.null(),
        }
    }
}

/// C's `(long long)` cast of a double as x86-64 performs it: truncation toward zero, and the
/// "integer indefinite" value `LLONG_MIN` for NaN and anything out of range (so Redis replies
/// `:-9223372036854775808` to `return 1e20`).
fn lua_number_to_i64(n: f64) -> i64 {
    // 2^63: the first double past i64::MAX.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// Writes a table's reply header (or the whole reply, for err/ok/double/big_number) and
/// returns the elements still to convert, in order.
fn table_to_reply(out: &mut ReplyBuffer, t: &Table) -> Vec<Value> {
    if let Ok(Value::String(err)) = t.raw_get::<Value>("err") {
        out.error(&String::from_utf8_lossy(&err.as_bytes()));
        return Vec::new();
    }
    if let Ok(Value::String(ok)) = t.raw_get::<Value>("ok") {
        let status: String = String::from_utf8_lossy(&ok.as_bytes())
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        out.simple(&status);
        return Vec::new();
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(d)) => {
            out.double(d);
            return Vec::new();
        }
        Ok(Value::Integer(d)) => {
            out.double(d as f64);
            return Vec::new();
        }
        _ => {}
    }
    if let Ok(Value::String(big)) = t.raw_get::<Value>("big_number") {
        let text = big.as_bytes();
        if out.is_resp3() {
            out.raw(b"(");
            out.raw(&text);
            out.raw(b"\r\n");
        } else {
            out.bulk(&text);
        }
        return Vec::new();
    }
    if let Ok(Value::Table(map)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> =
            map.pairs::<Value, Value>().filter_map(Result::ok).collect();
        out.map_len(pairs.len());
        return pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        let members: Vec<Value> = set
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| k)
            .collect();
        out.set_len(members.len());
        return members;
    }
    // An array: elements 1, 2, ... up to the first nil.
    let mut items = Vec::new();
    loop {
        match t.raw_get::<Value>(items.len() + 1) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array_len(items.len());
    items
}

/// Converts one complete RESP reply (what a command wrote into the scratch buffer) to a Lua
/// value. Returns `(value, is_error)`.
pub fn resp_to_lua(lua: &Lua, reply: &[u8]) -> mlua::Result<(Value, bool)> {
    let mut pos = 0;
    let value = parse(lua, reply, &mut pos, 0)?;
    let is_error = reply.first() == Some(&b'-');
    Ok((value, is_error))
}

fn bad() -> mlua::Error {
    mlua::Error::runtime("malformed reply from command")
}

/// The text of the line starting at `*pos` (after the type byte), advancing past its CRLF.
fn line<'r>(reply: &'r [u8], pos: &mut usize) -> mlua::Result<&'r [u8]> {
    let start = *pos;
    let len = reply[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(bad)?;
    *pos = start + len + 2;
    Ok(&reply[start..start + len])
}

fn int(text: &[u8]) -> mlua::Result<i64> {
    crate::util::parse_i64(text).ok_or_else(bad)
}

fn parse(lua: &Lua, reply: &[u8], pos: &mut usize, depth: usize) -> mlua::Result<Value> {
    let Some(&kind) = reply.get(*pos) else {
        return Err(bad());
    };
    if depth > MAX_REPLY_DEPTH {
        return Err(bad());
    }
    *pos += 1;
    let text = line(reply, pos)?;
    Ok(match kind {
        b':' => Value::Number(int(text)? as f64),
        b'$' | b'=' => {
            let len = int(text)?;
            if len < 0 {
                return Ok(Value::Boolean(false));
            }
            let start = *pos;
            let end = start + len as usize;
            let data = reply.get(start..end).ok_or_else(bad)?;
            *pos = end + 2;
            if kind == b'=' {
                // Verbatim string: {verbatim_string = {format = "txt", string = "..."}}.
                let inner = lua.create_table()?;
                inner.raw_set("format", lua.create_string(data.get(..3).unwrap_or(b""))?)?;
                inner.raw_set("string", lua.create_string(data.get(4..).unwrap_or(b""))?)?;
                let t = lua.create_table()?;
                t.raw_set("verbatim_string", inner)?;
                Value::Table(t)
            } else {
                Value::String(lua.create_string(data)?)
            }
        }
        b'+' => {
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(text)?)?;
            Value::Table(t)
        }
        b'-' => {
            let t = lua.create_table()?;
            t.raw_set("err", lua.create_string(text)?)?;
            // The command's own reply already counted this error in the statistics.
            t.raw_set(STATS_COUNTED, true)?;
            Value::Table(t)
        }
        b'*' | b'>' => {
            let n = int(text)?;
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table()?;
            for i in 1..=n {
                t.raw_set(i, parse(lua, reply, pos, depth + 1)?)?;
            }
            Value::Table(t)
        }
        b'%' => {
            let n = int(text)?;
            let map = lua.create_table()?;
            for _ in 0..n {
                let k = parse(lua, reply, pos, depth + 1)?;
                let v = parse(lua, reply, pos, depth + 1)?;
                map.raw_set(k, v)?;
            }
            let t = lua.create_table()?;
            t.raw_set("map", map)?;
            Value::Table(t)
        }
        b'~' => {
            let n = int(text)?;
            let set = lua.create_table()?;
            for _ in 0..n {
                let k = parse(lua, reply, pos, depth + 1)?;
                set.raw_set(k, true)?;
            }
            let t = lua.create_table()?;
            t.raw_set("set", set)?;
            Value::Table(t)
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(text == b"t"),
        b',' => {
            let d = crate::util::parse_f64(text).unwrap_or(match text {
                b"inf" => f64::INFINITY,
                b"-inf" => f64::NEG_INFINITY,
                _ => f64::NAN,
            });
            let t = lua.create_table()?;
            t.raw_set("double", d)?;
            Value::Table(t)
        }
        b'(' => {
            let t = lua.create_table()?;
            t.raw_set("big_number", lua.create_string(text)?)?;
            Value::Table(t)
        }
        _ => return Err(bad()),
    })
}
