//! Shared argument parsing, so every command rejects bad input with the same words Redis uses.
//!
//! Handlers get `argv: &[&[u8]]` (argv[0] is the command name) and call these helpers with `?`.

use super::error::CommandError;
use crate::util::{parse_i64, string2d, MAX_LONG_DOUBLE_CHARS};

/// An integer argument (`ERR value is not an integer or out of range`).
pub fn int(arg: &[u8]) -> Result<i64, CommandError> {
    parse_i64(arg).ok_or(CommandError::NotInteger)
}

/// A float argument (`ERR value is not a valid float`), read as Redis's `string2d`: NaN and
/// values out of a double's range (`1e400`, `1e-400`) are refused.
pub fn float(arg: &[u8]) -> Result<f64, CommandError> {
    string2d(arg).ok_or(CommandError::NotFloat)
}

/// A non-negative integer with a command-specific message, used both when the argument is not
/// a number and when it is negative (Redis's `getPositiveLongFromObjectOrReply` with a message,
/// e.g. LPOS's `COUNT can't be negative`).
pub fn non_negative(arg: &[u8], err: &'static str) -> Result<i64, CommandError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CommandError::Err(err)),
    }
}

/// Case-insensitive option match: `is(arg, "NX")`.
pub fn is(arg: &[u8], option: &str) -> bool {
    arg.eq_ignore_ascii_case(option.as_bytes())
}

/// A blocking timeout in seconds as a float (`0.001` is one millisecond, not zero), returned
/// as milliseconds. `0` means "forever" and is returned as None. Redis 7.0 rounds *up* to whole
/// milliseconds (`ceill`), so any positive timeout, however small, is at least 1 ms; a value
/// too big for a `long long` of milliseconds wraps negative in Redis's cast and is refused as
/// negative. Redis: `getTimeoutFromObjectOrReply`.
pub fn timeout_ms(arg: &[u8]) -> Result<Option<i64>, CommandError> {
    // Redis reads it as a `long double` (`string2ld`), from a buffer of MAX_LONG_DOUBLE_CHARS.
    let not_float = CommandError::Err("timeout is not a float or out of range");
    if arg.len() >= MAX_LONG_DOUBLE_CHARS {
        return Err(not_float);
    }
    let (secs, out_of_range) = crate::util::strtod_whole(arg).ok_or(not_float)?;
    // Too small for a double, not for a long double: still a positive timeout.
    let secs = if out_of_range && secs == 0.0 {
        f64::MIN_POSITIVE
    } else {
        secs
    };
    let ms = (secs * 1000.0).ceil();
    if ms < 0.0 || ms >= i64::MAX as f64 {
        return Err(CommandError::Err("timeout is negative"));
    }
    let ms = ms as i64;
    // Redis adds the current time and refuses an overflow; a bound this far out (~146,000
    // years) is the same refusal without reading the clock here.
    if ms > i64::MAX / 2 {
        return Err(CommandError::Err("timeout is out of range"));
    }
    Ok(if ms == 0 { None } else { Some(ms) })
}

/// Lossy text of an argument for messages and names.
pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_timeouts_keep_sub_millisecond_precision() {
        assert_eq!(timeout_ms(b"0").unwrap(), None);
        assert_eq!(timeout_ms(b"0.001").unwrap(), Some(1));
        assert_eq!(timeout_ms(b"0.0001").unwrap(), Some(1));
        assert_eq!(timeout_ms(b"-0").unwrap(), None);
        assert!(timeout_ms(b"inf").is_err());
        assert_eq!(timeout_ms(b"1.5").unwrap(), Some(1500));
        assert!(timeout_ms(b"-1").is_err());
        assert!(timeout_ms(b"abc").is_err());
    }
}
