#!/usr/bin/env bash
# RDB snapshot speed and size, redis-server and ferrodis side by side in the same run.
#
# Both servers get the same dataset (through `redis-cli --pipe`): KEYS small strings (half of
# them integers, so both integer-encoded and LZF-compressible values are written), plus, with
# COLLECTIONS=1, 1,000 keys x 1,000 elements and 100,000 keys x 10 elements of each collection
# type (benches/gen_collections.py). Then, ROUNDS times, alternating which server goes first:
#   - save: `SAVE` timed from the client (the snapshot is written by the loop in both servers,
#     so this is the time the server is busy writing it), and the file's size;
#   - load: the server is restarted on the same file and timed from exec until `PING` answers
#     PONG (Redis answers -LOADING meanwhile; ferrodis loads before it listens).
# Printed: medians of each measure, MB/s and keys/s of each, and the ratios ferrodis/redis.
#
# Usage: benches/persistence.sh            (builds target/release/ferrodis-server if missing)
# Environment (all optional): FERRODIS_BIN, KEYS (1000000), COLLECTIONS (1), ROUNDS (3),
#   RDBCOMPRESSION (yes)
set -euo pipefail

cd "$(dirname "$0")/.."
KEYS=${KEYS:-1000000}
COLLECTIONS=${COLLECTIONS:-1}
ROUNDS=${ROUNDS:-3}
RDBCOMPRESSION=${RDBCOMPRESSION:-yes}
FERRODIS_BIN=$(realpath -m "${FERRODIS_BIN:-target/release/ferrodis-server}")

for tool in redis-server redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "persistence.sh: $tool not found" >&2; exit 1; }
done
if [[ ! -x $FERRODIS_BIN ]]; then
    cargo build --release --bin ferrodis-server
fi

WORK=$(mktemp -d)
declare -A PID PORT
cleanup() {
    for name in "${!PID[@]}"; do
        kill "${PID[$name]}" 2>/dev/null || true
        wait "${PID[$name]}" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

now_ns() { date +%s%N; }

# start NAME: starts the server NAME (redis|ferrodis) in $WORK/NAME on PORT[NAME] and waits
# until it answers PONG; sets STARTUP_NS to the nanoseconds that took.
start() {
    local name=$1 started
    mkdir -p "$WORK/$name"
    started=$(now_ns)
    case $name in
    redis)
        redis-server --port "${PORT[$name]}" --bind 127.0.0.1 --dir "$WORK/$name" \
            --dbfilename dump.rdb --save '' --appendonly no --rdbcompression "$RDBCOMPRESSION" \
            --daemonize no --logfile "$WORK/$name.log" </dev/null >/dev/null 2>&1 &
        ;;
    ferrodis)
        "$FERRODIS_BIN" --port "${PORT[$name]}" --bind 127.0.0.1 --dir "$WORK/$name" \
            --dbfilename dump.rdb --save '' --rdbcompression "$RDBCOMPRESSION" \
            </dev/null >>"$WORK/$name.log" 2>&1 &
        ;;
    esac
    PID[$name]=$!
    for _ in $(seq 6000); do
        if [[ $(redis-cli -p "${PORT[$name]}" ping 2>/dev/null) == PONG ]]; then
            STARTUP_NS=$(($(now_ns) - started))
            return 0
        fi
        sleep 0.01
    done
    echo "persistence.sh: $name did not start (log: $WORK/$name.log)" >&2
    exit 1
}

# Keys in all databases (INFO keyspace).
total_keys() {
    redis-cli -p "${PORT[$1]}" info keyspace |
        awk -F'[:=,]' '/^db[0-9]+:/ { n += $3 } END { print n + 0 }'
}

stop() {
    local name=$1
    redis-cli -p "${PORT[$name]}" shutdown nosave >/dev/null 2>&1 || true
    wait "${PID[$name]}" 2>/dev/null || true
    unset "PID[$name]"
}

dataset() {
    python3 - "$KEYS" <<'EOF'
import sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    key = b"key:%d" % i
    value = b"%d" % (i * 7919) if i % 2 else b"value:%d:%s" % (i, b"x" * 16)
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
EOF
    if ((COLLECTIONS)); then
        # The small collections go to database 1 (same key names, other database).
        for kind in list hash set zset; do
            python3 benches/gen_collections.py "$kind" 1000 1000
            printf '*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n'
            python3 benches/gen_collections.py "$kind" 100000 10
            printf '*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n'
        done
    fi
}

echo "generating the dataset ($KEYS strings, collections: $COLLECTIONS)" >&2
dataset >"$WORK/load.resp"
RESULTS=$WORK/results.tsv
for name in redis ferrodis; do
    PORT[$name]=$(free_port)
    start "$name"
    redis-cli -p "${PORT[$name]}" --pipe <"$WORK/load.resp" >/dev/null
done
NKEYS=$(total_keys redis)
FKEYS=$(total_keys ferrodis)
if [[ $NKEYS != "$FKEYS" ]]; then
    echo "persistence.sh: key counts differ (redis $NKEYS, ferrodis $FKEYS)" >&2
    exit 1
fi
echo "$NKEYS keys in each server; rdbcompression $RDBCOMPRESSION; $ROUNDS rounds" >&2

for round in $(seq "$ROUNDS"); do
    order=(redis ferrodis)
    ((round % 2)) || order=(ferrodis redis)
    for name in "${order[@]}"; do
        t0=$(now_ns)
        reply=$(redis-cli -p "${PORT[$name]}" save)
        t1=$(now_ns)
        [[ $reply == OK ]] || { echo "persistence.sh: $name SAVE: $reply" >&2; exit 1; }
        size=$(stat -c %s "$WORK/$name/dump.rdb")
        stop "$name"
        start "$name"
        keys=$(total_keys "$name")
        [[ $keys == "$NKEYS" ]] || { echo "persistence.sh: $name loaded $keys keys" >&2; exit 1; }
        printf '%s\t%s\t%s\t%s\n' "$name" $((t1 - t0)) "$STARTUP_NS" "$size" >>"$RESULTS"
    done
    echo "round $round done" >&2
done

python3 - "$RESULTS" "$NKEYS" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
nkeys = int(sys.argv[2])
med = {}
for name in ("redis", "ferrodis"):
    mine = [r for r in rows if r[0] == name]
    med[name] = {
        "save": statistics.median(int(r[1]) for r in mine) / 1e9,
        "load": statistics.median(int(r[2]) for r in mine) / 1e9,
        "size": statistics.median(int(r[3]) for r in mine),
    }
print(f"{'':<10} {'file MB':>8} {'save s':>7} {'save MB/s':>10} {'save keys/s':>12}"
      f" {'load s':>7} {'load MB/s':>10} {'load keys/s':>12}")
for name, m in med.items():
    mb = m["size"] / 1e6
    print(f"{name:<10} {mb:>8.1f} {m['save']:>7.2f} {mb / m['save']:>10.1f}"
          f" {nkeys / m['save']:>12.0f} {m['load']:>7.2f} {mb / m['load']:>10.1f}"
          f" {nkeys / m['load']:>12.0f}")
r, f = med["redis"], med["ferrodis"]
print(f"ratios ferrodis/redis: file size {f['size'] / r['size']:.2f}, save time"
      f" {f['save'] / r['save']:.2f}, load time {f['load'] / r['load']:.2f}")
EOF
