#!/usr/bin/env bash
# Proxy-overhead benchmark: redis-benchmark against one redis-server directly, through
# nutcracker, and through shardproxy (one row per worker count), all proxies in front of that
# SAME single redis-server, so the differences are the proxies' own cost.
#
# For every run it records redis-benchmark's ops/s and p50 latency, and the CPU time the proxy
# and redis-server spent during the run (utime+stime from /proc/PID/stat, fields 14 and 15),
# reported as CPU microseconds per request. It then prints a Markdown table (plus the command
# lines, versions and host facts) that can be pasted into docs/benchmarks.md.
#
# Usage: tests/bench/redis_bench.sh     (from anywhere; first brings build/shardproxy up to date)
#        REV=HEAD REPEAT=3 tests/bench/redis_bench.sh     (a committed revision, median of 3)
#
# Environment (defaults in brackets):
#   REQUESTS_P1   [200000]   requests per redis-benchmark run at pipeline 1
#   REQUESTS_P16  [1000000]  requests per run at pipeline 16
#   PIPELINES     ["1 16"]   pipeline depths (REQUESTS_P<depth> gives each its count,
#                            else REQUESTS_P1 is used)
#   TESTS         ["set get"] redis-benchmark tests, each run (and measured) separately
#   CLIENTS       [50]       redis-benchmark connections (-c)
#   VALUE_SIZE    [64]       value size in bytes (-d)
#   KEYSPACE      [100000]   random key space (-r)
#   SP_WORKERS    ["1 2"]    shardproxy [proxy] workers; one shardproxy (and row) per value
#   TARGETS       [all]      subset of: direct nutcracker shardproxy-w<N> ...
#   REPEAT        [1]        rounds; with REPEAT>1 every number is the median over rounds.
#                            Targets are interleaved within a round (and their order rotated
#                            from round to round) so that background noise spreads evenly.
#   RUN_TIMEOUT   [120]      seconds one redis-benchmark run may take before it is killed
#   MAX_SECONDS   [600]      no new run starts after this many seconds; the table then shows
#                            what was measured
#   RAW_CSV       [unset]    if set, also write every individual run to this file
#   REV           [unset]    benchmark this git revision instead of the working tree: it is
#                            exported with git archive to a temporary directory and built there
#                            (RelWithDebInfo), so edits in progress do not leak into the numbers
#   SKIP_BUILD    [unset]    if set, do not run cmake --build for the default shardproxy binary
#   SHARDPROXY, NUTCRACKER, REDIS_SERVER, REDIS_BENCHMARK, REDIS_CLI: the binaries to use
#
# Everything it starts (redis-server, nutcracker, shardproxy, redis-benchmark) listens on or
# connects to 127.0.0.1 only, on free ports picked at start, and is stopped on exit.
#
# The generic machinery (ports, cleanup, building, CPU accounting, medians, the report's common
# lines) is in bench_lib.sh, shared with memcache_bench.sh.

# shellcheck disable=SC2317  # the hooks and run_one are called indirectly
set -euo pipefail

bench_name=redis_bench
script_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$script_dir/bench_lib.sh"

# The settings given in the environment, for the command line printed with the results.
capture_env REQUESTS_P1 REQUESTS_P16 PIPELINES TESTS CLIENTS VALUE_SIZE KEYSPACE SP_WORKERS \
  TARGETS REPEAT REV

REQUESTS_P1=${REQUESTS_P1:-200000}
REQUESTS_P16=${REQUESTS_P16:-1000000}
PIPELINES=${PIPELINES:-"1 16"}
TESTS=${TESTS:-"set get"}
CLIENTS=${CLIENTS:-50}
VALUE_SIZE=${VALUE_SIZE:-64}
KEYSPACE=${KEYSPACE:-100000}
SP_WORKERS=${SP_WORKERS:-"1 2"}
REPEAT=${REPEAT:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
MAX_SECONDS=${MAX_SECONDS:-600}
RAW_CSV=${RAW_CSV:-}
SHARDPROXY=${SHARDPROXY:-$repo/build/shardproxy}
NUTCRACKER=${NUTCRACKER:-nutcracker}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_BENCHMARK=${REDIS_BENCHMARK:-redis-benchmark}
REDIS_CLI=${REDIS_CLI:-redis-cli}

require_positive_int REQUESTS_P1 REQUESTS_P16 CLIENTS VALUE_SIZE KEYSPACE REPEAT RUN_TIMEOUT \
  MAX_SECONDS
require_each SP_WORKERS '^[1-9][0-9]*$' 'worker count'
require_each PIPELINES '^[1-9][0-9]*$' depth
require_each TESTS '^[a-z]+$' test
require_commands "$NUTCRACKER" "$REDIS_SERVER" "$REDIS_BENCHMARK" "$REDIS_CLI" timeout getconf

bench_setup         # $work, cleanup on exit
prepare_shardproxy  # SHARDPROXY built (or REV exported and built) and described
start_clock

# ---------------------------------------------------------------------------------------------
# The servers (and the hooks bench_lib.sh calls)

ready_probe() { redis_answers "$1"; }

write_nutcracker_conf() {  # PORT
  cat <<EOF
bench:
  listen: 127.0.0.1:$1
  hash: fnv1a_64
  distribution: ketama
  redis: true
  server_connections: 1
  auto_eject_hosts: false
  timeout: 1000
  servers:
   - 127.0.0.1:$redis_port:1 r1
EOF
}

write_shardproxy_conf() {  # PORT WORKERS
  cat <<EOF
[proxy]
workers = $2
drain_timeout_ms = 0

[[listener]]
name = "bench"
listen = "127.0.0.1:$1"
pool = "main"

[pool.main]
servers = [ "127.0.0.1:$redis_port:1 r1" ]
hash = "fnv1a_64"
distribution = "ketama"
server_connections = 1
EOF
}

# ---------------------------------------------------------------------------------------------
# Start everything

start_with_retry redis launch_redis
redis_pid=$started_pid redis_port=$started_port
add_target direct "$redis_port" ''
start_proxies  # nutcracker, shardproxy-w<N> for every N in SP_WORKERS
select_targets

# Every target must read back what was written through it.
for t in "${targets[@]}"; do
  "$REDIS_CLI" -h 127.0.0.1 -p "${target_port[$t]}" SET "bench:check:$t" "ok-$t" >/dev/null
  got=$("$REDIS_CLI" -h 127.0.0.1 -p "${target_port[$t]}" GET "bench:check:$t")
  [[ $got == "ok-$t" ]] || die "$t: GET after SET returned '$got'"
done

# ---------------------------------------------------------------------------------------------
# Measurement

backend_calls() {  # COMMAND -> calls of that command so far in redis-server's commandstats
  "$REDIS_CLI" -h 127.0.0.1 -p "$redis_port" INFO commandstats |
    tr -d '\r' | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0
}

requests_for() {  # PIPELINE
  local v="REQUESTS_P$1"
  echo "${!v:-$REQUESTS_P1}"
}

bench_cmd() {  # PORT TEST PIPELINE REQUESTS
  echo "$REDIS_BENCHMARK" -h 127.0.0.1 -p "$1" -c "$CLIENTS" -n "$4" -d "$VALUE_SIZE" \
    -r "$KEYSPACE" -P "$3" -t "$2" --csv
}

bench_run() {  # OUTFILE PORT TEST PIPELINE REQUESTS: one redis-benchmark run (run_load)
  # shellcheck disable=SC2046
  run_load "$1" $(bench_cmd "$2" "$3" "$4" "$5")
}

# run_one ROUND TARGET TEST PIPELINE
run_one() {
  local round=$1 target=$2 test=$3 pipeline=$4
  local port=${target_port[$target]} ppid=${target_pid[$target]}
  local n
  n=$(requests_for "$pipeline")
  local calls0 r0 p0=0 c0 r1 p1=0 c1 out rps p50 calls1
  calls0=$(backend_calls "$test")
  c0=$(children_ticks)
  r0=$(cpu_ticks "$redis_pid")
  [[ -n $ppid ]] && p0=$(cpu_ticks "$ppid")
  if ! bench_run "$work/run.csv" "$port" "$test" "$pipeline" "$n"; then
    warnings+=("$target $test P$pipeline round $round: redis-benchmark failed or timed out")
    return 0
  fi
  out=$(<"$work/run.csv")
  r1=$(cpu_ticks "$redis_pid")
  [[ -n $ppid ]] && p1=$(cpu_ticks "$ppid")
  c1=$(children_ticks)
  calls1=$(backend_calls "$test")
  local row
  row=$(tr -d '"\r' <<<"$out" | awk -F, -v t="${test^^}" '$1 == t { print $2, $5 }')
  read -r rps p50 <<<"$row"
  if [[ -z ${rps:-} ]]; then
    warnings+=("$target $test P$pipeline round $round: no CSV row in redis-benchmark output")
    return 0
  fi
  # The backend must have executed (about) every request; a proxy answering errors would
  # otherwise look fast. redis-benchmark adds no requests of the tested command.
  local seen=$((calls1 - calls0))
  if ((seen < n * 99 / 100)); then
    warnings+=("$target $test P$pipeline round $round: redis-server executed $seen of $n ${test^^}s")
  fi
  local proxy_cpu_us='-' redis_cpu_us client_cpu_us
  redis_cpu_us=$(us_per_req $((r1 - r0)) "$n")
  client_cpu_us=$(us_per_req $((c1 - c0)) "$n")
  [[ -n $ppid ]] && proxy_cpu_us=$(us_per_req $((p1 - p0)) "$n")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$target" "${test^^}" "$pipeline" \
    "$n" "$rps" "$p50" "$proxy_cpu_us" "$redis_cpu_us" "$client_cpu_us" >>"$results"
  note "round $round  $(printf '%-14s %-3s P%-3s %10s ops/s  CPU us/req: proxy %6s redis %6s client %6s' \
    "$target" "${test^^}" "$pipeline" "$rps" "$proxy_cpu_us" "$redis_cpu_us" "$client_cpu_us")"
}

begin_measuring  # $results, load average at start

# Fill the key space first so GETs find values (as SETs through any target would leave it),
# then warm every target up (connections made, code and caches hot).
note "prefilling $KEYSPACE keys and warming up"
bench_run /dev/null "$redis_port" set 16 $((KEYSPACE * 5)) || die "prefill failed"
for t in "${targets[@]}"; do
  bench_run /dev/null "${target_port[$t]}" get 1 20000 || die "warm-up through $t failed"
done

for ((round = 1; round <= REPEAT; round++)); do
  for pipeline in $PIPELINES; do
    for test in $TESTS; do
      run_targets "$round" run_one "$test" "$pipeline"
      [[ -z $stopped_early ]] || break 3
    done
  done
done
end_measuring

write_raw_csv "round,target,test,pipeline,requests,ops_per_s,p50_ms,proxy_cpu_us_per_req,redis_cpu_us_per_req,client_cpu_us_per_req"

# ---------------------------------------------------------------------------------------------
# Report

col() {  # TARGET TEST PIPELINE COLUMN -> median of that column over rounds
  col_median "$4" 2 "$1" 3 "$2" 4 "$3"
}
ratio() {  # TARGET BASE TEST PIPELINE -> median over rounds of the per-round ops/s ratio
  ratio_median 6 "$1" "$2" 3 "$3" 4 "$4"
}

print_run_header
echo "- nutcracker: $(version_of "$NUTCRACKER" -V); redis-server: $(version_of "$REDIS_SERVER" --version | sed 's/ sha=.*//')"
echo "- Script: \`${env_given}tests/bench/redis_bench.sh\` ($elapsed s)"
echo "- Each run: \`$(bench_cmd PORT TEST P REQUESTS | sed "s|^$REDIS_BENCHMARK|redis-benchmark|")\`"
echo "  with TEST in {$(tr ' ' ',' <<<"$TESTS")} (one run per test, so CPU is measured per test), P in {$(tr ' ' ',' <<<"$PIPELINES")},"
printf '  REQUESTS ='
for p in $PIPELINES; do printf ' %s at P%s;' "$(requests_for "$p")" "$p"; done
echo " PORT = redis-server itself (direct), nutcracker, or shardproxy."
echo "- All proxies have the same single redis-server as their only backend, one connection to it"
echo "  per proxy thread (nutcracker \`server_connections: 1\`, shardproxy \`server_connections = 1\`)."
print_rounds_note
echo "- CPU µs/req = (utime+stime during the run, from /proc/PID/stat) × 10⁶ / requests; the proxy"
echo "  column is the whole proxy process (all threads), the redis column is redis-server's, the"
echo "  client column is redis-benchmark's (which shares the same CPUs)."
echo
echo "| target | test | pipeline | ops/s | × direct | × nutcracker | proxy CPU µs/req | redis CPU µs/req | client CPU µs/req | p50 ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for pipeline in $PIPELINES; do
  for test in $TESTS; do
    T=${test^^}
    for t in "${all_targets[@]}"; do
      is_selected "$t" || continue
      rps=$(col "$t" "$T" "$pipeline" 6)
      label=$(target_label "$t" "redis direct")
      x_direct='-' x_nut='-'
      [[ $t != direct ]] && x_direct=$(fmt "$(ratio "$t" direct "$T" "$pipeline")" 2)
      [[ $t != direct && $t != nutcracker ]] &&
        x_nut=$(fmt "$(ratio "$t" nutcracker "$T" "$pipeline")" 2)
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$T" "$pipeline" \
        "$(fmt "$rps" 0)" "$x_direct" "$x_nut" "$(fmt "$(col "$t" "$T" "$pipeline" 8)" 2)" \
        "$(fmt "$(col "$t" "$T" "$pipeline" 9)" 2)" "$(fmt "$(col "$t" "$T" "$pipeline" 10)" 2)" \
        "$(fmt "$(col "$t" "$T" "$pipeline" 7)" 3)"
    done
  done
done

print_warnings
print_load_stderr redis-benchmark
exit 0
