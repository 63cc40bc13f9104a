#!/usr/bin/env python3
"""Golden protobuf vectors from Python's protobuf runtime, for the Swift tests.

The .proto files under proto/ are compiled at run time with grpcio-tools, so
the Python side is an independent implementation of the same schema.

    golden.py generate REPO OUT.json
        For every message type: two instances with every field set to
        deterministic non-default values (variant 0 sets the first member of
        each oneof, variant 1 the last), and the named fixtures of
        fixtures.json; writes [{"type", "variant", "hex"}] with deterministic
        serialization (map entries sorted by key).
    golden.py verify REPO IN.json
        Parses every {"type", "variant", "hex"} written by the Swift side and
        checks it equals the instance this script builds for the same type and
        variant (or fixture). Exits 1 listing every mismatch.
"""
import atexit
import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile

from google.protobuf import json_format
from grpc_tools import protoc

try:
    from importlib.resources import files as resource_files
except ImportError:  # pragma: no cover
    resource_files = None


def compile_protos(repo):
    proto_dir = os.path.join(repo, "proto")
    out = tempfile.mkdtemp(prefix="sriov-golden-")
    atexit.register(shutil.rmtree, out, True)
    wkt = str(resource_files("grpc_tools") / "_proto")
    protos = []
    for root, _, names in os.walk(proto_dir):
        for n in names:
            if n.endswith(".proto"):
                protos.append(os.path.relpath(os.path.join(root, n), proto_dir))
    protos.sort()
    rc = protoc.main(["protoc", "-I" + proto_dir, "-I" + wkt, "--python_out=" + out] + protos)
    if rc != 0:
        raise SystemExit("protoc failed with %d" % rc)
    sys.path.insert(0, out)
    modules = []
    for p in protos:
        name = p[:-len(".proto")].replace("/", ".") + "_pb2"
        if name.startswith("grpc."):
            # "grpc" is grpcio's own package: load these files by path, under
            # a name of their own (they import only well-known types).
            spec = importlib.util.spec_from_file_location(
                "sriov_golden_" + name.replace(".", "_"), os.path.join(out, p[:-len(".proto")] + "_pb2.py"))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            modules.append(module)
        else:
            modules.append(importlib.import_module(name))
    # The well-known types compiled into the Swift module as well.
    from google.protobuf import timestamp_pb2, wrappers_pb2
    return modules + [timestamp_pb2, wrappers_pb2]


def all_message_classes(modules):
    from google.protobuf import message_factory
    classes = {}

    def walk(desc):
        if desc.GetOptions().map_entry:
            return
        classes[desc.full_name] = message_factory.GetMessageClass(desc)
        for nested in desc.nested_types:
            walk(nested)
    for m in modules:
        for desc in m.DESCRIPTOR.message_types_by_name.values():
            walk(desc)
    return classes


F = None  # FieldDescriptor, set in main


def scalar_value(field, index, variant):
    t = field.type
    n = field.number + 10 * index + 100 * variant
    if t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return -n if n % 2 else n * 1000
    if t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return -(n * 10_000_000_007) if n % 2 else n * 10_000_000_007
    if t in (F.TYPE_UINT32, F.TYPE_FIXED32):
        return 4_000_000_000 - n
    if t in (F.TYPE_UINT64, F.TYPE_FIXED64):
        return 18_000_000_000_000_000_000 - n
    if t == F.TYPE_BOOL:
        return True
    if t == F.TYPE_FLOAT:
        return 1.5 + n
    if t == F.TYPE_DOUBLE:
        return 0.25 + n
    if t == F.TYPE_STRING:
        return "%s-%d-ü€🙂" % (field.name, n)
    if t == F.TYPE_BYTES:
        return bytes([0, 1, 255, n % 256])
    if t == F.TYPE_ENUM:
        values = field.enum_type.values
        return values[-1 - (index + variant) % len(values)].number
    raise ValueError(field.name)


def populate(msg, variant, depth=0):
    desc = msg.DESCRIPTOR
    chosen = {}
    for oneof in desc.oneofs:
        members = list(oneof.fields)
        chosen[oneof.name] = members[0] if variant == 0 else members[-1]
    for field in desc.fields:
        oneof = field.containing_oneof
        if oneof is not None and chosen.get(oneof.name) is not field:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_f = field.message_type.fields_by_name["key"]
            val_f = field.message_type.fields_by_name["value"]
            target = getattr(msg, field.name)
            for i in range(2):
                k = scalar_value(key_f, i, variant)
                if val_f.message_type is not None:
                    if depth < 4:
                        populate(target[k], variant, depth + 1)
                else:
                    target[k] = scalar_value(val_f, i, variant)
            continue
        if field.is_repeated:
            target = getattr(msg, field.name)
            for i in range(2):
                if field.message_type is not None:
                    if depth < 4:
                        populate(target.add(), (variant + i) % 2, depth + 1)
                else:
                    target.append(scalar_value(field, i, variant))
            continue
        if field.message_type is not None:
            if depth < 4:
                sub = getattr(msg, field.name)
                populate(sub, variant, depth + 1)
                if sub.ByteSize() == 0:
                    # The Swift types treat an empty message field as absent
                    # (non-optional struct fields); only wrappers keep presence.
                    msg.ClearField(field.name)
            continue
        setattr(msg, field.name, scalar_value(field, 0, variant))


def build(classes, fixtures, type_name, variant):
    cls = classes[type_name]
    if isinstance(variant, str):
        return json_format.ParseDict(fixtures[variant]["json"], cls())
    msg = cls()
    populate(msg, variant)
    return msg


def load_fixtures():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures.json")
    with open(path) as fh:
        return {f["name"]: f for f in json.load(fh)}


def main():
    global F
    from google.protobuf.descriptor import FieldDescriptor
    F = FieldDescriptor
    if len(sys.argv) != 4 or sys.argv[1] not in ("generate", "verify"):
        raise SystemExit(__doc__)
    mode, repo, path = sys.argv[1:]
    classes = all_message_classes(compile_protos(repo))
    fixtures = load_fixtures()
    if mode == "generate":
        out = []
        for name in sorted(classes):
            for variant in (0, 1):
                msg = build(classes, fixtures, name, variant)
                out.append({"type": name, "variant": variant,
                            "hex": msg.SerializeToString(deterministic=True).hex()})
        for fname, fx in sorted(fixtures.items()):
            msg = build(classes, fixtures, fx["type"], fname)
            out.append({"type": fx["type"], "variant": fname,
                        "hex": msg.SerializeToString(deterministic=True).hex()})
        with open(path, "w") as fh:
            json.dump(out, fh, indent=1)
        return
    with open(path) as fh:
        vectors = json.load(fh)
    failures = []
    for v in vectors:
        cls = classes.get(v["type"])
        if cls is None:
            failures.append("%s: unknown type" % v["type"])
            continue
        got = cls()
        try:
            got.ParseFromString(bytes.fromhex(v["hex"]))
        except Exception as e:  # noqa: BLE001 - report any parse failure
            failures.append("%s/%s: Python cannot parse the Swift bytes: %s" % (v["type"], v["variant"], e))
            continue
        want = build(classes, fixtures, v["type"], v["variant"])
        if got != want:
            failures.append("%s/%s: differs\n  swift:  %s\n  python: %s" % (
                v["type"], v["variant"], json_format.MessageToJson(got), json_format.MessageToJson(want)))
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("verified %d vectors" % len(vectors))


if __name__ == "__main__":
    main()
