#!/usr/bin/env bash
# Benchmarks the gRPC runtime on loopback and prints numbers and ratios.
#
#   Benchmarks/grpc/run.sh [REQUESTS] [IDLE_CONNECTIONS]
#
# Release build of sriov-controller and grpc-load (under the shared build
# lock), certificates from certs/make-certs.sh in a temporary directory, then:
#   1. h2load unary health checks, -c 8 -m 32, h2c and TLS without client auth
#      (h2load cannot present a client certificate), against sriov-controller;
#   2. h2load unary 4 KiB responses, same settings, against `grpc-load serve`;
#   3. grpc-load's own mTLS client: calls/s and p50/p99 latency;
#   4. mTLS handshakes/s (a new connection and one health check each);
#   5. idle RSS per mTLS connection of sriov-controller.
# Load generator and server share the machine's cores; compare within one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200000}
IDLE=${2:-2000}

flock /tmp/sriov-swift-build.lock swift build -c release --product sriov-controller >/dev/null
flock /tmp/sriov-swift-build.lock swift build -c release --product grpc-load >/dev/null
BIN=$(swift build -c release --show-bin-path)

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
certs/make-certs.sh "$work" --node bench >/dev/null 2>&1
printf '\x00\x00\x00\x00\x00' >"$work/empty.msg"

# Both starters set PORT (not run in a subshell: they record PIDs).
start_controller() { # name args...
  local name=$1; shift
  "$BIN/sriov-controller" --data-dir "$(mktemp -d "$work/data.XXXXXX")" --listen 127.0.0.1:0 "$@" >/dev/null 2>"$work/$name.log" &
  pids+=($!)
  echo $! >"$work/$name.pid"
  for _ in $(seq 1 100); do
    grep -q "listening on" "$work/$name.log" && break
    sleep 0.05
  done
  PORT=$(grep -o "listening on 127.0.0.1:[0-9]*" "$work/$name.log" | cut -d: -f2)
}

start_blob() { # name mode
  mkfifo "$work/$1.in"
  "$BIN/grpc-load" serve 127.0.0.1:0 "$2" "$work/controller.crt" "$work/controller.key" "$work/ca.crt" \
    <"$work/$1.in" >"$work/$1.out" 2>/dev/null &
  pids+=($!)
  exec {fd}>"$work/$1.in"
  for _ in $(seq 1 100); do
    grep -q serving "$work/$1.out" && break
    sleep 0.05
  done
  PORT=$(awk '{print $2}' "$work/$1.out")
}

h2rate() { # url
  h2load -n "$N" -c 8 -m 32 -d "$work/empty.msg" -H 'content-type: application/grpc' -H 'te: trailers' "$1" 2>&1 |
    awk '/^finished in/ {gsub(",", "", $4); rate=$4} /^status codes/ {ok=$3} END {printf "%.0f %s\n", rate, ok}'
}

tls=(--tls-cert "$work/controller.crt" --tls-key "$work/controller.key")
start_controller h2c --insecure-h2c; p_h2c=$PORT
start_controller tls "${tls[@]}" --no-client-auth; p_tls=$PORT
start_controller mtls "${tls[@]}" --tls-ca "$work/ca.crt"; p_mtls=$PORT
start_blob blobh2c h2c; b_h2c=$PORT
start_blob blobtls tls; b_tls=$PORT

read -r health_h2c ok1 < <(h2rate "http://127.0.0.1:$p_h2c/grpc.health.v1.Health/Check")
read -r health_tls ok2 < <(h2rate "https://127.0.0.1:$p_tls/grpc.health.v1.Health/Check")
read -r blob_h2c ok3 < <(h2rate "http://127.0.0.1:$b_h2c/bench.Bench/Blob4K")
read -r blob_tls ok4 < <(h2rate "https://127.0.0.1:$b_tls/bench.Bench/Blob4K")
echo "h2load -n $N -c 8 -m 32 (2xx responses in parentheses)"
echo "  health check, h2c:             $health_h2c req/s ($ok1)"
echo "  health check, TLS (no mTLS):   $health_tls req/s ($ok2)"
echo "  4 KiB unary, h2c:              $blob_h2c req/s ($ok3)"
echo "  4 KiB unary, TLS (no mTLS):    $blob_tls req/s ($ok4)"

client=("$work/ca.crt" "$work/node-bench.crt" "$work/node-bench.key")
own=$("$BIN/grpc-load" calls "127.0.0.1:$p_mtls" "${client[@]}" 8 32 5)
hs=$("$BIN/grpc-load" handshakes "127.0.0.1:$p_mtls" "${client[@]}" 2000 8)
echo "grpc-load (mTLS, 8 connections x 32 streams, 5 s): $own"
echo "grpc-load: $hs"

mpid=$(cat "$work/mtls.pid")
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$mpid/status")
mkfifo "$work/idle.in"
"$BIN/grpc-load" idle "127.0.0.1:$p_mtls" "${client[@]}" "$IDLE" <"$work/idle.in" >"$work/idle.out" &
pids+=($!)
exec {idlefd}>"$work/idle.in"
for _ in $(seq 1 1200); do
  grep -q idle "$work/idle.out" && break
  sleep 0.05
done
sleep 1
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$mpid/status")
per=$(( (rss1 - rss0) * 1024 / IDLE ))
echo "idle mTLS connections: $IDLE; sriov-controller RSS ${rss0} kB -> ${rss1} kB: $per bytes per connection"
echo "  (10,000 agents: about $(( per * 10000 / 1048576 )) MiB)"

awk -v a="$health_tls" -v b="$health_h2c" -v c="$blob_tls" -v d="$blob_h2c" -v g=170000 'BEGIN {
  printf "ratios: TLS/h2c health %.2f, TLS/h2c 4 KiB %.2f, 4 KiB/health (TLS) %.2f, TLS health / 170k goal %.2f\n", a/b, c/d, c/a, a/g }'
