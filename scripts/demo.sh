#!/usr/bin/env bash
# The main job, end to end on this machine:
#   1. installs what is missing and builds (release);
#   2. makes development certificates into out/demo/certs;
#   3. renders the seed's example policy and network against the three-node
#      sample inventory in examples/inventory and prints the node states,
#      device-plugin config and NetworkAttachmentDefinitions;
#   4. starts sriov-controller on loopback with mutual TLS, checks it with a
#      gRPC health check over mTLS, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh
echo "== build"
swift build -c release --product sriovctl
swift build -c release --product sriov-controller
bin=$(swift build -c release --show-bin-path)

out=out/demo
rm -rf "$out"
mkdir -p "$out"
echo "== development certificates"
certs/make-certs.sh "$out/certs" --node worker-0 --node worker-1 --node worker-2 --operator admin --viewer mirror

echo "== render: examples/seed + examples/inventory"
"$bin/sriovctl" render -f examples/seed -f examples/inventory -o yaml

echo "== controller"
log="$out/controller.log"
"$bin/sriov-controller" --listen 127.0.0.1:0 \
  --tls-cert "$out/certs/controller.crt" --tls-key "$out/certs/controller.key" --tls-ca "$out/certs/ca.crt" \
  >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
addr=""
for _ in $(seq 1 100); do
  addr=$(grep -oE 'listening on [^ ]+' "$log" | head -1 | awk '{print $3}') || true
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "demo: sriov-controller exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { cat "$log"; echo "demo: sriov-controller did not report its address" >&2; exit 1; }
head -1 "$log"
grpcurl=$(find .venv -name grpcurl -type f -perm -u+x | head -1)
"$grpcurl" -cacert "$out/certs/ca.crt" -cert "$out/certs/operator-admin.crt" -key "$out/certs/operator-admin.key" \
  -servername localhost "$addr" grpc.health.v1.Health/Check
"$grpcurl" -cacert "$out/certs/ca.crt" -cert "$out/certs/operator-admin.crt" -key "$out/certs/operator-admin.key" \
  -servername localhost "$addr" list
kill "$pid"
wait "$pid" 2>/dev/null || true
trap - EXIT
echo "== done"
