#!/usr/bin/env bash
# The whole system on this machine, on loopback:
#   1. installs what is missing (scripts/ensure-deps.sh) and builds release binaries
#      (reused when up to date);
#   2. makes development certificates;
#   3. builds simulated sysfs trees for three nodes with different NICs:
#      worker-0 two Intel XL710 cards, worker-1 one Intel E810, worker-2 one ConnectX-5;
#      worker-0 and worker-1 carry the seed example's node-selector label;
#   4. starts sriov-controller and one sriov-agent per node;
#   5. applies the seed's example policy and network (the policy's rootDevices is the
#      one change: it names the simulated XL710's first port);
#   6. waits with `sriovctl wait --for=sync --all` and prints the node states, one node
#      in detail, the rendered NetworkAttachmentDefinition and device-plugin config.
# Every log goes to one folder (default .demo/, printed). Everything it started is
# stopped by PID on exit or Ctrl-C, unless --keep is given: then the system keeps
# running and the sriovctl environment to use with it is printed (and written to
# DEMO_DIR/env). Running it again first stops what a kept run left running.
#
# Options and settings:
#   --keep                    leave the controller and agents running
#   --debug                   use the debug build (.build/debug) as it is, building only
#                             what is missing (same as SRIOV_DEMO_BUILD=debug)
#   SRIOV_DEMO_DIR=DIR        the folder for logs, certificates, trees and data (.demo)
#   SRIOV_DEMO_TIMEOUT=2m     how long `sriovctl wait` waits
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

keep=0
build=${SRIOV_DEMO_BUILD:-release}
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --debug) build=debug ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $arg (expected --keep, --debug)" >&2; exit 1 ;;
  esac
done
case "$build" in release|debug) ;; *) echo "demo: SRIOV_DEMO_BUILD=$build: expected release or debug" >&2; exit 1 ;; esac
demo=${SRIOV_DEMO_DIR:-$repo/.demo}
case "$demo" in /*) ;; *) demo=$repo/$demo ;; esac
wait_timeout=${SRIOV_DEMO_TIMEOUT:-2m}

step() { printf '\n== %s\n' "$*"; }

# ---- a previous --keep run: stop what it started (its PIDs, checked against /proc).
if [ -f "$demo/pids" ]; then
  while read -r pid; do
    if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$demo/"; then
      echo "demo: stopping process $pid left running by a previous --keep run"
      kill "$pid" 2>/dev/null || true
    fi
  done <"$demo/pids"
  rm -f "$demo/pids"
fi

step "dependencies"
scripts/ensure-deps.sh
echo "ok"

step "build ($build)"
if [ "$build" = release ]; then
  for p in sriov-controller sriov-agent sriovctl; do swift build -c release --product "$p" 2>&1 | tail -1; done
  bin=$(swift build -c release --show-bin-path)
else
  bin=$repo/.build/debug
  for p in sriov-controller sriov-agent sriovctl; do
    [ -x "$bin/$p" ] || swift build --product "$p" 2>&1 | tail -1
  done
  echo "using the debug binaries in .build/debug"
fi

mkdir -p "$demo"
rm -rf "$demo/certs" "$demo/nodes" "$demo/controller-data" "$demo/logs" "$demo/objects"
mkdir -p "$demo/logs" "$demo/nodes" "$demo/objects" "$demo/controller-data"
echo "demo folder (logs, certificates, sysfs trees, data): $demo"

pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$keep" = 1 ] && [ "$status" = 0 ]; then return; fi
  if [ ${#pids[@]} -gt 0 ]; then
    echo "demo: stopping the controller and agents (PIDs ${pids[*]})"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
    rm -f "$demo/pids"
  fi
  [ "$status" = 0 ] || echo "demo: failed (status $status); logs are in $demo/logs" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "development certificates"
certs/make-certs.sh "$demo/certs" --node worker-0 --node worker-1 --node worker-2 --operator admin --viewer mirror \
  >"$demo/logs/make-certs.log" 2>&1
ls "$demo/certs" | sed 's/^/  /'

step "simulated nodes"
declare -A nics=([worker-0]=xl710:2 [worker-1]=e810:1 [worker-2]=cx5:1)
label=feature.node.kubernetes.io/sriov-capable=true
for node in worker-0 worker-1 worker-2; do
  echo "$node (${nics[$node]}):"
  "$bin/sriov-agent" simulate --sysfs-root "$demo/nodes/$node/sys" --nics "${nics[$node]}" | sed 's/^/  /'
done
echo "worker-0 and worker-1 carry the label $label; worker-2 does not"

step "controller"
"$bin/sriov-controller" --listen 127.0.0.1:0 --data-dir "$demo/controller-data" \
  --tls-cert "$demo/certs/controller.crt" --tls-key "$demo/certs/controller.key" --tls-ca "$demo/certs/ca.crt" \
  >"$demo/logs/controller.log" 2>&1 &
pids+=($!)
echo "$!" >>"$demo/pids"
addr=""
for _ in $(seq 1 300); do
  if grep -q 'sriov-controller ready' "$demo/logs/controller.log"; then
    addr=$(grep -oE 'listening on [^ ;]+' "$demo/logs/controller.log" | head -1 | awk '{print $3}')
    break
  fi
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$demo/logs/controller.log" >&2; echo "demo: sriov-controller exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { cat "$demo/logs/controller.log" >&2; echo "demo: sriov-controller did not become ready" >&2; exit 1; }
echo "sriov-controller (PID ${pids[0]}) serves on $addr; log: $demo/logs/controller.log"

export SRIOVCTL_SERVER=$addr
export SRIOVCTL_TLS_CERT=$demo/certs/operator-admin.crt
export SRIOVCTL_TLS_KEY=$demo/certs/operator-admin.key
export SRIOVCTL_TLS_CA=$demo/certs/ca.crt
export SRIOVCTL_CONFIG=$demo/sriovctl-config
ctl() { echo "\$ sriovctl $*"; "$bin/sriovctl" "$@"; }
ctl version

step "agents"
for node in worker-0 worker-1 worker-2; do
  labels=(--label "kubernetes.io/hostname=$node")
  [ "$node" = worker-2 ] || labels+=(--label "$label")
  "$bin/sriov-agent" run --controller "$addr" --node-name "$node" \
    --tls-cert "$demo/certs/node-$node.crt" --tls-key "$demo/certs/node-$node.key" --tls-ca "$demo/certs/ca.crt" \
    --sysfs-root "$demo/nodes/$node/sys" --state-dir "$demo/nodes/$node/state" --rescan-interval 5s "${labels[@]}" \
    >"$demo/logs/agent-$node.log" 2>&1 &
  pids+=($!)
  echo "$!" >>"$demo/pids"
  echo "sriov-agent $node (PID $!); log: $demo/logs/agent-$node.log"
done
for _ in $(seq 1 300); do
  n=$("$bin/sriovctl" get nodestates -o name 2>/dev/null | wc -l)
  [ "$n" -ge 3 ] && break
  sleep 0.1
done
ctl get nodestates

step "the seed's example policy and network"
# The one adaptation: the seed's policy names the PF 0000:86:00.0, which the
# simulated machines do not have; the simulated XL710's first port is 0000:18:00.0.
sed 's/0000:86:00.0/0000:18:00.0/' examples/seed/policy.yaml >"$demo/objects/policy.yaml"
cp examples/seed/network.yaml "$demo/objects/network.yaml"
echo "examples/seed/policy.yaml, adapted to the simulated PCI address (the only change):"
diff examples/seed/policy.yaml "$demo/objects/policy.yaml" | sed 's/^/  /' || true
echo "examples/seed/network.yaml: unchanged"
ctl apply -f "$demo/objects/policy.yaml" -f "$demo/objects/network.yaml" --dry-run=server
ctl apply -f "$demo/objects/policy.yaml" -f "$demo/objects/network.yaml"

step "wait for every node to apply its spec"
ctl wait --for=sync --all --timeout "$wait_timeout"

step "node states"
ctl get nodestates -o wide

step "one node in detail"
ctl describe nodestate worker-0

step "the rendered NetworkAttachmentDefinition"
ctl get net-attach-def example-network -o yaml

step "the device-plugin config"
ctl get devicepluginconfig -o json

cat >"$demo/env" <<EOF
export SRIOVCTL_SERVER=$SRIOVCTL_SERVER
export SRIOVCTL_TLS_CERT=$SRIOVCTL_TLS_CERT
export SRIOVCTL_TLS_KEY=$SRIOVCTL_TLS_KEY
export SRIOVCTL_TLS_CA=$SRIOVCTL_TLS_CA
export PATH=$bin:\$PATH
EOF
if [ "$keep" = 1 ]; then
  step "left running (--keep)"
  echo "controller and agents: PIDs ${pids[*]} (also in $demo/pids)"
  echo "use sriovctl with:"
  sed 's/^/  /' "$demo/env"
  echo "or: source $demo/env"
  echo "stop them with: kill ${pids[*]}   (or run scripts/demo.sh again)"
else
  step "done; stopping"
fi
