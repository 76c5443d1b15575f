//! RESTORE's payload decoding (`persist::rdb::restore_payload`) on arbitrary bytes. The fuzzer
//! cannot forge the CRC64, so the checksum is not verified (as `RESTORE` does after
//! `DEBUG SET-SKIP-CHECKSUM-VALIDATION 1`); ferrodis always decodes a value whole into its own
//! structures, which is what `sanitize-dump-payload yes` asks of Redis. A value that loads is
//! dumped again, and the dump must load back.
#![no_main]

use ferrodis::persist::rdb::{self, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(value) = rdb::restore_payload(data, false, &limits) {
        let again = rdb::dump_payload(&value, false);
        assert!(rdb::restore_payload(&again, true, &limits).is_ok());
    }
});
