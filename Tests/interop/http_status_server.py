"""A plain HTTP/2 server (Python h2, h2c with prior knowledge) that answers
every request with a non-gRPC response chosen by its :path, so that a gRPC
client's mapping of HTTP statuses can be checked against a real peer.

Usage: http_status_server.py
Prints "PORT <n>" once listening on 127.0.0.1; serves until stdin closes.

Paths:
  /status/NNN        :status NNN, content-type text/plain, a body, no grpc-status
  /status/NNN/only   :status NNN in one HEADERS frame with END_STREAM (no body)
  /html              :status 200, content-type text/html, a body
  /grpc-in-503       :status 503 with grpc-status 8 (the gRPC status wins)
"""
import socket
import signal
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions

# A parent that starts us from a thread blocking SIGTERM and SIGINT (a dispatch
# worker thread does) passes the mask on through exec; take them back, so that
# a SIGTERM ends us at once.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def respond(conn, stream_id, path):
    if path.startswith("/status/"):
        parts = path.split("/")
        code = parts[2]
        if len(parts) > 3 and parts[3] == "only":
            conn.send_headers(stream_id, [(":status", code), ("content-type", "text/plain")], end_stream=True)
            return
        conn.send_headers(stream_id, [(":status", code), ("content-type", "text/plain")])
        conn.send_data(stream_id, ("status %s from a plain HTTP/2 server\n" % code).encode(), end_stream=True)
    elif path == "/html":
        conn.send_headers(stream_id, [(":status", "200"), ("content-type", "text/html")])
        conn.send_data(stream_id, b"<html>not grpc</html>\n", end_stream=True)
    elif path == "/grpc-in-503":
        conn.send_headers(stream_id, [(":status", "503"), ("content-type", "application/grpc"),
                                      ("grpc-status", "8"), ("grpc-message", "quota%20used")], end_stream=True)
    else:
        conn.send_headers(stream_id, [(":status", "404")], end_stream=True)


def serve(sock):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    paths = {}
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    paths[event.stream_id] = dict(event.headers).get(":path", "/")
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if isinstance(event, (h2.events.StreamEnded,)) and event.stream_id in paths:
                    respond(conn, event.stream_id, paths.pop(event.stream_id))
            sock.sendall(conn.data_to_send())
    except (ConnectionError, OSError, h2.exceptions.ProtocolError):
        return
    finally:
        sock.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print("PORT", listener.getsockname()[1], flush=True)


def accept_loop():
    while True:
        try:
            s, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(s,), daemon=True).start()


threading.Thread(target=accept_loop, daemon=True).start()
sys.stdin.read()
