#!/usr/bin/env bash
# Installs dependencies, builds with warnings as errors, and runs every test (unit and
# integration against real redis-server and nutcracker processes).
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHARDPROXY_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
