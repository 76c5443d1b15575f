#!/usr/bin/env bash
# A cache filled past its limit: redis-benchmark SETs random keys (-r) into redis-server and
# ferrodis, both with `maxmemory` and an eviction policy, so most of each run evicts. Rounds
# alternate which server goes first; each round starts both servers empty. Printed per round:
# requests/s of each; then the median of each, their ratio ferrodis/redis, and at the end of the
# last round each server's used_memory, RSS, keys and evicted_keys.
#
# Usage: benches/maxmemory.sh   (build target/release/ferrodis-server first)
# Environment (optional): MAXMEMORY (50mb)  POLICY (allkeys-lru)  REQUESTS (2000000)
#   KEYSPACE (1000000)  VALUE (100 bytes)  PIPELINE (16)  CLIENTS (50)  ROUNDS (3)
#   PORT_BASE (39380: redis-server there, ferrodis on +1)
set -euo pipefail
cd "$(dirname "$0")/.."
MAXMEMORY=${MAXMEMORY:-50mb}
POLICY=${POLICY:-allkeys-lru}
REQUESTS=${REQUESTS:-2000000}
KEYSPACE=${KEYSPACE:-1000000}
VALUE=${VALUE:-100}
PIPELINE=${PIPELINE:-16}
CLIENTS=${CLIENTS:-50}
ROUNDS=${ROUNDS:-3}
PORT_BASE=${PORT_BASE:-39380}
FERRODIS_BIN=${FERRODIS_BIN:-target/release/ferrodis-server}

start() { # name port
    local bin=redis-server
    [ "$1" = ferrodis ] && bin=$FERRODIS_BIN
    "$bin" --port "$2" --save '' --appendonly no --maxmemory "$MAXMEMORY" \
        --maxmemory-policy "$POLICY" >/dev/null 2>&1 &
    echo $! >"/tmp/maxmemory-bench-$1.pid"
    for _ in $(seq 50); do redis-cli -p "$2" ping >/dev/null 2>&1 && return; sleep 0.1; done
    echo "$1 did not start" >&2; exit 1
}
stop() { # name port
    redis-cli -p "$2" shutdown nosave >/dev/null 2>&1 || true
    wait "$(cat "/tmp/maxmemory-bench-$1.pid")" 2>/dev/null || true
}
run() { # port -> requests/s
    redis-benchmark -p "$1" -t set -r "$KEYSPACE" -n "$REQUESTS" -d "$VALUE" -P "$PIPELINE" \
        -c "$CLIENTS" -q --csv | awk -F'"' '/SET/ {print $4}'
}
field() { redis-cli -p "$1" info "$2" | awk -F: -v f="$3" '$1 == f {sub("\r", "", $2); print $2}'; }

declare -A port=([redis]=$PORT_BASE [ferrodis]=$((PORT_BASE + 1)))
declare -A results=([redis]="" [ferrodis]="")
for round in $(seq "$ROUNDS"); do
    order="redis ferrodis"; [ $((round % 2)) -eq 0 ] && order="ferrodis redis"
    for name in $order; do
        start "$name" "${port[$name]}"
        rps=$(run "${port[$name]}")
        results[$name]+="$rps "
        echo "round $round $name: $rps requests/s"
        if [ "$round" -eq "$ROUNDS" ]; then
            pid=$(cat "/tmp/maxmemory-bench-$name.pid")
            rss=$(($(awk '{print $2}' "/proc/$pid/statm") * 4096))
            echo "  $name end: used_memory=$(field "${port[$name]}" memory used_memory)" \
                "rss=$rss keys=$(redis-cli -p "${port[$name]}" dbsize)" \
                "evicted_keys=$(field "${port[$name]}" stats evicted_keys)"
        fi
        stop "$name" "${port[$name]}"
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
r=$(echo "${results[redis]}" | median); f=$(echo "${results[ferrodis]}" | median)
echo "median requests/s: redis-server $r, ferrodis $f, ratio $(python3 -c "print(f'{$f/$r:.2f}')")"
