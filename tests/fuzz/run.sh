#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, AddressSanitizer and UndefinedBehaviorSanitizer, and
# fuzzes each chosen target in turn for SECONDS. See tests/fuzz/README.md.
#
#   tests/fuzz/run.sh [--update-corpus] [SECONDS] [TARGET...]
#
# SECONDS defaults to 60; TARGET to all of them. New interesting inputs go to a scratch corpus
# in the build directory; --update-corpus also merges those that add coverage into
# tests/fuzz/corpus/TARGET. A crash, a failed check, a leak or a hang is a finding: its input is
# kept in the build directory's findings/TARGET/ and the script exits 1 once every target ran.
# The build directory is build-fuzz (ignored by git), or $FUZZ_BUILD_DIR.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
targets_all=(resp_request memcache_request redis_reply memcache_reply resp3_reply config)

usage() {
  echo "usage: tests/fuzz/run.sh [--update-corpus] [SECONDS] [TARGET...]" >&2
  echo "targets: ${targets_all[*]}" >&2
  exit 2
}

update_corpus=false
seconds=60
targets=()
for arg in "$@"; do
  case "$arg" in
    --update-corpus) update_corpus=true ;;
    -h|--help) usage ;;
    *[!0-9]*)
      [[ " ${targets_all[*]} " == *" $arg "* ]] || { echo "unknown target: $arg" >&2; usage; }
      targets+=("$arg") ;;
    *) seconds=$arg ;;
  esac
done
# libFuzzer reads a total time of 0 as no limit at all.
[ "$seconds" -gt 0 ] || usage
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")
build=${FUZZ_BUILD_DIR:-$repo/build-fuzz}

# packaging/install-deps.sh installs clang and its runtimes; this covers a machine set up before.
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    clang++ -x c++ -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then
  echo "installing clang and its libFuzzer runtime (Debian: clang libclang-rt-dev)" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-dev
fi

cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHARDPROXY_FUZZ=ON -DSHARDPROXY_SANITIZE=address,undefined >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

failed=()
for target in "${targets[@]}"; do
  scratch=$build/corpus/$target
  findings=$build/findings/$target
  mkdir -p "$scratch" "$findings"
  echo "== $target: ${seconds}s" >&2
  # Inputs stay far below the codecs' line limits, where results must not depend on how a
  # stream is cut (kSplitInvariantBytes in stream_input.h). The timeout is wall-clock time, so
  # it leaves room for a niced run on a busy machine.
  if ! "$build/tests/fuzz/fuzz_$target" "$scratch" "$repo/tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -max_len=8192 -timeout=60 -print_final_stats=1 \
      -artifact_prefix="$findings/"; then
    failed+=("$target")
    continue
  fi
  if $update_corpus; then
    "$build/tests/fuzz/fuzz_$target" -merge=1 "$repo/tests/fuzz/corpus/$target" "$scratch" 2>/dev/null
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  for target in "${failed[@]}"; do echo "FINDING in $target: $build/findings/$target/" >&2; done
  exit 1
fi
echo "no findings: ${targets[*]}" >&2
