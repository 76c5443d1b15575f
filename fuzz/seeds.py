#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made from real data.

Starts redis-server (7.0.15) and ferrodis on two ports, fills each with every type in every
encoding (small and big collections, integers, long strings, HyperLogLogs sparse and dense,
streams with consumer groups), then writes:
  corpus/rdb_load/         the RDB file each server SAVEs, plus Redis's own test RDB files
  corpus/restore_payload/  the DUMP payload of every key from each server
  corpus/hll_decode/       the raw strings of HyperLogLog keys
  corpus/blob_decode/      listpack / ziplist / intset / zipmap / LZF blobs cut out of the payloads
  corpus/resp_parse/       multibulk and inline requests
  corpus/config_parse/     Redis's redis.conf and the test suite's configs (from the Redis source
                           if it is at REDIS_GIT_DIR, else a small config)

Usage: fuzz/seeds.py FERRODIS_BIN PORT   (PORT: redis-server there, ferrodis on PORT+1)
"""
import os, shutil, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
REDIS_GIT_DIR = os.environ.get("REDIS_GIT_DIR", "/work/.mirror/redis+redis/repo")


class Conn:
    """A minimal RESP2 client: enough for SET/DUMP/GET with binary replies."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(65536)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        if kind == b":":
            return int(rest)
        if kind == b"-":
            raise RuntimeError(rest.decode())
        return rest

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self.reply()


def fill(c):
    c.cmd("FLUSHALL")
    c.cmd("SET", "str:small", "hello")
    c.cmd("SET", "str:int", "12345")
    c.cmd("SET", "str:neg", "-9000000000")
    c.cmd("SET", "str:long", "abcdefghij" * 30)  # LZF-compressible
    c.cmd("SET", "str:binary", bytes(range(256)))
    c.cmd("SET", "str:ttl", "x", "PX", "100000000")
    c.cmd("RPUSH", "list:small", "a", "1", "-2", "bb" * 10, "12345678901")
    c.cmd("RPUSH", "list:big", *[f"element-{i}" * (1 + i % 3) for i in range(300)])
    c.cmd("HSET", "hash:small", "f1", "v1", "f2", "2", "f3", "x" * 30)
    c.cmd("HSET", "hash:big", *[x for i in range(200) for x in (f"field{i}", f"value{i}")])
    c.cmd("SADD", "set:int", *range(0, 40, 3))
    c.cmd("SADD", "set:int64", 1, 70000, 5000000000)
    c.cmd("SADD", "set:str", "a", "b", "c", "long member " * 3)
    c.cmd("SADD", "set:big", *[f"m{i}" for i in range(600)])
    c.cmd("ZADD", "zset:small", 1, "a", 2.5, "b", -3, "c", "inf", "d")
    c.cmd("ZADD", "zset:big", *[x for i in range(200) for x in (i * 0.5, f"member{i}")])
    c.cmd("PFADD", "hll:sparse", "a", "b", "c", "d")
    c.cmd("PFADD", "hll:dense", *[f"e{i}" for i in range(5000)])
    c.cmd("PFCOUNT", "hll:dense")
    for i in range(5):
        c.cmd("XADD", "stream:s", f"{i + 1}-0", "field", f"value{i}", "n", i)
    c.cmd("XGROUP", "CREATE", "stream:s", "group1", "0")
    c.cmd("XREADGROUP", "GROUP", "group1", "consumer1", "COUNT", "2", "STREAMS", "stream:s", ">")
    c.cmd("XDEL", "stream:s", "3-0")
    c.cmd("SELECT", 3)
    c.cmd("SET", "db3:key", "in another database")
    c.cmd("SELECT", 0)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rdb_length(buf, p):
    """An RDB length at p: (value, next position, special encoding or None)."""
    b = buf[p]
    kind = b >> 6
    if kind == 0:
        return b & 0x3F, p + 1, None
    if kind == 1:
        return ((b & 0x3F) << 8) | buf[p + 1], p + 2, None
    if kind == 3:
        return b & 0x3F, p + 1, b & 0x3F
    if b == 0x80:
        return int.from_bytes(buf[p + 1:p + 5], "big"), p + 5, None
    return int.from_bytes(buf[p + 1:p + 9], "big"), p + 9, None


def first_string(payload, p):
    """The first RDB string at p: (raw bytes or LZF body with its lengths, kind)."""
    n, p, special = rdb_length(payload, p)
    if special == 3:  # LZF: compressed length, plain length, body
        clen, p, _ = rdb_length(payload, p)
        ulen, p, _ = rdb_length(payload, p)
        return payload[p:p + clen], ulen
    if special is None:
        return payload[p:p + n], None
    return None, None


# DUMP type byte -> blob_decode selector (0 listpack, 1 ziplist, 2 intset, 3 zipmap).
BLOB_KIND = {9: 3, 10: 1, 11: 2, 12: 1, 13: 1, 16: 0, 17: 0}


def harvest(c, tag):
    keys = []
    for db in (0, 3):
        c.cmd("SELECT", db)
        for k in c.cmd("KEYS", "*"):
            keys.append((db, k))
            payload = c.cmd("DUMP", k)
            name = f"{tag}-{k.decode()}"
            write("restore_payload", name, payload)
            kind = payload[0]
            blob, extra = first_string(payload, 1) if kind in BLOB_KIND or kind in (0,) else (None, None)
            if kind in BLOB_KIND and blob is not None and extra is None:
                write("blob_decode", name, bytes([BLOB_KIND[kind]]) + blob)
            if blob is not None and extra is not None:
                write("blob_decode", name + "-lzf", bytes([4]) + extra.to_bytes(2, "big") + blob)
            if kind == 18:  # quicklist 2: node count, then per node a container and a listpack
                _, p, _ = rdb_length(payload, 1)
                _, p, _ = rdb_length(payload, p)
                lp, _ = first_string(payload, p)
                if lp:
                    write("blob_decode", name + "-node", b"\x00" + lp)
            if k.startswith(b"hll:"):
                write("hll_decode", name, c.cmd("GET", k))
    c.cmd("SELECT", 0)
    return keys


def start(cmd, port):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            Conn(port).cmd("PING")
            return p
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def main():
    ferrodis, port = sys.argv[1], int(sys.argv[2])
    work = tempfile.mkdtemp()
    procs = []
    try:
        for tag, bin_, p in (("redis", "redis-server", port), ("ferrodis", ferrodis, port + 1)):
            procs.append(start([bin_, "--port", str(p), "--bind", "127.0.0.1", "--save", "",
                                "--dir", work, "--dbfilename", f"{tag}.rdb"], p))
            c = Conn(p)
            fill(c)
            harvest(c, tag)
            c.cmd("SAVE")
            with open(os.path.join(work, f"{tag}.rdb"), "rb") as f:
                write("rdb_load", f"{tag}.rdb", f.read())
            # The same data uncompressed, and a file with nothing but a small key.
            c.cmd("CONFIG", "SET", "rdbcompression", "no")
            c.cmd("SAVE")
            with open(os.path.join(work, f"{tag}.rdb"), "rb") as f:
                write("rdb_load", f"{tag}-uncompressed.rdb", f.read())
            c.cmd("FLUSHALL")
            c.cmd("SET", "k", "v")
            c.cmd("SAVE")
            with open(os.path.join(work, f"{tag}.rdb"), "rb") as f:
                write("rdb_load", f"{tag}-tiny.rdb", f.read())
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)

    def git_show(path):
        try:
            return subprocess.run(["git", "--git-dir", REDIS_GIT_DIR, "show", f"7.0.15:{path}"],
                                  capture_output=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None

    for asset in ("encodings", "hash-ziplist", "hash-zipmap", "list-quicklist", "zset-ziplist",
                  "scriptbackup", "corrupt_empty_keys", "corrupt_ziplist"):
        data = git_show(f"tests/assets/{asset}.rdb")
        if data:
            write("rdb_load", f"asset-{asset}.rdb", data)
    for path in ("redis.conf", "tests/assets/default.conf", "tests/assets/minimal.conf"):
        data = git_show(path)
        if data:
            write("config_parse", os.path.basename(path), data)
    write("config_parse", "small.conf",
          b'port 6380\nmaxmemory 100mb\nmaxmemory-policy allkeys-lru\nsave 900 1 300 10\n'
          b'dir "/tmp"\nnotify-keyspace-events "KEA"\nrename-command FLUSHALL ""\n'
          b'client-output-buffer-limit pubsub 32mb 8mb 60\nappendonly no\n')

    write("resp_parse", "multibulk", b"\x80*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n")
    write("resp_parse", "pipeline",
          b"\x40*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*0\r\n*-1\r\n")
    write("resp_parse", "inline", b"\x20SET k \"hello \\x41\\n world\" 'it\\'s'\r\nPING\n")
    write("resp_parse", "mixed", b"\x10PING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\nGET a\n")


if __name__ == "__main__":
    main()
