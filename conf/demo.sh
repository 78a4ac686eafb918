#!/usr/bin/env bash
# The demo: builds shardproxy, starts three local redis-servers (127.0.0.1:7001-7003) and
# shardproxy with conf/demo.toml (127.0.0.1:6380), then shows with redis-cli where keys land
# and that reads through the proxy come back. Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target shardproxy

for port in 7001 7002 7003 6380; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is already in use; stop whatever listens there and retry" >&2
    exit 1
  fi
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for port in 7001 7002 7003; do
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --daemonize no >"$work/redis-$port.log" 2>&1 &
  pids+=($!)
done
build/shardproxy -c conf/demo.toml 2>"$work/shardproxy.log" &
pids+=($!)

for port in 7001 7002 7003 6380; do
  for _ in $(seq 100); do
    redis-cli -p "$port" PING >/dev/null 2>&1 && break
    sleep 0.05
  done
done

echo "== writing 9 keys through shardproxy (127.0.0.1:6380)"
for i in $(seq 1 9); do
  redis-cli -p 6380 SET "user:$i" "name-$i" >/dev/null
done

echo "== where each key landed (asked of each backend directly)"
declare -A names=([7001]=cache-a [7002]=cache-b [7003]=cache-c)
for i in $(seq 1 9); do
  for port in 7001 7002 7003; do
    if [ "$(redis-cli -p "$port" EXISTS "user:$i")" = "1" ]; then
      printf '  user:%s -> %s (127.0.0.1:%s)\n' "$i" "${names[$port]}" "$port"
    fi
  done
done

echo "== reading back through the proxy"
echo "  GET user:1 -> $(redis-cli -p 6380 GET user:1)"
echo "  MGET user:1 user:5 user:9 (one sub-request per backend, merged in key order):"
redis-cli -p 6380 MGET user:1 user:5 user:9 | sed 's/^/    /'
echo "  keys per backend: cache-a $(redis-cli -p 7001 DBSIZE), cache-b $(redis-cli -p 7002 DBSIZE), cache-c $(redis-cli -p 7003 DBSIZE)"
echo "  DBSIZE through the proxy (summed over the pool): $(redis-cli -p 6380 DBSIZE)"
echo "== done; stopping the demo servers"
