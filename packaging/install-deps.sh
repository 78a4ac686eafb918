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
  # the status page test renders the admin endpoint's page in a real browser (headless)
  chromium
  # sanitizer builds (tests/sanitize.sh: clang builds them 2-3x faster than gcc) and fuzzing
  clang libclang-rt-dev
  # packaging: dpkg-shlibdeps and file for cpack's Depends, systemd-analyze to verify the unit
  # (without systemd as init, installing systemd starts nothing)
  dpkg-dev file systemd
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The redis-server and memcached packages start system services; the tests run their own.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now redis-server memcached nutcracker >/dev/null 2>&1 || true
  fi
fi

# promtool checks the admin endpoint's /metrics in the tests. Debian ships it only inside the
# prometheus package, whose installation would also set up and start a Prometheus server, so
# promtool alone is taken out of the package file.
if ! command -v promtool >/dev/null 2>&1; then
  download=$(mktemp -d)
  trap 'rm -rf "$download"' EXIT
  chmod 755 "$download"  # apt's download sandbox user must be able to write there
  if ! (cd "$download" && apt-get download -qq prometheus 2>/dev/null); then
    $sudo apt-get update -qq
    (cd "$download" && apt-get download -qq prometheus)
  fi
  dpkg-deb -x "$download"/prometheus_*.deb "$download/files"
  $sudo install -m 0755 "$download/files/usr/bin/promtool" /usr/local/bin/promtool
fi
