#!/usr/bin/env bash
# Installs what building and testing need, when it is missing:
#   - Debian packages: the C libraries (nghttp2, OpenSSL, protobuf-c), the proto
#     compilers, pkg-config, openssl, and nghttp2's h2load for benchmarks;
#   - the Python test peers, into .venv/ of the repository (ignored by git).
# Idempotent and quiet when everything is there. Needs root (or sudo) only when
# Debian packages are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libnghttp2-dev libssl-dev libsqlite3-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
              pkg-config openssl zlib1g-dev nghttp2-client etcd-server)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-deps: installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "ensure-deps: need root to install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "ensure-deps: the Swift toolchain (swift) is not on PATH" >&2; exit 1; }

venv=.venv
stamp=$venv/.requirements
if [ ! -x "$venv/bin/python" ] || ! cmp -s scripts/requirements-test.txt "$stamp"; then
  echo "ensure-deps: preparing the Python test peers in $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt "$stamp"
fi
