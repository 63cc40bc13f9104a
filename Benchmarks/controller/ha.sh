#!/usr/bin/env bash
# The store backends and replica counts side by side, printed as numbers (no
# thresholds), in one run on one machine:
#   sqlite  1 replica   (the default: SQLite in --data-dir, synchronous=FULL)
#   etcd    1 member,  1 replica
#   etcd    3 members, 1 replica
#   etcd    3 members, 3 replicas (clients and agents spread round-robin)
# For each: acknowledged ApplyPolicy/s at concurrency 1 and 16 (through every
# replica), and the push latency of one policy change to AGENTS agents (each
# with its own node certificate and mTLS connection, spread over the
# replicas): time until every agent holds the new generation.
#
#   Benchmarks/controller/ha.sh [AGENTS] [SECONDS]
# Defaults: 1000 agents, 5 s per write run. Release build (under the shared
# build lock); every process it starts is stopped by PID. The etcd members
# are Debian's etcd with their default durability (fsync per commit), on the
# same disk, loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
AGENTS=${1:-1000}
SECONDS_PER_RUN=${2:-5}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
command -v etcd >/dev/null || { echo "ha.sh: etcd is missing (apt-get install etcd-server)" >&2; exit 2; }

flock /tmp/sriov-swift-build.lock swift build -c release --product sriov-controller >/dev/null
flock /tmp/sriov-swift-build.lock swift build -c release --product sriov-controller-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT INT TERM

certs/make-certs.sh "$work/certs" --operator admin --viewer view >/dev/null
"$BIN/sriov-controller-bench" certs "$work/certs" "$AGENTS"

# Starts an etcd cluster of $1 members; sets endpoints.
start_etcd() {
  local n=$1 base=$((20000 + RANDOM % 20000)) cluster="" i
  endpoints=""
  for i in $(seq 0 $((n - 1))); do
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 2 * i + 1))"
  done
  for i in $(seq 0 $((n - 1))); do
    local client=$((base + 2 * i)) peer=$((base + 2 * i + 1))
    etcd --name "m$i" --data-dir "$work/etcd-$base-$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "bench-$n-$base" \
      --log-level error >"$work/etcd-$base-$i.log" 2>&1 &
    pids+=("$!")
    endpoints+="${endpoints:+,}http://127.0.0.1:$client"
  done
}

# Starts replica $1 with store arguments $2...; appends to targets and cpids.
start_controller() {
  local name=$1; shift
  "$BIN/sriov-controller" --listen 127.0.0.1:0 --tls-cert "$work/certs/controller.crt" \
    --tls-key "$work/certs/controller.key" --tls-ca "$work/certs/ca.crt" "$@" 2>"$work/$name.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    if grep -q "sriov-controller ready" "$work/$name.log" 2>/dev/null; then
      targets+="${targets:+,}127.0.0.1:$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/$name.log" | head -1 | sed 's/.*://')"
      cpids+=("$pid")
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/$name.log" >&2
  echo "ha.sh: replica $name did not start" >&2
  exit 1
}

# Runs the writes and the push latency against $targets.
measure() {
  echo "== $1"
  for c in 1 16; do
    "$BIN/sriov-controller-bench" writes "$targets" "$work/certs" "$c" "$SECONDS_PER_RUN"
  done
  "$BIN/sriov-controller-bench" fanout "$targets" "$work/certs" "$AGENTS" "${cpids[0]}"
}

targets=""; cpids=()
mkdir -p "$work/sqlite"
start_controller sqlite --data-dir "$work/sqlite"
measure "sqlite, 1 replica"
stop_all

for setup in "1 1" "3 1" "3 3"; do
  set -- $setup
  members=$1 replicas=$2
  targets=""; cpids=()
  start_etcd "$members"
  prefix="/bench-$members-$replicas/"
  for r in $(seq 1 "$replicas"); do
    start_controller "etcd-$members-$r" --store etcd --etcd-endpoints "$endpoints" --etcd-prefix "$prefix"
  done
  measure "etcd, $members member(s), $replicas replica(s)"
  stop_all
done
