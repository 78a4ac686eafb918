#!/usr/bin/env bash
# Installs dependencies, builds with warnings as errors, and runs every test (unit and
# integration against real redis-server and nutcracker processes), then the sanitizer subset
# that fits CI's time (tests/sanitize.sh --ci). ctest arguments apply to the first run only.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh
# -O2 as the package is built, without debug information: here the time goes to compiling.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DSHARDPROXY_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j"$(nproc)" "$@")
tests/sanitize.sh --ci
