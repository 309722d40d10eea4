#!/usr/bin/env python3
"""A customer's endpoint on loopback for bench/run.sh --events: answers every POST with 200 at once and
counts the distinct event ids it got; GET /count answers that count. Prints "port N" once it listens, then
serves until SIGTERM or SIGINT. Never touches the network beyond 127.0.0.1.
"""
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

seen = set()
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            seen.add(self.headers.get("Edmo-Event-Id"))
        self.answer(b"ok")

    def do_GET(self):
        with lock:
            n = len(seen)
        self.answer(str(n).encode())

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
print(f"port {server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
sys.exit(0)
