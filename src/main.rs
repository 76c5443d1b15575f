//! `ferrodis-server [path/to/redis.conf] [--port 6380] [--bind 127.0.0.1] ...`
//!
//! Parses the configuration like redis-server (an optional config file first, then
//! `--directive value` pairs; any bad line stops startup with a message naming it), sets up
//! logging, binds, and runs the loop. The startup line ends in `port=NNNN`, the port actually
//! bound (tests start the server with `--port 0` and read it from there).

use ferrodis::config::Config;
use ferrodis::server::{Server, FERRODIS_VERSION, REDIS_VERSION};
use log::{error, info, warn, LevelFilter};

#[global_allocator]
static ALLOCATOR: ferrodis::alloc::CountingAllocator = ferrodis::alloc::CountingAllocator;

fn log_level(loglevel: &str) -> LevelFilter {
    match loglevel {
        "debug" => LevelFilter::Debug,
        "verbose" => LevelFilter::Info,
        "notice" => LevelFilter::Info,
        "warning" => LevelFilter::Warn,
        "nothing" => LevelFilter::Off,
        _ => LevelFilter::Info,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("ferrodis v={FERRODIS_VERSION} (Redis {REDIS_VERSION} compatible)");
        return;
    }
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(1);
        }
    };
    let _ = simple_logger::SimpleLogger::new()
        .with_level(log_level(&config.loglevel))
        .init();
    let mut server = match Server::bind(config) {
        Ok(s) => s,
        Err(e) => {
            error!("Could not start server: {e}");
            std::process::exit(1);
        }
    };
    match args.first().filter(|a| !a.starts_with("--")) {
        Some(path) => {
            server.state.config_file = std::fs::canonicalize(path)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| path.clone());
            info!("Configuration loaded from {}", server.state.config_file);
        }
        None => warn!(
            "No config file specified, using the default config. In order to specify a \
             config file use ferrodis-server /path/to/redis.conf"
        ),
    }
    info!(
        "ferrodis {FERRODIS_VERSION} (Redis {REDIS_VERSION} compatible) started, pid={}, port={}",
        std::process::id(),
        server.port()
    );
    if let Err(msg) = ferrodis::command::persistence::load_rdb_file(
        &mut server.dbs,
        &mut server.state,
        ferrodis::server::unix_ms(),
    ) {
        error!("{msg}");
        std::process::exit(1);
    }
    info!("Ready to accept connections tcp");
    if let Err(e) = server.run() {
        error!("Event loop failed: {e}");
        std::process::exit(1);
    }
}
