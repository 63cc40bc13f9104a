#!/usr/bin/env bash
# Leak check of the server over a storm of mTLS connections, under valgrind.
#
#   Benchmarks/grpc/leak-check.sh [CONNECTIONS]
#
# Runs the debug sriov-controller under valgrind --leak-check=full, opens
# CONNECTIONS (default 1000) mTLS connections with one health check each
# (8 at a time), then stops the server with SIGTERM and prints valgrind's
# leak summary. "definitely lost: 0 bytes" is the expected result.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000}
flock /tmp/sriov-swift-build.lock swift build --product sriov-controller >/dev/null
flock /tmp/sriov-swift-build.lock swift build -c release --product grpc-load >/dev/null
DEBUG=$(swift build --show-bin-path)
RELEASE=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill $vpid 2>/dev/null || true; rm -rf "$work"' EXIT
certs/make-certs.sh "$work" --node storm >/dev/null 2>&1
valgrind --leak-check=full --errors-for-leak-kinds=definite --log-file="$work/valgrind.log" \
  "$DEBUG/sriov-controller" --listen 127.0.0.1:0 --threads 2 --tls-cert "$work/controller.crt" \
  --tls-key "$work/controller.key" --tls-ca "$work/ca.crt" 2>"$work/server.log" &
vpid=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$work/server.log" && break
  sleep 0.1
done
port=$(grep -o "listening on 127.0.0.1:[0-9]*" "$work/server.log" | cut -d: -f2)
"$RELEASE/grpc-load" handshakes "127.0.0.1:$port" "$work/ca.crt" "$work/node-storm.crt" "$work/node-storm.key" "$N" 8
kill -TERM $vpid
wait $vpid || true
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable" "$work/valgrind.log"
