#!/usr/bin/env bash
# Benchmarks of sriov-controller, printed as numbers (no thresholds):
#   fan-out: AGENTS agents (each with its own node certificate, mTLS, an open
#            StreamInventory and a WatchConfig stream); one policy changes
#            every node; time until every agent holds the new generation,
#            controller RSS per agent and CPU;
#   writes:  acknowledged ApplyPolicy/s at 1, 16 and 64 concurrent clients
#            (synchronous=FULL), beside Debian's etcd doing Puts of the same
#            size at the same concurrency with its own durability settings;
#   reads:   GetNodeState/s and ListNodeStates of READ_NODES nodes x 8 PFs,
#            and the controller's memory with them stored.
#
#   Benchmarks/controller/run.sh [AGENTS] [READ_NODES] [SECONDS]
# Defaults: 10000 agents, 5000 nodes, 5 s per write/read run. Release build
# (under the shared build lock); every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
AGENTS=${1:-10000}
READ_NODES=${2:-5000}
SECONDS_PER_RUN=${3:-5}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

flock /tmp/sriov-swift-build.lock swift build -c release --product sriov-controller >/dev/null
flock /tmp/sriov-swift-build.lock swift build -c release --product sriov-controller-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

certs/make-certs.sh "$work/certs" --operator admin --viewer view >/dev/null
n=$(( AGENTS > READ_NODES ? AGENTS : READ_NODES ))
"$BIN/sriov-controller-bench" certs "$work/certs" "$n"

# Starts a controller on a new port; sets cpid and port.
start_controller_info() {
  mkdir -p "$work/data"
  "$BIN/sriov-controller" --data-dir "$work/data" --listen 127.0.0.1:0 --tls-cert "$work/certs/controller.crt" \
    --tls-key "$work/certs/controller.key" --tls-ca "$work/certs/ca.crt" 2>"$work/controller.log" &
  cpid=$!
  pids+=("$cpid")
  for _ in $(seq 1 600); do
    if grep -q "sriov-controller ready" "$work/controller.log" 2>/dev/null; then
      port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/controller.log" | head -1 | sed 's/.*://')
      return 0
    fi
    sleep 0.1
  done
  cat "$work/controller.log" >&2
  echo "run.sh: the controller did not start" >&2
  exit 1
}

echo "== fan-out: $AGENTS agents"
start_controller_info
"$BIN/sriov-controller-bench" fanout "127.0.0.1:$port" "$work/certs" "$AGENTS" "$cpid"

echo "== writes (controller, synchronous=FULL)"
for c in 1 16 64; do
  "$BIN/sriov-controller-bench" writes "127.0.0.1:$port" "$work/certs" "$c" "$SECONDS_PER_RUN"
done
kill "$cpid"; wait "$cpid" 2>/dev/null || true

echo "== writes (etcd $(etcd --version 2>/dev/null | head -1 | awk '{print $3}'), same machine, its default durability)"
client=$((20000 + RANDOM % 20000)); peer=$((client + 1))
/usr/bin/etcd --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "default=http://127.0.0.1:$peer" --log-level error 2>"$work/etcd.log" &
epid=$!
pids+=("$epid")
# A stored policy of the writes benchmark is about 120 bytes.
for c in 1 16 64; do
  "$BIN/sriov-controller-bench" etcd-writes "127.0.0.1:$client" "$c" "$SECONDS_PER_RUN" 120
done
kill "$epid"; wait "$epid" 2>/dev/null || true

echo "== reads: $READ_NODES nodes x 8 PFs"
rm -rf "$work/data"
start_controller_info
"$BIN/sriov-controller-bench" reads "127.0.0.1:$port" "$work/certs" "$READ_NODES" "$cpid" "$SECONDS_PER_RUN"
