//! INCRBYFLOAT and HINCRBYFLOAT against the real binary: exact replies for the cases that show
//! Redis's `long double` arithmetic, then differential runs against a real redis-server 7.0
//! (hand-picked edge cases, and a few hundred seeded random sequences of decimal strings with
//! exponents, signs, tiny and huge magnitudes), comparing every reply byte for byte.

mod common;
use common::{bulk, require_redis_server, RawConn, RealRedis, TestServer, WRONGTYPE};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[test]
fn incrbyfloat_keeps_long_double_precision_like_redis() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_args(&["SET", "k", "10.5"]), "+OK\r\n");
    assert_eq!(c.cmd_args(&["INCRBYFLOAT", "k", "0.1"]), bulk("10.6"));
    assert_eq!(c.cmd_args(&["INCRBYFLOAT", "k", "-5"]), bulk("5.6"));
    assert_eq!(
        c.cmd_args(&["INCRBYFLOAT", "k", "1e3"]),
        bulk("1005.59999999999999998")
    );
    assert_eq!(c.cmd_args(&["GET", "k"]), bulk("1005.59999999999999998"));
}

#[test]
fn incrbyfloat_goes_beyond_the_range_of_a_double() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_args(&["SET", "k", "1e308"]), "+OK\r\n");
    let reply = c.cmd_args(&["INCRBYFLOAT", "k", "1e308"]);
    assert!(reply.starts_with("$309\r\n19999999999999999999337175931169129"));
    let near_max = c.cmd_args(&["INCRBYFLOAT", "k", "1.18e4932"]);
    assert!(near_max.starts_with("$4933\r\n1180000000000000000"));
    assert_eq!(c.cmd_args(&["GET", "k"]), near_max);
    assert_eq!(
        c.cmd_args(&["INCRBYFLOAT", "k", "1.18e4932"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
}

#[test]
fn incrbyfloat_refuses_what_strtold_would_not_read_whole() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    for bad in [
        " 1", "1 ", "1e", "nan", "1.2e4932", "1e-5000", "0x", "abc", "",
    ] {
        assert_eq!(
            c.cmd_args(&["INCRBYFLOAT", "k", bad]),
            "-ERR value is not a valid float\r\n",
            "{bad:?}"
        );
    }
    assert_eq!(c.cmd_args(&["INCRBYFLOAT", "k", "0x1p3"]), bulk("8"));
    assert_eq!(
        c.cmd_args(&["INCRBYFLOAT", "k", "inf"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    assert_eq!(c.cmd_args(&["GET", "k"]), bulk("8"));
}

#[test]
fn a_wrong_type_is_reported_before_a_bad_increment() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_args(&["RPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(c.cmd_args(&["INCRBYFLOAT", "l", "abc"]), WRONGTYPE);
    // HINCRBYFLOAT parses its increment first, as Redis does.
    assert_eq!(
        c.cmd_args(&["HINCRBYFLOAT", "l", "f", "abc"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        c.cmd_args(&["HINCRBYFLOAT", "l", "f", "inf"]),
        "-ERR value is NaN or Infinity\r\n"
    );
    assert_eq!(c.cmd_args(&["HINCRBYFLOAT", "l", "f", "1"]), WRONGTYPE);
}

#[test]
fn hincrbyfloat_uses_the_same_arithmetic() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_args(&["HSET", "h", "f", "10.5", "s", "x"]), ":2\r\n");
    assert_eq!(c.cmd_args(&["HINCRBYFLOAT", "h", "f", "0.1"]), bulk("10.6"));
    assert_eq!(c.cmd_args(&["HINCRBYFLOAT", "h", "f", "-5"]), bulk("5.6"));
    assert_eq!(
        c.cmd_args(&["HINCRBYFLOAT", "h", "f", "1e3"]),
        bulk("1005.59999999999999998")
    );
    assert_eq!(
        c.cmd_args(&["HGET", "h", "f"]),
        bulk("1005.59999999999999998")
    );
    assert_eq!(
        c.cmd_args(&["HINCRBYFLOAT", "h", "s", "1"]),
        "-ERR hash value is not a float\r\n"
    );
    assert_eq!(
        c.cmd_args(&["HINCRBYFLOAT", "h", "new", "0.000011444091796875"]),
        bulk("0.00001144409179688")
    );
}

/// Sends each command to both servers and asserts identical replies, reporting the command
/// and the few before it on the first difference.
struct Differential {
    redis: RawConn,
    ferrodis: RawConn,
    history: Vec<String>,
}

impl Differential {
    fn run(&mut self, args: &[&[u8]]) {
        let expected = self.redis.cmd(args);
        let actual = self.ferrodis.cmd(args);
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                let text = String::from_utf8_lossy(a);
                if text.len() > 80 {
                    format!("{}...({} bytes)", &text[..60], text.len())
                } else {
                    format!("{text:?}")
                }
            })
            .collect();
        self.history.push(shown.join(" "));
        if expected != actual {
            let start = self.history.len().saturating_sub(8);
            panic!(
                "replies differ\n  commands (last is the culprit):\n    {}\n  redis:    {:?}\n  ferrodis: {:?}",
                self.history[start..].join("\n    "),
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&actual),
            );
        }
    }

    fn run_str(&mut self, args: &[&str]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.run(&args);
    }
}

/// Both servers, or None (after the CI check) when redis-server is not installed.
fn differential() -> Option<(RealRedis, TestServer, Differential)> {
    if !require_redis_server() {
        return None;
    }
    let real = RealRedis::start(&[]);
    let ours = TestServer::start(&[]);
    let diff = Differential {
        redis: real.raw(),
        ferrodis: ours.raw(),
        history: Vec::new(),
    };
    Some((real, ours, diff))
}

#[test]
fn edge_cases_match_real_redis_byte_for_byte() {
    let Some((_real, _ours, mut d)) = differential() else {
        return;
    };
    let long_fraction = format!("0.{}", "3".repeat(5117)); // 5119 bytes: accepted
    let too_long = format!("0.{}", "3".repeat(5118)); // 5120 bytes: refused
    let many_digits = format!("{}e-5000", "7".repeat(5000));
    let leading_zeros = format!("0.{}1e4000", "0".repeat(4000));
    let edge_values: Vec<&str> = vec![
        "0",
        "-0",
        "+0",
        "1",
        "-1",
        "+1.5",
        ".5",
        "5.",
        "-.5",
        "1e5",
        "1E+5",
        "1e-5",
        "1e",
        "1e+",
        "1.2.3",
        ".",
        "-",
        "+",
        "--1",
        " 1",
        "1 ",
        "\t1",
        "1\0",
        "abc",
        "nan",
        "-nan",
        "NaN",
        "inf",
        "-inf",
        "+inf",
        "Infinity",
        "-INFINITY",
        "infin",
        "0x1p3",
        "0X1.8P1",
        "0x10",
        "0x.8",
        "0x",
        "0x.",
        "0x1p",
        "0x1e3",
        "0x1p-16445",
        "0x1p-16446",
        "0x1p16383",
        "0x1p16384",
        "1e308",
        "1.7976931348623157e308",
        "1e4932",
        "1.18973149535723176502e4932",
        "1.19e4932",
        "-1.19e4932",
        "1e-4940",
        "3.6e-4951",
        "1e-4952",
        "1e-5000",
        "0e-5000",
        "4.9e-324",
        "2.2250738585072014e-308",
        "1e-17",
        "5e-18",
        "-5e-18",
        "1e-20",
        "0.000003814697265625",
        "0.000011444091796875",
        "12345.000003814697265625",
        "35184372088832.000003814697265625",
        "70368744177663.999988555908203125",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "-9223372036854775808",
        "0.1",
        "0.2",
        "0.3",
        "1e99999999999",
        "1e-99999999999",
        "00012",
        "1,5",
        "1_000",
        &long_fraction,
        &too_long,
        &many_digits,
        &leading_zeros,
    ];
    for (i, start) in edge_values.iter().enumerate() {
        for by in ["0", "0.1", "-1e-18", "1e4932", start] {
            let key = format!("k{i}");
            d.run_str(&["SET", &key, start]);
            d.run_str(&["INCRBYFLOAT", &key, by]);
            d.run_str(&["GET", &key]);
            d.run_str(&["INCRBYFLOAT", "fresh", start]);
            d.run_str(&["DEL", "fresh"]);
            d.run_str(&["HSET", "h", "f", start]);
            d.run_str(&["HINCRBYFLOAT", "h", "f", by]);
            d.run_str(&["HGET", "h", "f"]);
            d.run_str(&["HINCRBYFLOAT", "h", "g", start]);
            d.run_str(&["HGET", "h", "g"]);
            d.run_str(&["DEL", "h"]);
        }
    }
    // The order of checks on a key of another type.
    d.run_str(&["RPUSH", "list", "a"]);
    for by in ["abc", "inf", "1"] {
        d.run_str(&["INCRBYFLOAT", "list", by]);
        d.run_str(&["HINCRBYFLOAT", "list", "f", by]);
    }
    // A sum that overflows leaves no empty hash behind, and a missing key stays missing.
    d.run_str(&["HINCRBYFLOAT", "nohash", "f", "1e4932"]);
    d.run_str(&["HINCRBYFLOAT", "nohash", "f", "1e4932"]);
    d.run_str(&["EXISTS", "nohash"]);
    d.run_str(&["INCRBYFLOAT", "nokey", "inf"]);
    d.run_str(&["EXISTS", "nokey"]);
}

/// A random number as a client might type it: mostly plain decimals with an exponent now and
/// then, sometimes tiny, huge, hexadecimal, special or malformed.
fn random_number(rng: &mut SmallRng) -> String {
    let mut s = String::new();
    match rng.random_range(0..20) {
        0..=3 => s.push('-'),
        4 => s.push('+'),
        _ => {}
    }
    let digits = |rng: &mut SmallRng, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    };
    match rng.random_range(0..100) {
        0..=29 => {
            // A short decimal with a fraction, like money or a measurement.
            let int_len = rng.random_range(1..6);
            let frac_len = rng.random_range(0..6);
            s.push_str(&digits(rng, int_len));
            if frac_len > 0 {
                s.push('.');
                s.push_str(&digits(rng, frac_len));
            }
        }
        30..=49 => {
            // Many significant digits (more than a long double holds).
            let int_len = rng.random_range(0..22);
            let frac_len = rng.random_range(1..30);
            s.push_str(&digits(rng, int_len));
            s.push('.');
            s.push_str(&digits(rng, frac_len));
        }
        50..=74 => {
            // Scientific notation over the whole exponent range.
            s.push_str(&digits(rng, 1));
            if rng.random_bool(0.7) {
                s.push('.');
                let n = rng.random_range(1..25);
                s.push_str(&digits(rng, n));
            }
            s.push(if rng.random_bool(0.5) { 'e' } else { 'E' });
            let exp: i32 = match rng.random_range(0..6) {
                0 => rng.random_range(-25..25),
                1 => rng.random_range(-320..320),
                2 => rng.random_range(4925..4935),
                3 => -rng.random_range(4925..4960),
                4 => rng.random_range(-5000..5000),
                _ => rng.random_range(10..20),
            };
            if exp >= 0 && rng.random_bool(0.3) {
                s.push('+');
            }
            s.push_str(&exp.to_string());
        }
        75..=84 => {
            // Exact binary fractions: ties in the 17th decimal, and values like 2^-n.
            let bits = rng.random_range(1..60);
            let m: u64 = rng.random_range(1..1u64 << bits);
            let n = rng.random_range(10..30u32);
            s.push_str(&format!("0x{m:x}p-{n}"));
        }
        85..=89 => {
            let words = [
                "inf", "-inf", "nan", "1e", "1 ", " 1", "0x", "1.2.3", "", "abc", "1e5000",
                "1e-5000", "0", "-0", "1e4932", "1e-4950",
            ];
            return words[rng.random_range(0..words.len())].to_string();
        }
        90..=94 => {
            // An integer, possibly beyond 64 bits.
            let n = rng.random_range(1..26);
            s.push_str(&digits(rng, n));
        }
        _ => {
            // Long strings around Redis's 5119-byte limit.
            let len = rng.random_range(5100..5125);
            s.push_str("0.");
            while s.len() < len {
                s.push(char::from(b'0' + rng.random_range(0..10u8)));
            }
        }
    }
    s
}

/// A number from the environment (`FERRODIS_INCRBYFLOAT_SEED=7` and
/// `FERRODIS_INCRBYFLOAT_SEQUENCES=100000` make a longer run), or `default`.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_sequences_match_real_redis_byte_for_byte() {
    let Some((_real, _ours, mut d)) = differential() else {
        return;
    };
    let mut rng = SmallRng::seed_from_u64(env_or("FERRODIS_INCRBYFLOAT_SEED", 0x1d0b1e));
    for sequence in 0..env_or("FERRODIS_INCRBYFLOAT_SEQUENCES", 300) {
        let key = format!("k{}", sequence % 7);
        let string_key = rng.random_bool(0.5);
        if rng.random_bool(0.7) {
            let start = random_number(&mut rng);
            if string_key {
                d.run_str(&["SET", &key, &start]);
            } else {
                d.run_str(&["HSET", &key, "f", &start]);
            }
        }
        for _ in 0..rng.random_range(1..8) {
            let by = random_number(&mut rng);
            if string_key {
                d.run_str(&["INCRBYFLOAT", &key, &by]);
            } else {
                d.run_str(&["HINCRBYFLOAT", &key, "f", &by]);
            }
        }
        if string_key {
            d.run_str(&["GET", &key]);
        } else {
            d.run_str(&["HGET", &key, "f"]);
        }
        d.run_str(&["TYPE", &key]);
    }
}
