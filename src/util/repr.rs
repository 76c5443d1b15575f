//! Quoting bytes the way Redis's `sdscatrepr` (sds.c) does: a double-quoted string where `\`
//! and `"` are backslash-escaped, `\n \r \t \a \b` use their C escapes, other printable ASCII
//! is kept and every other byte becomes `\xHH`. MONITOR lines and CONFIG REWRITE values use it.

/// Appends `bytes` to `out`, quoted as `sdscatrepr` does.
pub fn cat_repr(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::cat_repr;

    #[test]
    fn escapes_quotes_controls_and_binary_like_sdscatrepr() {
        let mut out = Vec::new();
        cat_repr(&mut out, b"a \"b\"\\\n\r\t\x07\x08\x00\xff~");
        assert_eq!(
            out,
            b"\"a \\\"b\\\"\\\\\\n\\r\\t\\a\\b\\x00\\xff~\"".to_vec()
        );
    }
}
