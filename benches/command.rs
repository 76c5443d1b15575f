//! The command path without the network: `command::execute` for SET and GET, with a real
//! `Ctx` (databases, command table, one client) but no event loop. This is what a request
//! costs after parsing and before writing: table lookup, checks, the handler, statistics.
//!
//! Run with `cargo bench --bench command`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ferrodis::command::client::Client;
use ferrodis::command::state::{unix_ms, ServerState};
use ferrodis::command::{self, Ctx};
use ferrodis::config::Config;
use ferrodis::db::Db;
use ferrodis::resp::reply::ReplyBuffer;
use slab::Slab;

/// Everything a `Ctx` borrows, owned in one place.
struct Harness {
    dbs: Vec<Db>,
    clients: Slab<Client>,
    srv: ServerState,
    out: ReplyBuffer,
    me: usize,
    /// Keeps the client socket's peer open.
    _peer: std::net::TcpStream,
}

impl Harness {
    fn new() -> Harness {
        let config = Config::default();
        let dbs = (0..config.databases).map(Db::new).collect();
        // A client needs a socket; a loopback pair is the cheapest real one.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let peer =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (accepted, addr) = listener.accept().expect("accept");
        accepted.set_nonblocking(true).expect("nonblocking");
        let socket = mio::net::TcpStream::from_std(accepted);
        let mut clients = Slab::new();
        let me = clients.insert(Client::new(1, socket, addr, unix_ms(), true));
        Harness {
            dbs,
            clients,
            srv: ServerState::new(config, 0),
            out: ReplyBuffer::new(),
            me,
            _peer: peer,
        }
    }

    fn execute(&mut self, argv: &[&[u8]]) {
        let mut ctx = Ctx {
            dbs: &mut self.dbs,
            db: 0,
            out: &mut self.out,
            clients: &mut self.clients,
            id: self.me,
            srv: &mut self.srv,
            now: unix_ms(),
        };
        command::execute(&mut ctx, argv, command::Caller::Client);
        // Replies are not what is measured here: drop them as a socket write would.
        let n = self.out.pending_len();
        self.out.consume(n);
    }
}

fn commands(c: &mut Criterion) {
    let mut h = Harness::new();
    let keys: Vec<Vec<u8>> = (0..10_000)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect();
    let value = vec![b'x'; 32];
    for k in &keys {
        h.execute(&[b"SET", k, &value]);
    }
    let mut group = c.benchmark_group("command");
    let mut i = 0;
    group.bench_function("set_existing_key", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            h.execute(black_box(&[b"SET", &keys[i], &value]));
        })
    });
    group.bench_function("get_hit", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            h.execute(black_box(&[b"GET", &keys[i]]));
        })
    });
    group.bench_function("get_miss", |b| {
        b.iter(|| h.execute(black_box(&[b"GET", b"no-such-key"])))
    });
    group.bench_function("set_with_ex", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            h.execute(black_box(&[b"SET", &keys[i], &value, b"EX", b"1000"]));
        })
    });
    group.bench_function("ping", |b| b.iter(|| h.execute(black_box(&[b"PING"]))));
    group.finish();
}

criterion_group!(benches, commands);
criterion_main!(benches);
