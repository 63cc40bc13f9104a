"""Holds the test API server (kube_apiserver.py) to real clients.

    python kube_apiserver_fidelity.py CERT_DIR [KUBECTL]

CERT_DIR holds ca.crt, controller.crt and controller.key (certs/make-certs.sh).
Starts the server on loopback, then drives it with the real `kubectl` (apply,
apply --server-side, get, list, --subresource=status, watch) and the Python
`kubernetes` client (CRUD, status subresource, conflicts, watch with
bookmarks, 410 after compaction, SSA conflicts). Prints `ok NAME` per check,
`FAIL NAME: why` on failure; exits 1 when any failed.
"""
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
GROUP, VERSION, NS = "sriovnetwork.openshift.io", "v1", "sriov-network-operator"
TOKEN = "fidelity-token"
results = []


def check(name, cond, why=""):
    results.append((name, bool(cond), why))
    print(("ok " if cond else "FAIL ") + name + ("" if cond else f": {why}"), flush=True)


def main():
    # Never hang a test run: fail loudly instead.
    def watchdog(*_):
        print("FAIL watchdog: the checks did not finish within 75 s", flush=True)
        server.kill()
        os._exit(1)

    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(75)
    certs = sys.argv[1]
    kubectl = sys.argv[2] if len(sys.argv) > 2 else "kubectl"
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "kube_apiserver.py"), "--cert", f"{certs}/controller.crt",
         "--key", f"{certs}/controller.key", "--token", TOKEN, "--bookmark-interval", "0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(server.stdout.readline().split()[1])
        run(certs, kubectl, port)
    finally:
        server.kill()
        server.wait(10)
    return 1 if any(not ok for _, ok, _ in results) else 0


def raw(certs, port, method, path, body=None, ctype="application/json", query=""):
    """One request with the token; returns (status, parsed body)."""
    ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": "Bearer " + TOKEN, "Content-Type": ctype}
    conn.request(method, path + (("?" + query) if query else ""), body=data, headers=headers)
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r.status, json.loads(payload or b"{}")


def run(certs, kubectl, port):
    tmp = tempfile.mkdtemp(prefix="kube-fidelity-")
    kubeconfig = os.path.join(tmp, "kubeconfig")
    with open(kubeconfig, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {{server: "https://127.0.0.1:{port}", certificate-authority: "{certs}/ca.crt"}}
users:
- name: u
  user: {{token: {TOKEN}}}
contexts:
- name: c
  context: {{cluster: test, user: u, namespace: {NS}}}
current-context: c
""")
    env = dict(os.environ, KUBECONFIG=kubeconfig, HOME=tmp)

    def k(*args, stdin=None):
        return subprocess.run([kubectl, *args], capture_output=True, text=True, env=env, input=stdin, timeout=30)

    repo = os.path.dirname(os.path.dirname(HERE))
    # --validate=false: the test server serves no OpenAPI document.
    r = k("apply", "--validate=false", "-f", os.path.join(repo, "examples/seed/policy.yaml"))
    check("kubectl apply creates", r.returncode == 0 and "created" in r.stdout, r.stderr)
    r = k("apply", "--validate=false", "-f", os.path.join(repo, "examples/seed/policy.yaml"))
    check("kubectl apply again is unchanged", r.returncode == 0 and "unchanged" in r.stdout, r.stdout + r.stderr)
    r = k("get", "sriovnetworknodepolicies", "-o", "json")
    items = json.loads(r.stdout)["items"] if r.returncode == 0 else []
    check("kubectl get lists", [i["metadata"]["name"] for i in items] == ["policy-1"], r.stdout + r.stderr)
    r = k("apply", "--validate=false", "--server-side", "--field-manager=gitops", "-f", os.path.join(repo, "examples/seed/network.yaml"))
    check("kubectl apply --server-side", r.returncode == 0 and "serverside-applied" in r.stdout, r.stderr)
    r = k("get", "sriovnetwork", "example-network", "-n", "example-namespace", "-o", "json", "--show-managed-fields")
    mf = json.loads(r.stdout)["metadata"].get("managedFields", []) if r.returncode == 0 else []
    check("server-side apply records the field manager", any(m["manager"] == "gitops" and m["operation"] == "Apply" for m in mf), r.stdout)
    r = k("patch", "sriovnetworknodepolicy", "policy-1", "--subresource=status", "--type=merge",
          "-p", '{"status":{"conditions":[{"type":"Accepted","status":"True"}]},"spec":{"numVfs":9}}')
    check("kubectl patch --subresource=status", r.returncode == 0, r.stderr)
    r = k("get", "sriovnetworknodepolicy", "policy-1", "--subresource=status", "-o", "json")
    obj = json.loads(r.stdout) if r.returncode == 0 else {}
    check("a status write ignores the spec", obj.get("spec", {}).get("numVfs") == 4
          and obj.get("status", {}).get("conditions", [{}])[0].get("type") == "Accepted", r.stdout)
    gen = obj.get("metadata", {}).get("generation")
    r = k("patch", "sriovnetworknodepolicy", "policy-1", "--type=merge", "-p", '{"spec":{"numVfs":8},"status":{"conditions":[]}}')
    r2 = k("get", "sriovnetworknodepolicy", "policy-1", "-o", "json")
    obj = json.loads(r2.stdout) if r2.returncode == 0 else {}
    check("a spec write ignores the status and bumps the generation",
          obj.get("spec", {}).get("numVfs") == 8 and len(obj.get("status", {}).get("conditions", [])) == 1
          and obj["metadata"]["generation"] == gen + 1, r.stderr + r2.stdout)

    # kubectl get --watch sees a change made meanwhile.
    w = subprocess.Popen([kubectl, "get", "sriovnetworknodepolicies", "--watch", "-o", "name", "--request-timeout=5s"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)
    k("patch", "sriovnetworknodepolicy", "policy-1", "--type=merge", "-p", '{"spec":{"numVfs":7}}')
    time.sleep(1.0)
    w.terminate()
    out, _ = w.communicate(timeout=10)
    check("kubectl get --watch", out.count("policy-1") >= 2, out)
    r = k("delete", "sriovnetworknodepolicy", "policy-1")
    check("kubectl delete", r.returncode == 0, r.stderr)
    r = k("get", "sriovnetworknodepolicy", "policy-1")
    check("kubectl get of a deleted object is NotFound", r.returncode != 0 and "NotFound" in r.stderr or "not found" in r.stderr, r.stderr)

    # ---- the Python kubernetes client
    conf = client.Configuration()
    conf.host = f"https://127.0.0.1:{port}"
    conf.ssl_ca_cert = f"{certs}/ca.crt"
    conf.api_key = {"authorization": "Bearer " + TOKEN}
    api = client.ApiClient(conf)
    co = client.CustomObjectsApi(api)
    core = client.CoreV1Api(api)

    bad = client.Configuration()
    bad.host, bad.ssl_ca_cert, bad.api_key = conf.host, conf.ssl_ca_cert, {"authorization": "Bearer wrong"}
    try:
        client.CoreV1Api(client.ApiClient(bad)).list_namespaced_config_map(NS)
        check("a wrong token is refused", False, "no error")
    except ApiException as e:
        check("a wrong token is refused", e.status == 401, str(e.status))

    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "SriovNetworkNodeState",
            "metadata": {"name": "node-a", "labels": {"l": "x"}}, "spec": {"interfaces": []},
            "status": {"syncStatus": "Succeeded"}}
    created = co.create_namespaced_custom_object(GROUP, VERSION, NS, "sriovnetworknodestates", body)
    check("create ignores the status", "status" not in created and created["metadata"]["generation"] == 1, created)
    try:
        co.create_namespaced_custom_object(GROUP, VERSION, NS, "sriovnetworknodestates", body)
        check("create of an existing name conflicts", False, "no error")
    except ApiException as e:
        check("create of an existing name conflicts", e.status == 409 and "AlreadyExists" in e.body, e.body)
    stale = dict(created)
    co.patch_namespaced_custom_object_status(GROUP, VERSION, NS, "sriovnetworknodestates", "node-a",
                                             {"status": {"syncStatus": "InProgress"}})
    try:
        co.replace_namespaced_custom_object(GROUP, VERSION, NS, "sriovnetworknodestates", "node-a", stale)
        check("update with a stale resourceVersion conflicts", False, "no error")
    except ApiException as e:
        check("update with a stale resourceVersion conflicts", e.status == 409 and "Conflict" in e.body, e.body)
    got = co.get_namespaced_custom_object_status(GROUP, VERSION, NS, "sriovnetworknodestates", "node-a")
    check("status subresource read", got["status"]["syncStatus"] == "InProgress", got)
    lst = co.list_namespaced_custom_object(GROUP, VERSION, NS, "sriovnetworknodestates", label_selector="l=x")
    check("list with a label selector", [i["metadata"]["name"] for i in lst["items"]] == ["node-a"], lst)
    lst2 = co.list_namespaced_custom_object(GROUP, VERSION, NS, "sriovnetworknodestates", label_selector="l!=x")
    check("list with a != selector", lst2["items"] == [], lst2)

    # Watch with bookmarks from the list's resourceVersion.
    rv = lst["metadata"]["resourceVersion"]
    seen = []

    def watcher():
        w = watch.Watch()
        for ev in w.stream(co.list_namespaced_custom_object, GROUP, VERSION, NS, "sriovnetworknodestates",
                           resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=3):
            seen.append(ev["type"])
            if "MODIFIED" in seen and "BOOKMARK" in seen and "DELETED" in seen:
                w.stop()

    t = threading.Thread(target=watcher)
    t.start()
    time.sleep(0.5)
    co.patch_namespaced_custom_object(GROUP, VERSION, NS, "sriovnetworknodestates", "node-a", {"spec": {"interfaces": [{"pciAddress": "0000:01:00.0"}]}})
    time.sleep(0.5)
    co.delete_namespaced_custom_object(GROUP, VERSION, NS, "sriovnetworknodestates", "node-a")
    t.join(10)
    check("watch delivers MODIFIED, BOOKMARK, DELETED", {"MODIFIED", "BOOKMARK", "DELETED"} <= set(seen), seen)

    # 410 Gone after compaction.
    raw(certs, port, "POST", "/_test/compact")
    gone = None
    try:
        w = watch.Watch()
        for ev in w.stream(co.list_namespaced_custom_object, GROUP, VERSION, NS, "sriovnetworknodestates",
                           resource_version=rv, timeout_seconds=2):
            gone = ev
            break
    except ApiException as e:
        gone = {"status": e.status}
    check("a compacted resourceVersion gets 410 Gone", gone is not None and (gone.get("status") == 410 or
          (gone.get("raw_object", {}) or {}).get("code") == 410 or (gone.get("object") or {}).get("code") == 410), gone)

    # Server-side apply: ownership and conflicts.
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}}
    path = f"/api/v1/namespaces/{NS}/configmaps/cfg"
    apply = "application/apply-patch+yaml"
    code, _ = raw(certs, port, "PATCH", path, cm, apply, "fieldManager=one")
    check("apply creates", code == 200, code)
    two = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "9"}}
    code, body = raw(certs, port, "PATCH", path, two, apply, "fieldManager=two")
    check("apply of another manager's field conflicts", code == 409 and "conflict" in body.get("message", ""), body)
    code, _ = raw(certs, port, "PATCH", path, two, apply, "fieldManager=two&force=true")
    check("forced apply succeeds", code == 200, code)
    # Manager one stops applying b: b goes; a now belongs to two and stays.
    raw(certs, port, "PATCH", path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}},
        apply, "fieldManager=one")
    got = core.read_namespaced_config_map("cfg", NS)
    check("forced apply takes ownership; a dropped field is removed", got.data == {"a": "9"}, got.data)


if __name__ == "__main__":
    sys.exit(main())
