//! The libraries Redis embeds in its Lua, rewritten in Rust, one file each: `bit` (LuaBitOp),
//! `struct` (lua-struct), `cjson` (lua-cjson), `cmsgpack` (lua-cmsgpack), and Redis's
//! deterministic `math.random` (Redis: `deps/lua/src/lua_*.c`, `rand.c`).
//!
//! mlua's vendored Lua 5.1 is the stock interpreter and cannot compile these C modules in, so
//! each is a table of Rust functions, which [`register`] puts in the engine's hidden table.
//! They follow the originals for the common cases; each file names its known differences.
//! This file keeps what they share: Lua-style errors, number coercion, Lua's type names and
//! Lua's `%.14g` number format.

mod bit;
mod cjson;
mod cmsgpack;
mod random;
mod struct_;

use bit::bit_lib;
use cjson::cjson_lib;
use cmsgpack::cmsgpack_lib;
use mlua::{Lua, Table, Value};
pub use random::RAND48_INIT;
use random::{math_random, seed_random, Rand48};
use std::cell::Cell;
use std::rc::Rc;
use struct_::struct_lib;

pub fn register(lua: &Lua, hidden: &Table, rand: Rc<Cell<u64>>) -> mlua::Result<()> {
    lua.set_app_data(Rand48(rand));
    hidden.raw_set("random", lua.create_function(math_random)?)?;
    hidden.raw_set(
        "randomseed",
        lua.create_function(|lua, seed: f64| {
            seed_random(lua, seed as i64 as i32);
            Ok(())
        })?,
    )?;
    hidden.raw_set("bit", bit_lib(lua)?)?;
    hidden.raw_set("struct", struct_lib(lua)?)?;
    hidden.raw_set("cjson", cjson_lib(lua)?)?;
    hidden.raw_set("cmsgpack", cmsgpack_lib(lua)?)?;
    Ok(())
}

/// Lua stack slots a C function may use (Lua 5.1's `LUAI_MAXCSTACK`). Redis's cmsgpack decodes
/// recursively onto the Lua stack, so this — not a depth constant — is what bounds it; struct's
/// unpack is bounded by it too.
const LUA_MAX_C_STACK: usize = 8000;

fn err(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(msg.into())
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => crate::util::parse_f64(&s.as_bytes()),
        _ => None,
    }
}

/// Lua's name for a value's type in "bad argument" errors (`luaL_typename`).
fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::LightUserData(_) | Value::UserData(_)) => "userdata",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// Lua's `%.14g`, which lua-cjson uses for numbers.
pub fn fmt_14g(n: f64) -> String {
    if n == 0.0 && n.is_sign_negative() {
        return "-0".into();
    }
    if n.is_finite() && n == n.trunc() && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    let s = format!("{:.13e}", n);
    // Shortest of %e / %f forms with 14 significant digits, like printf's %g.
    let exp: i32 = s
        .rsplit('e')
        .next()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    if (-5..14).contains(&exp) {
        let decimals = (13 - exp).max(0) as usize;
        let f = format!("{:.*}", decimals, n);
        let f = if f.contains('.') {
            f.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            f
        };
        f
    } else {
        let (mant, _) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.trim_end_matches('0').trim_end_matches('.')
        } else {
            mant
        };
        format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_like_lua_percent_14g() {
        assert_eq!(fmt_14g(1.0), "1");
        assert_eq!(fmt_14g(1.5), "1.5");
        assert_eq!(fmt_14g(0.1), "0.1");
        assert_eq!(fmt_14g(-0.0), "-0");
        assert_eq!(fmt_14g(1e100), "1e+100");
        assert_eq!(fmt_14g(1.0 / 3.0), "0.33333333333333");
        assert_eq!(fmt_14g(123456789012345678.0), "1.2345678901235e+17");
    }
}
