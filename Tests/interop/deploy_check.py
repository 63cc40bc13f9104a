"""Checks deploy/ and examples/ against the CRDs with a real JSON-schema validator.

Run from the repository root: python Tests/interop/deploy_check.py [KUBECTL]

1. Every YAML file in deploy/ and examples/ parses (the one file kept verbatim
   as invalid YAML, examples/seed-nodestate/nodestate-2019-verbatim.yaml, must
   fail to parse).
2. `kubectl kustomize deploy/` builds, and the build holds every CRD, workload,
   RBAC object and Service the installation needs.
3. Every CRD is structural enough for our use: a status subresource, the
   printer columns users expect, an openAPIV3Schema.
4. Every example object of our API group validates against its CRD's
   openAPIV3Schema (jsonschema, Draft 4 semantics as OpenAPI v3 uses), and
   every file under examples/invalid/ is rejected at the field its
   `# expect-error: PATH` line names.

Prints one line per check and exits 1 on the first failed group, naming the
file and the reason.
"""
import glob
import os
import subprocess
import sys

import jsonschema
import yaml

GROUP = "sriovnetwork.openshift.io"
VERBATIM_INVALID = "examples/seed-nodestate/nodestate-2019-verbatim.yaml"
failures = []


def fail(where, why):
    failures.append(f"{where}: {why}")


def yaml_files(*roots):
    out = []
    for root in roots:
        out += glob.glob(os.path.join(root, "**", "*.yaml"), recursive=True)
        out += glob.glob(os.path.join(root, "**", "*.yml"), recursive=True)
    return sorted(out)


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def to_json_schema(schema):
    """OpenAPI v3 schema -> JSON schema: drop the Kubernetes extensions and
    `nullable`; everything else is the JSON-schema subset OpenAPI uses."""
    if isinstance(schema, dict):
        return {k: to_json_schema(v) for k, v in schema.items()
                if not k.startswith("x-kubernetes-") and k != "nullable"}
    if isinstance(schema, list):
        return [to_json_schema(v) for v in schema]
    return schema


def error_path(error):
    parts = []
    for p in error.absolute_path:
        if isinstance(p, int):
            parts[-1] = f"{parts[-1]}[{p}]"
        else:
            parts.append(p)
    # A missing required property is reported at its parent.
    if error.validator == "required":
        missing = error.message.split("'")[1]
        parts.append(missing)
    return ".".join(parts)


def main():
    kubectl = sys.argv[1] if len(sys.argv) > 1 else "kubectl"

    # 1. Parse.
    parsed = {}
    for path in yaml_files("deploy", "examples"):
        try:
            parsed[path] = load_all(path)
        except yaml.YAMLError as e:
            if path != VERBATIM_INVALID:
                fail(path, f"does not parse: {e}")
            continue
        if path == VERBATIM_INVALID:
            fail(path, "parses, but it is kept as the README's invalid YAML")
        elif not parsed[path] and not path.endswith("kustomization.yaml"):
            fail(path, "holds no document")
    print(f"parsed {len(parsed)} YAML files")

    # 2. Kustomize.
    build = subprocess.run([kubectl, "kustomize", "deploy/"], capture_output=True, text=True)
    if build.returncode != 0:
        fail("deploy/kustomization.yaml", f"kubectl kustomize failed: {build.stderr.strip()}")
        built = []
    else:
        built = [d for d in yaml.safe_load_all(build.stdout) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in built}
    wanted = [
        ("Namespace", "sriov-network-operator"),
        ("CustomResourceDefinition", f"sriovnetworknodepolicies.{GROUP}"),
        ("CustomResourceDefinition", f"sriovnetworks.{GROUP}"),
        ("CustomResourceDefinition", f"sriovnetworknodestates.{GROUP}"),
        ("Deployment", "sriov-controller"), ("Service", "sriov-controller"),
        ("PodDisruptionBudget", "sriov-controller"), ("DaemonSet", "sriov-agent"),
        ("Deployment", "sriov-mirror"), ("Role", "sriov-mirror"), ("ClusterRole", "sriov-mirror"),
        ("DaemonSet", "sriov-device-plugin"), ("DaemonSet", "sriov-cni"),
    ]
    for kind, name in wanted:
        if (kind, name) not in kinds:
            fail("kubectl kustomize deploy/", f"no {kind} {name} in the build")
    for d in built:
        if d["kind"] == "CustomResourceDefinition" and d["spec"]["group"] == "k8s.cni.cncf.io":
            fail("kubectl kustomize deploy/", "redefines the CNI community's NetworkAttachmentDefinition CRD")
        if d["kind"] not in ("CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding") \
                and d["metadata"].get("namespace") != "sriov-network-operator":
            fail("kubectl kustomize deploy/", f"{d['kind']} {d['metadata']['name']} is outside the operator's namespace")
    agent = next((d for d in built if d["kind"] == "DaemonSet" and d["metadata"]["name"] == "sriov-agent"), None)
    if agent:
        c = agent["spec"]["template"]["spec"]["containers"][0]
        if not c.get("securityContext", {}).get("privileged"):
            fail("deploy/agent/daemonset.yaml", "the agent is not privileged")
        paths = {v.get("hostPath", {}).get("path") for v in agent["spec"]["template"]["spec"]["volumes"]}
        if "/sys" not in paths:
            fail("deploy/agent/daemonset.yaml", "the host's /sys is not mounted")
    for d in built:
        if d["kind"] in ("Role", "ClusterRole"):
            for rule in d["rules"]:
                if "*" in rule.get("verbs", []) or "*" in rule.get("resources", []):
                    fail(f"{d['kind']} {d['metadata']['name']}", "grants a wildcard")
    print(f"kustomize built {len(built)} objects")

    # 3. CRDs.
    validators = {}
    columns = {
        "SriovNetworkNodeState": {"Sync Status", "Age"},
        "SriovNetworkNodePolicy": {"Priority", "NumVfs", "Resource"},
    }
    for d in built:
        if d["kind"] != "CustomResourceDefinition":
            continue
        kind = d["spec"]["names"]["kind"]
        for version in d["spec"]["versions"]:
            if version.get("subresources", {}).get("status") is None:
                fail(f"CRD {kind}", "has no status subresource")
            have = {c["name"] for c in version.get("additionalPrinterColumns", [])}
            for col in columns.get(kind, set()) - have:
                fail(f"CRD {kind}", f"has no printer column {col!r}")
            schema = version["schema"]["openAPIV3Schema"]
            jsonschema.Draft4Validator.check_schema(to_json_schema(schema))
            validators[(f"{d['spec']['group']}/{version['name']}", kind)] = jsonschema.Draft4Validator(
                to_json_schema(schema))
    print(f"checked {len(validators)} CRD versions")

    # 4. Examples.
    valid = rejected = 0
    for path, docs in parsed.items():
        if not path.startswith("examples/"):
            continue
        expect = None
        if path.startswith("examples/invalid/"):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.startswith("# expect-error:"):
                        expect = line.split(":", 1)[1].strip()
            if expect is None:
                fail(path, "has no '# expect-error: PATH' line")
                continue
        objects = []
        for d in docs:
            objects += d.get("items", []) if d.get("kind") == "List" else [d]
        for obj in objects:
            key = (obj.get("apiVersion"), obj.get("kind"))
            if not str(key[0]).startswith(GROUP + "/"):
                continue
            if key not in validators:
                fail(path, f"no CRD for {key[0]} {key[1]}")
                continue
            errors = sorted(validators[key].iter_errors(obj), key=lambda e: list(e.absolute_path))
            name = obj.get("metadata", {}).get("name")
            if expect is None:
                for e in errors:
                    fail(path, f"{key[1]} {name!r}: {error_path(e)}: {e.message}")
                valid += 1
            else:
                paths = [error_path(e) for e in errors]
                if expect not in paths:
                    fail(path, f"{key[1]} {name!r} expected a rejection at {expect}, got {paths or 'none'}")
                rejected += 1
    print(f"validated {valid} example objects, {rejected} invalid examples rejected")

    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
