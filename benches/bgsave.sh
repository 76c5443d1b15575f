#!/usr/bin/env bash
# BGSAVE under load, redis-server and ferrodis side by side in the same run.
#
# Each server (alternating which goes first, ROUNDS times) is filled with KEYS keys of VALUE
# bytes (DEBUG POPULATE), then, at once:
#   - a writer overwrites random keys of the same set (redis-benchmark SET -r KEYS, -P 16), so
#     copy-on-write has pages to copy;
#   - a prober measures GET latency from one more client (one request at a time, its p99);
#   - BGSAVE starts, and the script samples every 20 ms until the save is done:
#       the memory of server + child as the sum of their PSS (/proc/PID/smaps_rollup: a page
#       shared by both is counted once, halved; a page copied on write counts twice), and
#       the wall time until `rdb_bgsave_in_progress:0`.
# Printed: medians of (a) time to finish, (b) peak PSS during the save against the PSS before
# it, (c) GET p99 during the save, and the ratios ferrodis/redis.
#
# Usage: benches/bgsave.sh      Environment: FERRODIS_BIN, KEYS (1000000), VALUE (100),
#                               ROUNDS (3)
set -euo pipefail

cd "$(dirname "$0")/.."
KEYS=${KEYS:-1000000}
VALUE=${VALUE:-100}
ROUNDS=${ROUNDS:-3}
FERRODIS_BIN=$(realpath -m "${FERRODIS_BIN:-target/release/ferrodis-server}")

for tool in redis-server redis-cli redis-benchmark python3; do
    command -v "$tool" >/dev/null || { echo "bgsave.sh: $tool not found" >&2; exit 1; }
done
[[ -x $FERRODIS_BIN ]] || cargo build --release --bin ferrodis-server

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pss_kb() { # PSS of a process in kB, 0 if it is gone
    awk '/^Pss:/ { print $2; found = 1 } END { if (!found) print 0 }' \
        "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}

# One round against server NAME: appends "name seconds pss_before_kb pss_peak_kb p99_ms".
run_round() {
    local name=$1 port
    port=$(free_port)
    mkdir -p "$WORK/$name"
    case $name in
    redis)
        redis-server --port "$port" --bind 127.0.0.1 --dir "$WORK/$name" --save '' \
            --appendonly no --enable-debug-command yes --daemonize no \
            --logfile "$WORK/$name.log" </dev/null >/dev/null 2>&1 &
        ;;
    ferrodis)
        "$FERRODIS_BIN" --port "$port" --bind 127.0.0.1 --dir "$WORK/$name" --save '' \
            --enable-debug-command yes </dev/null >>"$WORK/$name.log" 2>&1 &
        ;;
    esac
    SERVER_PID=$!
    until [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; do sleep 0.05; done
    redis-cli -p "$port" debug populate "$KEYS" key "$VALUE" >/dev/null
    local before peak
    before=$(pss_kb "$SERVER_PID")
    peak=$before
    redis-benchmark -p "$port" -t set -r "$KEYS" -d "$VALUE" -P 16 -c 4 -n 100000000 -q \
        >/dev/null 2>&1 &
    local writer=$!
    rm -f "$WORK/stop"
    python3 - "$port" "$WORK/stop" >"$WORK/p99" <<'PROBE' &
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
request, samples = b"*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n", []
while not os.path.exists(stop):
    t = time.perf_counter()
    s.sendall(request)
    reply = b""
    while not reply.endswith(b"\r\n") or reply.count(b"\r\n") < 2:
        reply += s.recv(65536)
    samples.append(time.perf_counter() - t)
samples.sort()
print(f"{samples[int(len(samples) * 0.99)] * 1000:.3f}" if samples else "nan")
PROBE
    local prober=$!
    sleep 0.5
    local t0 t1 child total
    t0=$(date +%s%N)
    redis-cli -p "$port" bgsave >/dev/null
    while true; do
        child=$(pgrep -P "$SERVER_PID" | head -1 || true)
        local child_pss=0
        [[ -n $child ]] && child_pss=$(pss_kb "$child")
        total=$(($(pss_kb "$SERVER_PID") + child_pss))
        ((total > peak)) && peak=$total
        if redis-cli -p "$port" info persistence | grep -q 'rdb_bgsave_in_progress:0'; then
            break
        fi
        sleep 0.02
    done
    t1=$(date +%s%N)
    touch "$WORK/stop"
    wait "$prober" 2>/dev/null || true
    kill "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
    local p99
    p99=$(cat "$WORK/p99")
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$(((t1 - t0) / 1000000))" "$before" "$peak" \
        "${p99:-nan}" >>"$WORK/results.tsv"
}

echo "$KEYS keys of $VALUE bytes; writer SET -P 16 -c 4 on the same keys; $ROUNDS rounds" >&2
for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then order=(redis ferrodis); else order=(ferrodis redis); fi
    for name in "${order[@]}"; do run_round "$name"; done
    echo "round $round done" >&2
done

python3 - "$WORK/results.tsv" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
med = {}
for name in ("redis", "ferrodis"):
    mine = [r for r in rows if r[0] == name]
    med[name] = [statistics.median(float(r[i]) for r in mine) for i in (1, 2, 3, 4)]
print(f"{'':<10} {'save ms':>8} {'PSS before MB':>14} {'peak PSS MB':>12} {'peak/before':>12}"
      f" {'GET p99 ms':>11}")
for name, (ms, before, peak, p99) in med.items():
    print(f"{name:<10} {ms:>8.0f} {before / 1024:>14.1f} {peak / 1024:>12.1f}"
          f" {peak / before:>12.2f} {p99:>11.3f}")
r, f = med["redis"], med["ferrodis"]
print(f"ratios ferrodis/redis: save time {f[0] / r[0]:.2f}, peak PSS {f[2] / r[2]:.2f},"
      f" GET p99 {f[3] / r[3]:.2f}")
EOF
