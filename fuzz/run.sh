#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one at a time, on one core (a single
# libFuzzer process, no -jobs), with a seed corpus made from real data (fuzz/seeds.py: RDB
# files and DUMP payloads saved by redis-server and ferrodis, Redis's own test RDB files and
# configs). Crashes, hangs
# (> 10 s per input) and single allocations over 512 MB are failures; libFuzzer writes the input
# to fuzz/artifacts/<target>/ (with the run's log); turn each into a unit test in the crate.
#
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain works with
# RUSTC_BOOTSTRAP=1 (set here). Environment: SEED_PORT (14300: the seed servers' ports).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    TARGETS=(resp_parse config_parse rdb_load restore_payload hll_decode blob_decode)
fi
export RUSTC_BOOTSTRAP=1

if [[ ! -d corpus/rdb_load ]]; then
    (cd .. && cargo build --release --bin ferrodis-server)
    python3 seeds.py ../target/release/ferrodis-server "${SEED_PORT:-14300}"
fi
cargo fuzz build -O
for target in "${TARGETS[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    echo "== $target: ${SECONDS_EACH}s"
    cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$SECONDS_EACH" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
        >"artifacts/$target/log" 2>&1 || true
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|Test unit written)|panicked|ERROR' \
        "artifacts/$target/log" || true
done
