#!/usr/bin/env bash
# Builds the suite with sanitizers and runs it under them; a failed test or any sanitizer
# report fails the run.
#
#   tests/sanitize.sh [--ci] [address,undefined|thread] [CTEST ARGS...]
#
# address,undefined (the default) is AddressSanitizer, LeakSanitizer and UndefinedBehavior-
# Sanitizer; thread is ThreadSanitizer. The build goes to build-asan or build-tsan (or
# $SANITIZE_BUILD_DIR), with clang when it is installed (it builds sanitized code two to three
# times faster than gcc), at -O1 with line tables for readable stack traces. CTEST ARGS choose
# tests, e.g. `tests/sanitize.sh thread -L integration` for the multi-worker integration tests.
#
# --ci builds and runs only the subset tests/run-all.sh runs, because the whole sanitized suite
# does not fit CI's time: the replay of every fuzz corpus (each codec: RESP and memcached
# requests, Redis, memcached and RESP3 replies, the config loader) and, against a sanitized
# proxy, hostile_clients_test, hostile_backends_test and soak.short (both protocols, two
# workers, servers killed, reloads, replies cut and corrupted by a faulty backend).
#
# Expects the packages of packaging/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

ci=false
if [ "${1:-}" = "--ci" ]; then
  ci=true
  shift
fi
sanitizers=address,undefined
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  sanitizers=$1
  shift
fi
case "$sanitizers" in
  address,undefined) build=${SANITIZE_BUILD_DIR:-build-asan} ;;
  thread) build=${SANITIZE_BUILD_DIR:-build-tsan} ;;
  *) echo "usage: tests/sanitize.sh [--ci] [address,undefined|thread] [CTEST ARGS...]" >&2; exit 2 ;;
esac

compilers=()
if command -v clang++ >/dev/null 2>&1; then compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++); fi
cmake -S . -B "$build" "${compilers[@]}" -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS="-O1 -g1" \
  -DSHARDPROXY_WERROR=ON -DSHARDPROXY_SANITIZE="$sanitizers" >/dev/null

tests=()
if $ci; then
  cmake --build "$build" -j"$(nproc)" --target sanitize_ci  # what the tests below need
  tests=(-R '^(fuzz\.replay\..*|integration\.hostile_clients_test|integration\.hostile_backends_test|soak\.short)$')
else
  cmake --build "$build" -j"$(nproc)"
fi

# The integration tests run the proxy with its stderr in a temporary directory removed
# afterwards, so every process also writes its reports to files here, named by process id. (A
# UBSan report in an address,undefined build goes to stderr only; without recovery it aborts the
# process, which fails its test: the integration tests require the proxy to exit 0 and print its
# log otherwise.)
reports=$(cd "$build" && pwd)/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=1:second_deadlock_stack=1"

status=0
(cd "$build" && ctest --output-on-failure -j"$(nproc)" "${tests[@]}" "$@") || status=$?

if compgen -G "$reports/*" >/dev/null; then
  echo "sanitizer reports:" >&2
  for report in "$reports"/*; do
    echo "== $report" >&2
    cat "$report" >&2
  done
  exit 1
fi
if [ "$status" -ne 0 ]; then exit "$status"; fi
echo "no sanitizer reports ($sanitizers)" >&2
