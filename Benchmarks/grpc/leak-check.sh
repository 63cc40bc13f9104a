#!/usr/bin/env bash
# Memory check of the server over repeated storms of mTLS connections.
#
#   Benchmarks/grpc/leak-check.sh [CONNECTIONS] [ROUNDS]
#
# Starts the release sriov-controller, then ROUNDS (default 5) times opens
# CONNECTIONS (default 1000) mTLS connections with one health check each
# (8 at a time) and closes them, printing the server's RSS after each round.
# A leak shows as RSS growing round after round; a flat line after the
# first round (allocator warm-up) means none. (Valgrind 3.19 crashes on the
# Swift runtime here; object-level leaks are covered by LeakTests.)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000}
ROUNDS=${2:-5}
flock /tmp/sriov-swift-build.lock swift build -c release --product sriov-controller >/dev/null
flock /tmp/sriov-swift-build.lock swift build -c release --product grpc-load >/dev/null
BIN=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill $spid 2>/dev/null || true; rm -rf "$work"' EXIT
certs/make-certs.sh "$work" --node storm >/dev/null 2>&1
"$BIN/sriov-controller" --data-dir "$(mktemp -d "$work/data.XXXXXX")" --listen 127.0.0.1:0 --threads 2 --tls-cert "$work/controller.crt" \
  --tls-key "$work/controller.key" --tls-ca "$work/ca.crt" 2>"$work/server.log" &
spid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/server.log" && break
  sleep 0.05
done
port=$(grep -o "listening on 127.0.0.1:[0-9]*" "$work/server.log" | cut -d: -f2)
echo "start: RSS $(awk '/VmRSS/ {print $2}' /proc/$spid/status) kB"
for r in $(seq 1 "$ROUNDS"); do
  "$BIN/grpc-load" handshakes "127.0.0.1:$port" "$work/ca.crt" "$work/node-storm.crt" "$work/node-storm.key" "$N" 8 >"$work/round.txt"
  sleep 1
  echo "round $r: $(cat "$work/round.txt"); RSS $(awk '/VmRSS/ {print $2}' /proc/$spid/status) kB, fds $(ls /proc/$spid/fd | wc -l)"
done
