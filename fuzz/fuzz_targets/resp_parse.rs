//! The request parser (multibulk and inline, `resp::parse`) on arbitrary client bytes: the
//! input is parsed as a stream of requests, as the server's input loop does, first whole, then
//! again fed in two pieces split at a byte the input chooses (the resumable path). Both must
//! agree, and no outcome may panic or claim bytes that are not there.
#![no_main]

use ferrodis::resp::parse::{ParseLimits, ParseOutcome, RequestParser};
use libfuzzer_sys::fuzz_target;

/// Parses `buf` request by request; returns each request's arguments, and whether it ended in
/// a protocol error.
fn parse_all(buf: &[u8], split: usize) -> (Vec<Vec<Vec<u8>>>, bool) {
    let limits = ParseLimits {
        max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };
    let mut parser = RequestParser::default();
    let mut requests = Vec::new();
    let mut start = 0;
    // The bytes "received" so far: first up to `split`, then all.
    let mut received = split.min(buf.len());
    loop {
        let window = &buf[start..received];
        match parser.parse(window, &limits) {
            Err(_) => return (requests, true),
            Ok(ParseOutcome::Complete { consumed }) => {
                assert!(consumed > 0 && consumed <= window.len());
                let args: Vec<Vec<u8>> = if parser.is_inline() {
                    parser.inline_args.clone()
                } else {
                    parser
                        .spans
                        .iter()
                        .map(|&(s, e)| window[s..e].to_vec())
                        .collect()
                };
                requests.push(args);
                parser.reset();
                start += consumed;
            }
            Ok(ParseOutcome::Incomplete { need }) => {
                assert!(need > window.len());
                if received == buf.len() {
                    return (requests, false);
                }
                received = buf.len();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, buf)) = data.split_first() else {
        return;
    };
    let whole = parse_all(buf, buf.len());
    let split = parse_all(buf, usize::from(split) * buf.len() / 255);
    assert_eq!(whole, split);
    let _ = ferrodis::resp::parse::split_args(buf);
});
