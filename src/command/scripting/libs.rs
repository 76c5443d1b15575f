//! The libraries Redis embeds in its Lua, rewritten in Rust: `bit` (LuaBitOp), `struct`
//! (lua-struct), `cjson` (lua-cjson), `cmsgpack` (lua-cmsgpack), and Redis's deterministic
//! `math.random` (Redis: `deps/lua/src/lua_*.c`, `rand.c`).
//!
//! mlua's vendored Lua 5.1 is the stock interpreter and cannot compile these C modules in, so
//! each is a table of Rust functions. They follow the originals for the common cases; known
//! differences: `struct` ignores `!` alignment, `cjson` has no `encode_*`/`decode_*`
//! configuration functions, `cmsgpack` has `pack`/`unpack` only.

use mlua::{Function, LightUserData, Lua, MultiValue, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

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

// ---- math.random: Redis's rand48 -------------------------------------------------------------

/// The 48-bit state of `drand48`, as Redis's `rand.c` keeps it. It lives outside the Lua
/// state and is never reset between scripts (as in Redis 7.0), so a fresh server's first
/// `math.random()` is 0.39646477363839 as on Redis.
struct Rand48(Rc<Cell<u64>>);
const SEED0: u64 = 0x330E;
/// The unseeded state (`X2 X1 X0` in `rand.c`).
pub const RAND48_INIT: u64 = 0x1234_ABCD_330E;

fn seed_random(lua: &Lua, seed: i32) {
    if let Some(r) = lua.app_data_ref::<Rand48>() {
        r.0.set(((seed as u32 as u64) << 16) | SEED0);
    }
}

fn lrand48(lua: &Lua) -> i32 {
    let Some(r) = lua.app_data_ref::<Rand48>() else {
        return 0;
    };
    let x = (r.0.get().wrapping_mul(0x5DEECE66D).wrapping_add(0xB)) & ((1 << 48) - 1);
    r.0.set(x);
    (x >> 17) as i32
}

fn math_random(lua: &Lua, args: MultiValue) -> mlua::Result<f64> {
    let r = (lrand48(lua) % i32::MAX) as f64 / i32::MAX as f64;
    let arg = |i: usize| -> mlua::Result<i64> {
        args.get(i)
            .and_then(number)
            .map(|n| n as i64)
            .ok_or_else(|| {
                err(format!(
                    "bad argument #{} to 'random' (number expected)",
                    i + 1
                ))
            })
    };
    match args.len() {
        0 => Ok(r),
        1 => {
            let u = arg(0)?;
            if u < 1 {
                return Err(err("bad argument #1 to 'random' (interval is empty)"));
            }
            Ok((r * u as f64).floor() + 1.0)
        }
        2 => {
            let (l, u) = (arg(0)?, arg(1)?);
            if l > u {
                return Err(err("bad argument #2 to 'random' (interval is empty)"));
            }
            Ok((r * (u - l + 1) as f64).floor() + l as f64)
        }
        _ => Err(err("wrong number of arguments")),
    }
}

// ---- bit (LuaBitOp) -----------------------------------------------------------------------

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

fn bit_lib(lua: &Lua) -> mlua::Result<Table> {
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

// ---- struct (lua-struct: Redis's deps/lua/src/lua_struct.c) ----------------------------------
//
// A format is read one option at a time; every option but the control ones (`<`, `>`, `!n`,
// space) names a field and its size. Sizes come from the format (`c10`, `i3`), never from the
// data, and `c`/`s` fields are checked against the string given, so neither pack nor unpack
// allocates more than its arguments hold. Sizes, alignment, checks and messages are
// lua-struct's, in its order, so the same formats fail the same way.

/// lua-struct's `MAXINTSIZE`: the widest `iN` / `IN`.
const STRUCT_MAX_INT_SIZE: usize = 32;
/// lua-struct's `MAXALIGN` on x86-64 (the padding before a `double` in a C struct): what a
/// bare `!` sets.
const STRUCT_MAX_ALIGN: usize = 8;

/// `luaL_argerror`'s message.
fn arg_error(arg: usize, function: &str, msg: &str) -> mlua::Error {
    err(format!("bad argument #{arg} to '{function}' ({msg})"))
}

/// `luaL_checklstring`: a string, or a number in its `%.14g` form.
fn check_lstring(args: &[Value], arg: usize, function: &str) -> mlua::Result<Vec<u8>> {
    match args.get(arg - 1) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => {
            Ok(number(v).map(fmt_14g).unwrap_or_default().into_bytes())
        }
        other => Err(arg_error(
            arg,
            function,
            &format!("string expected, got {}", type_name(other)),
        )),
    }
}

/// `luaL_checknumber`: a number, or a string that reads as one.
fn check_number(args: &[Value], arg: usize, function: &str) -> mlua::Result<f64> {
    let v = args.get(arg - 1);
    v.and_then(number).ok_or_else(|| {
        arg_error(
            arg,
            function,
            &format!("number expected, got {}", type_name(v)),
        )
    })
}

/// C's conversion of a `double` to `unsigned long`, as gcc compiles it for x86-64: values
/// from 2^63 go through a subtraction; whatever `cvttsd2si` cannot represent (NaN, beyond
/// range) becomes its "integer indefinite" 0x8000000000000000 (so 0 past 2^64).
fn c_double_to_u64(n: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if n >= TWO_63 {
        let low = n - TWO_63;
        if low < TWO_63 {
            (low as i64 as u64) ^ (1 << 63)
        } else {
            0
        }
    } else if n.is_nan() {
        1 << 63
    } else {
        // Saturates at i64::MIN below -2^63, as cvttsd2si does.
        n as i64 as u64
    }
}

/// A format being read, with lua-struct's `Header`: byte order and maximum alignment.
struct StructFormat<'a> {
    fmt: &'a [u8],
    at: usize,
    little: bool,
    align: usize,
    /// The Lua function reading it, for "bad argument" messages.
    function: &'static str,
}

impl<'a> StructFormat<'a> {
    fn new(fmt: &'a [u8], function: &'static str) -> StructFormat<'a> {
        // A C string: the format ends at its first NUL byte.
        let end = fmt.iter().position(|&b| b == 0).unwrap_or(fmt.len());
        StructFormat {
            fmt: &fmt[..end],
            at: 0,
            little: true,
            align: 1,
            function,
        }
    }

    /// The next option and its size in bytes (lua-struct's `optsize`); `None` at the end.
    fn next_option(&mut self) -> mlua::Result<Option<(u8, usize)>> {
        let Some(&opt) = self.fmt.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        let size = match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > STRUCT_MAX_INT_SIZE {
                    return Err(err(format!(
                        "integral size {size} is larger than limit of {STRUCT_MAX_INT_SIZE}"
                    )));
                }
                size
            }
            _ => 0,
        };
        Ok(Some((opt, size)))
    }

    /// The decimal number at the cursor, or `default` when there is none (`getnum`); an
    /// `int` in C, so past `INT_MAX` it is an error.
    fn number(&mut self, default: usize) -> mlua::Result<usize> {
        if !self.fmt.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut n: i32 = 0;
        while let Some(&digit) = self.fmt.get(self.at).filter(|d| d.is_ascii_digit()) {
            let digit = i32::from(digit - b'0');
            if n > i32::MAX / 10 || n * 10 > i32::MAX - digit {
                return Err(err("integral size overflow"));
            }
            n = n * 10 + digit;
            self.at += 1;
        }
        Ok(n as usize)
    }

    /// Padding before a field of `size` bytes at offset `len` (`gettoalign`): fields align
    /// to their size, at most `!n`; `c` fields never.
    fn padding(&self, len: usize, opt: u8, size: usize) -> usize {
        if size == 0 || opt == b'c' {
            return 0;
        }
        let size = size.min(self.align);
        size.wrapping_sub(len & (size - 1)) & (size - 1)
    }

    /// Applies a control option (`controloptions`); anything else is an invalid option.
    fn control(&mut self, opt: u8) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => self.little = false,
            b'<' => self.little = true,
            b'!' => {
                let align = self.number(STRUCT_MAX_ALIGN)?;
                if !align.is_power_of_two() {
                    return Err(err(format!("alignment {align} is not a power of 2")));
                }
                self.align = align;
            }
            _ => {
                return Err(arg_error(
                    1,
                    self.function,
                    &format!("invalid format option '{}'", opt as char),
                ))
            }
        }
        Ok(())
    }
}

/// struct.pack(fmt, v1, v2, ...) — the values laid out as `fmt` says.
fn struct_pack(args: &[Value]) -> mlua::Result<Vec<u8>> {
    // lua-struct pushes a nil after the arguments before packing, so one value too few reads
    // as nil (further ones as "no value").
    let args = &[args, &[Value::Nil]].concat();
    let fmt = check_lstring(args, 1, "pack")?;
    let mut f = StructFormat::new(&fmt, "pack");
    let mut arg = 2;
    let mut out = Vec::new();
    let mut total = 0usize;
    while let Some((opt, mut size)) = f.next_option()? {
        let padding = f.padding(total, opt, size);
        total += padding;
        out.resize(out.len() + padding, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let value = c_double_to_u64(check_number(args, arg, "pack")?);
                arg += 1;
                // Bytes past the eighth of a wide integer are zero (the value is 64 bits).
                let le = (0..size).map(|i| if i < 8 { (value >> (8 * i)) as u8 } else { 0 });
                if f.little {
                    out.extend(le);
                } else {
                    out.extend(le.collect::<Vec<u8>>().into_iter().rev());
                }
            }
            b'x' => out.push(0),
            b'f' | b'd' => {
                let n = check_number(args, arg, "pack")?;
                arg += 1;
                let mut bytes = if opt == b'f' {
                    (n as f32).to_le_bytes().to_vec()
                } else {
                    n.to_le_bytes().to_vec()
                };
                if !f.little {
                    bytes.reverse();
                }
                out.extend(bytes);
            }
            b'c' | b's' => {
                let s = check_lstring(args, arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                // lua-struct names the argument after the string (its counter has moved on).
                let field = s
                    .get(..size)
                    .ok_or_else(|| arg_error(arg, "pack", "string too short"))?;
                out.extend_from_slice(field);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => f.control(opt)?,
        }
        total += size;
    }
    Ok(out)
}

/// struct.unpack(fmt, data [, pos]) — the fields `fmt` describes, read from `data` at `pos`
/// (1-based), then the position after them.
fn struct_unpack(lua: &Lua, args: &[Value]) -> mlua::Result<MultiValue> {
    let fmt = check_lstring(args, 1, "unpack")?;
    let data = check_lstring(args, 2, "unpack")?;
    let len = data.len();
    // `luaL_optinteger` into a `size_t`: a negative position wraps to a huge one (and then
    // fails the length check); only 0 is refused outright.
    let pos = match args.get(2) {
        None | Some(Value::Nil) => 1,
        Some(_) => c_double_to_u64(check_number(args, 3, "unpack")?) as i64,
    };
    if pos == 0 {
        return Err(arg_error(3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = (pos as u64 as usize).wrapping_sub(1);
    let too_short = || arg_error(2, "unpack", "data string too short");
    let mut f = StructFormat::new(&fmt, "unpack");
    let mut out: Vec<Value> = Vec::new();
    while let Some((opt, mut size)) = f.next_option()? {
        pos = pos.wrapping_add(f.padding(pos, opt, size));
        if size > len || pos > len - size {
            return Err(too_short());
        }
        // Redis's results live on the Lua stack, beside the arguments.
        if args.len() + out.len() + 2 > LUA_MAX_C_STACK {
            return Err(err("stack overflow (too many results)"));
        }
        let field = data.get(pos..pos + size).unwrap_or_default();
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                // A 64-bit accumulator: of a wider field only the last eight bytes read stay.
                let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
                let mut value = if f.little {
                    field.iter().rev().fold(0, fold)
                } else {
                    field.iter().fold(0, fold)
                };
                let n = if opt.is_ascii_lowercase() {
                    // Sign extension; the shift count wraps as x86's does.
                    let mask = u64::MAX.wrapping_shl(((size * 8) as u32).wrapping_sub(1));
                    if value & mask != 0 {
                        value |= mask;
                    }
                    value as i64 as f64
                } else {
                    value as f64
                };
                out.push(Value::Number(n));
            }
            b'x' => {}
            b'f' | b'd' => {
                let mut bytes = field.to_vec();
                if !f.little {
                    bytes.reverse();
                }
                let n = match *bytes.as_slice() {
                    [a, b, c, d] => f64::from(f32::from_le_bytes([a, b, c, d])),
                    [a, b, c, d, e, g, h, i] => f64::from_le_bytes([a, b, c, d, e, g, h, i]),
                    _ => return Err(too_short()),
                };
                out.push(Value::Number(n));
            }
            b'c' => {
                if size == 0 {
                    // `c0`: the length is the previous result, which is consumed.
                    let previous = out.last().and_then(number);
                    let Some(n) = previous else {
                        return Err(err("format 'c0' needs a previous size"));
                    };
                    out.pop();
                    size = c_double_to_u64(n) as usize;
                    if size > len || pos > len - size {
                        return Err(too_short());
                    }
                }
                let field = data.get(pos..pos + size).unwrap_or_default();
                out.push(Value::String(lua.create_string(field)?));
            }
            b's' => {
                let rest = data.get(pos..).unwrap_or_default();
                let Some(end) = rest.iter().position(|&b| b == 0) else {
                    return Err(err("unfinished string in data"));
                };
                out.push(Value::String(lua.create_string(&rest[..end])?));
                size = end + 1;
            }
            _ => f.control(opt)?,
        }
        pos = pos.wrapping_add(size);
    }
    out.push(Value::Number(pos.wrapping_add(1) as i64 as f64));
    Ok(MultiValue::from_iter(out))
}

/// struct.size(fmt) — the bytes `fmt` packs to; `s` and `c0` have no fixed size.
fn struct_size(args: &[Value]) -> mlua::Result<f64> {
    let fmt = check_lstring(args, 1, "size")?;
    let mut f = StructFormat::new(&fmt, "size");
    let mut pos = 0usize;
    while let Some((opt, size)) = f.next_option()? {
        pos = pos.wrapping_add(f.padding(pos, opt, size));
        if opt == b's' {
            return Err(arg_error(1, "size", "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(1, "size", "option 'c0' has no fixed size"));
        }
        // As in lua-struct, an unknown letter is not an error here: it just has no size.
        if !opt.is_ascii_alphanumeric() {
            f.control(opt)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(pos as i64 as f64)
}

fn struct_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            lua.create_string(struct_pack(&args)?)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            struct_unpack(lua, &args)
        })?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|_, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            struct_size(&args)
        })?,
    )?;
    Ok(t)
}

// ---- cjson ----------------------------------------------------------------------------------

fn json_null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
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

fn cjson_lib(lua: &Lua) -> mlua::Result<Table> {
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

// ---- cmsgpack -------------------------------------------------------------------------------

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

/// Lua stack slots a C function may use (Lua 5.1's `LUAI_MAXCSTACK`). Redis's cmsgpack decodes
/// recursively onto the Lua stack, so this — not a depth constant — is what bounds it.
const LUA_MAX_C_STACK: usize = 8000;

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

fn cmsgpack_lib(lua: &Lua) -> mlua::Result<Table> {
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

    #[test]
    fn strtod_prefix_reads_what_c_reads() {
        assert_eq!(strtod_prefix(b"123abc"), Some((123.0, 3)));
        assert_eq!(strtod_prefix(b"-1.5e3,"), Some((-1500.0, 6)));
        assert_eq!(strtod_prefix(b"0x10"), Some((16.0, 4)));
        assert_eq!(strtod_prefix(b"1e"), Some((1.0, 1)));
        assert_eq!(strtod_prefix(b"-"), None);
        assert_eq!(strtod_prefix(b"inf"), Some((f64::INFINITY, 3)));
    }

    #[test]
    fn rand48_starts_where_redis_starts() {
        let lua = Lua::new();
        let hidden = lua.create_table().unwrap();
        register(&lua, &hidden, Rc::new(Cell::new(RAND48_INIT))).unwrap();
        let r = math_random(&lua, MultiValue::new()).unwrap();
        assert_eq!(fmt_14g(r), "0.39646477363839");
    }
}
