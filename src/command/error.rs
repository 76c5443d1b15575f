//! Command errors: one typed enum, turned into Redis's exact error text in one place.
//!
//! Redis has three fates for a bad request, and ferrodis keeps them as three types:
//! * a *protocol* error (`resp::parse::ProtocolError`) is answered and the connection closed;
//! * a *command* error (this enum) is answered and the connection kept;
//! * an *I/O* error drops the client quietly (`src/server/input.rs`, `output.rs`).
//!
//! Handlers return `Err(CommandError::...)` and never format error strings themselves, so the
//! same mistake always produces the same bytes Redis sends.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub enum CommandError {
    WrongType,
    NotInteger,
    NotFloat,
    IncrOverflow,
    Syntax,
    NoSuchKey,
    IndexOutOfRange,
    /// `ERR invalid expire time in '<cmd>' command`
    InvalidExpireTime(&'static str),
    /// `ERR wrong number of arguments for '<cmd>' command`
    WrongArity(String),
    UnknownCommand {
        name: Vec<u8>,
        args: Vec<Vec<u8>>,
    },
    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
    UnknownSubcommand {
        sub: Vec<u8>,
        command: &'static str,
    },
    NoAuth,
    /// `MISCONF ...`: a background save failed and `stop-writes-on-bgsave-error` stops writes.
    MisconfRdb,
    /// Used memory is over `maxmemory` and nothing more may be evicted.
    Oom,
    /// `min-replicas-to-write` is not met.
    NoReplicas,
    /// `ERR value is out of range, must be positive` and similar fixed texts after `ERR `.
    Err(&'static str),
    /// Any other message, complete with its code (`ERR ...`, `BUSY ...`, `NOSCRIPT ...`).
    Custom(String),
    /// An error already counted in the error statistics when it first happened: a script
    /// passing on the error reply of a command it called (Redis:
    /// `ERR_REPLY_FLAG_NO_STATS_UPDATE`). Replied like `Custom`, counted once.
    Counted(String),
}

pub type CommandResult = Result<(), CommandError>;

impl From<crate::db::WrongType> for CommandError {
    fn from(_: crate::db::WrongType) -> CommandError {
        CommandError::WrongType
    }
}

/// Truncates client-provided text in error messages, as Redis's `%.128s`.
fn clip(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(&b[..b.len().min(128)])
}

impl CommandError {
    /// Builds `ERR <msg>` from a formatted message.
    pub fn err(msg: impl Into<String>) -> CommandError {
        CommandError::Custom(format!("ERR {}", msg.into()))
    }

    /// The error line without the leading `-` and trailing CRLF.
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            CommandError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CommandError::NotInteger => "ERR value is not an integer or out of range".into(),
            CommandError::NotFloat => "ERR value is not a valid float".into(),
            CommandError::IncrOverflow => "ERR increment or decrement would overflow".into(),
            CommandError::Syntax => "ERR syntax error".into(),
            CommandError::NoSuchKey => "ERR no such key".into(),
            CommandError::IndexOutOfRange => "ERR index out of range".into(),
            CommandError::InvalidExpireTime(cmd) => {
                format!("ERR invalid expire time in '{cmd}' command").into()
            }
            CommandError::WrongArity(cmd) => {
                format!("ERR wrong number of arguments for '{cmd}' command").into()
            }
            CommandError::UnknownCommand { name, args } => {
                let mut s = format!(
                    "ERR unknown command '{}', with args beginning with: ",
                    clip(name)
                );
                for a in args {
                    s.push('\'');
                    s.push_str(&clip(a));
                    s.push_str("' ");
                }
                s.into()
            }
            CommandError::UnknownSubcommand { sub, command } => format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                clip(sub),
                command.to_ascii_uppercase()
            )
            .into(),
            CommandError::NoAuth => "NOAUTH Authentication required.".into(),
            CommandError::MisconfRdb => "MISCONF Redis is configured to save RDB snapshots, but \
                it's currently unable to persist to disk. Commands that may modify the data set \
                are disabled, because this instance is configured to report errors during \
                writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please \
                check the Redis logs for details about the RDB error."
                .into(),
            CommandError::Oom => "OOM command not allowed when used memory > 'maxmemory'.".into(),
            CommandError::NoReplicas => "NOREPLICAS Not enough good replicas to write.".into(),
            CommandError::Err(msg) => format!("ERR {msg}").into(),
            CommandError::Custom(msg) | CommandError::Counted(msg) => msg.clone().into(),
        }
    }

    /// Was this error already counted in INFO's error statistics?
    pub fn already_counted(&self) -> bool {
        matches!(self, CommandError::Counted(_))
    }

    /// The error code (first word), for INFO errorstats.
    pub fn code(&self) -> String {
        let m = self.message();
        m.split(' ').next().unwrap_or("ERR").to_string()
    }
}
