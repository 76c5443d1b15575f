//! `bit`, LuaBitOp's 32-bit bitwise operations: `band`, `bor`, `bxor`, `bnot`, the shifts and
//! rotations, `bswap`, `tobit`, `tohex` (Redis: `deps/lua/src/lua_bit.c`).

use super::{err, number, type_name};
use mlua::{Function, Lua, MultiValue, Table, Value};

/// Argument `i` (0-based) of bit.`name`, normalised as LuaBitOp does: round to nearest, keep
/// the low 32 bits. Errors like `luaL_checknumber`.
fn bit_arg(args: &MultiValue, i: usize, name: &str) -> mlua::Result<i32> {
    let v = args.get(i);
    let n = v.and_then(number).ok_or_else(|| {
        err(format!(
            "bad argument #{} to '{name}' (number expected, got {})",
            i + 1,
            type_name(v)
        ))
    })?;
    Ok(n.round_ties_even() as i64 as i32)
}

pub(super) fn bit_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    fn fold(lua: &Lua, name: &'static str, op: fn(i32, i32) -> i32) -> mlua::Result<Function> {
        lua.create_function(move |_, args: MultiValue| {
            let mut acc = bit_arg(&args, 0, name)?;
            for i in 1..args.len() {
                acc = op(acc, bit_arg(&args, i, name)?);
            }
            Ok(acc as f64)
        })
    }
    fn unary(lua: &Lua, name: &'static str, op: fn(i32) -> i32) -> mlua::Result<Function> {
        lua.create_function(move |_, args: MultiValue| Ok(op(bit_arg(&args, 0, name)?) as f64))
    }
    fn shift(lua: &Lua, name: &'static str, op: fn(i32, u32) -> i32) -> mlua::Result<Function> {
        lua.create_function(move |_, args: MultiValue| {
            let x = bit_arg(&args, 0, name)?;
            let n = bit_arg(&args, 1, name)?;
            Ok(op(x, (n & 31) as u32) as f64)
        })
    }
    t.raw_set("band", fold(lua, "band", |a, b| a & b)?)?;
    t.raw_set("bor", fold(lua, "bor", |a, b| a | b)?)?;
    t.raw_set("bxor", fold(lua, "bxor", |a, b| a ^ b)?)?;
    t.raw_set("tobit", unary(lua, "tobit", |x| x)?)?;
    t.raw_set("bnot", unary(lua, "bnot", |x| !x)?)?;
    t.raw_set("bswap", unary(lua, "bswap", i32::swap_bytes)?)?;
    t.raw_set(
        "lshift",
        shift(lua, "lshift", |x, n| ((x as u32) << n) as i32)?,
    )?;
    t.raw_set(
        "rshift",
        shift(lua, "rshift", |x, n| ((x as u32) >> n) as i32)?,
    )?;
    t.raw_set("arshift", shift(lua, "arshift", |x, n| x >> n)?)?;
    t.raw_set(
        "rol",
        shift(lua, "rol", |x, n| (x as u32).rotate_left(n) as i32)?,
    )?;
    t.raw_set(
        "ror",
        shift(lua, "ror", |x, n| (x as u32).rotate_right(n) as i32)?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, args: MultiValue| {
            let x = bit_arg(&args, 0, "tohex")? as u32;
            let mut n = match args.get(1) {
                None | Some(Value::Nil) => 8,
                Some(_) => bit_arg(&args, 1, "tohex")?,
            };
            let upper = n < 0;
            if upper {
                n = -n;
            }
            let n = n.clamp(0, 8) as usize;
            let full = if upper {
                format!("{x:08X}")
            } else {
                format!("{x:08x}")
            };
            Ok(full[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}
