//! `struct`, lua-struct's binary packing: `pack`, `unpack` and `size` over a format string of
//! C types with byte-order markers (Redis: `deps/lua/src/lua_struct.c`). Named `struct_` because `struct` is a Rust keyword.

use super::{err, fmt_14g, number, type_name, LUA_MAX_C_STACK};
use mlua::{Lua, MultiValue, Table, Value};

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

pub(super) fn struct_lib(lua: &Lua) -> mlua::Result<Table> {
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
