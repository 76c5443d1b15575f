//! Redis's deterministic `math.random` / `math.randomseed` for scripts: the 48-bit linear
//! congruential generator of `drand48`, so scripts draw the same numbers as on Redis
//! (Redis: `src/rand.c`, `redisLrand48`; `src/script_lua.c`, `redis_math_random`).

use super::{err, number};
use mlua::{Lua, MultiValue};
use std::cell::Cell;
use std::rc::Rc;

/// The 48-bit state of `drand48`, as Redis's `rand.c` keeps it. It lives outside the Lua
/// state and is never reset between scripts (as in Redis 7.0), so a fresh server's first
/// `math.random()` is 0.39646477363839 as on Redis.
pub(super) struct Rand48(pub(super) Rc<Cell<u64>>);
const SEED0: u64 = 0x330E;
/// The unseeded state (`X2 X1 X0` in `rand.c`).
pub const RAND48_INIT: u64 = 0x1234_ABCD_330E;

pub(super) fn seed_random(lua: &Lua, seed: i32) {
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

pub(super) fn math_random(lua: &Lua, args: MultiValue) -> mlua::Result<f64> {
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

#[cfg(test)]
mod tests {
    use super::super::{fmt_14g, register};
    use super::*;

    #[test]
    fn rand48_starts_where_redis_starts() {
        let lua = Lua::new();
        let hidden = lua.create_table().unwrap();
        register(&lua, &hidden, Rc::new(Cell::new(RAND48_INIT))).unwrap();
        let r = math_random(&lua, MultiValue::new()).unwrap();
        assert_eq!(fmt_14g(r), "0.39646477363839");
    }
}
