"""Adversarial HTTP/2 clients (Python h2) against our gRPC server.

Usage: h2_attacks.py HOST PORT CA CERT KEY ATTACK...
Attacks: rapid_reset continuation_flood oversized_headers garbage_preface
half_open_tls five_mib_message malformed_grpc_frame truncated_grpc_frame ping_flood
non_grpc_content_type early_response_reset
Prints one JSON object per attack: {"attack", "refused", "detail", "healthy_after"}.
"""
import json
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import hpack

host, port, ca, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
attacks = sys.argv[6:]


def tls_socket(alpn=True, handshake=True):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    if alpn:
        ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection((host, port), timeout=10)
    if not handshake:
        return raw
    return ctx.wrap_socket(raw, server_hostname="localhost")


def request_headers(path="/grpc.health.v1.Health/Check", extra=()):
    return [(":method", "POST"), (":scheme", "https"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)


def new_conn():
    s = tls_socket()
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    s.sendall(c.data_to_send())
    return s, c


def read_events(s, c, until, timeout=5.0):
    """Reads until `until(events)` is true, the peer closes, or timeout. Returns (events, closed)."""
    s.settimeout(0.2)
    events = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            return events, True
        if not data:
            return events, True
        try:
            events += c.receive_data(data)
        except Exception as e:  # noqa: BLE001 - a protocol error from the server counts as closing
            events.append(("protocol-error", repr(e)))
            return events, True
        out = c.data_to_send()
        if out:
            try:
                s.sendall(out)
            except OSError:
                return events, True
        if until(events):
            return events, False
    return events, False


def grpc_status(events, stream_id=1):
    for e in events:
        if isinstance(e, (h2.events.TrailersReceived, h2.events.ResponseReceived)) and e.stream_id == stream_id:
            for k, v in e.headers:
                if k == "grpc-status":
                    return v
    return None


def stream_ended(stream_id):
    return lambda evs: any(isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) and e.stream_id == stream_id for e in evs)


def goaway_or_closed(events, closed):
    return closed or any(isinstance(e, h2.events.ConnectionTerminated) for e in events)


def healthy():
    try:
        s, c = new_conn()
        c.send_headers(1, request_headers())
        c.send_data(1, b"\x00\x00\x00\x00\x00", end_stream=True)
        s.sendall(c.data_to_send())
        events, _ = read_events(s, c, stream_ended(1))
        s.close()
        return grpc_status(events) == "0"
    except Exception:  # noqa: BLE001
        return False


def frame(ftype, flags, stream_id, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream_id) + payload


def rapid_reset():
    s, c = new_conn()
    closed = False
    events = []
    for i in range(3000):
        sid = 1 + 2 * i
        c.send_headers(sid, request_headers())
        c.reset_stream(sid)
        try:
            s.sendall(c.data_to_send())
        except OSError:
            closed = True
            break
        if i % 200 == 0:
            evs, cl = read_events(s, c, lambda e: False, timeout=0.05)
            events += evs
            if cl or any(isinstance(e, h2.events.ConnectionTerminated) for e in evs):
                closed = True
                break
    if not closed:
        evs, closed = read_events(s, c, lambda e: any(isinstance(x, h2.events.ConnectionTerminated) for x in e), timeout=3)
        events += evs
    s.close()
    refused = goaway_or_closed(events, closed)
    return refused, "GOAWAY or close after %s" % ("rapid resets" if refused else "3000 resets: still open")


def continuation_flood():
    s, c = new_conn()
    enc = hpack.Encoder()
    block = enc.encode(request_headers())
    out = frame(1, 0, 1, block)  # HEADERS without END_HEADERS
    filler = enc.encode([("x-filler", "a" * 100)])
    closed = False
    for _ in range(10000):
        out += frame(9, 0, 1, filler)
        if len(out) > 65536:
            try:
                s.sendall(out)
            except OSError:
                closed = True
                break
            out = b""
    events, cl = read_events(s, c, lambda e: any(isinstance(x, h2.events.ConnectionTerminated) for x in e), timeout=3)
    s.close()
    return goaway_or_closed(events, closed or cl), "connection refused the CONTINUATION flood"


def oversized_headers():
    s, c = new_conn()
    c.local_settings  # noqa: B018
    c.send_headers(1, request_headers(extra=[("x-big", "v" * 60000)]))
    c.send_data(1, b"\x00\x00\x00\x00\x00", end_stream=True)
    s.sendall(c.data_to_send())
    events, closed = read_events(s, c, stream_ended(1))
    s.close()
    status = grpc_status(events)
    return status != "0", "grpc-status %s, closed %s" % (status, closed)


def garbage_preface():
    s = tls_socket()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x00" * 100)
    s.settimeout(5)
    closed = False
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            data += d
    except (socket.timeout, OSError):
        pass
    s.close()
    return closed, "closed %s after %d bytes (GOAWAY frame type 7 sent: %s)" % (closed, len(data), b"\x07" in data[:200])


def half_open_tls():
    raw = tls_socket(handshake=False)
    raw.sendall(b"\x16\x03\x01\x00\xff")  # a TLS record header, then nothing
    raw.settimeout(10)
    start = time.time()
    try:
        closed = raw.recv(100) == b""
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    raw.close()
    return closed, "server closed the half-open handshake after %.1fs" % (time.time() - start)


def early_response_reset():
    """A 5 MiB message announced, 16 KiB sent without END_STREAM: the server
    answers RESOURCE_EXHAUSTED and then RST_STREAM NO_ERROR, so the client
    stops uploading (HTTP/2 section 8.1)."""
    s, c = new_conn()
    c.send_headers(1, request_headers(path="/test.Echo/Unary"))
    c.send_data(1, b"\x00" + struct.pack(">I", 5 * 1024 * 1024) + b"\x00" * 16000)
    s.sendall(c.data_to_send())

    def reset(events):
        return any(isinstance(e, h2.events.StreamReset) and e.stream_id == 1 for e in events)

    events, _ = read_events(s, c, reset)
    s.close()
    status = grpc_status(events)
    codes = [e.error_code for e in events if isinstance(e, h2.events.StreamReset)]
    ok = status == "8" and codes == [h2.errors.ErrorCodes.NO_ERROR]
    return ok, "grpc-status %s, resets %s" % (status, codes)


def five_mib_message():
    s, c = new_conn()
    size = 5 * 1024 * 1024
    c.send_headers(1, request_headers(path="/test.Echo/Unary"))
    s.sendall(c.data_to_send())
    payload = b"\x00" + struct.pack(">I", size) + b"\x00" * size
    sent = 0
    events = []
    closed = False
    while sent < len(payload) and not closed:
        window = min(c.local_flow_control_window(1), c.max_outbound_frame_size)
        if window <= 0:
            evs, closed = read_events(s, c, lambda e: True, timeout=1)
            events += evs
            if stream_ended(1)(events):
                break
            continue
        chunk = payload[sent:sent + window]
        sent += len(chunk)
        try:
            c.send_data(1, chunk, end_stream=sent == len(payload))
            s.sendall(c.data_to_send())
        except Exception:  # noqa: BLE001 - the stream was closed by the server
            break
    evs, closed2 = read_events(s, c, stream_ended(1))
    events += evs
    s.close()
    status = grpc_status(events)
    return status == "8", "grpc-status %s" % status


def malformed(payload):
    s, c = new_conn()
    c.send_headers(1, request_headers(path="/test.Echo/Unary"))
    c.send_data(1, payload, end_stream=True)
    s.sendall(c.data_to_send())
    events, _ = read_events(s, c, stream_ended(1))
    s.close()
    status = grpc_status(events)
    return status == "13", "grpc-status %s" % status


def malformed_grpc_frame():
    return malformed(b"\x07\x00\x00\x00\x01x")


def truncated_grpc_frame():
    return malformed(b"\x00\x00\x00\x00\x64" + b"x" * 10)


def ping_flood():
    s, c = new_conn()
    for i in range(10):
        c.ping(struct.pack(">Q", i))
    s.sendall(c.data_to_send())
    events, closed = read_events(s, c, lambda e: any(isinstance(x, h2.events.ConnectionTerminated) for x in e))
    s.close()
    terms = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    ok = bool(terms) and terms[0].error_code == 11 and terms[0].additional_data == b"too_many_pings"
    return ok, "GOAWAY %s" % ((terms[0].error_code, terms[0].additional_data) if terms else None)


def non_grpc_content_type():
    s, c = new_conn()
    headers = [h if h[0] != "content-type" else ("content-type", "application/json") for h in request_headers()]
    c.send_headers(1, headers, end_stream=True)
    s.sendall(c.data_to_send())
    events, _ = read_events(s, c, stream_ended(1))
    s.close()
    status = None
    for e in events:
        if isinstance(e, h2.events.ResponseReceived):
            status = dict(e.headers).get(":status")
    return status == "415", ":status %s" % status


for name in attacks:
    try:
        refused, detail = globals()[name]()
    except Exception as e:  # noqa: BLE001
        refused, detail = True, "client error (connection refused by server): %r" % (e,)
    print(json.dumps({"attack": name, "refused": bool(refused), "detail": detail, "healthy_after": healthy()}), flush=True)
