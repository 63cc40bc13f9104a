"""Measures the cluster mirror: controller status change -> CR status in the API server.

    python Benchmarks/mirror/measure.py CONTROLLER_ADDR CERT_DIR API_PORT TOKEN NODE [ROUNDS]

Needs a running sriov-controller (CERT_DIR from certs/make-certs.sh with
--operator admin --node NODE), Tests/interop/kube_apiserver.py on 127.0.0.1:API_PORT
with TOKEN, and sriov-mirror between them. Each round reports a new status for
NODE through the Agent service (as the node), then waits on a watch of the
API server for the CR whose status.lastSyncError carries the round's marker.
Prints the latency percentiles (ms) and the API write requests per update
(from the test server's request log).
"""
import http.client
import json
import os
import ssl
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc

target, certs, api_port, token, node = sys.argv[1:6]
rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 50
repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = tempfile.mkdtemp(prefix="sriov-pystubs-")
protos = ["sriov/v1/meta.proto", "sriov/v1/policy.proto", "sriov/v1/network.proto",
          "sriov/v1/nodestate.proto", "sriov/v1/operator.proto", "sriov/v1/agent.proto"]
wkt = os.path.join(os.path.dirname(protoc.__file__), "_proto")
protoc.main(["protoc", "-I" + os.path.join(repo, "proto"), "-I" + wkt, "--python_out=" + out, "--grpc_python_out=" + out] + protos)
sys.path.insert(0, out)
from sriov.v1 import agent_pb2, agent_pb2_grpc, operator_pb2, operator_pb2_grpc  # noqa: E402


def channel(identity):
    creds = grpc.ssl_channel_credentials(
        open(f"{certs}/ca.crt", "rb").read(), open(f"{certs}/{identity}.key", "rb").read(),
        open(f"{certs}/{identity}.crt", "rb").read())
    return grpc.secure_channel(target, creds)


ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")


def api(method, path):
    c = http.client.HTTPSConnection("127.0.0.1", int(api_port), context=ctx, timeout=10)
    c.request(method, path, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    body = json.loads(r.read() or b"{}")
    c.close()
    return body


op = operator_pb2_grpc.OperatorStub(channel("operator-admin"))
agent = agent_pb2_grpc.AgentStub(channel("node-" + node))
path = f"/apis/sriovnetwork.openshift.io/v1/namespaces/sriov-network-operator/sriovnetworknodestates/{node}"
latencies = []
api("DELETE", "/_test/requests")
for i in range(rounds):
    state = op.GetNodeState(operator_pb2.GetRequest(name=node))
    marker = f"round-{i}-{time.time_ns()}"
    report = agent_pb2.StatusReport(node_name=node, generation=state.metadata.generation,
                                    sync_status="Failed", last_sync_error=marker)
    for iface in state.status.interfaces:
        report.interfaces.add().CopyFrom(iface)
    start = time.monotonic()
    agent.ReportStatus(report)
    while True:
        obj = api("GET", path)
        if obj.get("status", {}).get("lastSyncError") == marker:
            break
        time.sleep(0.0005)
    latencies.append((time.monotonic() - start) * 1000)
time.sleep(0.5)
reqs = api("GET", "/_test/requests")["requests"]
writes = [r for r in reqs if r["method"] != "GET"]
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
print(f"rounds {rounds}")
print(f"status change -> CR status (ms, includes the polling reader): p50 {pct(50):.1f} p90 {pct(90):.1f} p99 {pct(99):.1f} max {latencies[-1]:.1f}")
print(f"API write requests per node update: {len(writes) / rounds:.2f} ({len(writes)} writes: "
      f"{sorted(set((w['method'], w['path'].rsplit('/', 1)[-1]) for w in writes))})")
