#!/usr/bin/env bash
# A master's memory with two replicas under a write load (issue #10: the shared replication
# buffer).
#
# A ferrodis master and two ferrodis replicas (persistence off, `client-output-buffer-limit
# replica 0 0 0` so that no replica is dropped, the default `repl-backlog-size` of 1 MB). Once
# both replicas are online, redis-benchmark runs `SET -d VALUE -n REQUESTS -P 16 -c 50 -r 100000`
# against the master while INFO memory is sampled every 50 ms. With PAUSE=1 both replicas are
# stopped (SIGSTOP) for the whole load, so everything written meanwhile is kept for them; with
# PAUSE=0 they read along (on a 2-core machine they still lag).
#
# Printed: the peaks of used_memory (and its growth over the pre-load figure),
# mem_total_replication_buffers and mem_clients_slaves; used_memory and the buffers once both
# replicas caught up; the benchmark's requests/s; whether the three DEBUG DIGESTs agree.
#
# Usage: benches/replication-memory.sh   (FERRODIS_BIN, PORT_BASE (15600), PAUSE (0 and 1),
#   REQUESTS (400000), VALUE (256))
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath -m "${FERRODIS_BIN:-target/release/ferrodis-server}")
P=${PORT_BASE:-15600}
REQUESTS=${REQUESTS:-400000}
VALUE=${VALUE:-256}
[[ -x $BIN ]] || cargo build --release --bin ferrodis-server

info_field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f {print $2 + 0}'; }

run() {
    local pause=$1 W pids=() i
    W=$(mktemp -d)
    for i in 0 1 2; do
        "$BIN" --port $((P + i)) --save '' --appendonly no --dir "$W" --dbfilename "d$i.rdb" \
            --repl-diskless-sync-delay 0 --client-output-buffer-limit "replica 0 0 0" \
            --enable-debug-command yes --logfile "$W/s$i.log" &
        pids+=($!)
    done
    sleep 0.5
    for i in 1 2; do redis-cli -p $((P + i)) replicaof 127.0.0.1 "$P" >/dev/null; done
    for _ in $(seq 100); do
        [[ $(redis-cli -p "$P" info replication | grep -c 'state=online') == 2 ]] && break
        sleep 0.1
    done
    local base; base=$(info_field "$P" memory used_memory)
    [[ $pause == 1 ]] && kill -STOP "${pids[1]}" "${pids[2]}"
    (while :; do
        redis-cli -p "$P" info memory | tr -d '\r' | awk -F: '/^used_memory:|^mem_total_replication_buffers:|^mem_clients_slaves:/{printf "%s ", $2} END {print ""}'
        sleep 0.05
    done) >"$W/samples" &
    local sampler=$!
    local rps
    rps=$(redis-benchmark -p "$P" -t set -d "$VALUE" -n "$REQUESTS" -P 16 -c 50 -r 100000 -q 2>/dev/null \
        | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1)
    sleep 0.3
    kill "$sampler"; wait "$sampler" 2>/dev/null
    [[ $pause == 1 ]] && kill -CONT "${pids[1]}" "${pids[2]}"
    local off; off=$(info_field "$P" replication master_repl_offset)
    for _ in $(seq 300); do
        (( $(info_field $((P + 1)) replication master_repl_offset) >= off &&
           $(info_field $((P + 2)) replication master_repl_offset) >= off )) && break
        sleep 0.1
    done
    local after same=yes d
    after="used_memory $(info_field "$P" memory used_memory), buffers $(info_field "$P" memory mem_total_replication_buffers)"
    d=$(redis-cli -p "$P" debug digest)
    for i in 1 2; do [[ $(redis-cli -p $((P + i)) debug digest) == "$d" ]] || same=NO; done
    awk -v base="$base" -v rps="$rps" -v after="$after" -v same="$same" -v pause="$pause" '
        { if ($1 > u) u = $1; if ($2 > r) r = $2; if ($3 > s) s = $3 }
        END { printf "replicas stopped: %s\n  peak used_memory %.1f MB (+%.1f MB), peak mem_total_replication_buffers %.1f MB, peak mem_clients_slaves %.1f MB\n  after catch-up: %s\n  %s; digests agree: %s\n",
              pause ? "yes" : "no", u / 1e6, (u - base) / 1e6, r / 1e6, s / 1e6, after, rps, same }' "$W/samples"
    for i in "${pids[@]}"; do kill -CONT "$i" 2>/dev/null; kill "$i"; done
    wait 2>/dev/null
    rm -rf "$W"
}

for pause in ${PAUSE:-0 1}; do run "$pause"; done
