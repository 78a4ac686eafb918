# shellcheck shell=bash
# The machinery shared by the proxy-overhead benchmarks (redis_bench.sh, memcache_bench.sh).
# Sourced, never run. It holds what does not depend on the protocol: checking settings, the work
# directory and cleanup on exit, building shardproxy (or a REV), free ports on 127.0.0.1,
# starting servers with retries, nutcracker and one shardproxy per worker count in front of the
# backend, CPU time from /proc, running the load generator, rotating targets from round to round,
# medians and ratios over rounds, and the parts of the report that every benchmark prints.
#
# Before sourcing, the script sets:
#   bench_name   its name, for messages and the work directory ("redis_bench")
#   script_dir   the directory of the script (tests/bench); repo is derived from it
# Before calling the functions below that need them, it sets the settings RUN_TIMEOUT,
# MAX_SECONDS, RAW_CSV, SP_WORKERS, SHARDPROXY, NUTCRACKER and defines these hooks:
#   ready_probe PORT                    succeeds once a server listening on PORT answers
#   write_nutcracker_conf PORT          prints nutcracker's YAML: listen on PORT, in front of
#                                       the backend
#   write_shardproxy_conf PORT WORKERS  prints shardproxy's TOML for the same
#
# Conventions: results go to "$results", one tab-separated line per run whose first two columns
# are the round and the target; warnings collects problems to print under the tables.

# shellcheck disable=SC2034  # variables set here are read by the scripts that source this file
# shellcheck disable=SC2154  # ... and the settings and hooks read here are set by those scripts
# shellcheck disable=SC2317  # cleanup and the launch_* functions are called indirectly

repo=$(cd "$script_dir/../.." && pwd)

die() { echo "$bench_name: $*" >&2; exit 1; }
note() { echo "$bench_name: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Settings

# capture_env VAR...: env_given = the variables among VAR that are set (non-empty) in the
# environment, as VAR='value' words, for the command line printed with the results.
env_given=''
capture_env() {
  local v
  for v in "$@"; do
    [[ -n ${!v:-} ]] && env_given+="$v=${!v@Q} "
  done
  return 0
}

require_positive_int() {  # VAR...
  local v
  for v in "$@"; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
  done
}

require_each() {  # VAR REGEX WHAT: every blank-separated word of $VAR matches REGEX
  local x
  for x in ${!1}; do [[ $x =~ $2 ]] || die "$1: bad $3 '$x'"; done
}

require_commands() {  # COMMAND...
  local b
  for b in "$@"; do command -v "$b" >/dev/null || die "'$b' not found"; done
}

# ---------------------------------------------------------------------------------------------
# Processes, cleanup

work='' bench_pid=''
pids=()
# bench_setup: the work directory ($work) and the traps that stop everything started on exit.
bench_setup() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$bench_name.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
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
  [[ -n $work ]] && rm -rf "$work"
}

# ---------------------------------------------------------------------------------------------
# redis-server backends (redis_bench.sh, hotkey_bench.sh), with the settings REDIS_SERVER and
# REDIS_CLI

redis_answers() {  # PORT answers PING
  [[ $("$REDIS_CLI" -h 127.0.0.1 -p "$1" PING 2>/dev/null) == PONG ]]
}

launch_redis() {  # PORT: no persistence, logs to stdout
  exec "$REDIS_SERVER" --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$work" --logfile ''
}

# ---------------------------------------------------------------------------------------------
# The shardproxy binary, and what it was built from (decided now: the tree may change meanwhile)

git_at() { git -C "$repo" "$@" 2>/dev/null; }
build_type='' built_from='' shardproxy_version=''
# prepare_shardproxy: builds REV, or brings the default build/shardproxy up to date (unless
# SKIP_BUILD), and sets SHARDPROXY, shardproxy_version, build_type and built_from.
prepare_shardproxy() {
  local rev head
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
}

clk_tck='' date_start='' t_start=0
start_clock() {  # after building: the elapsed time and MAX_SECONDS count from here
  clk_tck=$(getconf CLK_TCK)
  date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
  t_start=$SECONDS
}

# ---------------------------------------------------------------------------------------------
# Ports, starting servers

declare -A used_ports=()
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Ports come from below the kernel's ephemeral range, so that no outgoing connection (such as
# the load generator's own) can hold them.
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

# wait_ready PID PORT NAME: waits until ready_probe PORT succeeds; fails if PID died.
wait_ready() {
  local pid=$1 port=$2 name=$3
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || return 1
    ready_probe "$port" && return 0
    sleep 0.05
  done
  note "$name on port $port did not answer in 10 s"
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

# ---------------------------------------------------------------------------------------------
# Targets: the backend itself ("direct"), nutcracker, shardproxy-w<N>

declare -A target_port=() target_pid=()
all_targets=() targets=()
add_target() {  # NAME PORT PID (PID empty for the backend itself: no proxy CPU to count)
  all_targets+=("$1")
  target_port[$1]=$2 target_pid[$1]=$3
}

nutcracker_stats_port=''
launch_nutcracker() {
  write_nutcracker_conf "$1" >"$work/nutcracker.yml"
  exec "$NUTCRACKER" -c "$work/nutcracker.yml" -p "$work/nutcracker.pid" \
    -o "$work/nutcracker.log" -s "$nutcracker_stats_port" -a 127.0.0.1
}

sp_workers_now=1
launch_shardproxy() {
  write_shardproxy_conf "$1" "$sp_workers_now" >"$work/shardproxy-w$sp_workers_now.toml"
  exec "$SHARDPROXY" -c "$work/shardproxy-w$sp_workers_now.toml"
}

# start_proxies: nutcracker, then one shardproxy per SP_WORKERS value, each added as a target.
start_proxies() {
  local w
  pick_port
  nutcracker_stats_port=$picked_port
  start_with_retry nutcracker launch_nutcracker
  add_target nutcracker "$started_port" "$started_pid"
  for w in $SP_WORKERS; do
    sp_workers_now=$w
    start_with_retry "shardproxy-w$w" launch_shardproxy
    add_target "shardproxy-w$w" "$started_port" "$started_pid"
  done
}

select_targets() {  # targets = the TARGETS asked for, else all_targets
  local t
  if [[ -n ${TARGETS:-} ]]; then
    targets=()
    for t in $TARGETS; do
      [[ -n ${target_port[$t]:-} ]] || die "TARGETS: unknown target '$t' (have: ${all_targets[*]})"
      targets+=("$t")
    done
  else
    targets=("${all_targets[@]}")
  fi
}

is_selected() {  # TARGET
  [[ " ${targets[*]} " == *" $1 "* ]]
}

target_label() {  # TARGET DIRECT_LABEL
  case $1 in
    direct) echo "$2" ;;
    shardproxy-w*) echo "shardproxy (workers=${1#shardproxy-w})" ;;
    *) echo "$1" ;;
  esac
}

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

us_per_req() {  # TICKS REQUESTS
  awk -v d="$1" -v hz="$clk_tck" -v n="$2" 'BEGIN { printf "%.3f", d / hz * 1e6 / n }'
}

# run_load OUTFILE COMMAND...: runs the load generator (under timeout RUN_TIMEOUT) in the
# background, its stdout to OUTFILE and its stderr appended to $work/load.err, and waits for it,
# so that a signal stops the script at once (cleanup kills it).
run_load() {
  local out=$1 rc=0
  shift
  timeout "$RUN_TIMEOUT" "$@" >"$out" 2>>"$work/load.err" &
  bench_pid=$!
  wait "$bench_pid" || rc=$?
  bench_pid=''
  return "$rc"
}

results='' warnings=() stopped_early=''
load_start='' load_end='' elapsed=0
begin_measuring() {
  results="$work/results.tsv"
  : >"$results"
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
}
end_measuring() {
  load_end=$(cut -d' ' -f1-3 /proc/loadavg)
  elapsed=$((SECONDS - t_start))
}

# run_targets ROUND FUNCTION ARGS...: runs "FUNCTION ROUND TARGET ARGS..." for every selected
# target, in an order rotated by one from round to round, so that no target always runs first.
# Once MAX_SECONDS have passed it runs nothing more and sets stopped_early (callers then stop).
run_targets() {
  local round=$1 fn=$2 i n=${#targets[@]}
  shift 2
  for ((i = 0; i < n; i++)); do
    if ((SECONDS - t_start > MAX_SECONDS)); then
      stopped_early="stopped after $((SECONDS - t_start)) s (MAX_SECONDS=$MAX_SECONDS) in round $round"
      return 0
    fi
    "$fn" "$round" "${targets[$(((i + round - 1) % n))]}" "$@"
  done
}

write_raw_csv() {  # HEADER: every run, as CSV, to RAW_CSV if set
  [[ -n $RAW_CSV ]] || return 0
  {
    echo "$1"
    tr '\t' ',' <"$results"
  } >"$RAW_CSV"
}

# ---------------------------------------------------------------------------------------------
# Report

median() {  # values on stdin, one per line; '-' lines ignored
  { grep -v '^-$' || true; } | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "-"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# col_median COLUMN [FIELD VALUE]... -> median over rounds of COLUMN in the rows of $results
# whose column FIELD is VALUE, for every FIELD VALUE pair.
col_median() {
  local c=$1
  shift
  awk -F'\t' -v c="$c" -v spec="$(IFS=$'\t'; echo "$*")" '
    BEGIN { n = split(spec, s, "\t") }
    { for (i = 1; i < n; i += 2) if ($(s[i]) != s[i + 1]) next; print $c }' "$results" | median
}

# ratio_median COLUMN TARGET BASE [FIELD VALUE]... -> median over rounds of TARGET's COLUMN
# divided by BASE's in the same round (both ran close together, so slow drifts of the machine's
# load cancel out), among the rows that match every FIELD VALUE pair.
ratio_median() {
  local c=$1 t=$2 b=$3
  shift 3
  awk -F'\t' -v c="$c" -v t="$t" -v b="$b" -v spec="$(IFS=$'\t'; echo "$*")" '
    BEGIN { n = split(spec, s, "\t") }
    { for (i = 1; i < n; i += 2) if ($(s[i]) != s[i + 1]) next }
    $2 == t { a[$1] = $c }
    $2 == b { d[$1] = $c }
    END { for (r in a) if ((r in d) && d[r] > 0) print a[r] / d[r] }' "$results" | median
}

fmt() {  # NUMBER DECIMALS
  awk -v a="$1" -v d="$2" 'BEGIN { if (a == "-") print "-"; else printf "%.*f", d, a }'
}

version_of() { "$@" 2>&1 | head -n 1; }

# print_run_header: the "## Run" heading and the date, host and shardproxy lines.
print_run_header() {
  echo
  echo "## Run"
  echo
  echo "- Date: $date_start"
  echo "- Host: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -sr), load average at start $load_start, at end $load_end"
  echo "- shardproxy: $shardproxy_version, ${built_from:-unknown source}, build type ${build_type:-unknown}"
}

print_rounds_note() {  # how the rounds were run, for the list under "## Run"
  if ((REPEAT > 1)); then
    echo "- Median of $REPEAT rounds; targets interleaved within a round, their order rotated from"
    echo "  round to round. The × columns are the median of the per-round ratios."
  else
    echo "- One round; targets interleaved."
  fi
}

print_warnings() {  # stopped_early and warnings, as a list after a blank line (nothing if none)
  local w
  if [[ -n $stopped_early || ${#warnings[@]} -gt 0 ]]; then
    echo
    [[ -n $stopped_early ]] && echo "- WARNING: $stopped_early"
    for w in "${warnings[@]}"; do echo "- WARNING: $w"; done
  fi
  return 0
}

print_load_stderr() {  # NAME: the load generator's distinct stderr lines, if any
  [[ -s $work/load.err ]] || return 0
  note "$1 stderr:"
  sort -u "$work/load.err" | head -n 20 >&2
}
