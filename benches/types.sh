#!/usr/bin/env bash
# Streams, bitmaps, HyperLogLog and geo against redis-server in the same run (issue #11):
#
#   1. throughput and server CPU per request at -P 1 and -P 16 for XADD, XREADGROUP, SETBIT,
#      BITCOUNT, PFADD, PFCOUNT, GEOADD and GEOSEARCH, through benches/compare.sh (its COMMANDS
#      and SETUP knobs: medians of ROUNDS alternating rounds, CPU from /proc/PID/stat);
#   2. memory: used_memory growth per stream entry for STREAM_ENTRIES entries of 1 and of 10
#      fields, and per HyperLogLog for HLL_KEYS sparse ones (100 elements) and HLL_DENSE dense
#      ones (20,000 elements), each loaded with `redis-cli --pipe` into a fresh server.
#
# XREADGROUP reads with NOACK, one entry per call, from the stream the XADD test of the same
# round filled (redis-benchmark cannot feed XACK the IDs it read); the group is created by
# SETUP before the rounds. GEOADD adds members with coordinates varied by __rand_int__ (all
# within a few metres: __rand_int__ is 12 digits with leading zeros, see SETBIT) to a key of its
# own; GEOSEARCH searches a 100 x 100 grid of points 0.02 degrees apart that SETUP writes,
# with a 10 km radius (about 80 points in range, the 10 nearest returned).
# SETBIT sets one fixed bit (a 12.5 KB bitmap, which BITCOUNT then counts): __rand_int__ is
# always 12 digits with leading zeros, which both servers refuse as a bit offset.
#
# Usage: benches/types.sh     Environment (optional): ROUNDS (3), N_P1 (50000), N_P16 (300000),
#   PARTS ("throughput memory"), STREAM_ENTRIES (1000000), HLL_KEYS (10000), HLL_DENSE (100),
#   PORT_BASE (ports counted up from here; default 33000)
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS=${PARTS:-"throughput memory"}
STREAM_ENTRIES=${STREAM_ENTRIES:-1000000}
HLL_KEYS=${HLL_KEYS:-10000}
HLL_DENSE=${HLL_DENSE:-100}
PORT_BASE=${PORT_BASE:-33000}
FERRODIS_BIN=${FERRODIS_BIN:-target/release/ferrodis-server}
[[ -x $FERRODIS_BIN ]] || cargo build --release --bin ferrodis-server

if [[ " $PARTS " == *" throughput "* ]]; then
    COMMANDS="xadd: XADD s * field value
xreadgroup: XREADGROUP GROUP g c NOACK COUNT 1 STREAMS s >
setbit: SETBIT bits 100000 1
bitcount: BITCOUNT bits
pfadd: PFADD hll e:__rand_int__
pfcount: PFCOUNT hll
geoadd: GEOADD geoadd 13.__rand_int__ 38.__rand_int__ m:__rand_int__
geosearch: GEOSEARCH geo FROMLONLAT 13 38 BYRADIUS 10 km ASC COUNT 10" \
    SETUP="XGROUP CREATE s g \$ MKSTREAM
EVAL \"for i=0,9999 do redis.call('GEOADD','geo',12+(i%100)/50,37+math.floor(i/100)/50,'p'..i) end\" 0" \
    TESTS="xadd xreadgroup setbit bitcount pfadd pfcount geoadd geosearch" \
    N_P1=${N_P1:-50000} N_P16=${N_P16:-300000} ROUNDS=${ROUNDS:-3} KEYS=0 COLLECTIONS=0 \
    PORT_BASE=$PORT_BASE FERRODIS_BIN=$FERRODIS_BIN bash benches/compare.sh
fi

[[ " $PARTS " == *" memory "* ]] || exit 0
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# The load files: RESP commands, written once and piped into each server.
python3 - "$WORK" "$STREAM_ENTRIES" "$HLL_KEYS" "$HLL_DENSE" <<'EOF'
import sys
work, entries, hll_keys, hll_dense = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

with open(f"{work}/stream1", "wb") as f:
    for i in range(entries):
        f.write(cmd("XADD", "s1", "*", "field", i))
with open(f"{work}/stream10", "wb") as f:
    for i in range(entries):
        args = []
        for j in range(10):
            args += [f"f{j}", i + j]
        f.write(cmd("XADD", "s10", "*", *args))
with open(f"{work}/hll_sparse", "wb") as f:
    for k in range(hll_keys):
        f.write(cmd("PFADD", f"h:{k}", *[f"e:{k}:{j}" for j in range(100)]))
with open(f"{work}/hll_dense", "wb") as f:
    for k in range(hll_dense):
        for start in range(0, 20000, 1000):
            f.write(cmd("PFADD", f"d:{k}", *[f"e:{k}:{j}" for j in range(start, start + 1000)]))
EOF

used_memory() {
    redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'
}

# measure SERVER FILE COUNT: bytes of used_memory per item after piping FILE into a fresh server.
measure() {
    local server=$1 file=$2 count=$3 port=$((PORT_BASE + 900))
    if [[ $server == redis ]]; then
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
            --logfile "$WORK/redis.log" &
    else
        "$FERRODIS_BIN" --port "$port" --bind 127.0.0.1 --save '' --dir "$WORK" \
            >"$WORK/ferrodis.log" 2>&1 &
    fi
    SERVER_PID=$!
    for _ in $(seq 200); do
        [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break
        sleep 0.05
    done
    local before after
    before=$(used_memory "$port")
    redis-cli -p "$port" --pipe <"$WORK/$file" >/dev/null
    after=$(used_memory "$port")
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    python3 -c "print(f'{($after - $before) / $count:.1f}')"
}

echo
echo "memory: used_memory growth per item (fresh server per row)"
printf '%-34s %12s %12s %8s\n' item redis ferrodis ratio
for row in "stream entry, 1 field:stream1:$STREAM_ENTRIES" \
    "stream entry, 10 fields:stream10:$STREAM_ENTRIES" \
    "HLL, 100 elements (sparse):hll_sparse:$HLL_KEYS" \
    "HLL, 20000 elements (dense):hll_dense:$HLL_DENSE"; do
    IFS=: read -r label file count <<<"$row"
    r=$(measure redis "$file" "$count")
    f=$(measure ferrodis "$file" "$count")
    printf '%-34s %12s %12s %8s\n' "$label" "$r B" "$f B" "$(python3 -c "print(f'{$f / $r:.2f}')")"
done
