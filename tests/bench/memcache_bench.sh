#!/usr/bin/env bash
# Proxy-overhead benchmark for memcached clients: memcaslap (libmemcached-tools) against one
# memcached directly, through nutcracker, and through shardproxy (one row per worker count), all
# proxies in front of that SAME single memcached, so the differences are the proxies' own cost.
# The memcached counterpart of redis_bench.sh.
#
# For every run it records memcaslap's ops/s and mean latencies, and the CPU time the proxy and
# memcached spent during the run (utime+stime from /proc/PID/stat, fields 14 and 15), reported
# as CPU microseconds per operation. It then prints a Markdown table per workload with a
# checklist of the targets (shardproxy at least 0.85x direct memcached's ops/s, and no more CPU
# per operation than memcached itself spends in the direct run), plus the command lines,
# versions and host facts, to be pasted into docs/benchmarks.md.
#
# Usage: tests/bench/memcache_bench.sh     (from anywhere; first brings build/shardproxy up to date)
#        REV=HEAD DURATION=8s tests/bench/memcache_bench.sh    (a committed revision)
#
# Environment (defaults in brackets):
#   DURATION      [10s]      length of one memcaslap run (-t; a number with s, m or h)
#   MC_THREADS    [2]        memcaslap threads (-T)
#   CONCURRENCY   [128]      memcaslap connections (-c), memcaslap's own default; a multiple of
#                            MC_THREADS. Each keeps one request in flight, so at low values the
#                            ops/s ratio measures the latency a proxy adds more than its cost
#   SET_RATIO     [0.1]      share of sets (the rest are gets), 0 to 1
#   KEY_SIZE      [32]       key size in bytes, 16 to 250 (memcaslap needs at least 16)
#   VALUE_SIZE    [100]      value size in bytes
#   MULTIGET      [unset]    N >= 2: also run a multi-get workload, memcaslap -d N (a get asks
#                            for N keys at once; every key counts as one operation)
#   MEMCACHED_THREADS [2]    memcached worker threads (-t)
#   SP_WORKERS    ["1 2"]    shardproxy [proxy] workers; one shardproxy (and row) per value
#   TARGETS       [all]      subset of: direct nutcracker shardproxy-w<N> ...
#   REPEAT        [3]        rounds; every number is the median over rounds. Targets are
#                            interleaved within a round (and their order rotated from round to
#                            round) so that background noise spreads evenly.
#   RUN_TIMEOUT   [DURATION + 60 s]  seconds one memcaslap run may take before it is killed
#   MAX_SECONDS   [600]      no new run starts after this many seconds; the table then shows
#                            what was measured
#   RAW_CSV       [unset]    if set, also write every individual run to this file
#   REV           [unset]    benchmark this git revision instead of the working tree: it is
#                            exported with git archive to a temporary directory and built there
#                            (RelWithDebInfo), so edits in progress do not leak into the numbers
#   SKIP_BUILD    [unset]    if set, do not run cmake --build for the default shardproxy binary
#   SHARDPROXY, NUTCRACKER, MEMCACHED, MEMCASLAP: the binaries to use
#
# Everything it starts (memcached, nutcracker, shardproxy, memcaslap) listens on or connects to
# 127.0.0.1 only, on free ports picked at start, and is stopped on exit.
#
# The generic machinery (ports, cleanup, building, CPU accounting, medians, the report's common
# lines) is in bench_lib.sh, shared with redis_bench.sh.

# shellcheck disable=SC2317  # the hooks and run_one are called indirectly
set -euo pipefail

bench_name=memcache_bench
script_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$script_dir/bench_lib.sh"

# The settings given in the environment, for the command line printed with the results.
capture_env DURATION MC_THREADS CONCURRENCY SET_RATIO KEY_SIZE VALUE_SIZE MULTIGET \
  MEMCACHED_THREADS SP_WORKERS TARGETS REPEAT REV

DURATION=${DURATION:-10s}
MC_THREADS=${MC_THREADS:-2}
CONCURRENCY=${CONCURRENCY:-128}
SET_RATIO=${SET_RATIO:-0.1}
KEY_SIZE=${KEY_SIZE:-32}
VALUE_SIZE=${VALUE_SIZE:-100}
MULTIGET=${MULTIGET:-}
MEMCACHED_THREADS=${MEMCACHED_THREADS:-2}
SP_WORKERS=${SP_WORKERS:-"1 2"}
REPEAT=${REPEAT:-3}
MAX_SECONDS=${MAX_SECONDS:-600}
RAW_CSV=${RAW_CSV:-}
SHARDPROXY=${SHARDPROXY:-$repo/build/shardproxy}
NUTCRACKER=${NUTCRACKER:-nutcracker}
MEMCACHED=${MEMCACHED:-memcached}
MEMCASLAP=${MEMCASLAP:-memcaslap}

[[ $DURATION =~ ^([1-9][0-9]*)([smh])$ ]] ||
  die "DURATION must be a positive number followed by s, m or h (got '$DURATION')"
case ${BASH_REMATCH[2]} in
  s) duration_s=${BASH_REMATCH[1]} ;;
  m) duration_s=$((BASH_REMATCH[1] * 60)) ;;
  h) duration_s=$((BASH_REMATCH[1] * 3600)) ;;
esac
RUN_TIMEOUT=${RUN_TIMEOUT:-$((duration_s + 60))}

require_positive_int MC_THREADS CONCURRENCY KEY_SIZE VALUE_SIZE MEMCACHED_THREADS REPEAT \
  RUN_TIMEOUT MAX_SECONDS
require_each SP_WORKERS '^[1-9][0-9]*$' 'worker count'
((CONCURRENCY % MC_THREADS == 0)) ||
  die "CONCURRENCY ($CONCURRENCY) must be a multiple of MC_THREADS ($MC_THREADS)"
((KEY_SIZE >= 16 && KEY_SIZE <= 250)) || die "KEY_SIZE must be from 16 to 250 (got $KEY_SIZE)"
((RUN_TIMEOUT > duration_s)) || die "RUN_TIMEOUT ($RUN_TIMEOUT s) must exceed DURATION ($DURATION)"
[[ $SET_RATIO =~ ^(0(\.[0-9]*)?|1(\.0*)?|\.[0-9]+)$ ]] ||
  die "SET_RATIO must be a number from 0 to 1 (got '$SET_RATIO')"
[[ -z $MULTIGET || $MULTIGET =~ ^[1-9][0-9]*$ ]] ||
  die "MULTIGET must be a number of keys (got '$MULTIGET')"
# The workloads, by the number of keys memcaslap asks for in one get (-d): 1 = single gets.
workloads=(1)
[[ -n $MULTIGET ]] && ((MULTIGET > 1)) && workloads+=("$MULTIGET")
require_commands "$NUTCRACKER" "$MEMCACHED" "$MEMCASLAP" timeout getconf

bench_setup         # $work, cleanup on exit
prepare_shardproxy  # SHARDPROXY built (or REV exported and built) and described
start_clock

# ---------------------------------------------------------------------------------------------
# Talking to memcached (and to the proxies in front of it) from bash

# mc_talk PORT REQUEST: sends REQUEST (with its \r\n) and prints the reply's lines, CR removed,
# up to END, STORED, VERSION or an error line. Prints nothing if the port does not answer.
mc_talk() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf '%s' "$2" >&3
    while IFS= read -r -t 2 line <&3; do
      line=${line%$'\r'}
      printf '%s\n' "$line"
      case $line in END | STORED | VERSION* | *ERROR*) break ;; esac
    done
  ) 2>/dev/null || true
}

ready_probe() {  # PORT answers "version"
  [[ $(mc_talk "$1" $'version\r\n') == VERSION* ]]
}

backend_ops() {  # gets (keys) + sets memcached has executed so far (cmd_get + cmd_set)
  mc_talk "$memcached_port" $'stats\r\n' |
    awk '$2 == "cmd_get" || $2 == "cmd_set" { n += $3 } END { print n + 0 }'
}

# ---------------------------------------------------------------------------------------------
# The servers (and the hooks bench_lib.sh calls)

memcached_args=(-U 0 -l 127.0.0.1 -p PORT -t "$MEMCACHED_THREADS" -m 256)
((EUID == 0)) && memcached_args+=(-u root)  # memcached refuses to run as root without it
launch_memcached() {
  exec "$MEMCACHED" "${memcached_args[@]/#PORT/$1}"
}

# memcache is nutcracker's default protocol (it refuses "memcache: true").
write_nutcracker_conf() {  # PORT
  cat <<EOF
bench:
  listen: 127.0.0.1:$1
  hash: fnv1a_64
  distribution: ketama
  server_connections: 1
  auto_eject_hosts: false
  timeout: 1000
  servers:
   - 127.0.0.1:$memcached_port:1 m1
EOF
}

# memcaslap's keys begin with binary bytes (control characters), which memcached accepts but
# shardproxy refuses unless the listener has key_rules = "memcached"; revisions without that
# setting are still measured, with a warning (their rows then count refused commands).
sp_key_rules=''
write_shardproxy_conf() {  # PORT WORKERS
  cat <<EOF
[proxy]
workers = $2
drain_timeout_ms = 0

[[listener]]
name = "bench"
listen = "127.0.0.1:$1"
protocol = "memcache"
pool = "main"
$sp_key_rules

[pool.main]
protocol = "memcache"
servers = [ "127.0.0.1:$memcached_port" ]
server_connections = 1
EOF
}

# ---------------------------------------------------------------------------------------------
# Start everything

start_with_retry memcached launch_memcached
memcached_pid=$started_pid memcached_port=$started_port
add_target direct "$memcached_port" ''

sp_key_rules='key_rules = "memcached"'
write_shardproxy_conf 1 1 >"$work/key_rules_check.toml"
if ! "$SHARDPROXY" --check -c "$work/key_rules_check.toml" >"$work/key_rules_check.out" 2>&1; then
  sp_key_rules=''
  warnings+=("shardproxy does not accept key_rules = \"memcached\" ($(head -n 1 "$work/key_rules_check.out")): it refuses memcaslap's keys, so its rows measure error replies")
  note "${warnings[-1]}"
fi

start_proxies  # nutcracker, shardproxy-w<N> for every N in SP_WORKERS
select_targets

# Every target must read back what was written through it.
for t in "${targets[@]}"; do
  port=${target_port[$t]}
  got=$(mc_talk "$port" "set bench:check:$t 0 0 ${#t}"$'\r\n'"$t"$'\r\n')
  [[ $got == STORED ]] || die "$t: set answered '$got'"
  got=$(mc_talk "$port" "get bench:check:$t"$'\r\n')
  [[ $got == "VALUE bench:check:$t 0 ${#t}"$'\n'"$t"$'\nEND' ]] ||
    die "$t: get after set answered '$got'"
done

# ---------------------------------------------------------------------------------------------
# Measurement

get_ratio=$(awk -v s="$SET_RATIO" 'BEGIN { printf "%g", 1 - s }')
mc_cfg=$work/memcaslap.cfg
cat >"$mc_cfg" <<EOF
key
$KEY_SIZE $KEY_SIZE 1
value
$VALUE_SIZE $VALUE_SIZE 1
cmd
0 $SET_RATIO
1 $get_ratio
EOF

# mc_args PORT MULTIGET [TIME]: mc_argv = the memcaslap command line. -S (statistics once per
# run) makes it print the mean latencies; -F is always given, else memcaslap writes to $HOME.
mc_argv=()
mc_args() {
  local time=${3:-$DURATION}
  mc_argv=("$MEMCASLAP" -s "127.0.0.1:$1" -F "$mc_cfg" -t "$time" -T "$MC_THREADS"
           -c "$CONCURRENCY")
  [[ -z ${3:-} ]] && mc_argv+=(-S "$time")
  (($2 > 1)) && mc_argv+=(-d "$2")
  return 0
}

mc_run() {  # OUTFILE PORT MULTIGET [TIME]: one memcaslap run (run_load), HOME kept in $work
  mc_args "$2" "$3" "${4:-}"
  run_load "$1" env HOME="$work" "${mc_argv[@]}"
}

workload_name() {  # MULTIGET
  if (($1 > 1)); then echo "multi-get of $1 keys"; else echo "get/set"; fi
}

# run_one ROUND TARGET MULTIGET
run_one() {
  local round=$1 target=$2 mg=$3
  local port=${target_port[$target]} ppid=${target_pid[$target]}
  local what
  what="$target $(workload_name "$mg") round $round"
  local b0 m0 p0=0 c0 b1 m1 p1=0 c1
  b0=$(backend_ops)
  c0=$(children_ticks)
  m0=$(cpu_ticks "$memcached_pid")
  [[ -n $ppid ]] && p0=$(cpu_ticks "$ppid")
  if ! mc_run "$work/run.out" "$port" "$mg"; then
    warnings+=("$what: memcaslap failed or timed out")
    return 0
  fi
  m1=$(cpu_ticks "$memcached_pid")
  [[ -n $ppid ]] && p1=$(cpu_ticks "$ppid")
  c1=$(children_ticks)
  b1=$(backend_ops)
  # "Run time: 8.0s Ops: 267392 TPS: 53470 Net_rate: 9.6M/s"; "get_misses: 0"; and the mean
  # latencies of all commands: "Total Statistics (N events)" then "   Avg:  474", "   Geo: 189.77".
  local row ops tps avg geo misses
  row=$(tr -d '\r' <"$work/run.out" | awk '
    $1 == "Run" && $2 == "time:" && $4 == "Ops:" && $6 == "TPS:" { ops = $5; tps = $7 }
    $1 == "get_misses:" { misses = $2 }
    /^Total Statistics \(/ { total = 1 }
    total && $1 == "Avg:" { avg = $2 }
    total && $1 == "Geo:" { geo = $2; total = 0 }
    END { print (ops == "" ? "-" : ops), (tps == "" ? "-" : tps), (avg == "" ? "-" : avg),
                (geo == "" ? "-" : geo), (misses == "" ? 0 : misses) }')
  read -r ops tps avg geo misses <<<"$row"
  if [[ ! $ops =~ ^[0-9]+$ || ! $tps =~ ^[0-9.]+$ ]] || ((ops == 0)); then
    warnings+=("$what: no \"Run time: ... Ops: ... TPS: ...\" line with operations in memcaslap's output")
    return 0
  fi
  # memcaslap prints a line for every error reply ("<12 CLIENT_ERROR ...") and failure.
  local errors
  errors=$(grep -aciE 'error|fail|unexpected|refused|reset|timed? ?out' "$work/run.out" || true)
  if ((errors > 0)); then
    warnings+=("$what: $errors error lines from memcaslap, such as '$(grep -aiE -m1 'error|fail|unexpected|refused|reset|timed? ?out' "$work/run.out" | tr -d '\r')'")
  fi
  ((misses > 0)) && warnings+=("$what: $misses get misses")
  # The backend must have executed (about) every operation; a proxy answering errors would
  # otherwise look fast. memcached counts every key of a multi-get in cmd_get, as memcaslap
  # counts it in Ops; memcaslap's own warm-up sets only add to the backend's count.
  local seen=$((b1 - b0))
  if ((seen < ops * 99 / 100)); then
    warnings+=("$what: memcached executed $seen gets and sets for memcaslap's $ops operations")
  fi
  local proxy_cpu_us='-' mc_cpu_us client_cpu_us
  mc_cpu_us=$(us_per_req $((m1 - m0)) "$ops")
  client_cpu_us=$(us_per_req $((c1 - c0)) "$ops")
  [[ -n $ppid ]] && proxy_cpu_us=$(us_per_req $((p1 - p0)) "$ops")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$target" "$mg" "$ops" \
    "$tps" "$avg" "$geo" "$proxy_cpu_us" "$mc_cpu_us" "$client_cpu_us" "$misses" "$errors" \
    >>"$results"
  note "round $round  $(printf '%-14s d=%-3s %9s ops/s avg %6s us  CPU us/op: proxy %6s memcached %6s client %6s' \
    "$target" "$mg" "$tps" "$avg" "$proxy_cpu_us" "$mc_cpu_us" "$client_cpu_us")"
}

begin_measuring  # $results, load average at start

# Warm every target up (connections made, code and caches hot); memcaslap stores its own keys
# before it gets them, so nothing needs to be filled in first.
note "warming up"
for t in "${targets[@]}"; do
  mc_run /dev/null "${target_port[$t]}" 1 1s || die "warm-up through $t failed"
done

for ((round = 1; round <= REPEAT; round++)); do
  for mg in "${workloads[@]}"; do
    run_targets "$round" run_one "$mg"
    [[ -z $stopped_early ]] || break 2
  done
done
end_measuring

write_raw_csv "round,target,multiget,ops,ops_per_s,avg_us,geo_mean_us,proxy_cpu_us_per_op,memcached_cpu_us_per_op,client_cpu_us_per_op,get_misses,error_lines"

# ---------------------------------------------------------------------------------------------
# Report

col() {  # TARGET MULTIGET COLUMN -> median of that column over rounds
  col_median "$3" 2 "$1" 3 "$2"
}
ratio() {  # TARGET BASE MULTIGET -> median over rounds of the per-round ops/s ratio
  ratio_median 5 "$1" "$2" 3 "$3"
}
# per_round COLUMN TARGET BASE MULTIGET -> "v1, v2, ..." by round: TARGET's COLUMN, divided by
# BASE's of the same round unless BASE is empty.
per_round() {
  awk -F'\t' -v c="$1" -v t="$2" -v b="$3" -v m="$4" '
    $3 != m { next }
    $2 == t { a[$1] = $c; if ($1 > n) n = $1 }
    b != "" && $2 == b { d[$1] = $c }
    END {
      for (r = 1; r <= n; r++) {
        if (!(r in a)) continue
        if (b == "") v = a[r]; else if ((r in d) && d[r] > 0) v = a[r] / d[r]; else continue
        out = out (out == "" ? "" : ", ") sprintf("%.2f", v)
      }
      print (out == "" ? "-" : out)
    }' "$results"
}
# A "met" check mark: CONDITION (awk, over a and b) on the numbers A and B; '?' if either is '-'.
check() {  # A B CONDITION
  awk -v a="$1" -v b="$2" "BEGIN { if (a == \"-\" || b == \"-\") print \"[?]\";
                                   else if ($3) print \"[x]\"; else print \"[ ]\" }"
}

mc_args PORT 1
mc_line=${mc_argv[*]}
mc_line=${mc_line/#"$MEMCASLAP"/memcaslap}
mc_line=${mc_line/"$mc_cfg"/CFG}
print_run_header
mcaslap_pkg=$(dpkg-query -W -f='${Version}' libmemcached-tools 2>/dev/null || true)
echo "- nutcracker: $(version_of "$NUTCRACKER" -V); memcached: $(version_of "$MEMCACHED" -V); memcaslap: $(version_of "$MEMCASLAP" -V)${mcaslap_pkg:+ (libmemcached-tools $mcaslap_pkg)}"
echo "- Script: \`${env_given}tests/bench/memcache_bench.sh\` ($elapsed s)"
echo "- Backend: \`memcached ${memcached_args[*]}\`, one for every target."
echo "- Each run: \`$mc_line\`$( ((${#workloads[@]} > 1)) && echo ", and with \`-d $MULTIGET\` for the multi-get workload"),"
echo "  CFG = key \`$KEY_SIZE $KEY_SIZE 1\`, value \`$VALUE_SIZE $VALUE_SIZE 1\`, cmd \`0 $SET_RATIO\` (sets) and \`1 $get_ratio\` (gets);"
echo "  PORT = memcached itself (direct), nutcracker, or shardproxy. Each target first gets a 1 s warm-up run."
echo "- All proxies have the same single memcached as their only backend, one connection to it"
echo "  per proxy thread (nutcracker \`server_connections: 1\`, shardproxy \`server_connections = 1\`)."
if [[ -n $sp_key_rules ]]; then
  echo "  shardproxy's listener has \`$sp_key_rules\`: memcaslap's keys start with control bytes."
fi
print_rounds_note
echo "- ops = memcaslap's Ops (a multi-get counts one per key, as memcached's cmd_get does)."
echo "  CPU µs/op = (utime+stime during the run, from /proc/PID/stat) × 10⁶ / ops; the proxy column"
echo "  is the whole proxy process (all threads), the memcached column is memcached's, the client"
echo "  column is memcaslap's (which shares the same CPUs)."
echo "- avg and geo µs: memcaslap's \"Total Statistics\" mean and geometric mean latency per command"
echo "  (a multi-get is one command); memcaslap reports no percentiles, only a log2 histogram."

for mg in "${workloads[@]}"; do
  echo
  if ((mg > 1)); then
    echo "### Multi-get of $mg keys (memcaslap -d $mg), $SET_RATIO sets"
  else
    echo "### Single-key gets and sets, $SET_RATIO sets"
  fi
  echo
  echo "| target | ops/s | × direct | × nutcracker | proxy CPU µs/op | memcached CPU µs/op | client CPU µs/op | avg µs | geo µs |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for t in "${all_targets[@]}"; do
    is_selected "$t" || continue
    x_direct='-' x_nut='-'
    [[ $t != direct ]] && x_direct=$(fmt "$(ratio "$t" direct "$mg")" 2)
    [[ $t != direct && $t != nutcracker ]] && x_nut=$(fmt "$(ratio "$t" nutcracker "$mg")" 2)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(target_label "$t" "memcached direct")" \
      "$(fmt "$(col "$t" "$mg" 5)" 0)" "$x_direct" "$x_nut" "$(fmt "$(col "$t" "$mg" 8)" 2)" \
      "$(fmt "$(col "$t" "$mg" 9)" 2)" "$(fmt "$(col "$t" "$mg" 10)" 2)" \
      "$(fmt "$(col "$t" "$mg" 6)" 0)" "$(fmt "$(col "$t" "$mg" 7)" 0)"
  done

  # The targets, from the medians above.
  echo
  if ! is_selected direct; then
    echo "Targets: not evaluated (direct memcached was not measured)."
    continue
  fi
  direct_ops=$(col direct "$mg" 5)
  direct_cpu=$(col direct "$mg" 9)
  echo "Targets (against direct memcached: $(fmt "$direct_ops" 0) ops/s, memcached $(fmt "$direct_cpu" 2) CPU µs/op):"
  echo
  for t in "${all_targets[@]}"; do
    [[ $t == shardproxy-w* ]] || continue
    is_selected "$t" || continue
    label=$(target_label "$t" '')
    x=$(ratio "$t" direct "$mg")
    x_of_medians=$(awk -v a="$(col "$t" "$mg" 5)" -v b="$direct_ops" \
      'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else print a / b }')
    cpu=$(col "$t" "$mg" 8)
    echo "- $(check "$x" 0.85 'a >= b') $label ops/s ≥ 0.85× direct: $(fmt "$x" 2)× (median of the per-round ratios; rounds: $(per_round 5 "$t" direct "$mg"); ratio of the median ops/s $(fmt "$x_of_medians" 2)×)"
    cpu_x=$(awk -v a="$cpu" -v b="$direct_cpu" \
      'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else print a / b }')
    echo "- $(check "$cpu" "$direct_cpu" 'a <= b') $label CPU per op ≤ memcached's own in the direct run: $(fmt "$cpu" 2) µs against $(fmt "$direct_cpu" 2) µs ($(fmt "$cpu_x" 2)×; rounds: $(per_round 8 "$t" '' "$mg") against $(per_round 9 direct '' "$mg"))"
  done
  if is_selected nutcracker; then
    echo "- For comparison, nutcracker: $(fmt "$(ratio nutcracker direct "$mg")" 2)× direct at $(fmt "$(col nutcracker "$mg" 8)" 2) CPU µs/op."
  fi
done

print_warnings
print_load_stderr memcaslap
exit 0
