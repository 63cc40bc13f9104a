#!/usr/bin/env bash
# The node agent end to end, printed as numbers (no thresholds): a real
# sriov-controller and a real sriov-agent (release builds) on loopback with
# mutual TLS, the agent on a simulated E810 made by `sriov-agent simulate`.
#   apply:  time from ApplyPolicy (DeletePolicy) at the controller until the
#           node state's Succeeded for the new generation arrives through
#           WatchNodeStates: 0→64 netdevice VFs with MTU 9000, the 64 VFs
#           rebound to vfio-pci, the policy deleted (0 VFs); and the sysfs
#           writes each apply took (from the agent's log);
#   idle:   the agent's CPU time and RSS over IDLE_SECONDS, connected, with
#           64 VFs applied and the default 30 s rescan.
#
#   Benchmarks/agent-e2e/run.sh [RUNS] [IDLE_SECONDS]
# Defaults: 5 runs, 60 s. Builds under the shared build lock; every process
# it starts is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
IDLE_SECONDS=${2:-60}

for product in sriov-controller sriov-agent sriov-agent-bench; do
  flock /tmp/sriov-swift-build.lock swift build -c release --product "$product" >/dev/null
done
BIN=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

certs/make-certs.sh "$work/certs" --operator bench --node n1 >/dev/null
"$BIN/sriov-agent" simulate --sysfs-root "$work/sysfs" --nics e810:1 >/dev/null

mkdir -p "$work/data"
"$BIN/sriov-controller" --data-dir "$work/data" --listen 127.0.0.1:0 --tls-cert "$work/certs/controller.crt" \
  --tls-key "$work/certs/controller.key" --tls-ca "$work/certs/ca.crt" 2>"$work/controller.log" &
cpid=$!
pids+=("$cpid")
port=""
for _ in $(seq 1 600); do
  if grep -q "sriov-controller ready" "$work/controller.log" 2>/dev/null; then
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/controller.log" | head -1 | sed 's/.*://')
    break
  fi
  sleep 0.1
done
if [[ -z $port ]]; then
  cat "$work/controller.log" >&2
  echo "run.sh: the controller did not start" >&2
  exit 1
fi

"$BIN/sriov-agent" --controller "127.0.0.1:$port" --node-name n1 --tls-cert "$work/certs/node-n1.crt" \
  --tls-key "$work/certs/node-n1.key" --tls-ca "$work/certs/ca.crt" --sysfs-root "$work/sysfs" \
  --state-dir "$work/state" --label sriov=true 2>"$work/agent.log" &
apid=$!
pids+=("$apid")

echo "== agent end to end: $RUNS runs, then ${IDLE_SECONDS} s idle (controller pid $cpid, agent pid $apid)"
"$BIN/sriov-agent-bench" e2e "127.0.0.1:$port" "$work/certs" "$apid" "$RUNS" "$IDLE_SECONDS"
echo "sysfs writes per apply (agent log, in order):"
grep -o 'generation=[0-9]* .*writes=[0-9]*' "$work/agent.log" | sed 's/ sriov.node=n1//' | awk '{print "  " $0}' || true
if ! kill -0 "$apid" 2>/dev/null; then
  cat "$work/agent.log" >&2
  echo "run.sh: the agent exited" >&2
  exit 1
fi
