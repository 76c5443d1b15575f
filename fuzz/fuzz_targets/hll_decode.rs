//! The HyperLogLog decoders (`types::hll`) on an arbitrary string stored under a key, as PFCOUNT,
//! PFMERGE, PFADD and PFDEBUG read it: a string that passes the header check must be counted,
//! merged, decoded, converted and updated without panicking, whatever its sparse body says.
#![no_main]

use ferrodis::types::hll;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if !hll::is_valid(data) {
        return;
    }
    let _ = hll::cached_cardinality(data);
    if let Some(h) = hll::histogram(data) {
        let _ = hll::estimate(&h);
    }
    let mut max = [0u8; hll::REGISTERS];
    let _ = hll::merge_into(&mut max, data);
    if hll::encoding(data) == hll::SPARSE {
        let _ = hll::decode_sparse(data);
    }
    let mut dense = data.to_vec();
    let _ = hll::sparse_to_dense(&mut dense);
    let mut added = data.to_vec();
    let _ = hll::add(&mut added, b"element", 3000);
    let mut set = data.to_vec();
    hll::set_register(&mut set, 1000, 7, 3000);
    let mut promoted = data.to_vec();
    hll::set_register(&mut promoted, 0, 40, 3000);
});
