#!/usr/bin/env bash
# Hit ratio of a cache at its memory limit, redis-server against ferrodis (issue #9).
#
# The workload (benches/hitratio.py): 1,000,000 GETs of 200,000 keys drawn from a Zipf
# distribution (skew 0.99, fixed seed), each miss followed by a SET of a 300-byte value, sent
# in pipelined batches (the helper's doc explains the one approximation that makes). First
# the whole data set is loaded once into an unlimited redis-server to measure its size; then
# for each policy both servers start empty with `maxmemory` at a third of that size and the
# same `maxmemory-samples`, and replay the same trace. Printed: a Markdown table of both hit
# ratios per policy, and the keys each server held at the end.
#
# Usage: benches/hitratio.sh   (build target/release/ferrodis-server first)
# Environment (optional): POLICIES ("allkeys-lru allkeys-lfu allkeys-random")  SAMPLES (5)
#   FERRODIS_MAXMEMORY (the same as redis-server's; set it lower to give ferrodis as many keys as
#   redis-server holds, which compares the eviction choices alone, without ferrodis's smaller
#   keys)  PORT_BASE (26000: redis-server there, ferrodis on +1)  PYTHON (/work/main/.venv/bin/python,
#   needs redis-py)  and the trace's NKEYS REQUESTS SKEW VALUE BATCH SEED (see hitratio.py)
set -euo pipefail
cd "$(dirname "$0")/.."
POLICIES=${POLICIES:-"allkeys-lru allkeys-lfu allkeys-random"}
SAMPLES=${SAMPLES:-5}
PORT_BASE=${PORT_BASE:-26000}
PYTHON=${PYTHON:-/work/main/.venv/bin/python}
FERRODIS_BIN=${FERRODIS_BIN:-target/release/ferrodis-server}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

start() { # name port [directives...]
    local name=$1 port=$2 bin=redis-server
    shift 2
    [ "$name" = ferrodis ] && bin=$FERRODIS_BIN
    "$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" "$@" \
        >"$WORK/$name.log" 2>&1 &
    echo $! >"$WORK/$name.pid"
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.05; done
    echo "hitratio.sh: $name did not start" >&2
    exit 1
}
stop() { # name port
    redis-cli -p "$2" shutdown nosave >/dev/null 2>&1 || true
    wait "$(cat "$WORK/$1.pid")" 2>/dev/null || true
}

start redis "$PORT_BASE"
dataset=$("$PYTHON" benches/hitratio.py measure "$PORT_BASE")
stop redis "$PORT_BASE"
maxmemory=$((dataset / 3))
echo "data set on redis-server: $dataset bytes; maxmemory $maxmemory" \
    "(ferrodis: ${FERRODIS_MAXMEMORY:-$maxmemory}), maxmemory-samples $SAMPLES"
echo
echo "| policy | redis-server hit ratio | ferrodis hit ratio | keys held (redis / ferrodis) |"
echo "|---|---|---|---|"
declare -A limit=([redis]=$maxmemory [ferrodis]=${FERRODIS_MAXMEMORY:-$maxmemory})
declare -A port=([redis]=$PORT_BASE [ferrodis]=$((PORT_BASE + 1)))
for policy in $POLICIES; do
    declare -A ratio=() held=()
    for name in redis ferrodis; do
        start "$name" "${port[$name]}" --maxmemory "${limit[$name]}" --maxmemory-policy "$policy" \
            --maxmemory-samples "$SAMPLES"
        read -r hits requests < <("$PYTHON" benches/hitratio.py replay "${port[$name]}")
        ratio[$name]=$(python3 -c "print(f'{$hits / $requests:.4f}')")
        held[$name]=$(redis-cli -p "${port[$name]}" dbsize)
        stop "$name" "${port[$name]}"
    done
    echo "| $policy | ${ratio[redis]} | ${ratio[ferrodis]} | ${held[redis]} / ${held[ferrodis]} |"
done
