"""Drives sriov.v1.Operator as an operator's tooling would: grpcio stubs
generated from proto/ at run time with grpc_tools.protoc.

Usage: operator_client.py HOST:PORT CERT_DIR
CERT_DIR holds ca.crt, operator-admin.{crt,key}, viewer-view.{crt,key} and
node-worker-0.{crt,key} (certs/make-certs.sh). Prints "ok NAME" or
"FAIL NAME: why" per check, then "total N"; exits 1 on any failure.
"""
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

target, certs = sys.argv[1:3]
repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = tempfile.mkdtemp(prefix="sriov-pystubs-")
protos = ["sriov/v1/meta.proto", "sriov/v1/policy.proto", "sriov/v1/network.proto",
          "sriov/v1/nodestate.proto", "sriov/v1/operator.proto", "sriov/v1/agent.proto"]
wkt = os.path.join(os.path.dirname(protoc.__file__), "_proto")
rc = protoc.main(["protoc", "-I" + os.path.join(repo, "proto"), "-I" + wkt,
                  "--python_out=" + out, "--grpc_python_out=" + out] + protos)
if rc != 0:
    print("FAIL protoc: exit", rc)
    sys.exit(1)
sys.path.insert(0, out)
from sriov.v1 import agent_pb2, agent_pb2_grpc, operator_pb2, operator_pb2_grpc, policy_pb2  # noqa: E402


def channel(identity):
    creds = grpc.ssl_channel_credentials(
        root_certificates=open(os.path.join(certs, "ca.crt"), "rb").read(),
        private_key=open(os.path.join(certs, identity + ".key"), "rb").read(),
        certificate_chain=open(os.path.join(certs, identity + ".crt"), "rb").read())
    return grpc.secure_channel(target, creds)


op = operator_pb2_grpc.OperatorStub(channel("operator-admin"))
viewer = operator_pb2_grpc.OperatorStub(channel("viewer-view"))
agent = agent_pb2_grpc.AgentStub(channel("node-worker-0"))
failures = 0
checks = 0


def check(name, fn):
    global failures, checks
    checks += 1
    try:
        fn()
        print("ok", name, flush=True)
    except Exception as e:  # noqa: BLE001 - report any failure
        failures += 1
        print("FAIL", name + ":", repr(e).replace("\n", " "), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_code(code, fn):
    try:
        fn()
    except grpc.RpcError as e:
        expect(e.code() == code, "got %s %s, want %s" % (e.code(), e.details(), code))
        return e
    raise AssertionError("succeeded, want %s" % code)


def policy(name, num_vfs=4):
    p = policy_pb2.SriovNetworkNodePolicy()
    p.metadata.name = name
    p.spec.resource_name = "pyres"
    p.spec.node_selector["sriov"] = "true"
    p.spec.num_vfs = num_vfs
    p.spec.nic_selector.vendor = "8086"
    p.spec.nic_selector.pf_names.append("ens1f0")
    return p


def inventory():
    r = agent_pb2.InventoryReport(node_name="worker-0", sequence=1)
    r.labels["sriov"] = "true"
    pf = r.interfaces.add()
    pf.name, pf.pci_address, pf.vendor, pf.device_id = "ens1f0", "0000:86:00.0", "8086", "1583"
    pf.driver, pf.totalvfs, pf.mtu, pf.link_type = "i40e", 64, 1500, "ETH"
    ack = agent.StreamInventory(iter([r]), timeout=10)
    expect(ack.received == 1, ack)


state = {}


def apply_policy():
    r = op.ApplyPolicy(operator_pb2.ApplyPolicyRequest(policy=policy("py-policy")), timeout=10)
    expect(r.created and list(r.affected_nodes) == ["worker-0"], r)
    expect(r.policy.spec.priority.value == 99, "priority defaulted")
    state["rv"] = r.policy.metadata.resource_version


def stale_apply():
    e = expect_code(grpc.StatusCode.ABORTED, lambda: op.ApplyPolicy(operator_pb2.ApplyPolicyRequest(
        policy=policy("py-policy", 8), expected_resource_version="1"), timeout=10))
    expect(state["rv"] in e.details(), e.details())


def viewer_cannot_apply():
    e = expect_code(grpc.StatusCode.PERMISSION_DENIED, lambda: viewer.ApplyPolicy(
        operator_pb2.ApplyPolicyRequest(policy=policy("nope")), timeout=10))
    expect("viewer/view" in e.details(), e.details())


def invalid_policy():
    e = expect_code(grpc.StatusCode.INVALID_ARGUMENT, lambda: op.ApplyPolicy(
        operator_pb2.ApplyPolicyRequest(policy=policy("py-bad", num_vfs=-3)), timeout=10))
    expect("spec.numVfs" in e.details(), e.details())


def get_and_list():
    p = viewer.GetPolicy(operator_pb2.GetRequest(name="py-policy"), timeout=10)
    expect(p.metadata.resource_version == state["rv"], p.metadata)
    items = viewer.ListPolicies(operator_pb2.ListRequest(page_size=1), timeout=10).items
    expect([i.metadata.name for i in items] == ["py-policy"], items)
    expect_code(grpc.StatusCode.NOT_FOUND, lambda: viewer.GetPolicy(operator_pb2.GetRequest(name="missing"), timeout=10))


def node_state_and_watch():
    s = viewer.GetNodeState(operator_pb2.GetRequest(name="worker-0"), timeout=10)
    expect(s.spec.interfaces[0].num_vfs == 4, s.spec)
    stream = viewer.WatchNodeStates(operator_pb2.WatchRequest(), timeout=10)
    first = next(stream)
    expect(first.type == operator_pb2.NodeStateEvent.ADDED and first.node_state.metadata.name == "worker-0", first)
    second = next(stream)
    expect(second.type == operator_pb2.NodeStateEvent.BOOKMARK, second)
    stream.cancel()


def dry_run():
    r = viewer.DryRunPolicy(operator_pb2.DryRunPolicyRequest(policy=policy("py-other", 2)), timeout=10)
    expect(len(r.conflicts) == 1 and r.conflicts[0].other_policy == "py-policy", r)


def delete():
    r = op.DeletePolicy(operator_pb2.DeleteRequest(name="py-policy"), timeout=10)
    expect(list(r.affected_nodes) == ["worker-0"], r)


def server_info():
    r = viewer.GetServerInfo(operator_pb2.GetServerInfoRequest(), timeout=10)
    expect(r.api_version == "sriovnetwork.openshift.io/v1" and r.store == "sqlite" and r.leader, r)
    expect(r.caller_role == "viewer" and r.caller_identity.endswith("/viewer/view") and r.started_at.seconds > 0, r)


check("inventory", inventory)
check("apply policy", apply_policy)
check("stale apply is ABORTED", stale_apply)
check("viewer apply is PERMISSION_DENIED", viewer_cannot_apply)
check("invalid policy is INVALID_ARGUMENT", invalid_policy)
check("get and list", get_and_list)
check("node state and watch", node_state_and_watch)
check("dry run conflict", dry_run)
check("delete", delete)
check("server info", server_info)
print("total", checks, flush=True)
sys.exit(1 if failures else 0)
