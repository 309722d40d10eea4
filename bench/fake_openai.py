#!/usr/bin/env python3
"""A slow OpenAI-compatible Chat Completions server on loopback, for bench/run.sh's contention row.

Usage: fake_openai.py DELAY_SECONDS [PORT]
Answers every POST .../chat/completions after sleeping DELAY_SECONDS, each request on its own thread, with a
fixed assistant reply; anything else is a 404. Prints "port N" on stdout once it listens (PORT 0 or absent: a
free port), then serves until SIGTERM or SIGINT. Never touches the network beyond 127.0.0.1.
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 10.0

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self.answer(404, {"error": {"message": f"no such path: {self.path}"}})
        try:
            model = json.loads(raw or b"{}").get("model", "gpt-4o")
        except ValueError:
            return self.answer(400, {"error": {"message": "body is not JSON"}})
        time.sleep(self.delay)
        self.answer(200, {
            "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "A slow answer from the benchmark's model."}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 9, "total_tokens": 19},
        })

    def answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (its timeout); nothing to do

    def log_message(self, *args):
        pass


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: fake_openai.py DELAY_SECONDS [PORT]")
    Handler.delay = float(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) == 3 else 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
