#!/usr/bin/env bash
# Side-by-side throughput, CPU and memory comparison of redis-server and ferrodis.
#
# Both servers run at once on free ports; redis-benchmark drives them in turn (alternating which
# goes first each round, so neither always gets the warmer machine), ROUNDS times per test and
# pipeline depth. Printed per test: median requests/s of each, the ratio ferrodis/redis, and
# each server's CPU time per request (utime+stime from /proc/PID/stat around the run) and that
# ratio; then the geometric mean of the ratios per pipeline depth. Finally both servers are
# restarted empty, loaded with KEYS small string keys through `redis-cli --pipe`, and their RSS
# growth per key is printed.
#
# Usage: benches/compare.sh            (builds target/release/ferrodis-server if missing)
# Environment (all optional):
#   FERRODIS_BIN   ferrodis binary             TESTS      redis-benchmark -t names
#   PIPELINES      "1 16"                      ROUNDS     3 (0 skips the throughput tests)
#   CLIENTS        50                          KEYSPACE   -r value (random keys)
#   N_P1, N_P16    requests per run at -P 1 / -P 16 (others: N_P16)
#   KEYS           keys for the memory test (1000000; 0 skips it)
#   COLLECTIONS    1: also load 1,000,000 elements into each collection type, as 1,000 keys x
#                  1,000 elements and as 100,000 keys x 10 elements, and compare RSS (0 skips);
#                  plus 100,000 sets of the integers 0..9 (the intset encoding)
#   TLS            1: the throughput rounds go through TLS (redis-benchmark --tls) to each
#                  server's tls-port, with certificates made for the run by openssl (a CA and
#                  one server/client certificate, RSA 2048); the memory tests stay plain
#   PORT_BASE      ports are taken counting up from here (default: any free port)
#   BASELINE_BIN   an earlier ferrodis binary: it runs as a third server in the throughput rounds
#                  (rotating with the other two), and each row also gets its throughput and CPU per
#                  request, with the ratios ferrodis/baseline: a regression check for a change
#   SETUP          redis-cli commands, one per line, sent to each server once it is up
#   COMMANDS       extra tests, one per line "name: COMMAND args" (redis-benchmark runs the
#                  command itself; __rand_int__ becomes a key number below -r); their names go
#                  into TESTS like the -t names (benches/types.sh uses this)
# Add a family by adding its redis-benchmark test name to TESTS (lpush, sadd, hset, zadd ...).
set -euo pipefail

cd "$(dirname "$0")/.."
TESTS=${TESTS:-"ping_inline ping_mbulk set get incr mset"}
PIPELINES=${PIPELINES:-"1 16"}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-1000000}
KEYS=${KEYS:-1000000}
COLLECTIONS=${COLLECTIONS:-1}
FERRODIS_BIN=${FERRODIS_BIN:-target/release/ferrodis-server}
BASELINE_BIN=${BASELINE_BIN:-}
TLS=${TLS:-0}

for tool in redis-server redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool not found" >&2; exit 1; }
done
if [[ ! -x $FERRODIS_BIN ]]; then
    cargo build --release --bin ferrodis-server
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port from the system, or with PORT_BASE set, the next one counting up from it (so a
# run stays in a given range; the count lives in a file because callers run in subshells).
free_port() {
    if [[ -n ${PORT_BASE:-} ]]; then
        local n
        n=$(cat "$WORK/next-port" 2>/dev/null || echo "$PORT_BASE")
        echo $((n + 1)) >"$WORK/next-port"
        echo "$n"
    else
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    fi
}

wait_ready() {
    local port=$1
    for _ in $(seq 200); do
        if [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; then return 0; fi
        sleep 0.05
    done
    echo "compare.sh: server on port $port did not start" >&2
    exit 1
}

# run_setup PORT: the SETUP commands against one server.
run_setup() {
    local line args
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        # Shell quoting: a line may hold a quoted argument with spaces (a Lua script).
        eval "args=($line)"
        redis-cli -h 127.0.0.1 -p "$1" "${args[@]}" >/dev/null
    done <<<"${SETUP:-}"
}

# start_servers: sets REDIS_PORT REDIS_PID FERRO_PORT FERRO_PID.
start_servers() {
    REDIS_PORT=$(free_port)
    REDIS_TLS_PORT=$(free_port)
    # shellcheck disable=SC2046
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$WORK/redis.log" $(tls_port_args "$REDIS_TLS_PORT") &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    FERRO_PORT=$(free_port)
    FERRO_TLS_PORT=$(free_port)
    # shellcheck disable=SC2046
    "$FERRODIS_BIN" --port "$FERRO_PORT" --bind 127.0.0.1 --save '' --dir "$WORK" \
        $(tls_port_args "$FERRO_TLS_PORT") >"$WORK/ferrodis.log" 2>&1 &
    FERRO_PID=$!
    PIDS+=("$FERRO_PID")
    wait_ready "$REDIS_PORT"
    wait_ready "$FERRO_PORT"
    run_setup "$REDIS_PORT"
    run_setup "$FERRO_PORT"
}

# start_baseline: sets BASE_PORT BASE_PID (the BASELINE_BIN server, throughput rounds only).
start_baseline() {
    BASE_PORT=$(free_port)
    BASE_TLS_PORT=$(free_port)
    # shellcheck disable=SC2046
    "$BASELINE_BIN" --port "$BASE_PORT" --bind 127.0.0.1 --save '' --dir "$WORK" \
        $(tls_port_args "$BASE_TLS_PORT") >"$WORK/baseline.log" 2>&1 &
    BASE_PID=$!
    PIDS+=("$BASE_PID")
    wait_ready "$BASE_PORT"
    run_setup "$BASE_PORT"
}

stop_servers() {
    kill "$REDIS_PID" "$FERRO_PID" 2>/dev/null || true
    wait "$REDIS_PID" "$FERRO_PID" 2>/dev/null || true
}

# CPU ticks (utime + stime) of a process. Fields are counted after the ")" ending the name.
cpu_ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# TLS: certificates, the servers' extra directives and redis-benchmark's flags.
SERVER_TLS=()
BENCH_TLS=()
if [[ $TLS == 1 ]]; then
    (
        cd "$WORK"
        openssl genrsa -out ca.key 2048
        openssl req -x509 -new -nodes -sha256 -key ca.key -days 30 -subj "/CN=bench ca" -out ca.crt
        openssl genrsa -out server.key 2048
        openssl req -new -sha256 -subj "/CN=localhost" -key server.key -out server.csr
        printf "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n" >server.ext
        openssl x509 -req -sha256 -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -days 30 -extfile server.ext -out server.crt
    ) >/dev/null 2>&1
    SERVER_TLS=(--tls-cert-file "$WORK/server.crt" --tls-key-file "$WORK/server.key"
        --tls-ca-cert-file "$WORK/ca.crt")
    BENCH_TLS=(--tls --cacert "$WORK/ca.crt" --cert "$WORK/server.crt" --key "$WORK/server.key")
fi

# tls_port_args PORT: the directives that open PORT as the TLS port (nothing without TLS=1).
tls_port_args() {
    if [[ $TLS == 1 ]]; then echo --tls-port "$1" "${SERVER_TLS[@]}"; fi
}

# The COMMANDS lines by name.
declare -A COMMAND_OF=()
while IFS= read -r line; do
    [[ -n $line ]] && COMMAND_OF[${line%%:*}]=${line#*: }
done <<<"${COMMANDS:-}"

TICKS=$(getconf CLK_TCK)
RESULTS=$WORK/results.tsv

# run_one SERVER PORT PID TEST P N: appends "test p server rps cpu_us_per_req".
run_one() {
    local server=$1 port=$2 pid=$3 test=$4 p=$5 n=$6
    local before after rps what=(-t "$test")
    if [[ -n ${COMMAND_OF[$test]:-} ]]; then
        read -r -a what <<<"${COMMAND_OF[$test]}"
    fi
    before=$(cpu_ticks "$pid")
    rps=$(redis-benchmark -h 127.0.0.1 -p "$port" "${BENCH_TLS[@]}" -c "$CLIENTS" -P "$p" -n "$n" \
        -r "$KEYSPACE" --csv "${what[@]}" 2>/dev/null | awk -F'"' 'NR > 1 && $2 != "" { print $4; exit }')
    after=$(cpu_ticks "$pid")
    local cpu
    cpu=$(python3 -c "print(($after - $before) / $TICKS * 1e6 / $n)")
    printf '%s\t%s\t%s\t%s\t%s\n' "$test" "$p" "$server" "${rps:-0}" "$cpu" >>"$RESULTS"
}

if ((ROUNDS > 0)); then
start_servers
echo "redis-server $(redis-server --version | awk '{print $3}') on port $REDIS_PORT (pid $REDIS_PID)," \
    "ferrodis $FERRODIS_BIN on port $FERRO_PORT (pid $FERRO_PID)"
SERVERS=(redis ferrodis)
if [[ -n $BASELINE_BIN ]]; then
    start_baseline
    echo "baseline $BASELINE_BIN on port $BASE_PORT (pid $BASE_PID)"
    SERVERS+=(baseline)
fi
echo "tests: $TESTS; pipelines: $PIPELINES; $ROUNDS rounds; -c $CLIENTS; -r $KEYSPACE"
# bench_port PLAIN TLS: the port the throughput rounds use.
bench_port() {
    if [[ $TLS == 1 ]]; then echo "$2"; else echo "$1"; fi
}
# run_server NAME TEST P N: one run against the named server.
run_server() {
    case $1 in
    redis) run_one redis "$(bench_port "$REDIS_PORT" "$REDIS_TLS_PORT")" "$REDIS_PID" "$2" "$3" "$4" ;;
    ferrodis) run_one ferrodis "$(bench_port "$FERRO_PORT" "$FERRO_TLS_PORT")" "$FERRO_PID" "$2" "$3" "$4" ;;
    baseline) run_one baseline "$(bench_port "$BASE_PORT" "$BASE_TLS_PORT")" "$BASE_PID" "$2" "$3" "$4" ;;
    esac
}
for round in $(seq "$ROUNDS"); do
    for p in $PIPELINES; do
        n=$N_P16
        [[ $p == 1 ]] && n=$N_P1
        for test in $TESTS; do
            # Rotate the order each round, so no server always gets the warmer machine.
            count=${#SERVERS[@]}
            for i in $(seq 0 $((count - 1))); do
                run_server "${SERVERS[$(((i + round) % count))]}" "$test" "$p" "$n"
            done
        done
    done
    echo "round $round done" >&2
done
stop_servers
if [[ -n $BASELINE_BIN ]]; then
    kill "$BASE_PID" 2>/dev/null || true
    wait "$BASE_PID" 2>/dev/null || true
fi

python3 - "$RESULTS" <<'EOF'
import math, statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
data = {}
for test, p, server, rps, cpu in rows:
    data.setdefault((test, int(p)), {}).setdefault(server, []).append((float(rps), float(cpu)))

def geomean(xs):
    xs = [x for x in xs if x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")

def compare(ref, label, against):
    """One table of ferrodis against the `ref` server's runs: medians, ratios, geometric means."""
    print()
    print(f"{'test':<12} {'P':>3} {label + ' rps':>13} {'ferrodis rps':>13} {'ratio':>6}"
          f" {label + ' cpu/req':>14} {'ferro cpu/req':>14} {'ratio':>6}")
    geo = {}
    for (test, p) in sorted(data, key=lambda k: (k[1], k[0])):
        d = data[(test, p)]
        r_rps = statistics.median(x[0] for x in d[ref])
        f_rps = statistics.median(x[0] for x in d["ferrodis"])
        r_cpu = statistics.median(x[1] for x in d[ref])
        f_cpu = statistics.median(x[1] for x in d["ferrodis"])
        ratio = f_rps / r_rps if r_rps else float("nan")
        cratio = f_cpu / r_cpu if r_cpu else float("nan")
        geo.setdefault(p, []).append((ratio, cratio))
        print(f"{test:<12} {p:>3} {r_rps:>13.0f} {f_rps:>13.0f} {ratio:>6.2f}"
              f" {r_cpu:>12.2f}us {f_cpu:>12.2f}us {cratio:>6.2f}")
    for p, ratios in sorted(geo.items()):
        print(f"geometric mean P={p}{against}: throughput ratio"
              f" {geomean(r for r, _ in ratios):.2f}, cpu/request ratio"
              f" {geomean(c for _, c in ratios):.2f}")

compare("redis", "redis", "")
if any("baseline" in d for d in data.values()):
    compare("baseline", "base", " against the baseline")
EOF
fi

if ((KEYS > 0)); then
    echo
    echo "memory: $KEYS keys 'key:N' -> 'value:N' loaded with redis-cli --pipe"
    # One generated RESP stream, sent to both servers.
    awk -v n="$KEYS" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = "key:" i; v = "value:" i
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
        }
    }' >"$WORK/load.resp"
    start_servers
    sleep 0.2
    for server in redis ferrodis; do
        if [[ $server == redis ]]; then port=$REDIS_PORT pid=$REDIS_PID; else port=$FERRO_PORT pid=$FERRO_PID; fi
        base=$(rss_kb "$pid")
        redis-cli -p "$port" --pipe <"$WORK/load.resp" >"$WORK/pipe-$server.log"
        sleep 0.2
        loaded=$(rss_kb "$pid")
        dbsize=$(redis-cli -p "$port" dbsize)
        python3 -c "
base, loaded, keys = $base, $loaded, $KEYS
print(f'{\"$server\":<9} baseline {base/1024:7.1f} MB  loaded {loaded/1024:8.1f} MB'
      f'  ({(loaded - base) * 1024 / keys:6.1f} bytes/key, dbsize $dbsize)')" | tee -a "$WORK/mem.txt"
    done
    python3 - "$WORK/mem.txt" <<'EOF'
import re, sys
per = {l.split()[0]: float(re.search(r"\(\s*([\d.]+) bytes/key", l).group(1)) for l in open(sys.argv[1])}
print(f"memory per key ratio ferrodis/redis: {per['ferrodis'] / per['redis']:.2f}")
EOF
    stop_servers
fi

# Loads the RESP stream in $1 into both (fresh) servers and prints each one's RSS growth.
load_and_measure() {
    local stream=$1 label=$2 growth=()
    start_servers
    sleep 0.2
    for server in redis ferrodis; do
        if [[ $server == redis ]]; then port=$REDIS_PORT pid=$REDIS_PID; else port=$FERRO_PORT pid=$FERRO_PID; fi
        base=$(rss_kb "$pid")
        redis-cli -p "$port" --pipe <"$stream" >"$WORK/pipe-$server.log"
        sleep 0.2
        loaded=$(rss_kb "$pid")
        growth+=("$((loaded - base))")
    done
    stop_servers
    python3 -c "
r, f = ${growth[0]}, ${growth[1]}
print(f'{\"$label\":<18} redis {r/1024:8.1f} MB   ferrodis {f/1024:8.1f} MB   ratio {f/r:5.2f}')"
}

if ((COLLECTIONS)); then
    echo
    echo "memory: 1,000,000 elements per collection type (RSS growth after loading)"
    for type in list hash set zset; do
        for shape in "1000 1000" "100000 10"; do
            read -r nkeys per <<<"$shape"
            python3 benches/gen_collections.py "$type" "$nkeys" "$per" >"$WORK/coll.resp"
            load_and_measure "$WORK/coll.resp" "$type ${nkeys}x${per}"
        done
    done
    python3 benches/gen_collections.py intset 100000 10 >"$WORK/coll.resp"
    load_and_measure "$WORK/coll.resp" "intset 100000x10"
fi
