#!/usr/bin/env bash
# AOF write throughput, redis-server and ferrodis side by side in the same run.
#
# For each `appendfsync` policy (everysec, always), ROUNDS times, alternating which server goes
# first: a fresh server with `appendonly yes` in its own temp dir, then
#   redis-benchmark -t set -P 16 -c CLIENTS -n REQUESTS -r 1000000 -d 100
# and the server's CPU time (utime + stime from /proc/PID/stat, before and after) per request.
# Printed per policy: the medians of requests/s and of CPU µs per request for each server, and
# the ratio ferrodis / redis. With `always`, both servers fsync once per event-loop turn
# before replying (group commit), so requests/s follow the disk's fsync latency.
#
# Usage: benches/aof.sh                 (builds target/release/ferrodis-server if missing)
# Environment (all optional): FERRODIS_BIN, REQUESTS (200000), CLIENTS (50), ROUNDS (3),
#   POLICIES ("everysec always")
set -euo pipefail

cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
ROUNDS=${ROUNDS:-3}
POLICIES=${POLICIES:-everysec always}
FERRODIS_BIN=$(realpath -m "${FERRODIS_BIN:-target/release/ferrodis-server}")

for tool in redis-server redis-cli redis-benchmark python3; do
    command -v "$tool" >/dev/null || { echo "aof.sh: $tool not found" >&2; exit 1; }
done
if [[ ! -x $FERRODIS_BIN ]]; then
    cargo build --release --bin ferrodis-server
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU ticks (utime + stime) of a process. Fields are counted after the ")" ending the name.
cpu_ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

# run NAME POLICY: one round; prints "requests_per_sec cpu_us_per_request".
run() {
    local name=$1 policy=$2 port dir rps before after
    port=$(free_port)
    dir=$WORK/$name-$policy-$RANDOM
    mkdir -p "$dir"
    case $name in
    redis)
        redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' \
            --appendonly yes --appendfsync "$policy" --daemonize no \
            --logfile "$dir/log" </dev/null >/dev/null 2>&1 &
        ;;
    ferrodis)
        "$FERRODIS_BIN" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' \
            --appendonly yes --appendfsync "$policy" </dev/null >"$dir/log" 2>&1 &
        ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 1000); do
        [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break
        sleep 0.01
    done
    before=$(cpu_ticks "$SERVER_PID")
    rps=$(redis-benchmark -p "$port" -t set -P 16 -c "$CLIENTS" -n "$REQUESTS" -r 1000000 \
        -d 100 --csv | awk -F, '/"SET"/ { gsub(/"/, "", $2); print $2 }')
    after=$(cpu_ticks "$SERVER_PID")
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    rm -rf "$dir"
    python3 -c "print($rps, ($after - $before) / $HZ * 1e6 / $REQUESTS)"
}

RESULTS=$WORK/results
: >"$RESULTS"
for policy in $POLICIES; do
    for round in $(seq "$ROUNDS"); do
        if ((round % 2)); then order="redis ferrodis"; else order="ferrodis redis"; fi
        for name in $order; do
            echo "$policy $name $(run "$name" "$policy")" >>"$RESULTS"
        done
    done
done

python3 - "$RESULTS" "$REQUESTS" "$CLIENTS" "$ROUNDS" <<'EOF'
import statistics, sys
path, requests, clients, rounds = sys.argv[1:]
rows = {}
for line in open(path):
    policy, name, rps, cpu = line.split()
    rows.setdefault(policy, {}).setdefault(name, []).append((float(rps), float(cpu)))
print(f"redis-benchmark -t set -P 16 -c {clients} -n {requests} -d 100, medians of {rounds} rounds")
print("| appendfsync | requests/s ferrodis / Redis | server CPU µs per request ferrodis / Redis |")
print("|---|---|---|")
for policy, d in rows.items():
    f_rps = statistics.median(x[0] for x in d["ferrodis"])
    r_rps = statistics.median(x[0] for x in d["redis"])
    f_cpu = statistics.median(x[1] for x in d["ferrodis"])
    r_cpu = statistics.median(x[1] for x in d["redis"])
    print(f"| {policy} | {f_rps/1000:.0f}k / {r_rps/1000:.0f}k = {f_rps/r_rps:.2f} "
          f"| {f_cpu:.2f} / {r_cpu:.2f} = {f_cpu/r_cpu:.2f} |")
EOF
