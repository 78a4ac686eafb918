#!/usr/bin/env bash
# Hot-key benchmark: how evenly skewed (Zipf) load ends up spread over the backends. Four
# redis-servers sit behind nutcracker and behind shardproxy in several configurations, all with
# the same placement (ketama, fnv1a_64, servers named b1..b4); zipf_load then sends GETs and SETs
# whose keys follow a Zipf distribution through each of them in turn.
#
# For every run it records zipf_load's ops/s, p50 and p99 latency and errors, and how many data
# commands (GET and SET calls in INFO commandstats; the CLIENT, HELLO, PING, CONFIG and INFO that
# proxies and this script send are not counted) each backend executed, its counters reset with
# CONFIG RESETSTAT just before the run (the counts include zipf_load's warm-up). max/mean is the
# busiest backend's count over the mean of the four: 1.00 is a perfect spread, 4.00 everything on
# one backend. It then prints one Markdown table per ZIPF value, plus the command lines, versions
# and host facts.
#
# Every backend is prefilled with every key (zipf_load --load straight to it), so that GETs hit
# whatever server or replica a target picks.
#
# Targets (TARGETS):
#   nutcracker  ketama, fnv1a_64, the four backends as "127.0.0.1:PORT:1 bN"
#   plain       shardproxy, [proxy] workers = 2, the same placement as nutcracker
#   near_cache  plain + [pool.main.hotkey] near_cache = true, coalesce = false, spread_replicas = false
#   coalesce    plain + [pool.main.hotkey] near_cache = false, coalesce = true, spread_replicas = false
#   spread      plain + replicas = 2 and [pool.main.hotkey] spread_replicas = true (the others false)
#   all         plain + replicas = 2 and [pool.main.hotkey] with all three true
#   all_r1      plain + [pool.main.hotkey] with all three true (replicas = 1)
# A shardproxy configuration that shardproxy refuses (shardproxy --check) stops the script with
# shardproxy's messages.
#
# Usage: tests/bench/hotkey_bench.sh     (from anywhere; first brings build/shardproxy and
#                                         build/tests/bench/zipf_load up to date)
#        TARGETS="plain nutcracker" DURATION=5 tests/bench/hotkey_bench.sh
#
# Environment (defaults in brackets):
#   ZIPF          ["0.99 1.5"]  Zipf exponents, one table each (0 means uniform)
#   READ_RATIO    [0.9]      share of GETs (the rest are SETs)
#   WRITE_KEYS    [zipf]     how SETs pick keys: zipf (as GETs do) or uniform
#   KEYS          [100000]   number of keys
#   VALUE_SIZE    [100]      value size in bytes
#   CONNECTIONS   [50]       zipf_load connections
#   PIPELINE      [1]        requests in flight per connection
#   LOAD_THREADS  [1]        zipf_load event-loop threads
#   DURATION      [10]       measured seconds per run
#   WARMUP        [1]        seconds of load before each measurement
#   TARGETS       ["nutcracker plain near_cache coalesce spread all"]  which targets, in that
#                            order (all_r1 is only run when asked for)
#   BACKEND_CPU   [unset]    cap every redis-server at this percentage of one CPU (1-100) with a
#                            cgroup of its own (cgroup v1 or v2 cpu controller; needs root). On
#                            a shared 2-CPU machine the load generator, the proxy and the four
#                            servers compete for the same CPUs, so a hot server is never the
#                            limit; capping the servers makes each one a fixed capacity, as a
#                            production server is, so that throughput shows whether the busiest
#                            one saturates.
#   HOTKEY_EXTRA  [unset]    lines appended to every [pool.main.hotkey] section, with \n for a
#                            newline: HOTKEY_EXTRA='min_rate = 50\nttl_ms = 500'
#   REPEAT        [1]        rounds; with REPEAT>1 every number is the median over rounds.
#                            Targets are interleaved within a round (and their order rotated
#                            from round to round) so that background noise spreads evenly.
#   RUN_TIMEOUT   [DURATION + WARMUP + 60]  seconds one zipf_load run may take before it is killed
#   MAX_SECONDS   [1800]     no new run starts after this many seconds; the tables then show
#                            what was measured
#   RAW_CSV       [unset]    if set, also write every individual run to this file
#   REV           [unset]    benchmark this git revision's shardproxy instead of the working
#                            tree's: it is exported with git archive to a temporary directory and
#                            built there (zipf_load still comes from ZIPF_LOAD)
#   SKIP_BUILD    [unset]    if set, do not run cmake --build for the default binaries
#   SHARDPROXY    [build/shardproxy]  the shardproxy binary
#   ZIPF_LOAD     [tests/bench/zipf_load in the directory of SHARDPROXY]  the load generator
#   NUTCRACKER, REDIS_SERVER, REDIS_CLI: the other binaries to use
#
# Everything it starts (redis-server, nutcracker, shardproxy, zipf_load) listens on or connects
# to 127.0.0.1 only, on free ports picked at start, and is stopped on exit.
#
# The generic machinery (ports, cleanup, building, medians, the report's common lines) is in
# bench_lib.sh, shared with redis_bench.sh and memcache_bench.sh.

# shellcheck disable=SC2317  # the hooks and run_one are called indirectly
set -euo pipefail

bench_name=hotkey_bench
script_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$script_dir/bench_lib.sh"

# The settings given in the environment, for the command line printed with the results.
capture_env ZIPF READ_RATIO WRITE_KEYS KEYS VALUE_SIZE CONNECTIONS PIPELINE LOAD_THREADS DURATION \
  WARMUP TARGETS BACKEND_CPU HOTKEY_EXTRA REPEAT REV

ZIPF=${ZIPF:-"0.99 1.5"}
READ_RATIO=${READ_RATIO:-0.9}
WRITE_KEYS=${WRITE_KEYS:-zipf}
KEYS=${KEYS:-100000}
VALUE_SIZE=${VALUE_SIZE:-100}
CONNECTIONS=${CONNECTIONS:-50}
PIPELINE=${PIPELINE:-1}
LOAD_THREADS=${LOAD_THREADS:-1}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
TARGETS=${TARGETS:-"nutcracker plain near_cache coalesce spread all"}
BACKEND_CPU=${BACKEND_CPU:-}
HOTKEY_EXTRA=${HOTKEY_EXTRA:-}
REPEAT=${REPEAT:-1}
MAX_SECONDS=${MAX_SECONDS:-1800}
RAW_CSV=${RAW_CSV:-}
SHARDPROXY=${SHARDPROXY:-$repo/build/shardproxy}
# Decided before REV replaces SHARDPROXY: the load generator stays the working tree's.
ZIPF_LOAD=${ZIPF_LOAD:-$(dirname "$SHARDPROXY")/tests/bench/zipf_load}
NUTCRACKER=${NUTCRACKER:-nutcracker}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}

require_positive_int KEYS VALUE_SIZE CONNECTIONS PIPELINE LOAD_THREADS DURATION REPEAT MAX_SECONDS
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a whole number of seconds (got '$WARMUP')"
RUN_TIMEOUT=${RUN_TIMEOUT:-$((DURATION + WARMUP + 60))}
require_positive_int RUN_TIMEOUT
[[ -n $ZIPF ]] || die "ZIPF: no exponent given"
require_each ZIPF '^[0-9]+(\.[0-9]+)?$' 'Zipf exponent'
[[ $READ_RATIO =~ ^(0(\.[0-9]+)?|1(\.0*)?)$ ]] || die "READ_RATIO must be from 0 to 1 (got '$READ_RATIO')"
[[ $WRITE_KEYS == zipf || $WRITE_KEYS == uniform ]] || die "WRITE_KEYS must be zipf or uniform (got '$WRITE_KEYS')"
require_each TARGETS '^(nutcracker|plain|near_cache|coalesce|spread|all|all_r1)$' target
require_commands "$NUTCRACKER" "$REDIS_SERVER" "$REDIS_CLI" timeout
[[ -z $BACKEND_CPU || $BACKEND_CPU =~ ^([1-9][0-9]?|100)$ ]] || die "BACKEND_CPU must be from 1 to 100 (got '$BACKEND_CPU')"

bench_setup         # $work, cleanup on exit
prepare_shardproxy  # SHARDPROXY built (or REV exported and built) and described

# prepare_zipf_load: brings the default zipf_load up to date, as prepare_shardproxy does for
# shardproxy, and makes sure ZIPF_LOAD runs.
prepare_zipf_load() {
  if [[ $ZIPF_LOAD == "$repo/build/tests/bench/zipf_load" && -z ${SKIP_BUILD:-} ]]; then
    note "building zipf_load (cmake --build build --target zipf_load)"
    [[ -f $repo/build/CMakeCache.txt ]] ||
      cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$repo/build" -j"$(nproc)" --target zipf_load >/dev/null
  fi
  [[ -x $ZIPF_LOAD ]] || die "zipf_load binary '$ZIPF_LOAD' is not executable"
}
prepare_zipf_load
start_clock

# ---------------------------------------------------------------------------------------------
# The servers (and the hooks bench_lib.sh calls)

backends=(b1 b2 b3 b4)
declare -A backend_port=()

ready_probe() { redis_answers "$1"; }

write_nutcracker_conf() {  # PORT
  local b
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
EOF
  for b in "${backends[@]}"; do echo "   - 127.0.0.1:${backend_port[$b]}:1 $b"; done
}

# write_shardproxy_conf CONFIG PORT: the TOML of one shardproxy target (see the header).
write_shardproxy_conf() {
  local config=$1 replicas=1 near_cache=false coalesce=false spread_replicas=false b servers=''
  case $config in
    plain) ;;
    near_cache) near_cache=true ;;
    coalesce) coalesce=true ;;
    spread) replicas=2 spread_replicas=true ;;
    all) replicas=2 near_cache=true coalesce=true spread_replicas=true ;;
    all_r1) near_cache=true coalesce=true spread_replicas=true ;;
    *) die "no shardproxy configuration '$config'" ;;
  esac
  for b in "${backends[@]}"; do servers+="${servers:+, }\"127.0.0.1:${backend_port[$b]}:1 $b\""; done
  cat <<EOF
[proxy]
workers = 2
drain_timeout_ms = 0

[[listener]]
name = "bench"
listen = "127.0.0.1:$2"
protocol = "redis"
pool = "main"

[pool.main]
protocol = "redis"
servers = [ $servers ]
hash = "fnv1a_64"
distribution = "ketama"
server_connections = 1
EOF
  ((replicas == 1)) || echo "replicas = $replicas"
  [[ $config == plain ]] && return 0
  cat <<EOF

[pool.main.hotkey]
near_cache = $near_cache
coalesce = $coalesce
spread_replicas = $spread_replicas
EOF
  [[ -z $HOTKEY_EXTRA ]] || printf '%b\n' "$HOTKEY_EXTRA"
}

sp_config_now=''
launch_shardproxy_config() {  # PORT
  write_shardproxy_conf "$sp_config_now" "$1" >"$work/$sp_config_now.toml"
  exec "$SHARDPROXY" -c "$work/$sp_config_now.toml"
}

# start_shardproxy CONFIG: one shardproxy target. A configuration shardproxy refuses (as it
# does hotkey keys it does not know) stops the script here with shardproxy's own messages,
# rather than as a server that never came up.
start_shardproxy() {
  local config=$1 check=$work/$1.check.toml
  pick_port
  write_shardproxy_conf "$config" "$picked_port" >"$check"
  "$SHARDPROXY" --check -c "$check" >"$work/$config.check.out" 2>&1 ||
    die "shardproxy refuses the '$config' configuration:"$'\n'"$(cat "$work/$config.check.out")"$'\n'"The configuration ($check):"$'\n'"$(cat -n "$check")"
  sp_config_now=$config
  start_with_retry "shardproxy-$config" launch_shardproxy_config
  add_target "$config" "$started_port" "$started_pid"
}

# ---------------------------------------------------------------------------------------------
# Start everything

# cap_cpu PID NAME: at most BACKEND_CPU % of one CPU for the process, in a cgroup of its own,
# removed on exit.
cpu_cgroups=()
cap_cpu() {
  local dir quota=$((BACKEND_CPU * 1000))
  if [[ -w /sys/fs/cgroup/cpu ]]; then  # cgroup v1
    dir=/sys/fs/cgroup/cpu/$bench_name-$$-$2
    if ! { mkdir "$dir" && echo 100000 >"$dir/cpu.cfs_period_us" && echo "$quota" >"$dir/cpu.cfs_quota_us" &&
      echo "$1" >"$dir/tasks"; }; then
      die "cannot cap $2's CPU in $dir"
    fi
  elif [[ -w /sys/fs/cgroup/cgroup.subtree_control ]]; then  # cgroup v2
    dir=/sys/fs/cgroup/$bench_name-$$-$2
    if ! { mkdir "$dir" && echo "$quota 100000" >"$dir/cpu.max" && echo "$1" >"$dir/cgroup.procs"; }; then
      die "cannot cap $2's CPU in $dir"
    fi
  else
    die "BACKEND_CPU needs a writable cgroup cpu controller (run as root)"
  fi
  cpu_cgroups+=("$dir")
}
remove_cpu_cgroups() {
  local dir
  for dir in "${cpu_cgroups[@]}"; do rmdir "$dir" 2>/dev/null || true; done
}
trap 'cleanup; remove_cpu_cgroups' EXIT

for b in "${backends[@]}"; do
  start_with_retry "redis-$b" launch_redis
  backend_port[$b]=$started_port
  [[ -z $BACKEND_CPU ]] || cap_cpu "$started_pid" "$b"
done

for t in $TARGETS; do
  [[ -z ${target_port[$t]:-} ]] || continue
  if [[ $t == nutcracker ]]; then
    pick_port
    nutcracker_stats_port=$picked_port
    start_with_retry nutcracker launch_nutcracker
    add_target nutcracker "$started_port" "$started_pid"
  else
    start_shardproxy "$t"
  fi
done
select_targets

# ---------------------------------------------------------------------------------------------
# Measurement

load_opts=()
set_load_opts() {  # PORT ZIPF: load_opts = zipf_load's options for one run
  load_opts=(--port "$1" --zipf "$2" --keys "$KEYS" --value-size "$VALUE_SIZE"
    --read-ratio "$READ_RATIO" --write-keys "$WRITE_KEYS" --connections "$CONNECTIONS"
    --pipeline "$PIPELINE" --threads "$LOAD_THREADS" --duration "$DURATION" --warmup "$WARMUP")
}

reset_backend_stats() {
  local b
  for b in "${backends[@]}"; do
    "$REDIS_CLI" -h 127.0.0.1 -p "${backend_port[$b]}" CONFIG RESETSTAT >/dev/null
  done
}

backend_data_calls() {  # BACKEND -> calls of GET plus SET since the last CONFIG RESETSTAT
  "$REDIS_CLI" -h 127.0.0.1 -p "${backend_port[$1]}" INFO commandstats | tr -d '\r' |
    awk -F'[:=,]' '$1 == "cmdstat_get" || $1 == "cmdstat_set" { n += $3 } END { print n + 0 }'
}

# run_one ROUND TARGET ZIPF
run_one() {
  local round=$1 target=$2 zipf=$3 b counts=() kv words=()
  local -A out=()
  set_load_opts "${target_port[$target]}" "$zipf"
  reset_backend_stats
  if ! run_load "$work/run.out" "$ZIPF_LOAD" "${load_opts[@]}"; then
    warnings+=("$target ZIPF=$zipf round $round: zipf_load failed or timed out (its stderr is below)")
    return 0
  fi
  read -ra words <"$work/run.out" || true
  for kv in "${words[@]}"; do out[${kv%%=*}]=${kv#*=}; done
  if [[ -z ${out[ops_per_sec]:-} || -z ${out[errors]:-} ]]; then
    warnings+=("$target ZIPF=$zipf round $round: no result line in zipf_load's output")
    return 0
  fi
  for b in "${backends[@]}"; do counts+=("$(backend_data_calls "$b")"); done
  local max_mean
  max_mean=$(printf '%s\n' "${counts[@]}" |
    awk '{ s += $1; if ($1 > m) m = $1 } END { if (s > 0) printf "%.3f", m / (s / NR); else print "-" }')
  ((out[errors] == 0)) ||
    warnings+=("$target ZIPF=$zipf round $round: ${out[errors]} errors of ${out[ops]} requests")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$target" \
    "$zipf" "${out[ops_per_sec]}" "${out[p50_us]}" "${out[p99_us]}" "${out[errors]}" "${counts[@]}" \
    "$max_mean" "${out[ops]}" "${out[hits]}" "${out[misses]}" "${out[p90_us]}" "${out[p999_us]}" >>"$results"
  note "round $round  $(printf '%-10s ZIPF=%-5s %8s ops/s  p99 %6s us  backends %s  max/mean %s' \
    "$target" "$zipf" "${out[ops_per_sec]}" "${out[p99_us]}" "${counts[*]}" "$max_mean")"
}

begin_measuring  # $results, load average at start

note "prefilling every backend with $KEYS keys"
for b in "${backends[@]}"; do
  run_load /dev/null "$ZIPF_LOAD" --load --port "${backend_port[$b]}" --keys "$KEYS" \
    --value-size "$VALUE_SIZE" || die "prefilling $b failed"
done

for ((round = 1; round <= REPEAT; round++)); do
  for zipf in $ZIPF; do
    run_targets "$round" run_one "$zipf"
    [[ -z $stopped_early ]] || break 2
  done
done
end_measuring

write_raw_csv "round,target,zipf,ops_per_s,p50_us,p99_us,errors,b1,b2,b3,b4,max_mean,ops,hits,misses,p90_us,p999_us"

# ---------------------------------------------------------------------------------------------
# Report

col() {  # TARGET ZIPF COLUMN -> median of that column over rounds
  col_median "$3" 2 "$1" 3 "$2"
}

print_run_header
echo "- nutcracker: $(version_of "$NUTCRACKER" -V); redis-server: $(version_of "$REDIS_SERVER" --version | sed 's/ sha=.*//')"
echo "- Script: \`${env_given}tests/bench/hotkey_bench.sh\` ($elapsed s)"
echo "- Backends: 4 redis-servers b1..b4 (\`--save '' --appendonly no\`), each prefilled with all"
echo "  $KEYS keys by \`zipf_load --load\`. b1..b4 = GET and SET calls each executed during a run"
echo "  (INFO commandstats after CONFIG RESETSTAT; warm-up included); max/mean = the busiest"
echo "  backend's count over the mean (1.00 = even, 4.00 = all on one)."
if [[ -n $BACKEND_CPU ]]; then
  echo "- Every redis-server capped at $BACKEND_CPU % of one CPU (a cgroup each), so that each is a fixed"
  echo "  capacity and the busiest one limits throughput, as in production."
fi
echo "- All targets place keys alike: ketama, fnv1a_64, servers named b1..b4. nutcracker is one"
echo "  thread; shardproxy has \`workers = 2\`, \`server_connections = 1\`."
if [[ -n $HOTKEY_EXTRA ]]; then
  echo "- Appended to every [pool.main.hotkey]: \`$(printf '%b' "$HOTKEY_EXTRA" | paste -sd';' | sed 's/;/; /g')\`"
fi
print_rounds_note

for zipf in $ZIPF; do
  set_load_opts PORT "$zipf"
  echo
  echo "### ZIPF=$zipf"
  echo
  echo "\`zipf_load ${load_opts[*]}\`"
  echo
  echo "| target | ops/s | × plain | p50 µs | p99 µs | errors | b1 | b2 | b3 | b4 | max/mean |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for t in "${targets[@]}"; do
    x_plain='-'
    [[ $t != plain ]] && is_selected plain && x_plain=$(fmt "$(ratio_median 4 "$t" plain 3 "$zipf")" 2)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" \
      "$(fmt "$(col "$t" "$zipf" 4)" 0)" "$x_plain" "$(fmt "$(col "$t" "$zipf" 5)" 0)" \
      "$(fmt "$(col "$t" "$zipf" 6)" 0)" "$(fmt "$(col "$t" "$zipf" 7)" 0)" "$(fmt "$(col "$t" "$zipf" 8)" 0)" \
      "$(fmt "$(col "$t" "$zipf" 9)" 0)" "$(fmt "$(col "$t" "$zipf" 10)" 0)" \
      "$(fmt "$(col "$t" "$zipf" 11)" 0)" "$(fmt "$(col "$t" "$zipf" 12)" 2)"
  done
done

print_warnings
print_load_stderr zipf_load
exit 0
