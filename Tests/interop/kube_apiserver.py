"""A test Kubernetes API server: exactly the semantics the cluster mirror relies on.

    python kube_apiserver.py --cert SERVER.crt --key SERVER.key --token TOKEN
        [--client-ca CA.crt] [--port 0] [--bookmark-interval 1.0] [--state FILE]

Prints `listening PORT` on stdout once it serves HTTPS (HTTP/1.1, keep-alive,
chunked watch streams) on 127.0.0.1 only.

Implemented:
  - discovery (/version, /api, /api/v1, /apis, /apis/G/V) for kubectl;
  - CRUD of ConfigMaps, Events, Namespaces, NetworkAttachmentDefinitions and
    the three sriovnetwork.openshift.io kinds, namespaced and across
    namespaces, equality-based label selectors;
  - the status subresource: writes to the object ignore .status, writes to
    /status ignore everything but .status; metadata.generation counts spec
    changes;
  - metadata.resourceVersion from one counter; an update (PUT) with a stale
    resourceVersion gets 409 Conflict; create of an existing name 409
    AlreadyExists;
  - JSON merge patch (also for the strategic merge patch type, as for custom
    resources) and server-side apply (application/apply-patch+yaml) with
    field ownership per field manager: conflicts (409) with another manager's
    differing fields unless force=true, removal of fields a manager stops
    applying, managedFields in FieldsV1 form;
  - watch (?watch=true) from a resourceVersion, synthetic ADDED events when
    none is given, BOOKMARK events when allowWatchBookmarks=true, and an
    ERROR event with a 410 Gone Status for a resourceVersion older than the
    last compaction;
  - bearer-token authentication (401 otherwise), or a client certificate
    signed by --client-ca;
  - test controls under /_test/ (same authentication): `POST /_test/faults`
    {"status": 429, "count": 2, "retryAfter": 1, "method": "PATCH",
    "pathContains": "/status"} answers the next matching requests with that
    status; `POST /_test/compact` compacts history at the current revision
    and ends every open watch; `POST /_test/drop` ends every open watch and
    connection (a restart that keeps etcd); `GET /_test/requests` lists the
    requests served (method, path, time); `DELETE /_test/requests` clears it.
With --state FILE the store is loaded at start and saved at SIGTERM.
"""
import argparse
import copy
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

SRIOV = "sriovnetwork.openshift.io"
NAD = "k8s.cni.cncf.io"

# (group, version, plural) -> kind, namespaced, status subresource, short names
RESOURCES = {
    ("", "v1", "configmaps"): ("ConfigMap", True, False, ["cm"]),
    ("", "v1", "events"): ("Event", True, False, ["ev"]),
    ("", "v1", "namespaces"): ("Namespace", False, False, ["ns"]),
    (SRIOV, "v1", "sriovnetworknodestates"): ("SriovNetworkNodeState", True, True, []),
    (SRIOV, "v1", "sriovnetworknodepolicies"): ("SriovNetworkNodePolicy", True, True, []),
    (SRIOV, "v1", "sriovnetworks"): ("SriovNetwork", True, True, []),
    (NAD, "v1", "network-attachment-definitions"): ("NetworkAttachmentDefinition", True, False, ["net-attach-def"]),
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


class APIError(Exception):
    def __init__(self, code, reason, message, retry_after=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.retry_after = code, reason, message, retry_after

    def status(self):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def api_version(group, version):
    return f"{group}/{version}" if group else version


# ---- field ownership (server-side apply) ----

def leaf_paths(value, prefix=()):
    """Leaf field paths of a JSON object; lists and scalars are atomic leaves."""
    if isinstance(value, dict):
        # An empty map owns nothing (as structured-merge-diff's field sets).
        out = set()
        for k, v in value.items():
            out |= leaf_paths(v, prefix + (k,))
        return out
    return {prefix} if prefix else set()


def get_path(obj, path):
    for p in path:
        if not isinstance(obj, dict) or p not in obj:
            return None, False
        obj = obj[p]
    return obj, True


def set_path(obj, path, value):
    for p in path[:-1]:
        if not isinstance(obj.get(p), dict):
            obj[p] = {}
        obj = obj[p]
    obj[path[-1]] = copy.deepcopy(value)


def delete_path(obj, path):
    parents = []
    for p in path[:-1]:
        if not isinstance(obj, dict) or p not in obj:
            return
        parents.append((obj, p))
        obj = obj[p]
    if isinstance(obj, dict):
        obj.pop(path[-1], None)
    for parent, key in reversed(parents):
        if parent[key] == {}:
            del parent[key]
        else:
            break


def fields_v1(paths):
    tree = {}
    for path in sorted(paths):
        node = tree
        for p in path:
            node = node.setdefault("f:" + p, {})
    return tree


def owned_scope(path, subresource, has_status):
    """Whether a leaf path belongs to what a write to `subresource` may touch."""
    if path[0] in ("apiVersion", "kind"):
        return False
    if path[0] == "metadata" and (len(path) < 2 or path[1] not in ("labels", "annotations")):
        return False
    if not has_status:
        return True
    return (path[0] == "status") == (subresource == "status")


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class Store:
    def __init__(self, bookmark_interval):
        self.lock = threading.Condition(threading.RLock())
        self.rv = 1
        self.objects = {}  # (res, ns, name) -> object
        self.owners = {}  # (res, ns, name) -> {(manager, operation, subresource): set(paths)}
        self.events = []  # (rv, res, type, object)
        self.compacted = 0
        self.epoch = 0  # bumped to end every open watch
        self.bookmark_interval = bookmark_interval
        self.faults = []
        self.requests = []

    # -- persistence

    def save(self, path):
        with self.lock:
            data = {"rv": self.rv, "objects": [[list(k[0]), k[1], k[2], v] for k, v in self.objects.items()]}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f)

    def load(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return
        self.rv = data["rv"]
        self.compacted = self.rv
        for res, ns, name, obj in data["objects"]:
            self.objects[(tuple(res), ns, name)] = obj

    # -- writes (callers hold the lock)

    def _commit(self, res, key, kind, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if kind == "DELETED":
            self.objects.pop(key, None)
            self.owners.pop(key, None)
        else:
            self.objects[key] = obj
        self.events.append((self.rv, res, kind, copy.deepcopy(obj)))
        self.lock.notify_all()

    def _managed_fields(self, key, res):
        out = []
        for (manager, operation, sub), paths in sorted(self.owners.get(key, {}).items()):
            if not paths:
                continue
            entry = {"manager": manager, "operation": operation, "apiVersion": api_version(res[0], res[1]),
                     "time": now_rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": fields_v1(paths)}
            if sub:
                entry["subresource"] = sub
            out.append(entry)
        return out

    def _take_ownership(self, key, manager, operation, sub, paths, exclusive_paths=None):
        owners = self.owners.setdefault(key, {})
        for (m, op, s), owned in owners.items():
            if (m, op, s) != (manager, operation, sub):
                owned -= paths
        mine = owners.setdefault((manager, operation, sub), set())
        if exclusive_paths is not None:
            owners[(manager, operation, sub)] = set(exclusive_paths)
        else:
            mine |= paths

    def create(self, res, ns, body, manager):
        kind, namespaced, has_status, _ = RESOURCES[res]
        meta = body.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise APIError(422, "Invalid", f"{kind} is invalid: metadata.name: Required value")
        key = (res, ns, name)
        with self.lock:
            if key in self.objects:
                raise APIError(409, "AlreadyExists", f'{res[2]}.{res[0]} "{name}" already exists'.replace(". ", " "))
            obj = copy.deepcopy(body)
            obj["apiVersion"], obj["kind"] = api_version(res[0], res[1]), kind
            meta = obj["metadata"]
            if namespaced:
                meta["namespace"] = ns
            meta.update({"uid": str(uuid.uuid4()), "creationTimestamp": now_rfc3339()})
            if has_status:
                obj.pop("status", None)
                meta["generation"] = 1
            paths = {p for p in leaf_paths(obj) if owned_scope(p, "", has_status)}
            self._take_ownership(key, manager, "Update", "", paths)
            meta["managedFields"] = self._managed_fields(key, res)
            self._commit(res, key, "ADDED", obj)
            return copy.deepcopy(obj)

    def replace(self, res, ns, name, body, sub, manager, operation="Update", exclusive=None, create_ok=False,
                check_rv=True, old_paths_owned=None):
        """Writes `body` as the new object (for `sub`, only the part it owns)."""
        kind, namespaced, has_status, _ = RESOURCES[res]
        key = (res, ns, name)
        with self.lock:
            old = self.objects.get(key)
            if old is None:
                if create_ok:
                    body = copy.deepcopy(body)
                    body.setdefault("metadata", {})["name"] = name
                    self.create(res, ns, body if sub != "status" else {"metadata": body["metadata"]}, manager)
                    old = self.objects[key]
                else:
                    raise APIError(404, "NotFound", f'{res[2]}.{res[0]} "{name}" not found'.replace(". ", " "))
            want_rv = body.get("metadata", {}).get("resourceVersion")
            if check_rv and want_rv and want_rv != old["metadata"]["resourceVersion"]:
                raise APIError(409, "Conflict",
                               f'Operation cannot be fulfilled on {res[2]}.{res[0]} "{name}": the object has been '
                               f"modified; please apply your changes to the latest version and try again")
            new = copy.deepcopy(old)
            if has_status and sub == "status":
                if "status" in body:
                    new["status"] = copy.deepcopy(body["status"])
                else:
                    new.pop("status", None)
            else:
                keep_meta = new["metadata"]
                new = {k: copy.deepcopy(v) for k, v in body.items() if not (has_status and k == "status")}
                if has_status and "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                meta = new.setdefault("metadata", {})
                for k in ("name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"):
                    if k in keep_meta:
                        meta[k] = keep_meta[k]
                new["apiVersion"], new["kind"] = api_version(res[0], res[1]), kind
                if has_status and {k: v for k, v in new.items() if k not in ("metadata", "status")} != \
                        {k: v for k, v in old.items() if k not in ("metadata", "status")}:
                    meta["generation"] = keep_meta.get("generation", 1) + 1
            old_leaves = {p: get_path(old, p)[0] for p in leaf_paths(old) if owned_scope(p, sub, has_status)}
            new_leaves = {p for p in leaf_paths(new) if owned_scope(p, sub, has_status)}
            changed = {p for p in new_leaves if old_leaves.get(p, object()) != get_path(new, p)[0]}
            if exclusive is not None:
                self._take_ownership(key, manager, operation, sub, exclusive, exclusive_paths=exclusive)
            else:
                self._take_ownership(key, manager, operation, sub, changed)
            new["metadata"].pop("managedFields", None)
            stripped_new = copy.deepcopy(new)
            stripped_old = copy.deepcopy(old)
            for o in (stripped_new, stripped_old):
                o["metadata"].pop("managedFields", None)
                o["metadata"].pop("resourceVersion", None)
            new["metadata"]["managedFields"] = self._managed_fields(key, res)
            if stripped_new == stripped_old:
                # A no-op write does not bump the resourceVersion (as etcd3 storage).
                new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
                self.objects[key] = new
                return copy.deepcopy(new)
            self._commit(res, key, "MODIFIED", new)
            return copy.deepcopy(new)

    def apply(self, res, ns, name, config, sub, manager, force):
        """Server-side apply of `config` by `manager`."""
        kind, namespaced, has_status, _ = RESOURCES[res]
        key = (res, ns, name)
        if config.get("metadata", {}).get("name") not in (None, name):
            raise APIError(400, "BadRequest", "the name of the object does not match the name on the URL")
        if config.get("kind") not in (None, kind):
            raise APIError(400, "BadRequest", f"kind {config.get('kind')!r} does not match {kind}")
        applied = {p for p in leaf_paths(config) if owned_scope(p, sub, has_status)}
        with self.lock:
            old = self.objects.get(key)
            base = copy.deepcopy(old) if old is not None else {"metadata": {"name": name}}
            owners = self.owners.get(key, {})
            conflicts = []
            for (m, op, s), owned in owners.items():
                if m == manager:
                    continue
                for p in applied & owned:
                    if get_path(base, p) != get_path(config, p):
                        conflicts.append((m, ".".join(p)))
            if conflicts and not force:
                detail = "; ".join(f'conflict with "{m}": .{p}' for m, p in sorted(conflicts))
                raise APIError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict(s): {detail}")
            previous = owners.get((manager, "Apply", sub), set())
            new = base
            for p in previous - applied:
                still_owned = any(p in o for (m, op, s), o in owners.items() if (m, op, s) != (manager, "Apply", sub))
                if not still_owned:
                    delete_path(new, p)
            for p in applied:
                set_path(new, p, get_path(config, p)[0])
            new.setdefault("metadata", {}).pop("resourceVersion", None)
        return self.replace(res, ns, name, new, sub, manager, "Apply", exclusive=applied, create_ok=True,
                            check_rv=False)

    def delete(self, res, ns, name):
        key = (res, ns, name)
        with self.lock:
            old = self.objects.get(key)
            if old is None:
                raise APIError(404, "NotFound", f'{res[2]}.{res[0]} "{name}" not found'.replace(". ", " "))
            obj = copy.deepcopy(old)
            self._commit(res, key, "DELETED", obj)
            self.objects.pop(key, None)
            self.owners.pop(key, None)
            return obj

    def list(self, res, ns, selector):
        with self.lock:
            items = [copy.deepcopy(o) for (r, n, _), o in sorted(self.objects.items(), key=lambda kv: kv[0][1:])
                     if r == res and (ns is None or n == ns) and matches(o, selector)]
            return items, str(self.rv)

    def compact(self):
        with self.lock:
            self.rv += 1
            self.compacted = self.rv
            self.events = []
            self.epoch += 1
            self.lock.notify_all()
            return self.rv


def parse_selector(text):
    terms = []
    for part in filter(None, (text or "").split(",")):
        if "!=" in part:
            k, v = part.split("!=", 1)
            terms.append((k.strip(), "!=", v.strip()))
        elif "=" in part:
            k, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            terms.append((k.strip(), "=", v.strip()))
        elif part.startswith("!"):
            terms.append((part[1:].strip(), "!", None))
        else:
            terms.append((part.strip(), "exists", None))
    return terms


def matches(obj, selector):
    labels = obj.get("metadata", {}).get("labels") or {}
    for k, op, v in selector:
        if op == "=" and labels.get(k) != v:
            return False
        if op == "!=" and labels.get(k) == v:
            return False
        if op == "exists" and k not in labels:
            return False
        if op == "!" and k in labels:
            return False
    return True


def parse_path(path):
    """URL path -> (resource key, namespace or None, name or None, subresource or "")."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        group, version, rest = "", parts[1] if len(parts) > 1 else "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in RESOURCES:
        ns, rest = rest[1], rest[2:]
    if not rest or (group, version, rest[0]) not in RESOURCES:
        return None
    res = (group, version, rest[0])
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3 or sub not in ("", "status") or (sub == "status" and not RESOURCES[res][2]):
        return None
    if RESOURCES[res][1] and name is not None and ns is None:
        return None
    return res, ns, name, sub


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sriov-test-apiserver/1.0"

    def log_message(self, fmt, *args):
        pass

    # -- plumbing

    def send_json(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_error_status(self, err):
        headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
        self.send_json(err.code, err.status(), headers)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if not raw:
            return ctype, {}
        try:
            body = yaml.safe_load(raw) if ctype == "application/apply-patch+yaml" else json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise APIError(400, "BadRequest", f"the request body is not valid: {e}")
        if not isinstance(body, dict):
            raise APIError(400, "BadRequest", "the request body must be an object")
        return ctype, body

    def authenticated(self):
        auth = self.headers.get("Authorization") or ""
        if auth == "Bearer " + self.server.token:
            return True
        try:
            return bool(self.connection.getpeercert())
        except (AttributeError, ValueError):
            return False

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, socket.timeout):
            self.close_connection = True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        store = self.server.store
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            if not self.authenticated():
                self.read_body()
                raise APIError(401, "Unauthorized", "Unauthorized")
            if url.path.startswith("/_test/"):
                return self.control(method, url.path)
            with store.lock:
                store.requests.append({"method": method, "path": url.path, "query": url.query,
                                       "time": time.monotonic()})
                fault = next((f for f in store.faults if f["count"] > 0
                              and f.get("method", method) == method
                              and f.get("pathContains", "") in url.path), None)
                if fault:
                    fault["count"] -= 1
            if fault:
                self.read_body()
                code = fault["status"]
                reason = {409: "Conflict", 429: "TooManyRequests", 410: "Expired"}.get(code, "InternalError")
                raise APIError(code, reason, f"injected {code}", fault.get("retryAfter"))
            if method == "GET" and self.discovery(url.path):
                return
            target = parse_path(url.path)
            if target is None:
                self.read_body()
                raise APIError(404, "NotFound", f"the server could not find the requested resource ({url.path})")
            res, ns, name, sub = target
            manager = query.get("fieldManager") or (self.headers.get("User-Agent") or "unknown").split("/")[0]
            if method == "GET" and name is None:
                if query.get("watch") in ("1", "true"):
                    return self.watch(res, ns, query)
                items, rv = store.list(res, ns, parse_selector(query.get("labelSelector")))
                kind = RESOURCES[res][0]
                return self.send_json(200, {"kind": kind + "List", "apiVersion": api_version(res[0], res[1]),
                                            "metadata": {"resourceVersion": rv}, "items": items})
            if method == "GET":
                with store.lock:
                    obj = store.objects.get((res, ns, name))
                if obj is None:
                    raise APIError(404, "NotFound", f'{res[2]} "{name}" not found')
                return self.send_json(200, obj)
            ctype, body = self.read_body()
            if method == "POST" and name is None:
                return self.send_json(201, store.create(res, ns, body, manager))
            if method == "PUT" and name is not None:
                if body.get("metadata", {}).get("name") not in (None, name):
                    raise APIError(400, "BadRequest", "the name of the object does not match the name on the URL")
                return self.send_json(200, store.replace(res, ns, name, body, sub, manager))
            if method == "PATCH" and name is not None:
                if ctype == "application/apply-patch+yaml":
                    if not query.get("fieldManager"):
                        raise APIError(400, "BadRequest", "PATCH of type application/apply-patch+yaml requires fieldManager")
                    force = query.get("force") == "true"
                    return self.send_json(200, store.apply(res, ns, name, body, sub, manager, force))
                if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                    with store.lock:
                        old = store.objects.get((res, ns, name))
                        if old is None:
                            raise APIError(404, "NotFound", f'{res[2]} "{name}" not found')
                        merged = merge_patch(old, body)
                        if "resourceVersion" not in body.get("metadata", {}):
                            merged["metadata"].pop("resourceVersion", None)
                    return self.send_json(200, store.replace(res, ns, name, merged, sub, manager))
                raise APIError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {ctype}")
            if method == "DELETE" and name is not None and not sub:
                obj = store.delete(res, ns, name)
                return self.send_json(200, obj)
            raise APIError(405, "MethodNotAllowed", f"{method} is not supported on {url.path}")
        except APIError as err:
            self.send_error_status(err)

    # -- discovery for kubectl

    def discovery(self, path):
        if path == "/version":
            self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"})
        elif path == "/api":
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        elif path == "/apis":
            groups = sorted({(g, v) for g, v, _ in RESOURCES if g})
            self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                 "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}} for g, v in groups]})
        else:
            parts = [p for p in path.split("/") if p]
            if parts[:1] == ["api"] and len(parts) == 2:
                gv = ("", parts[1])
            elif parts[:1] == ["apis"] and len(parts) == 3:
                gv = (parts[1], parts[2])
            else:
                return False
            resources = []
            for (g, v, plural), (kind, namespaced, has_status, short) in sorted(RESOURCES.items()):
                if (g, v) != gv:
                    continue
                resources.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced,
                                  "kind": kind, "verbs": VERBS, "shortNames": short})
                if has_status:
                    resources.append({"name": plural + "/status", "singularName": "", "namespaced": namespaced,
                                      "kind": kind, "verbs": ["get", "patch", "update"]})
            if not resources:
                raise APIError(404, "NotFound", f"the server could not find the requested resource ({path})")
            self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                 "groupVersion": api_version(*gv), "resources": resources})
        return True

    # -- watch

    def write_chunk(self, data):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def watch(self, res, ns, query):
        store = self.server.store
        selector = parse_selector(query.get("labelSelector"))
        bookmarks = query.get("allowWatchBookmarks") == "true"
        timeout = float(query.get("timeoutSeconds") or 1800)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        kind = RESOURCES[res][0]
        avs = api_version(res[0], res[1])

        def event(kind_, obj):
            self.write_chunk(json.dumps({"type": kind_, "object": obj}).encode() + b"\n")

        rv_text = query.get("resourceVersion") or ""
        with store.lock:
            epoch = store.epoch
            if rv_text in ("", "0"):
                since = store.rv
                initial = [copy.deepcopy(o) for (r, n, _), o in sorted(store.objects.items(), key=lambda kv: kv[0][1:])
                           if r == res and (ns is None or n == ns) and matches(o, selector)]
                gone = False
            else:
                since = int(rv_text)
                initial = []
                gone = since < store.compacted
        try:
            if gone:
                err = APIError(410, "Expired", f"too old resource version: {since} ({store.compacted})")
                event("ERROR", err.status())
                self.write_chunk(b"")
                return
            for obj in initial:
                event("ADDED", obj)
            deadline = time.monotonic() + timeout
            last_bookmark = time.monotonic()
            while True:
                with store.lock:
                    pending = [e for e in store.events if e[0] > since]
                    if not pending and store.epoch == epoch:
                        store.lock.wait(0.2)
                        pending = [e for e in store.events if e[0] > since]
                    ended = store.epoch != epoch
                    current = store.rv
                for rv, r, kind_, obj in pending:
                    since = rv
                    if r == res and (ns is None or obj["metadata"].get("namespace") == ns) and matches(obj, selector):
                        event(kind_, obj)
                if ended or time.monotonic() > deadline:
                    self.write_chunk(b"")
                    self.close_connection = True
                    return
                if bookmarks and time.monotonic() - last_bookmark >= store.bookmark_interval:
                    since = max(since, current)
                    event("BOOKMARK", {"kind": kind, "apiVersion": avs, "metadata": {"resourceVersion": str(since)}})
                    last_bookmark = time.monotonic()
        except (ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True

    # -- test controls

    def control(self, method, path):
        store = self.server.store
        _, body = self.read_body()
        if path == "/_test/faults" and method == "POST":
            body.setdefault("count", 1)
            with store.lock:
                store.faults.append(body)
            return self.send_json(200, {"ok": True})
        if path == "/_test/faults" and method == "DELETE":
            with store.lock:
                store.faults = []
            return self.send_json(200, {"ok": True})
        if path == "/_test/compact" and method == "POST":
            return self.send_json(200, {"compacted": str(store.compact())})
        if path == "/_test/drop" and method == "POST":
            with store.lock:
                store.epoch += 1
                store.lock.notify_all()
            self.close_connection = True
            return self.send_json(200, {"ok": True}, {"Connection": "close"})
        if path == "/_test/requests" and method == "GET":
            with store.lock:
                return self.send_json(200, {"requests": list(store.requests), "now": time.monotonic()})
        if path == "/_test/requests" and method == "DELETE":
            with store.lock:
                store.requests = []
            return self.send_json(200, {"ok": True})
        raise APIError(404, "NotFound", f"no test control {method} {path}")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--state")
    args = ap.parse_args()

    store = Store(args.bookmark_interval)
    if args.state:
        store.load(args.state)
    server = Server(("127.0.0.1", args.port), Handler)
    server.store, server.token = store, args.token
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    if args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    # The handshake runs in the connection's thread, not in accept().
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)

    def stop(*_):
        # Open watches hold handler threads: save and leave at once.
        if args.state:
            store.save(args.state)
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A parent that starts us from a thread blocking these signals (a
    # dispatch worker thread does) passes the mask on through exec.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
