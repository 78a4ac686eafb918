#!/usr/bin/env bash
# Installs everything shardproxy needs to build, test, benchmark and package on Debian 12.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libevent-dev libhiredis-dev libmemcached-dev libhashkit-dev libtomlplusplus-dev doctest-dev
  # tests and benchmarks: the real servers and peers
  redis-server redis-tools memcached libmemcached-tools nutcracker
  # packaging
  dpkg-dev
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The redis-server and memcached packages start system services; the tests run their own.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now redis-server memcached nutcracker >/dev/null 2>&1 || true
fi
