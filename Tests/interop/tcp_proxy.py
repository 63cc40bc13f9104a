"""A TCP proxy on 127.0.0.1 that forwards to TARGET_PORT, for fault tests:
the test stops it with SIGSTOP (by PID) to make a live connection go
silent without closing it, the way a hung host or a dead link looks.

Usage: tcp_proxy.py TARGET_PORT
Prints "PORT <n>" once listening; runs until killed or stdin closes.
"""
import socket
import signal
import sys
import threading

# A parent that starts us from a thread blocking SIGTERM and SIGINT (a dispatch
# worker thread does) passes the mask on through exec; take them back, so that
# a SIGTERM ends us at once.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

target = int(sys.argv[1])


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print("PORT", listener.getsockname()[1], flush=True)


def accept_loop():
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


threading.Thread(target=accept_loop, daemon=True).start()
sys.stdin.read()
