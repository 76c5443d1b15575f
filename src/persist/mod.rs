//! Persistence: the RDB snapshot format, written from and read into the keyspace (Redis:
//! `rdb.c` and the encodings it embeds).
//!
//! * [`rdb`] turns `&[Db]` into the bytes of an RDB file and back (`save` / `load`), in Redis
//!   7.0's format (RDB version 10), so files move both ways between ferrodis and redis-server;
//! * [`blobs`] reads and writes the packed structures an RDB file carries inside strings
//!   (listpack, intset; ziplist and zipmap from older files);
//! * [`lzf`] is the LZF compression RDB strings may use;
//! * [`aof`] is the append-only file's formats: the multi-part manifest, commands as RESP,
//!   reading them back, and the dataset written as commands.
//!
//! This layer knows the databases and the value types only: the command layer decides when to
//! save or load and where the file lives.

pub mod aof;
pub mod blobs;
pub mod lzf;
pub mod rdb;

#[cfg(test)]
mod tests;
