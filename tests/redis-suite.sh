#!/usr/bin/env bash
# Runs Redis 7.0.15's own Tcl test suite with ferrodis-server as the server.
#
#   bash tests/redis-suite.sh [unit ...]      e.g.  bash tests/redis-suite.sh unit/type/list unit/expire
#
# With no argument it runs the units listed in DEFAULT_UNITS below (what CI runs).
#
# 1. Fetches Redis 7.0.15's source from Debian's source package of `redis` (adding a `deb-src`
#    entry for bookworm if there is none) and unpacks `runtest` and `tests/` from the orig
#    tarball into target/redis-suite/ (cached; Redis's tests are never committed here).
# 2. Puts target/release/ferrodis-server in place of src/redis-server, and Debian's redis-cli,
#    redis-benchmark, redis-check-aof and redis-check-rdb beside it (build the release binary
#    first: `cargo build --release`; FERRODIS_BIN overrides the path).
# 3. Runs `./runtest` in full mode (the harness starts and restarts the servers itself), one
#    unit per runtest, two at a time, with --durable (an unexpected error fails one test, not
#    the run) and --skipfile built from tests/redis-suite-known-failures.txt.
# 4. Prints per unit: ok / failed / skipped as known-failing, and exits non-zero if a test
#    that is not in the known-failing list failed, or a unit did not finish.
#
# REDIS_SUITE_TLS=1 runs the units in runtest's --tls mode: every server the harness starts
# serves only TLS (tls-port) with certificates made by Redis's utils/gen-test-certs.sh (cached
# in target/redis-suite/tls), and the harness's clients connect through Tcl's tls package
# (Debian: tcl-tls).
#
# Logs: target/redis-suite/logs/<unit>.log (runtest's output, one file per unit). Server logs
# of failed tests are in them (--dump-logs).
#
# Two changes are made to the unpacked harness (tests/support/server.tcl), neither of which
# changes what a test checks:
# - `wait_server_started` gives up as soon as the server process has exited instead of polling
#   its log for two minutes. A server that refuses its configuration (e.g. `appendonly yes`,
#   which needs AOF) is then reported at once, as the harness's "Can't start the Redis server".
# - With --durable, an error outside any test inside a start_server block (e.g. a command the
#   block runs before its tests) makes 7.0's start_server pop the server stack twice, so the
#   enclosing block dies with `key "pid" not known in dictionary` and the whole unit stops. The
#   patch returns after reporting the error, so only that block's tests are lost.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REDIS_VERSION=7.0.15
CACHE=$ROOT/target/redis-suite
SUITE=$CACHE/redis-$REDIS_VERSION
LOGS=$CACHE/logs
KNOWN=${REDIS_SUITE_KNOWN:-$ROOT/tests/redis-suite-known-failures.txt}
FERRODIS_BIN=${FERRODIS_BIN:-$ROOT/target/release/ferrodis-server}
# Ports: each parallel runtest gets its own slice of [BASEPORT, BASEPORT + PORTCOUNT).
BASEPORT=${REDIS_SUITE_BASEPORT:-21000}
PORTCOUNT=${REDIS_SUITE_PORTCOUNT:-2000}
JOBS=${REDIS_SUITE_JOBS:-2}
# Seconds without progress before runtest gives up on a unit, and wall time per unit.
TEST_TIMEOUT=${REDIS_SUITE_TIMEOUT:-120}
UNIT_TIMEOUT=${REDIS_SUITE_UNIT_TIMEOUT:-900}
# Tags denied: `slow` tests take minutes each on this 2-core machine. (`needs:repl` blocks,
# which start a replica with REPLICAOF / SYNC, run: ferrodis has replication.)
TAGS=${REDIS_SUITE_TAGS:--slow}
TLS_MODE=${REDIS_SUITE_TLS:-0}
TLS_ARGS=()
[ "$TLS_MODE" = 1 ] && TLS_ARGS=(--tls)

DEFAULT_UNITS=(
  unit/type/string unit/type/incr unit/type/list unit/type/list-2 unit/type/list-3
  unit/type/hash unit/type/set unit/type/zset
  unit/expire unit/keyspace unit/scan unit/protocol unit/pubsub unit/pubsubshard unit/multi
  unit/scripting unit/functions unit/info-command unit/quit unit/auth unit/sort unit/lazyfree
  unit/querybuf unit/limits unit/info unit/introspection unit/introspection-2 unit/networking
  unit/obuf-limits unit/other unit/tracking unit/latency-monitor unit/slowlog unit/pause
  unit/acl unit/acl-v2 unit/bitops unit/bitfield unit/hyperloglog unit/geo unit/dump
  unit/maxmemory unit/client-eviction unit/type/stream unit/type/stream-cgroups
  integration/rdb integration/corrupt-dump integration/corrupt-dump-fuzzer
  integration/aof integration/aof-multi-part unit/aofrw unit/shutdown integration/failover
  integration/shutdown
  integration/convert-zipmap-hash-on-load integration/convert-ziplist-hash-on-load
  integration/convert-ziplist-zset-on-load
  unit/wait integration/replication-4 integration/block-repl
  integration/replication-2 integration/replication-3 integration/replication-psync
  integration/psync2 integration/psync2-reg integration/psync2-pingoff integration/psync2-master-restart
  integration/replication integration/replication-buffer
)

# Units whose tests time one client's big writes against another client's CLIENT LIST and
# evictions (unit/client-eviction): with a second runtest loading the two cores they failed now
# and then. They run after the pool, alone.
SOLO_UNITS=(unit/client-eviction)

die() { echo "redis-suite: $*" >&2; exit 2; }

# --- 1. The suite --------------------------------------------------------------------------
fetch_suite() {
  # The tarball is cached; the tree is unpacked and patched afresh on every run (a second),
  # so a change to the patches below always takes effect.
  mkdir -p "$CACHE"
  local tarball=$CACHE/redis_$REDIS_VERSION.orig.tar.gz
  if [ ! -f "$tarball" ]; then
    command -v apt-get >/dev/null || die "apt-get is needed to fetch Redis's source package"
    if ! apt-get source --print-uris redis >/dev/null 2>&1; then
      # No source index yet: add deb-src entries mirroring the machine's own deb entries
      # (the same mirrors, suites and keys), in whichever format apt is configured with.
      local deb822=/etc/apt/sources.list.d/debian.sources
      if [ -f "$deb822" ]; then
        sed 's/^Types: deb$/Types: deb-src/' "$deb822" >/etc/apt/sources.list.d/ferrodis-debsrc.sources
      elif [ -f /etc/apt/sources.list ]; then
        sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list >/etc/apt/sources.list.d/ferrodis-debsrc.list
      else
        die "no Debian package source is configured to mirror as deb-src"
      fi
      apt-get update -qq || die "apt-get update failed"
    fi
    local download=$CACHE/download
    rm -rf "$download" && mkdir -p "$download"
    (cd "$download" && apt-get source --download-only redis >/dev/null 2>&1) ||
      die "apt-get source --download-only redis failed"
    [ -f "$download/redis_$REDIS_VERSION.orig.tar.gz" ] ||
      die "Debian's redis source is not $REDIS_VERSION: $(ls "$download")"
    mv "$download/redis_$REDIS_VERSION.orig.tar.gz" "$tarball"
    rm -rf "$download"
  fi
  rm -rf "$SUITE"
  tar -xzf "$tarball" -C "$CACHE" "redis-$REDIS_VERSION/runtest" "redis-$REDIS_VERSION/tests" ||
    die "cannot unpack $tarball"
  # Fail fast when the server exits during startup (see the header).
  local server_tcl=$SUITE/tests/support/server.tcl
  grep -q 'after $checkperiod' "$server_tcl" || die "unexpected server.tcl"
  # (A server that printed its PID line and then exited, e.g. on a corrupt RDB file, did
  # start: the test then reads why it stopped from its log. One that found its port taken is
  # left to the harness's own check below, which retries on another port.)
  sed -i 's|^\(\s*\)after \$checkperiod$|&\n\1if {[catch {exec kill -0 $pid}] \&\& ![regexp -- " PID: $pid\|Failed listening on port" [exec cat $stdout]]} {\n\1    start_server_error $config_file "server exited during startup: [exec cat $stdout]"\n\1    break\n\1}|' \
    "$server_tcl"
  grep -q 'server exited during startup' "$server_tcl" || die "could not patch server.tcl"
  perl -0pi -e 's|(\n(\s*)send_data_packet \$::test_server_fd err \[join \$details "\\n"\]\n)(\s*\} else \{\n\s*# Re-raise, let handler up the stack take care of this.\n\s*error \$error \$backtrace)|$1$2set ::tags [lrange \$::tags 0 end-[llength \$tags]]\n$2return ;# patched by ferrodis tests/redis-suite.sh\n$3|' \
    "$server_tcl"
  grep -q 'patched by ferrodis' "$server_tcl" || die "could not patch server.tcl (durable)"
}

install_binaries() {
  [ -x "$FERRODIS_BIN" ] || die "$FERRODIS_BIN missing: run cargo build --release first"
  mkdir -p "$SUITE/src"
  ln -sf "$FERRODIS_BIN" "$SUITE/src/redis-server"
  local tool
  for tool in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    local path
    path=$(command -v "$tool") || die "$tool not found (apt-get install redis-tools)"
    ln -sf "$path" "$SUITE/src/$tool"
  done
  command -v tclsh8.6 >/dev/null || command -v tclsh8.7 >/dev/null ||
    die "tclsh 8.6 missing (apt-get install tcl)"
}

# runtest --tls wants tests/tls/{ca,server,client,redis}.{crt,key} and redis.dh, made by the
# script Redis ships for it (its 2048-bit DH parameters take a while: made once, cached).
make_test_certs() {
  [ "$TLS_MODE" = 1 ] || return 0
  command -v openssl >/dev/null || die "openssl missing (apt-get install openssl)"
  echo 'package require tls' | tclsh8.6 >/dev/null 2>&1 || die "Tcl's tls package missing (apt-get install tcl-tls)"
  if [ ! -f "$CACHE/tls/redis.dh" ]; then
    local gen=$CACHE/tls-gen
    rm -rf "$gen" && mkdir -p "$gen"
    tar -xzf "$CACHE/redis_$REDIS_VERSION.orig.tar.gz" -C "$gen" --strip-components=1 \
      "redis-$REDIS_VERSION/utils/gen-test-certs.sh" || die "cannot unpack gen-test-certs.sh"
    (cd "$gen" && bash utils/gen-test-certs.sh >/dev/null 2>&1) || die "gen-test-certs.sh failed"
    rm -rf "$CACHE/tls" && mv "$gen/tests/tls" "$CACHE/tls" && rm -rf "$gen"
  fi
  rm -rf "$SUITE/tests/tls" && cp -r "$CACHE/tls" "$SUITE/tests/tls"
}

# --- 2. The known-failing list -------------------------------------------------------------
# Lines: `<test name> ## <reason>` (a test as runtest names it, or `/regex`), skipped by runtest;
# `@unit <unit> ## <reason>`: the unit is not run at all;
# `@blocks <unit> ## <reason>`: in that unit, errors outside any test are expected (a server
# that refuses its config, e.g. `appendonly yes`, or a command a start_server block runs
# before its tests); the tests of such a block do not run.
# `#` starts a comment line.
build_skipfile() {
  grep -v '^\s*#' "$KNOWN" | grep -v '^\s*@' | sed -e 's/\s*##.*$//' | grep -v '^\s*$' >"$CACHE/skipfile"
}
unit_listed() { # $1 = kind (unit|blocks), $2 = unit
  grep -Eq "^@$1[[:space:]]+$2[[:space:]]*(##|$)" "$KNOWN"
}
listed_reason() { # $1 = kind, $2 = unit
  grep -E "^@$1[[:space:]]+$2[[:space:]]*(##|$)" "$KNOWN" | sed 's/^[^#]*##[[:space:]]*//'
}

# runtest empties tests/tmp when it starts and ends, so parallel runtests each get their own
# tree: symlinks to the suite's files and a private tests/tmp.
make_slot_tree() { # $1 = slot
  local dir=$CACHE/slot$1
  rm -rf "$dir" && mkdir -p "$dir/tests/tmp"
  ln -s "$SUITE/runtest" "$dir/runtest"
  ln -s "$SUITE/src" "$dir/src"
  local entry
  for entry in "$SUITE"/tests/*; do
    [ "$(basename "$entry")" = tmp ] || ln -s "$entry" "$dir/tests/"
  done
}

run_unit() { # $1 = unit, $2 = slot (0..JOBS-1)
  local unit=$1 slot=$2
  local log=$LOGS/${unit//\//_}.log
  local slice=$((PORTCOUNT / JOBS))
  local base=$((BASEPORT + slot * slice))
  (
    cd "$CACHE/slot$slot" &&
      timeout --kill-after=10 "$UNIT_TIMEOUT" ./runtest --single "$unit" --clients 1 --durable \
        --skipfile "$CACHE/skipfile" --tags "$TAGS" --timeout "$TEST_TIMEOUT" \
        --baseport "$base" --portcount "$slice" --dump-logs --no-latency "${TLS_ARGS[@]}"
  ) >"$log" 2>&1
  echo $? >"$log.rc"
}

# --- 4. Report -----------------------------------------------------------------------------
# runtest's output without colours or NUL bytes.
clean_log() { sed 's/\x1b\[[0-9;]*m//g' "$1" | tr -d '\000'; }
# Prints "ok failed skipped block_errors done" for a unit's log. `failed` counts the tests
# that failed (`[err]: <name> in tests/unit/x.tcl`); `block_errors` the errors outside tests.
count_unit() {
  local clean
  clean=$(clean_log "$1")
  local ok failed skipped blocks done
  ok=$(grep -c '^\[ok\]: ' <<<"$clean")
  failed=$(grep -cE '^\[err\]: .* in tests/unit/[^ ]*\.tcl$' <<<"$clean")
  blocks=$(grep '^\[err\]: ' <<<"$clean" | grep -cvE '^\[err\]: .* in tests/unit/[^ ]*\.tcl$')
  skipped=$(grep -c '^\[skip\]: ' <<<"$clean")
  done=$(grep -c '^\[[0-9]*/[0-9]* done\]: ' <<<"$clean")
  echo "$ok $failed $skipped $blocks $done"
}

main() {
  local units=("$@")
  [ ${#units[@]} -gt 0 ] || units=("${DEFAULT_UNITS[@]}")
  fetch_suite
  install_binaries
  make_test_certs
  build_skipfile
  local slot
  rm -rf "$LOGS" && mkdir -p "$LOGS"
  for ((slot = 0; slot < JOBS; slot++)); do make_slot_tree "$slot"; done
  local start=$SECONDS
  # A simple pool: JOBS runtests at a time, each on its own port slice.
  local -a slot_pid=() solo=()
  local unit
  for unit in "${units[@]}"; do
    [ -f "$SUITE/tests/$unit.tcl" ] || die "no such unit: $unit"
    if unit_listed unit "$unit"; then
      continue
    fi
    if [[ " ${SOLO_UNITS[*]} " == *" $unit "* ]]; then
      solo+=("$unit")
      continue
    fi
    while :; do
      for ((slot = 0; slot < JOBS; slot++)); do
        local pid=${slot_pid[$slot]:-}
        if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
          run_unit "$unit" "$slot" &
          slot_pid[$slot]=$!
          echo "redis-suite: started $unit ($((SECONDS - start)) s)"
          continue 3
        fi
      done
      sleep 0.5
    done
  done
  wait
  for unit in "${solo[@]}"; do
    echo "redis-suite: started $unit, alone ($((SECONDS - start)) s)"
    run_unit "$unit" 0
  done

  local bad=0 total_ok=0 total_failed=0 total_skipped=0
  printf '\n%-26s %5s %7s %14s  %s\n' unit ok failed known-failing status
  for unit in "${units[@]}"; do
    if unit_listed unit "$unit"; then
      printf '%-26s %5s %7s %14s  %s\n' "$unit" - - all "not run: $(listed_reason unit "$unit")"
      continue
    fi
    local log=$LOGS/${unit//\//_}.log rc status
    rc=$(cat "$log.rc" 2>/dev/null || echo 1)
    read -r ok failed skipped blocks done < <(count_unit "$log")
    status=ok
    if [ "$blocks" -gt 0 ] && ! unit_listed blocks "$unit"; then
      failed=$((failed + blocks))
    fi
    if [ "$failed" -gt 0 ]; then
      status=FAILED
      bad=1
    elif [ "$done" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; }; then
      # rc 1 is runtest's answer when an error was reported; anything else, or no "done"
      # line, means the unit did not finish (exception, crash, timeout).
      status="DID NOT FINISH (rc=$rc)"
      bad=1
    elif [ "$rc" -ne 0 ] && [ "$blocks" -eq 0 ]; then
      status="runtest exited $rc"
      bad=1
    fi
    if [ "$blocks" -gt 0 ] && unit_listed blocks "$unit"; then
      status="$status ($blocks errors outside tests, as listed: $(listed_reason blocks "$unit"))"
    fi
    printf '%-26s %5d %7d %14d  %s\n' "$unit" "$ok" "$failed" "$skipped" "$status"
    total_ok=$((total_ok + ok))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
  done
  printf '%-26s %5d %7d %14d  (%d s)\n' total "$total_ok" "$total_failed" "$total_skipped" $((SECONDS - start))
  if [ "$bad" -ne 0 ]; then
    echo
    echo "Failures not in tests/redis-suite-known-failures.txt (logs: $LOGS):"
    for unit in "${units[@]}"; do
      local log=$LOGS/${unit//\//_}.log
      [ -f "$log" ] || continue
      local blocks_ok=0
      unit_listed blocks "$unit" && blocks_ok=1
      clean_log "$log" | awk -v blocks_ok=$blocks_ok -v unit="$unit" '
        /^\[err\]: .* in tests\/unit\/[^ ]*\.tcl$/ { print "  " unit ": " $0; next }
        /^\[err\]: / { if (!blocks_ok) print "  " unit ": " $0; next }
        /^\[(exception|TIMEOUT)\]|IN PROGRESS/ { print "  " unit ": " $0 }'
    done
    return 1
  fi
  return 0
}

main "$@"
