#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets from the tests' own inputs.

    Tests/Fuzz/make-seeds.py PYTHON

- protobuf: every golden vector of Tests/SriovProtoTests/Python/golden.py
  (two fully-set instances of every message type, and the named fixtures),
  run with PYTHON (the test virtualenv's, which has grpcio-tools); each seed
  is the type's index in the sorted type list, a flags byte, the encoding.
- cr: examples/ and every multi-line string literal without interpolation
  in the API and renderer tests (the YAML and JSON they decode).
- grpc-wire: framed messages (plain and gzip) and the header values the
  wire tests use.
- h2-server: the requests of the loopback and adversarial tests as frame
  records (health Check and Watch, reflection, gzip, a deadline, a request
  that is not gRPC, CONTINUATION, RST_STREAM, SETTINGS, WINDOW_UPDATE,
  PRIORITY, a content-length that disagrees), HPACK by PYTHON's hpack.
- h2-client: server answers to a unary call on stream 1 (a response with
  trailers, trailers-only errors, gzip, GOAWAY, RST_STREAM, PING, window
  updates, a message over the limit).
Seeds are named seed-*; running it again rewrites them.
"""
import gzip
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
corpus = os.path.join(root, "Tests", "Fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def proto_type_names():
    text = open(os.path.join(root, "Sources/SriovProto/Generated/ProtoFileRegistry.swift")).read()
    block = text.split("messageTypes: [String: any ProtobufMessage.Type] = [", 1)[1].split("]", 1)[0]
    return sorted(re.findall(r'"([A-Za-z0-9_.]+)":', block))


def protobuf(python):
    names = proto_type_names()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "golden.json")
        subprocess.run([python, os.path.join(root, "Tests/SriovProtoTests/Python/golden.py"), "generate", root, out],
                       check=True)
        vectors = json.load(open(out))
    for v in vectors:
        index = names.index(v["type"])
        data = bytes([index, 0]) + bytes.fromhex(v["hex"])
        write("protobuf", "%s-%s" % (v["type"], v["variant"]), data)
    for index, name in enumerate(names):
        write("protobuf", "%s-empty" % name, bytes([index, 1]))


def cr():
    for path in sorted(glob.glob(os.path.join(root, "examples", "**", "*.yaml"), recursive=True)):
        rel = os.path.relpath(path, os.path.join(root, "examples")).replace("/", "-")
        write("cr", "example-" + rel, open(path, "rb").read())
    literal = re.compile(r'"""\n(.*?)\n([ ]*)"""', re.S)
    for path in sorted(glob.glob(os.path.join(root, "Tests/SriovAPITests/*.swift"))
                       + glob.glob(os.path.join(root, "Tests/SriovRenderTests/*.swift"))):
        for n, m in enumerate(literal.finditer(open(path).read())):
            body, indent = m.group(1), len(m.group(2))
            if "\\(" in body:
                continue
            lines = [line[indent:] for line in body.split("\n")]
            text = ("\n".join(lines) + "\n").replace('\\"', '"').replace("\\\\", "\\")
            write("cr", "%s-%d" % (os.path.basename(path)[:-len(".swift")], n), text.encode())


def frame(payload, compressed=False):
    return bytes([1 if compressed else 0]) + len(payload).to_bytes(4, "big") + payload


def grpc_wire():
    message = bytes.fromhex("0a0a706f6c6963792d31")
    # 0: deframer; mode byte (bit 0 gzip, bits 1-2 limit index), chunk size - 1.
    write("grpc-wire", "deframe-identity", bytes([0, 0b110, 3]) + frame(message) + frame(b""))
    write("grpc-wire", "deframe-gzip", bytes([0, 0b111, 0]) + frame(gzip.compress(message * 20), True) + frame(message))
    write("grpc-wire", "deframe-over-limit", bytes([0, 0b010, 255]) + frame(bytes(64)))
    write("grpc-wire", "deframe-truncated", bytes([0, 0b100, 1]) + frame(message)[:-3])
    for t in ["1S", "100m", "99999999H", "5u", "0n", "12345678M"]:
        write("grpc-wire", "timeout-" + t, bytes([1]) + t.encode())
    for i, m in enumerate(["ok", "50% done", "bad %zz and %4", "caf%C3%A9 \u00e9\n", "%"]):
        write("grpc-wire", "message-%d" % i, bytes([2]) + m.encode())
    for i, b in enumerate(["AAEC", "AQID,BAUG", "AQID , BAUG", "AAECAw==", "not base64!"]):
        write("grpc-wire", "bin-%d" % i, bytes([3]) + b.encode())
    write("grpc-wire", "gzip-message", bytes([4]) + message * 8)


def record(type_, flags, stream, payload=b""):
    return bytes([type_, flags, stream, len(payload) & 0xff, len(payload) >> 8]) + payload


def h2_server(python):
    code = r'''
import sys, json
from hpack import Encoder
out = {}
def block(path, extra=()):
    e = Encoder()
    headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
               ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)
    return e.encode(headers).hex()
out["check"] = block("/grpc.health.v1.Health/Check")
out["watch"] = block("/grpc.health.v1.Health/Watch", [("grpc-timeout", "100m")])
out["reflection"] = block("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
out["gzip"] = block("/grpc.health.v1.Health/Check", [("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip")])
out["unknown"] = block("/sriov.v1.Operator/Nope", [("x-trace-bin", "AAEC")])
out["length"] = block("/grpc.health.v1.Health/Check", [("content-length", "3")])
e = Encoder()
out["get"] = e.encode([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "localhost")]).hex()
print(json.dumps(out))
'''
    blocks = {k: bytes.fromhex(v) for k, v in json.loads(subprocess.run(
        [python, "-c", code], check=True, capture_output=True, text=True).stdout).items()}
    empty = frame(b"")
    service = frame(bytes.fromhex("0a00"))
    write("h2-server", "check", record(1, 4, 1, blocks["check"]) + record(0, 1, 1, empty))
    write("h2-server", "check-twice", record(1, 4, 1, blocks["check"]) + record(0, 1, 1, empty)
          + record(1, 4, 3, blocks["check"]) + record(0, 1, 3, service))
    write("h2-server", "watch-reset", record(1, 4, 1, blocks["watch"]) + record(0, 0, 1, empty)
          + record(3, 0, 1, bytes([0, 0, 0, 8])))
    write("h2-server", "reflection", record(1, 4, 1, blocks["reflection"]) + record(0, 0, 1, frame(bytes.fromhex("3a00")))
          + record(0, 1, 1, frame(bytes.fromhex("1a1567727063"))))
    write("h2-server", "gzip", record(1, 4, 1, blocks["gzip"]) + record(0, 1, 1, frame(gzip.compress(b""), True)))
    write("h2-server", "unknown-method", record(1, 5, 1, blocks["unknown"]))
    write("h2-server", "not-grpc", record(1, 5, 1, blocks["get"]))
    write("h2-server", "content-length", record(1, 4, 1, blocks["length"]) + record(0, 1, 1, empty))
    half = len(blocks["check"]) // 2
    write("h2-server", "continuation", record(1, 0, 1, blocks["check"][:half]) + record(9, 4, 1, blocks["check"][half:])
          + record(0, 1, 1, empty))
    write("h2-server", "settings-window-priority",
          record(4, 0, 0, bytes([0, 4, 0, 0, 0x10, 0, 0, 5, 0, 0, 0x40, 0])) + record(8, 0, 0, bytes([0, 0, 0x10, 0]))
          + record(2, 0, 1, bytes([0, 0, 0, 0, 16])) + record(1, 4, 1, blocks["check"]) + record(8, 0, 1, bytes([0, 0, 1, 0]))
          + record(0, 1, 1, empty))
    write("h2-server", "ping-goaway", record(6, 0, 0, bytes(8)) + record(7, 0, 0, bytes(8)))
    write("h2-server", "padded-priority-headers", record(1, 0x2c, 1, bytes([2, 0, 0, 0, 0, 15]) + blocks["check"] + bytes(2))
          + record(0, 9, 1, bytes([1]) + empty + bytes(1)))


def h2_client(python):
    code = r'''
import json
from hpack import Encoder
e = Encoder()
out = {
    "response": e.encode([(":status", "200"), ("content-type", "application/grpc")]).hex(),
    "gzip": e.encode([(":status", "200"), ("content-type", "application/grpc"), ("grpc-encoding", "gzip")]).hex(),
    "trailers": e.encode([("grpc-status", "0")]).hex(),
    "error": e.encode([(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "14"),
                       ("grpc-message", "caf%C3%A9 gone"), ("x-detail-bin", "AAEC")]).hex(),
    "http": e.encode([(":status", "503"), ("content-type", "text/plain")]).hex(),
}
print(json.dumps(out))
'''
    blocks = {k: bytes.fromhex(v) for k, v in json.loads(subprocess.run(
        [python, "-c", code], check=True, capture_output=True, text=True).stdout).items()}
    serving = frame(bytes.fromhex("0801"))
    write("h2-client", "ok", record(4, 1, 0) + record(1, 4, 1, blocks["response"]) + record(0, 0, 1, serving)
          + record(1, 5, 1, blocks["trailers"]))
    write("h2-client", "trailers-only", record(1, 5, 1, blocks["error"]))
    write("h2-client", "http-error", record(1, 4, 1, blocks["http"]) + record(0, 1, 1, b"down"))
    write("h2-client", "gzip", record(1, 4, 1, blocks["gzip"]) + record(0, 0, 1, frame(gzip.compress(bytes.fromhex("0801")), True))
          + record(1, 5, 1, blocks["trailers"]))
    write("h2-client", "goaway", record(7, 0, 0, bytes([0, 0, 0, 0, 0, 0, 0, 0])))
    write("h2-client", "rst-refused", record(3, 0, 1, bytes([0, 0, 0, 7])))
    write("h2-client", "ping-window", record(6, 0, 0, bytes(8)) + record(8, 0, 0, bytes([0, 1, 0, 0]))
          + record(8, 0, 1, bytes([0, 1, 0, 0])) + record(1, 4, 1, blocks["response"]) + record(0, 0, 1, frame(bytes(300)))
          + record(1, 5, 1, blocks["trailers"]))
    write("h2-client", "two-messages", record(1, 4, 1, blocks["response"]) + record(0, 0, 1, serving + serving)
          + record(1, 5, 1, blocks["trailers"]))


if __name__ == "__main__":
    protobuf(sys.argv[1] if len(sys.argv) > 1 else sys.executable)
    cr()
    grpc_wire()
    h2_server(sys.argv[1] if len(sys.argv) > 1 else sys.executable)
    h2_client(sys.argv[1] if len(sys.argv) > 1 else sys.executable)
