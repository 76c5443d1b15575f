//! `ferrodis-server [path/to/redis.conf] [--port 6380] [--bind 127.0.0.1] ...`
//!
//! Startup as redis-server does it (Redis: server.c `main`, `redisAsciiArt`, `createPidFile`;
//! the log format of `serverLogRaw`): parse the configuration (an optional config file first,
//! then `--directive value` pairs; a bad line stops startup with Redis's "FATAL CONFIG FILE
//! ERROR" text on stderr, and in the log file when one is configured), open the log (stdout, or
//! `logfile` in append mode), bind, write the pid file, print the logo or the one-line banner,
//! then `Server initialized` and `Ready to accept connections`, and run the loop.
//!
//! Log lines look like Redis's, `pid:M 30 Nov 2026 20:31:26.123 * message` (times in UTC; `S`
//! for a replica, `C` for a forked child), with Redis's level marks: `.` debug, `-` verbose,
//! `*` notice, `#` warning. Redis's own test
//! suite waits for ` PID: <pid>` (in the logo) and `Ready to accept` in this log. The line
//! `... started, pid=N, port=N` names the port actually bound (tests start with `--port 0`).

use ferrodis::config::{log_level_filter, Config};
use ferrodis::server::{Server, FERRODIS_VERSION, REDIS_VERSION};
use log::{error, info, warn, Log, Metadata, Record};
use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[global_allocator]
static ALLOCATOR: ferrodis::alloc::CountingAllocator = ferrodis::alloc::CountingAllocator;

/// Where log lines go: stdout when `logfile` is empty, else that file, opened for appending.
enum LogTarget {
    Stdout,
    File(std::fs::File),
}

/// The server log (Redis: `serverLog`), one line per record in Redis's format.
struct ServerLog {
    target: Mutex<LogTarget>,
    /// The server's pid: a line logged by any other process is a forked child's (BGSAVE),
    /// marked `C` instead of `M`, as Redis marks its children's lines.
    main_pid: u32,
}

impl ServerLog {
    /// Writes `text` as is (Redis: `LL_RAW`, used for the logo).
    fn write_raw(&self, text: &str) {
        let Ok(mut target) = self.target.lock() else {
            return;
        };
        let _ = match &mut *target {
            LogTarget::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|_| out.flush())
            }
            LogTarget::File(f) => f.write_all(text.as_bytes()),
        };
    }
}

impl Log for ServerLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mark = match record.level() {
            log::Level::Error | log::Level::Warn => '#',
            log::Level::Info => '*',
            log::Level::Debug => '-',
            log::Level::Trace => '.',
        };
        let pid = std::process::id();
        let role = if pid != self.main_pid {
            'C'
        } else if ferrodis::util::LOG_ROLE_REPLICA.load(std::sync::atomic::Ordering::Relaxed) {
            'S'
        } else {
            'M'
        };
        let line = format!(
            "{pid}:{role} {} {mark} {}\n",
            log_timestamp(SystemTime::now()),
            record.args()
        );
        self.write_raw(&line);
    }

    fn flush(&self) {}
}

/// `30 Nov 2026 20:31:26.123` (UTC), the time format of Redis's log lines.
fn log_timestamp(now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    format!(
        "{day:02} {} {year} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(month - 1) as usize % 12],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// The proleptic Gregorian (year, month 1-12, day 1-31) of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`: shift the year to start in March so the leap day is
/// last, then split into 400-year eras, years of era and days of year).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The startup banner printed when `always-show-logo yes` or the log is a terminal; Redis's
/// test suite finds the server's pid in its `PID:` line.
fn logo(port: u16) -> String {
    format!(
        "\n\
         \x20                ferrodis {FERRODIS_VERSION} (Redis {REDIS_VERSION} compatible) 64 bit\n\
         \x20                Running in standalone mode\n\
         \x20                Port: {port}\n\
         \x20                PID: {}\n\n",
        std::process::id()
    )
}

/// Appends a fatal startup message to the configured log file, so a refused start is visible
/// there as well as on stderr.
fn log_fatal_to_file(args: &[String], message: &str) {
    // The configuration failed as a whole; find the log file by reading what parses.
    let mut partial = Config::default();
    let Some(path) = args.first().filter(|a| !a.starts_with("--")) else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    for line in text.lines() {
        let _ = partial.load_text(line);
    }
    if partial.logfile.is_empty() {
        return;
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&partial.logfile)
    {
        let _ = writeln!(f, "{message}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("ferrodis v={FERRODIS_VERSION} (Redis {REDIS_VERSION} compatible)");
        return;
    }
    // The config file's absolute path is taken before `dir` changes the working directory
    // (Redis: `getAbsolutePath` in main), so CONFIG REWRITE finds it.
    let config_file = args.first().filter(|a| !a.starts_with("--")).map(|path| {
        std::fs::canonicalize(path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.clone())
    });
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            log_fatal_to_file(&args, &msg);
            std::process::exit(1);
        }
    };
    let target = if config.logfile.is_empty() {
        LogTarget::Stdout
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile)
        {
            Ok(f) => LogTarget::File(f),
            Err(e) => {
                eprintln!("Can't open the log file: {e}");
                std::process::exit(1);
            }
        }
    };
    let server_log: &'static ServerLog = Box::leak(Box::new(ServerLog {
        target: Mutex::new(target),
        main_pid: std::process::id(),
    }));
    let _ = log::set_logger(server_log);
    log::set_max_level(log_level_filter(&config.loglevel));
    // A panic is logged like Redis's crash report, so the log shows why the server died.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |panic| {
        error!("=== REDIS BUG REPORT START: Cut & paste starting from here ===");
        error!("ferrodis {FERRODIS_VERSION} crashed: {panic}");
        error!("=== REDIS BUG REPORT END. Make sure to include from START to END. ===");
        default_hook(panic);
    }));

    warn!("oO0OoO0OoO0Oo ferrodis is starting oO0OoO0OoO0Oo");
    warn!(
        "ferrodis version={FERRODIS_VERSION}, Redis {REDIS_VERSION} compatible, bits=64, pid={}, \
         just started",
        std::process::id()
    );
    match &config_file {
        Some(_) => warn!("Configuration loaded"),
        None => warn!(
            "Warning: no config file specified, using the default config. In order to specify a \
             config file use ferrodis-server /path/to/redis.conf"
        ),
    }
    let (port, show_logo, pidfile) = (config.port, config.always_show_logo, config.pidfile.clone());
    let unixsocket = config.get("unixsocket").unwrap_or_default();
    let mut server = match Server::bind(config) {
        Ok(s) => s,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                warn!("Warning: Could not create server TCP listening socket *:{port}: bind: {e}");
                error!("Failed listening on port {port} (TCP), aborting.");
            } else {
                error!("Could not start server: {e}");
            }
            std::process::exit(1);
        }
    };
    if let Some(path) = config_file {
        server.state.config_file = path;
    }
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            warn!("Failed to write PID file: {e}");
        }
    }
    if show_logo {
        server_log.write_raw(&logo(server.port()));
    } else {
        info!("Running mode=standalone, port={}.", server.port());
    }
    warn!("Server initialized");
    info!(
        "ferrodis {FERRODIS_VERSION} (Redis {REDIS_VERSION} compatible) started, pid={}, port={}",
        std::process::id(),
        server.port()
    );
    if let Err(msg) = server.load_data_from_disk() {
        if !msg.is_empty() {
            error!("{msg}");
        }
        std::process::exit(1);
    }
    info!("Ready to accept connections");
    if !unixsocket.is_empty() {
        info!("The server is now ready to accept connections at {unixsocket}");
    }
    let result = server.run();
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    // Redis's prepareForShutdown: the socket file goes with the server.
    if !unixsocket.is_empty() {
        info!("Removing the unix socket file.");
        if let Err(e) = std::fs::remove_file(&unixsocket) {
            warn!("Error removing the unix socket file: {e}");
        }
    }
    if let Err(e) = result {
        error!("Event loop failed: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn log_timestamps_are_civil_utc_dates() {
        assert_eq!(log_timestamp(UNIX_EPOCH), "01 Jan 1970 00:00:00.000");
        // 2024-02-29 23:59:59.250 UTC, a leap day.
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_250);
        assert_eq!(log_timestamp(t), "29 Feb 2024 23:59:59.250");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_070_686);
        assert_eq!(log_timestamp(t), "30 Nov 2026 20:31:26.000");
    }
}
