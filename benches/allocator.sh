#!/usr/bin/env bash
# The allocator comparison of ARCHITECTURE.md (memory section): ferrodis built with glibc malloc
# (the default), jemalloc (`--features jemalloc`) and mimalloc (`--features mimalloc`), each side
# by side with redis-server 7.0.15 (jemalloc 5.3) in the same run.
#
#   1. throughput and server CPU per request: benches/compare.sh per build (medians of ROUNDS
#      alternating rounds against redis-server; memory parts off);
#   2. memory: N_KEYS small string keys loaded with `redis-cli --pipe`, then half of them deleted
#      at random: used_memory, RSS and RSS / used_memory after each step; and a cache under
#      maxmemory (benches/maxmemory.sh, one round): used_memory, RSS at the end;
#   3. mixed-size churn: CHURN_KEYS keys of 16-64 byte values, then CHURN_OPS overwrites of random
#      keys with values of 1-2000 bytes, then CHURN_OPS more with 1-48 bytes: RSS / used_memory
#      after each phase (after the last, a MEMORY PURGE and RSS again).
#
# Usage: benches/allocator.sh      (builds the three binaries into target/allocators/ if missing)
# Environment (optional): ALLOCATORS ("glibc jemalloc mimalloc")  REFERENCE (redis; empty: not
#   run in the memory parts)  PARTS ("throughput memory cache churn")  ROUNDS (3)
#   N_KEYS (1000000)  CHURN_KEYS (200000)  CHURN_OPS (400000)  PORT (14200: the memory servers)
#   TESTS / N_P1 / N_P16 for compare.sh (set get incr lpush hset mset / 50000 / 500000)
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS=${PARTS:-"throughput memory cache churn"}
ROUNDS=${ROUNDS:-3}
N_KEYS=${N_KEYS:-1000000}
CHURN_KEYS=${CHURN_KEYS:-200000}
CHURN_OPS=${CHURN_OPS:-400000}
PORT=${PORT:-14200}
export TESTS=${TESTS:-"set get incr lpush hset mset"}
export N_P1=${N_P1:-50000}
export N_P16=${N_P16:-500000}
ALLOCATORS=${ALLOCATORS:-"glibc jemalloc mimalloc"}
REFERENCE=${REFERENCE:-redis}
BIN_DIR=target/allocators
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$BIN_DIR"
for a in $ALLOCATORS; do
    [[ -x $BIN_DIR/ferrodis-$a ]] && continue
    features=()
    [[ $a != glibc ]] && features=(--features "$a")
    cargo build --release --bin ferrodis-server "${features[@]}"
    cp target/release/ferrodis-server "$BIN_DIR/ferrodis-$a"
done

start() { # name -> PID in $SERVER_PID, server on $PORT
    if [[ $1 == redis ]]; then
        redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no "${@:2}" \
            >"$WORK/server.log" 2>&1 &
    else
        "$BIN_DIR/ferrodis-$1" --port "$PORT" --bind 127.0.0.1 --save '' --dir "$WORK" "${@:2}" \
            >"$WORK/server.log" 2>&1 &
    fi
    SERVER_PID=$!
    for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && return; sleep 0.05; done
    echo "allocator.sh: $1 did not start" >&2
    exit 1
}
stop() {
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}
field() { redis-cli -p "$PORT" info memory | awk -F: -v f="$1" '$1 == f {sub("\r", "", $2); print $2}'; }
# report LABEL: one row "label used_memory rss rss/used mem_allocator".
report() {
    local used rss
    used=$(field used_memory)
    rss=$(($(awk '{print $2}' "/proc/$SERVER_PID/statm") * 4096))
    printf '  %-28s used_memory %6.1f MB  rss %6.1f MB  rss/used %5.2f  (%s)\n' "$1" \
        "$(echo "$used / 1048576" | bc -l)" "$(echo "$rss / 1048576" | bc -l)" \
        "$(echo "$rss / $used" | bc -l)" "$(field mem_allocator)"
}
load() { redis-cli -p "$PORT" --pipe <"$1" >/dev/null; }

# RESP streams, generated once so every server gets the same bytes.
python3 - "$WORK" "$N_KEYS" "$CHURN_KEYS" "$CHURN_OPS" <<'PY'
import random, sys
work, n, ck, ops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
rnd = random.Random(7)
with open(f"{work}/fill.resp", "wb") as f:
    for i in range(n):
        f.write(cmd(b"SET", b"key:%d" % i, b"value:%d" % i))
with open(f"{work}/delete-half.resp", "wb") as f:
    for i in rnd.sample(range(n), n // 2):
        f.write(cmd(b"DEL", b"key:%d" % i))
with open(f"{work}/churn-1.resp", "wb") as f:
    for i in range(ck):
        f.write(cmd(b"SET", b"churn:%d" % i, b"x" * rnd.randint(16, 64)))
for phase, (lo, hi) in ((2, (1, 2000)), (3, (1, 48))):
    with open(f"{work}/churn-{phase}.resp", "wb") as f:
        for _ in range(ops):
            f.write(cmd(b"SET", b"churn:%d" % rnd.randrange(ck), b"y" * rnd.randint(lo, hi)))
PY

for part in $PARTS; do
    case $part in
    throughput)
        for a in $ALLOCATORS; do
            echo "== throughput: ferrodis-$a vs redis-server (benches/compare.sh, $ROUNDS rounds)"
            FERRODIS_BIN=$BIN_DIR/ferrodis-$a KEYS=0 COLLECTIONS=0 ROUNDS=$ROUNDS \
                bash benches/compare.sh 2>/dev/null | sed -n '/^test /,$p'
        done
        ;;
    memory)
        echo "== memory: $N_KEYS small keys, then half deleted at random"
        for s in $REFERENCE $ALLOCATORS; do
            echo "$s:"
            start "$s"
            load "$WORK/fill.resp"
            report "after $N_KEYS keys"
            load "$WORK/delete-half.resp"
            sleep 1
            report "after deleting half"
            stop
        done
        ;;
    cache)
        echo "== cache under maxmemory (benches/maxmemory.sh, 1 round, 50mb allkeys-lru)"
        for a in $ALLOCATORS; do
            echo "ferrodis-$a:"
            FERRODIS_BIN=$BIN_DIR/ferrodis-$a ROUNDS=1 PORT_BASE=$((PORT + 10)) \
                bash benches/maxmemory.sh | grep -E 'end:|median|ratio'
        done
        ;;
    churn)
        echo "== mixed-size churn: $CHURN_KEYS keys (16-64 B), $CHURN_OPS overwrites (1-2000 B)," \
            "$CHURN_OPS more (1-48 B)"
        for s in $REFERENCE $ALLOCATORS; do
            echo "$s:"
            start "$s"
            load "$WORK/churn-1.resp"
            report "after fill"
            load "$WORK/churn-2.resp"
            report "after 1-2000 B overwrites"
            load "$WORK/churn-3.resp"
            sleep 1
            report "after 1-48 B overwrites"
            redis-cli -p "$PORT" memory purge >/dev/null
            report "after MEMORY PURGE"
            stop
        done
        ;;
    esac
done
