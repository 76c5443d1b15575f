//! `cmsgpack`, lua-cmsgpack's MessagePack encoder and decoder (Redis:
//! `deps/lua/src/lua_cmsgpack.c`). Known difference: `pack` and `unpack` only, no
//! `unpack_one` / `unpack_limit`.

use super::{err, LUA_MAX_C_STACK};
use mlua::{Lua, MultiValue, Table, Value};

fn mp_encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => mp_int(*n, out),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.2e18 => mp_int(*n as i64, out),
        Value::Number(n) => {
            if (*n as f32) as f64 == *n {
                out.push(0xca);
                out.extend_from_slice(&(*n as f32).to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Value::String(s) => {
            let b = s.as_bytes();
            let len = b.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(&b);
        }
        Value::Table(t) if depth < 16 => {
            let pairs: Vec<(Value, Value)> =
                t.pairs::<Value, Value>().collect::<mlua::Result<_>>()?;
            let n = pairs.len();
            let is_array =
                (1..=n).all(|i| t.raw_get::<Value>(i).map(|v| !v.is_nil()).unwrap_or(false));
            let header = |out: &mut Vec<u8>, small: u8, b16: u8| {
                if n < 16 {
                    out.push(small | n as u8);
                } else if n <= 0xffff {
                    out.push(b16);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                } else {
                    out.push(b16 + 1);
                    out.extend_from_slice(&(n as u32).to_be_bytes());
                }
            };
            if is_array {
                header(out, 0x90, 0xdc);
                for i in 1..=n {
                    mp_encode(&t.raw_get::<Value>(i)?, out, depth + 1)?;
                }
            } else {
                header(out, 0x80, 0xde);
                for (k, v) in &pairs {
                    mp_encode(k, out, depth + 1)?;
                    mp_encode(v, out, depth + 1)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

fn mp_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n < 128 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -(1 << 31) {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A msgpack array or map being filled while decoding.
struct MpOpen {
    table: Table,
    /// Elements (array) or pairs (map) still expected.
    left: usize,
    is_map: bool,
    next_index: usize,
    /// A map's key, waiting for its value.
    key: Option<Value>,
}

/// Decodes one value at `*at`. Iterative, with an explicit stack of open containers: one byte
/// per nesting level is enough to ask for deep nesting, which recursion would not survive.
///
/// Redis's decoder (`mp_decode_to_lua_type`) keeps, while it works, the unpack arguments and
/// the values already decoded (`stack_base`), plus per open array its table and the index
/// being filled, per open map its table and any key waiting for its value. It fails as soon
/// as those would pass `LUA_MAX_C_STACK`: about 4,000 levels of nesting, or 8,000 top-level
/// values. `slots` counts them the same way, so the same inputs fail with the same message.
fn mp_decode(lua: &Lua, d: &[u8], at: &mut usize, stack_base: usize) -> mlua::Result<Value> {
    let mut open: Vec<MpOpen> = Vec::new();
    let mut slots = stack_base;
    loop {
        // `mp_cur_need(c, 1)` comes before the stack check.
        if *at >= d.len() {
            return Err(err("Missing bytes in input."));
        }
        if slots + 1 > LUA_MAX_C_STACK {
            return Err(err("stack overflow (too many return values at once; \
                 use unpack_one or unpack_limit instead.)"));
        }
        let mut value = match mp_decode_one(lua, d, at)? {
            MpItem::Value(v) => v,
            MpItem::Open(o) => {
                // An array checks for one more slot once its table is pushed, even when empty.
                if !o.is_map && slots + 2 > LUA_MAX_C_STACK {
                    return Err(err("stack overflow (in function mp_decode_to_lua_array)"));
                }
                if o.left == 0 {
                    Value::Table(o.table)
                } else {
                    slots += if o.is_map { 1 } else { 2 };
                    open.push(o);
                    continue;
                }
            }
        };
        // Attach the finished value to its container; a container that is now full is itself
        // a finished value for the one below it.
        loop {
            let Some(top) = open.last_mut() else {
                return Ok(value);
            };
            if top.is_map && top.key.is_none() {
                top.key = Some(value);
                slots += 1;
                break;
            }
            if top.is_map {
                let key = top.key.take().unwrap_or(Value::Nil);
                slots -= 1;
                // Redis stores the pair with `lua_settable`, which refuses these keys.
                match key {
                    Value::Nil => return Err(err("table index is nil")),
                    Value::Number(n) if n.is_nan() => return Err(err("table index is NaN")),
                    key => top.table.raw_set(key, value)?,
                }
            } else {
                top.next_index += 1;
                top.table.raw_set(top.next_index, value)?;
            }
            top.left -= 1;
            if top.left > 0 {
                break;
            }
            let Some(done) = open.pop() else {
                return Err(err("Bad data format in input."));
            };
            slots -= if done.is_map { 1 } else { 2 };
            value = Value::Table(done.table);
        }
    }
}

enum MpItem {
    Value(Value),
    Open(MpOpen),
}

fn mp_decode_one(lua: &Lua, d: &[u8], at: &mut usize) -> mlua::Result<MpItem> {
    let bad = || err("Missing bytes in input.");
    let mut take = |n: usize| -> mlua::Result<&[u8]> {
        let s = d.get(*at..*at + n).ok_or_else(bad)?;
        *at += n;
        Ok(s)
    };
    let be = |b: &[u8]| b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64);
    let tag = take(1)?[0];
    let open = |left: usize, is_map: bool| -> mlua::Result<MpItem> {
        Ok(MpItem::Open(MpOpen {
            table: lua.create_table()?,
            left,
            is_map,
            next_index: 0,
            key: None,
        }))
    };
    Ok(MpItem::Value(match tag {
        0x00..=0x7f => Value::Number(tag as f64),
        0xe0..=0xff => Value::Number(tag as i8 as f64),
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xcc..=0xcf => {
            let n = 1 << (tag - 0xcc);
            Value::Number(be(take(n)?) as f64)
        }
        0xd0 => Value::Number(take(1)?[0] as i8 as f64),
        0xd1 => Value::Number(be(take(2)?) as u16 as i16 as f64),
        0xd2 => Value::Number(be(take(4)?) as u32 as i32 as f64),
        0xd3 => Value::Number(be(take(8)?) as i64 as f64),
        0xca => Value::Number(f32::from_bits(be(take(4)?) as u32) as f64),
        0xcb => Value::Number(f64::from_bits(be(take(8)?))),
        0xa0..=0xbf | 0xd9 | 0xda | 0xdb | 0xc4 | 0xc5 | 0xc6 => {
            let len = match tag {
                0xa0..=0xbf => (tag & 0x1f) as usize,
                0xd9 | 0xc4 => be(take(1)?) as usize,
                0xda | 0xc5 => be(take(2)?) as usize,
                _ => be(take(4)?) as usize,
            };
            Value::String(lua.create_string(take(len)?)?)
        }
        0x90..=0x9f => return open((tag & 0x0f) as usize, false),
        0xdc => return open(be(take(2)?) as usize, false),
        0xdd => return open(be(take(4)?) as usize, false),
        0x80..=0x8f => return open((tag & 0x0f) as usize, true),
        0xde => return open(be(take(2)?) as usize, true),
        0xdf => return open(be(take(4)?) as usize, true),
        _ => return Err(err("Bad data format in input.")),
    }))
}

pub(super) fn cmsgpack_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(err("MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                mp_encode(v, &mut out, 0)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, (s, rest): (mlua::LuaString, MultiValue)| {
            let data = s.as_bytes().to_vec();
            let nargs = 1 + rest.len();
            let mut at = 0;
            let mut values = Vec::new();
            while at < data.len() {
                // Every argument stays on Redis's Lua stack, and every value decoded so far.
                values.push(mp_decode(lua, &data, &mut at, nargs + values.len())?);
            }
            Ok(MultiValue::from_iter(values))
        })?,
    )?;
    Ok(t)
}
