//! The packed encodings of RDB files and DUMP payloads (`persist::blobs`: listpack, ziplist,
//! intset, zipmap) and LZF decompression (`persist::lzf`) on arbitrary bytes. The first byte
//! picks the decoder, so one corpus covers all of them.
#![no_main]

use ferrodis::persist::{blobs, lzf};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, blob)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            let _ = blobs::listpack_entries(blob);
        }
        1 => {
            let _ = blobs::ziplist_entries(blob);
        }
        2 => {
            let _ = blobs::intset_members(blob);
        }
        3 => {
            let _ = blobs::zipmap_pairs(blob);
        }
        _ => {
            // The expected length comes from the file: take it from the input too, bounded
            // as the loader bounds it (by what is left to read).
            let (len, rest) = blob.split_at(blob.len().min(2));
            let expected = len.iter().fold(0usize, |n, &b| n << 8 | usize::from(b));
            let _ = lzf::decompress(rest, expected);
        }
    }
});
