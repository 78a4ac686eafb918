#!/usr/bin/env bash
# Builds shardproxy and the soak in build/ and runs the soak: 10 minutes of checked Redis and
# memcached load while backends are killed and the configuration is reloaded. Arguments go to
# the soak (--seconds N, --kill-every N, --reload-every N, --warmup N, --outage-ms N,
# --replicas 1|2); see tests/soak/README.md. Exits 0 when nothing was lost or mismatched.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${SOAK_BUILD_DIR:-$repo/build}
cmake -S "$repo" -B "$build" >/dev/null  # keeps the build type it has (RelWithDebInfo when new)
cmake --build "$build" -j"$(nproc)" --target shardproxy soak
exec "$build/tests/soak/soak" "$@"
