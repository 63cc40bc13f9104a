"""A grpcio server with mTLS offering test.Echo over raw bytes, for our client.

Usage: grpc_server.py CA CERT KEY [gzip]
With "gzip", responses are gzip-compressed.
Prints "PORT <n>" once listening on 127.0.0.1; serves until stdin closes.
"""
import signal
import sys
from concurrent import futures

import grpc

# A parent that starts us from a thread blocking SIGTERM and SIGINT (a dispatch
# worker thread does) passes the mask on through exec; take them back, so that
# a SIGTERM ends us at once.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

ca, cert, key = sys.argv[1:4]


def unary(request, context):
    peer = context.auth_context().get("x509_subject_alternative_name", [b""])
    context.set_trailing_metadata([("x-peer-san", ",".join(p.decode() for p in peer))])
    return request


def server_stream(request, context):
    for i in range(request[0] if request else 0):
        yield bytes([i])


def client_stream(requests, context):
    return b"".join(requests)


def bidi(requests, context):
    for r in requests:
        yield r


def fail(request, context):
    md = dict(context.invocation_metadata())
    context.abort(grpc.StatusCode(next(c for c in grpc.StatusCode if c.value[0] == int(md.get("x-code", "2")))),
                  md.get("x-message", "failed"))


def user_agent(request, context):
    return dict(context.invocation_metadata()).get("user-agent", "").encode()


handler = grpc.method_handlers_generic_handler("test.Echo", {
    "UserAgent": grpc.unary_unary_rpc_method_handler(user_agent),
    "Unary": grpc.unary_unary_rpc_method_handler(unary),
    "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
    "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
    "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
    "Fail": grpc.unary_unary_rpc_method_handler(fail),
})
use_gzip = len(sys.argv) > 4 and sys.argv[4] == "gzip"
server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), compression=grpc.Compression.Gzip if use_gzip else None)
server.add_generic_rpc_handlers((handler,))
creds = grpc.ssl_server_credentials(
    [(open(key, "rb").read(), open(cert, "rb").read())],
    root_certificates=open(ca, "rb").read(),
    require_client_auth=True,
)
port = server.add_secure_port("127.0.0.1:0", creds)
server.start()
print("PORT", port, flush=True)
sys.stdin.read()
server.stop(0)
