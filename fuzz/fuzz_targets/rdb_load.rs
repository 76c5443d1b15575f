//! The RDB loader (`persist::rdb::load`, startup loading, DEBUG RELOAD, a replica's sync) on
//! arbitrary bytes, with and without the checksum check (a fuzzer cannot forge a CRC64, so the
//! loader runs once with `rdbchecksum no` to reach past the header).
#![no_main]

use ferrodis::db::Db;
use ferrodis::persist::rdb::{self, Limits, LoadOptions, SaveOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for verify_checksum in [false, true] {
        let mut dbs: Vec<Db> = (0..16).map(Db::new).collect();
        let opts = LoadOptions {
            verify_checksum,
            now_ms: 0,
            limits: Limits::default(),
        };
        if rdb::load(data, &mut dbs, &opts).is_ok() {
            // What loaded saves again (the save side must accept anything the load built).
            let save = SaveOptions {
                compression: true,
                checksum: true,
                now_ms: 0,
                used_mem: 0,
                save_idle: false,
                key_save_delay_us: 0,
                aof_base: false,
                repl_stream_db: None,
                functions: Vec::new(),
            };
            let saved = rdb::save_to_vec(&dbs, &save);
            let mut again: Vec<Db> = (0..16).map(Db::new).collect();
            assert!(rdb::load(&saved, &mut again, &opts).is_ok());
        }
    }
});
