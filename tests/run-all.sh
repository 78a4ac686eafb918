#!/usr/bin/env bash
# Installs dependencies, builds with warnings as errors, and runs every test (unit and
# integration against real redis-server and nutcracker processes), then the sanitizer subset
# that fits CI's time (tests/sanitize.sh --ci). ctest arguments apply to the first run only.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHARDPROXY_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j"$(nproc)" "$@")
tests/sanitize.sh --ci
