//! The config-file parser (`Config::load_text`, what `redis-server /path/redis.conf` reads) on
//! arbitrary text: every line is an error or a setting, never a panic; a text that loads is
//! rewritten (CONFIG REWRITE) and loaded again.
#![no_main]

use ferrodis::config::Config;
use libfuzzer_sys::fuzz_target;

/// Directives that act on the file system as they load (`dir` changes the working directory,
/// `logfile` creates the file, `include` reads one): left out, so the fuzzer's own files stay
/// where they are and nothing is written around the machine.
fn touches_files(line: &str) -> bool {
    let word = line.trim_start().split_whitespace().next().unwrap_or("");
    ["dir", "logfile", "include"]
        .iter()
        .any(|d| word.trim_matches('"').eq_ignore_ascii_case(d))
}

fuzz_target!(|data: &[u8]| {
    let text: String = String::from_utf8_lossy(data)
        .split('\n')
        .filter(|line| !touches_files(line))
        .collect::<Vec<_>>()
        .join("\n");
    let mut config = Config::default();
    if config.load_text(&text).is_ok() {
        let rewritten = config.rewrite_text(&text);
        let _ = Config::default().load_text(&rewritten);
    }
});
