//! `struct`, lua-struct's binary packing: `pack`, `unpack` and `size` over a format string of
//! C types with byte-order markers (Redis: `deps/lua/src/lua_struct.c`). Known difference: `!`
//! (alignment) is accepted and ignored. Named `struct_` because `struct` is a Rust keyword.

use super::{err, number};
use mlua::{Lua, MultiValue, Table, Value};

/// Largest `cN` item struct accepts (Redis's proto-max-bulk-len default).
const MAX_STRUCT_ITEM: usize = 512 * 1024 * 1024;

/// One parsed format item: kind letter and size in bytes.
fn struct_items(fmt: &[u8]) -> mlua::Result<Vec<(u8, usize, bool)>> {
    let mut items = Vec::new();
    let mut little = true;
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        let mut digits = String::new();
        while i < fmt.len() && fmt[i].is_ascii_digit() {
            digits.push(fmt[i] as char);
            i += 1;
        }
        let n: Option<usize> = digits.parse().ok();
        let size = match c {
            b'<' | b'=' => {
                little = true;
                continue;
            }
            b'>' => {
                little = false;
                continue;
            }
            b'!' | b' ' => continue,
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' => 8,
            b'i' | b'I' => n.unwrap_or(4),
            b'f' => 4,
            b'd' => 8,
            b'c' => n.unwrap_or(1),
            b's' => 0,
            _ => return Err(err(format!("invalid format option '{}'", c as char))),
        };
        // A client-chosen size must not make pack allocate without bound.
        if size > MAX_STRUCT_ITEM {
            return Err(err("format size too large"));
        }
        if matches!(c, b'i' | b'I') && !(1..=8).contains(&size) {
            return Err(err(format!(
                "integral size {size} is larger than limit of 8"
            )));
        }
        items.push((c, size, little));
    }
    Ok(items)
}

pub(super) fn struct_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let mut args = args.into_iter();
            let fmt = match args.next() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                _ => return Err(err("bad argument #1 to 'pack' (string expected)")),
            };
            let mut out = Vec::new();
            for (c, size, little) in struct_items(&fmt)? {
                match c {
                    b'x' => out.push(0),
                    b'f' | b'd' => {
                        let v = args.next().as_ref().and_then(number).unwrap_or(0.0);
                        let bytes = if c == b'f' {
                            let b = (v as f32).to_le_bytes().to_vec();
                            if little {
                                b
                            } else {
                                b.into_iter().rev().collect()
                            }
                        } else {
                            let b = v.to_le_bytes().to_vec();
                            if little {
                                b
                            } else {
                                b.into_iter().rev().collect()
                            }
                        };
                        out.extend(bytes);
                    }
                    b'c' | b's' => {
                        let s = match args.next() {
                            Some(Value::String(s)) => s.as_bytes().to_vec(),
                            Some(v) => number(&v)
                                .map(|n| n.to_string().into_bytes())
                                .unwrap_or_default(),
                            None => Vec::new(),
                        };
                        if c == b's' {
                            out.extend_from_slice(&s);
                            out.push(0);
                        } else {
                            let mut s = s;
                            s.resize(size, 0);
                            out.extend_from_slice(&s);
                        }
                    }
                    _ => {
                        let v = args.next().as_ref().and_then(number).unwrap_or(0.0) as i64 as u64;
                        let le = v.to_le_bytes();
                        let mut bytes = le[..size.min(8)].to_vec();
                        if !little {
                            bytes.reverse();
                        }
                        out.extend(bytes);
                    }
                }
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(
            |lua, (fmt, data, pos): (mlua::LuaString, mlua::LuaString, Option<i64>)| {
                let fmt = fmt.as_bytes().to_vec();
                let data = data.as_bytes().to_vec();
                let mut at = pos.unwrap_or(1).max(1) as usize - 1;
                let mut out = Vec::new();
                let short = || err("bad argument #2 to 'unpack' (data string too short)");
                for (c, size, little) in struct_items(&fmt)? {
                    match c {
                        b'x' => at += 1,
                        b's' => {
                            let rest = data.get(at..).ok_or_else(short)?;
                            let end = rest
                                .iter()
                                .position(|&b| b == 0)
                                .ok_or_else(|| err("unfinished string in data"))?;
                            out.push(Value::String(lua.create_string(&rest[..end])?));
                            at += end + 1;
                        }
                        b'c' => {
                            let s = data.get(at..at + size).ok_or_else(short)?;
                            out.push(Value::String(lua.create_string(s)?));
                            at += size;
                        }
                        _ => {
                            let raw = data.get(at..at + size).ok_or_else(short)?;
                            let mut bytes = raw.to_vec();
                            if !little {
                                bytes.reverse();
                            }
                            at += size;
                            let v = match c {
                                b'f' => {
                                    f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
                                        as f64
                                }
                                b'd' => {
                                    let mut b = [0u8; 8];
                                    b.copy_from_slice(&bytes);
                                    f64::from_le_bytes(b)
                                }
                                _ => {
                                    let mut b = [0u8; 8];
                                    b[..size].copy_from_slice(&bytes);
                                    let u = u64::from_le_bytes(b);
                                    if c.is_ascii_lowercase()
                                        && size < 8
                                        && u >> (size * 8 - 1) & 1 == 1
                                    {
                                        (u as i64 - (1i64 << (size * 8))) as f64
                                    } else if c.is_ascii_lowercase() {
                                        u as i64 as f64
                                    } else {
                                        u as f64
                                    }
                                }
                            };
                            out.push(Value::Number(v));
                        }
                    }
                }
                out.push(Value::Number((at + 1) as f64));
                Ok(MultiValue::from_iter(out))
            },
        )?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|_, fmt: mlua::LuaString| {
            let mut n = 0;
            for (c, size, _) in struct_items(&fmt.as_bytes())? {
                if c == b's' {
                    return Err(err("options 's' has no fixed size"));
                }
                n += size;
            }
            Ok(n as f64)
        })?,
    )?;
    Ok(t)
}
