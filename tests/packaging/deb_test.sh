#!/usr/bin/env bash
# Usage: deb_test.sh CPACK_CONFIG VERSION
# Builds the .deb into a temporary directory (no package or staging files land in the build tree)
# and checks it as an installer would see it: control data, file list, and the extracted binary,
# configuration and unit run against each other.
set -euo pipefail

cpack_config=$1
version=$2
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then
    echo "ok: $1"
  else
    echo "FAILED: $1"
    failures=$((failures + 1))
  fi
}

# cpack first builds the tree's preinstall target (everything): on the built tree ctest runs in,
# that is only make's up-to-date check.
if ! cpack --config "$cpack_config" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log"
  echo "FAILED: cpack -G DEB"
  exit 1
fi
deb=$work/out/shardproxy_${version}_${arch}.deb
if [ ! -f "$deb" ]; then
  ls -l "$work/out"
  echo "FAILED: cpack made no $(basename "$deb")"
  exit 1
fi
echo "ok: cpack made $(basename "$deb")"

# Control data.
dpkg-deb -I "$deb"
field() { dpkg-deb -f "$deb" "$1"; }
check "Package is shardproxy" test "$(field Package)" = shardproxy
check "Version is $version" test "$(field Version)" = "$version"
check "Architecture is $arch" test "$(field Architecture)" = "$arch"
check "Maintainer is set" test -n "$(field Maintainer)"
check "Description is set" test -n "$(field Description)"
# Depends, one package name a line, versions and alternatives dropped.
depends=$(field Depends | sed -E 's/ *\([^)]*\)//g; s/ *[,|] */\n/g')
depends_on() { grep -qxF -- "$1" <<<"$depends"; }
check "Depends on adduser (postinst)" depends_on adduser
no_dev_depends() { ! grep -q -- '-dev$' <<<"$depends"; }
check "Depends names no -dev package" no_dev_depends

dpkg-deb -e "$deb" "$work/control"
check "conffiles lists the configuration" grep -qx /etc/shardproxy/shardproxy.toml "$work/control/conffiles"
for script in postinst prerm postrm; do
  check "$script is executable" test -x "$work/control/$script"
  check "$script parses" sh -n "$work/control/$script"
done

# File list: exactly these files, owned by root, the binary executable.
expected_files=$(printf '%s\n' \
  ./etc/shardproxy/shardproxy.toml \
  ./lib/systemd/system/shardproxy.service \
  ./usr/bin/shardproxy \
  ./usr/share/doc/shardproxy/README.md \
  ./usr/share/doc/shardproxy/conf/README.md)
contents=$(dpkg-deb -c "$deb")
actual_files=$(awk '$1 ~ /^-/ { print $6 }' <<<"$contents" | sort)
if [ "$actual_files" = "$expected_files" ]; then
  echo "ok: package files are exactly the expected five"
else
  echo "FAILED: package files differ from the expected ones (< expected, > actual):"
  diff <(echo "$expected_files") <(echo "$actual_files") || true
  failures=$((failures + 1))
fi
owned_by_root() { ! awk '$2 != "root/root"' <<<"$contents" | grep -q .; }
check "everything is owned by root/root" owned_by_root
check "the binary is mode 0755" grep -Eq '^-rwxr-xr-x .* \./usr/bin/shardproxy$' <<<"$contents"

# What it installs works: the binary runs, loads the shipped configuration, and the unit is valid.
root=$work/root
dpkg-deb -x "$deb" "$root"
# Every library the binary links must come from a package it depends on.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
needed=$(readelf -d "$root/usr/bin/shardproxy" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
check "the binary links some libraries" test -n "$needed"
for soname in $needed; do
  package=$(dpkg -S "*/$multiarch/$soname" 2>/dev/null | head -n 1 | cut -d: -f1)
  if [ -z "$package" ]; then
    check "some installed package provides $soname" false
    continue
  fi
  check "Depends covers $soname ($package)" depends_on "$package"
done
check "the binary reports version $version" grep -qwF -- "$version" <("$root/usr/bin/shardproxy" --version)
check "the binary accepts the shipped configuration" \
  "$root/usr/bin/shardproxy" --check -c "$root/etc/shardproxy/shardproxy.toml"

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify requires ExecStart's binary to exist: point it at the extracted one. Unknown or
  # misspelt directives are only warnings with exit 0, so any output at all fails the check.
  mkdir "$work/units"
  sed 's|^ExecStart=/usr/bin/shardproxy |ExecStart='"$root"'/usr/bin/shardproxy |' \
    "$root/lib/systemd/system/shardproxy.service" >"$work/units/shardproxy.service"
  check "the unit's ExecStart was pointed at the extracted binary" \
    grep -q "^ExecStart=$root/usr/bin/shardproxy -c /etc/shardproxy/shardproxy.toml$" "$work/units/shardproxy.service"
  if verify_output=$(systemd-analyze verify --man=no "$work/units/shardproxy.service" 2>&1) && [ -z "$verify_output" ]; then
    echo "ok: systemd-analyze verify accepts the unit"
  else
    echo "$verify_output"
    echo "FAILED: systemd-analyze verify"
    failures=$((failures + 1))
  fi
else
  echo "note: systemd-analyze is not installed; the unit was not verified (install Debian's systemd package)"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all package checks passed"
