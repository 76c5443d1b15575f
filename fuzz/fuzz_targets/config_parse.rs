//! The config-file parser (`Config::load_text`, what `redis-server /path/redis.conf` reads) on
//! arbitrary text: every line is an error or a setting, never a panic; a text that loads is
//! rewritten (CONFIG REWRITE) and loaded again.
#![no_main]

use ferrodis::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut config = Config::default();
    if config.load_text(&text).is_ok() {
        let rewritten = config.rewrite_text(&text);
        let _ = Config::default().load_text(&rewritten);
    }
});
