"""A grpcio client calling the test.Echo service of our server over mTLS.

Usage: grpc_client.py HOST:PORT CA CERT KEY [gzip]
With "gzip", every request is gzip-compressed (grpc-encoding: gzip).
Prints one line per check, "ok NAME" or "FAIL NAME: why", then "total N";
exits 1 on any failure.
"""
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

target, ca, cert, key = sys.argv[1:5]
creds = grpc.ssl_channel_credentials(
    root_certificates=open(ca, "rb").read(),
    private_key=open(key, "rb").read(),
    certificate_chain=open(cert, "rb").read(),
)
use_gzip = len(sys.argv) > 5 and sys.argv[5] == "gzip"
channel = grpc.secure_channel(target, creds, compression=grpc.Compression.Gzip if use_gzip else None)
failures = 0


def check(name, fn):
    global failures
    try:
        fn()
        print("ok", name, flush=True)
    except Exception as e:  # noqa: BLE001 - report any failure
        failures += 1
        print("FAIL", name + ":", repr(e).replace("\n", " "), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def unary():
    r = channel.unary_unary("/test.Echo/Unary")(b"hello", timeout=10)
    expect(r == b"hello", r)


def server_streaming():
    got = list(channel.unary_stream("/test.Echo/ServerStream")(bytes([5]), timeout=10))
    expect(got == [bytes([i]) for i in range(5)], got)


def client_streaming():
    r = channel.stream_unary("/test.Echo/ClientStream")(iter([b"a", b"b", b"c"]), timeout=10)
    expect(r == b"abc", r)


def bidi():
    got = list(channel.stream_stream("/test.Echo/Bidi")(iter([b"x", b"y"]), timeout=10))
    expect(got == [b"x", b"y"], got)


def error_status():
    try:
        channel.unary_unary("/test.Echo/Fail")(
            b"", metadata=[("x-code", "5"), ("x-message-bin", "nöt found %".encode())], timeout=10)
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.NOT_FOUND, e.code())
        expect(e.details() == "nöt found %", e.details())
        expect(("x-detail", "detail") in e.trailing_metadata(), e.trailing_metadata())
        return
    raise AssertionError("no error")


def deadline():
    try:
        channel.unary_unary("/test.Echo/Sleep")(b"", timeout=0.2)
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e.code())
        return
    raise AssertionError("no error")


def identity_and_metadata():
    r = channel.unary_unary("/test.Echo/Whoami")(
        b"", metadata=[("x-text", "v"), ("x-raw-bin", b"\x00\x01")], timeout=10)
    expect(r.decode().split("\n")[0].startswith("spiffe://sriov.local/"), r)
    expect("x-text=v" in r.decode(), r)
    expect("x-raw-bin=0,1" in r.decode(), r)


def health():
    r = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    expect(r.status == health_pb2.HealthCheckResponse.SERVING, r)


def unimplemented():
    try:
        channel.unary_unary("/test.Echo/Missing")(b"", timeout=10)
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.UNIMPLEMENTED, e.code())
        return
    raise AssertionError("no error")


def user_agent():
    r = channel.unary_unary("/test.Echo/UserAgent")(b"", timeout=10).decode()
    expect(r.startswith("grpc-python/"), r)


def large_message():
    payload = b"sriov " * 40000
    r = channel.unary_unary("/test.Echo/Unary")(payload, timeout=10)
    expect(r == payload, len(r))


def unsupported_encoding():
    try:
        channel.unary_unary("/test.Echo/Unary")(b"x" * 100, compression=grpc.Compression.Deflate, timeout=10)
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.UNIMPLEMENTED, e.code())
        expect("deflate" in e.details(), e.details())
        return
    raise AssertionError("no error")


for name, fn in [
    ("unary", unary), ("server_streaming", server_streaming), ("client_streaming", client_streaming),
    ("bidi", bidi), ("error_status", error_status), ("deadline", deadline),
    ("identity_and_metadata", identity_and_metadata), ("health", health), ("unimplemented", unimplemented),
    ("user_agent", user_agent), ("large_message", large_message), ("unsupported_encoding", unsupported_encoding),
]:
    check(name, fn)
print("total", 12, flush=True)
sys.exit(1 if failures else 0)
