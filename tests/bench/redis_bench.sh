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

# shellcheck disable=SC2317  # cleanup and the launch_* functions are called indirectly
set -euo pipefail

# The settings given in the environment, for the command line printed with the results.
env_given=''
for v in REQUESTS_P1 REQUESTS_P16 PIPELINES TESTS CLIENTS VALUE_SIZE KEYSPACE SP_WORKERS TARGETS \
         REPEAT REV; do
  [[ -n ${!v:-} ]] && env_given+="$v=${!v@Q} "
done

script_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)

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

die() { echo "redis_bench: $*" >&2; exit 1; }
note() { echo "redis_bench: $*" >&2; }

for v in REQUESTS_P1 REQUESTS_P16 CLIENTS VALUE_SIZE KEYSPACE REPEAT RUN_TIMEOUT MAX_SECONDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for w in $SP_WORKERS; do [[ $w =~ ^[1-9][0-9]*$ ]] || die "SP_WORKERS: bad worker count '$w'"; done
for p in $PIPELINES; do [[ $p =~ ^[1-9][0-9]*$ ]] || die "PIPELINES: bad depth '$p'"; done
for t in $TESTS; do [[ $t =~ ^[a-z]+$ ]] || die "TESTS: bad test '$t'"; done
for b in "$NUTCRACKER" "$REDIS_SERVER" "$REDIS_BENCHMARK" "$REDIS_CLI" timeout getconf; do
  command -v "$b" >/dev/null || die "'$b' not found"
done

# ---------------------------------------------------------------------------------------------
# Processes, ports, cleanup

work=$(mktemp -d "${TMPDIR:-/tmp}/redis_bench.XXXXXX")
pids=()
cleanup() {
  local pid
  trap - EXIT INT TERM
  set +e
  [[ -n ${bench_pid:-} ]] && kill -TERM "$bench_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# The shardproxy binary, and what it was built from (decided now: the tree may change meanwhile)

git_at() { git -C "$repo" "$@" 2>/dev/null; }
build_type='' built_from=''
if [[ -n ${REV:-} ]]; then
  rev=$(git_at rev-parse --verify --quiet "$REV^{commit}") || die "REV: no commit '$REV'"
  note "exporting $REV with git archive and building it (cmake RelWithDebInfo)"
  mkdir "$work/src"
  git_at archive "$rev" | tar -x -C "$work/src"
  cmake -S "$work/src" -B "$work/src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$work/src/build" -j"$(nproc)" --target shardproxy >/dev/null
  SHARDPROXY=$work/src/build/shardproxy
  build_type=RelWithDebInfo
  built_from="commit $(git_at rev-parse --short "$rev") (exported with git archive)"
elif [[ $SHARDPROXY == "$repo/build/shardproxy" ]]; then
  # The default binary is (re)built first, so that what is measured is the tree's source.
  if [[ -z ${SKIP_BUILD:-} ]]; then
    note "building shardproxy (cmake --build build --target shardproxy)"
    [[ -f $repo/build/CMakeCache.txt ]] ||
      cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$repo/build" -j"$(nproc)" --target shardproxy >/dev/null
  fi
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$repo/build/CMakeCache.txt" 2>/dev/null || true)
  if head=$(git_at rev-parse --short HEAD); then
    built_from="working tree at commit $head"
    git_at diff --quiet HEAD -- . ':!tests/bench' ':!docs' ||
      built_from+=" with uncommitted changes to the source"
    if [[ -n ${SKIP_BUILD:-} ]]; then built_from+=" (SKIP_BUILD: the binary may be older)"; fi
  fi
else
  built_from="the binary given in SHARDPROXY"
fi
[[ -x $SHARDPROXY ]] || die "shardproxy binary '$SHARDPROXY' is not executable"
shardproxy_version=$("$SHARDPROXY" --version 2>&1 | head -n 1)

clk_tck=$(getconf CLK_TCK)
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
t_start=$SECONDS

declare -A used_ports=()
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Ports come from below the kernel's ephemeral range, so that no outgoing connection (such as
# redis-benchmark's own) can hold them.
read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768
port_low=10000 port_span=$((ephemeral_low - 10000))
((port_span >= 1000)) || port_low=20000 port_span=20000
picked_port=''
pick_port() {  # sets picked_port (not echoed: used_ports must be updated in this shell)
  local p
  for _ in $(seq 200); do
    p=$((port_low + RANDOM % port_span))
    [[ -n ${used_ports[$p]:-} ]] && continue
    port_in_use "$p" && continue
    used_ports[$p]=1
    picked_port=$p
    return 0
  done
  die "no free port found"
}

# wait_ready PID PORT NAME: waits until PORT answers PING; fails if PID died.
wait_ready() {
  local pid=$1 port=$2 name=$3
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $("$REDIS_CLI" -h 127.0.0.1 -p "$port" PING 2>/dev/null) == PONG ]] && return 0
    sleep 0.05
  done
  note "$name on port $port did not answer PING in 10 s"
  return 1
}

# start_with_retry NAME LAUNCHER: picks a port and runs "LAUNCHER PORT" in the background
# (it writes its config and execs the server), retrying with another port if it does not come up
# (another test may have taken the port meanwhile). Sets started_pid and started_port.
started_pid='' started_port=''
start_with_retry() {
  local name=$1 launcher=$2 port pid
  for _ in 1 2 3 4 5; do
    pick_port
    port=$picked_port
    "$launcher" "$port" >"$work/$name.out" 2>&1 &
    pid=$!
    pids+=("$pid")
    if wait_ready "$pid" "$port" "$name"; then
      started_pid=$pid started_port=$port
      return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    note "$name did not start on port $port; retrying. Its output:"
    tail -n 5 "$work/$name.out" >&2 || true
  done
  die "$name would not start"
}

launch_redis() {
  exec "$REDIS_SERVER" --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$work" --logfile ''
}

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
launch_nutcracker() {
  write_nutcracker_conf "$1" >"$work/nutcracker.yml"
  exec "$NUTCRACKER" -c "$work/nutcracker.yml" -p "$work/nutcracker.pid" \
    -o "$work/nutcracker.log" -s "$nutcracker_stats_port" -a 127.0.0.1
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
sp_workers_now=1
launch_shardproxy() {
  write_shardproxy_conf "$1" "$sp_workers_now" >"$work/shardproxy-w$sp_workers_now.toml"
  exec "$SHARDPROXY" -c "$work/shardproxy-w$sp_workers_now.toml"
}

# ---------------------------------------------------------------------------------------------
# Start everything

start_with_retry redis launch_redis
redis_pid=$started_pid redis_port=$started_port

declare -A target_port=() target_pid=()
all_targets=(direct nutcracker)
target_port[direct]=$redis_port
target_pid[direct]=''

pick_port
nutcracker_stats_port=$picked_port
start_with_retry nutcracker launch_nutcracker
target_port[nutcracker]=$started_port target_pid[nutcracker]=$started_pid

for w in $SP_WORKERS; do
  sp_workers_now=$w
  start_with_retry "shardproxy-w$w" launch_shardproxy
  all_targets+=("shardproxy-w$w")
  target_port[shardproxy-w$w]=$started_port target_pid[shardproxy-w$w]=$started_pid
done

if [[ -n ${TARGETS:-} ]]; then
  targets=()
  for t in $TARGETS; do
    [[ -n ${target_port[$t]:-} ]] || die "TARGETS: unknown target '$t' (have: ${all_targets[*]})"
    targets+=("$t")
  done
else
  targets=("${all_targets[@]}")
fi

# Every target must read back what was written through it.
for t in "${targets[@]}"; do
  "$REDIS_CLI" -h 127.0.0.1 -p "${target_port[$t]}" SET "bench:check:$t" "ok-$t" >/dev/null
  got=$("$REDIS_CLI" -h 127.0.0.1 -p "${target_port[$t]}" GET "bench:check:$t")
  [[ $got == "ok-$t" ]] || die "$t: GET after SET returned '$got'"
done

# ---------------------------------------------------------------------------------------------
# Measurement

children_ticks() {  # cutime+cstime of this shell (fields 16 and 17): its waited-for descendants
  local s
  s=$(<"/proc/$$/stat")
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $((${14} + ${15}))
}

cpu_ticks() {  # PID -> utime+stime (fields 14 and 15 of /proc/PID/stat), all threads
  local s
  s=$(<"/proc/$1/stat")
  s=${s##*) }   # the command name (field 2) may contain blanks; fields from 3 on follow ") "
  # shellcheck disable=SC2086
  set -- $s
  echo $((${12} + ${13}))
}

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

us_per_req() {  # TICKS REQUESTS
  awk -v d="$1" -v hz="$clk_tck" -v n="$2" 'BEGIN { printf "%.3f", d / hz * 1e6 / n }'
}

# bench_run OUTFILE PORT TEST PIPELINE REQUESTS: runs redis-benchmark (under timeout) in the
# background and waits for it, so that a signal stops the script at once (cleanup kills it).
bench_pid=''
bench_run() {
  local rc=0
  # shellcheck disable=SC2046
  timeout "$RUN_TIMEOUT" $(bench_cmd "$2" "$3" "$4" "$5") >"$1" 2>>"$work/benchmark.err" &
  bench_pid=$!
  wait "$bench_pid" || rc=$?
  bench_pid=''
  return "$rc"
}

results="$work/results.tsv"
: >"$results"
warnings=()

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

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# Fill the key space first so GETs find values (as SETs through any target would leave it),
# then warm every target up (connections made, code and caches hot).
note "prefilling $KEYSPACE keys and warming up"
bench_run /dev/null "$redis_port" set 16 $((KEYSPACE * 5)) || die "prefill failed"
for t in "${targets[@]}"; do
  bench_run /dev/null "${target_port[$t]}" get 1 20000 || die "warm-up through $t failed"
done

stopped_early=''
ntargets=${#targets[@]}
for ((round = 1; round <= REPEAT; round++)); do
  for pipeline in $PIPELINES; do
    for test in $TESTS; do
      for ((i = 0; i < ntargets; i++)); do
        if ((SECONDS - t_start > MAX_SECONDS)); then
          stopped_early="stopped after $((SECONDS - t_start)) s (MAX_SECONDS=$MAX_SECONDS) in round $round"
          break 4
        fi
        run_one "$round" "${targets[$(((i + round - 1) % ntargets))]}" "$test" "$pipeline"
      done
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$((SECONDS - t_start))

[[ -n $RAW_CSV ]] && {
  echo "round,target,test,pipeline,requests,ops_per_s,p50_ms,proxy_cpu_us_per_req,redis_cpu_us_per_req,client_cpu_us_per_req"
  tr '\t' ',' <"$results"
} >"$RAW_CSV"

# ---------------------------------------------------------------------------------------------
# Report

median() {  # values on stdin, one per line; '-' lines ignored
  grep -v '^-$' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "-"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# col TARGET TEST PIPELINE COLUMN -> median of that column over rounds
col() {
  awk -F'\t' -v t="$1" -v x="$2" -v p="$3" -v c="$4" '$2 == t && $3 == x && $4 == p { print $c }' \
    "$results" | median
}
# ratio TARGET BASE TEST PIPELINE -> median over rounds of TARGET's ops/s divided by BASE's in
# the same round (both ran close together, so slow drifts of the machine's load cancel out).
ratio() {
  awk -F'\t' -v t="$1" -v b="$2" -v x="$3" -v p="$4" '
    $3 == x && $4 == p && $2 == t { a[$1] = $6 }
    $3 == x && $4 == p && $2 == b { d[$1] = $6 }
    END { for (r in a) if ((r in d) && d[r] > 0) print a[r] / d[r] }' "$results" | median
}
fmt() {  # NUMBER DECIMALS
  awk -v a="$1" -v d="$2" 'BEGIN { if (a == "-") print "-"; else printf "%.*f", d, a }'
}

version_of() { "$@" 2>&1 | head -n 1; }
echo
echo "## Run"
echo
echo "- Date: $date_start"
echo "- Host: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -sr), load average at start $load_start, at end $load_end"
echo "- shardproxy: $shardproxy_version, ${built_from:-unknown source}, build type ${build_type:-unknown}"
echo "- nutcracker: $(version_of "$NUTCRACKER" -V); redis-server: $(version_of "$REDIS_SERVER" --version | sed 's/ sha=.*//')"
echo "- Script: \`${env_given}tests/bench/redis_bench.sh\` ($elapsed s)"
echo "- Each run: \`$(bench_cmd PORT TEST P REQUESTS | sed "s|^$REDIS_BENCHMARK|redis-benchmark|")\`"
echo "  with TEST in {$(tr ' ' ',' <<<"$TESTS")} (one run per test, so CPU is measured per test), P in {$(tr ' ' ',' <<<"$PIPELINES")},"
printf '  REQUESTS ='
for p in $PIPELINES; do printf ' %s at P%s;' "$(requests_for "$p")" "$p"; done
echo " PORT = redis-server itself (direct), nutcracker, or shardproxy."
echo "- All proxies have the same single redis-server as their only backend, one connection to it"
echo "  per proxy thread (nutcracker \`server_connections: 1\`, shardproxy \`server_connections = 1\`)."
if ((REPEAT > 1)); then
  echo "- Median of $REPEAT rounds; targets interleaved within a round, their order rotated from"
  echo "  round to round. The × columns are the median of the per-round ratios."
else
  echo "- One round; targets interleaved."
fi
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
      [[ " ${targets[*]} " == *" $t "* ]] || continue
      rps=$(col "$t" "$T" "$pipeline" 6)
      label=$t
      [[ $t == shardproxy-w* ]] && label="shardproxy (workers=${t#shardproxy-w})"
      [[ $t == direct ]] && label="redis direct"
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

if [[ -n $stopped_early || ${#warnings[@]} -gt 0 ]]; then
  echo
  [[ -n $stopped_early ]] && echo "- WARNING: $stopped_early"
  for w in "${warnings[@]}"; do echo "- WARNING: $w"; done
fi
[[ -s $work/benchmark.err ]] && { note "redis-benchmark stderr:"; sort -u "$work/benchmark.err" | head -n 20 >&2; }
exit 0
