"""A fake Vapi-compatible REST API on 127.0.0.1 for the tests: assistants, tools, phone numbers, credentials,
with switchable failures. It records every request it gets."""
import json
import threading
import time
import uuid
from urllib.parse import unquote
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COLLECTIONS = ("assistant", "tool", "phone-number", "credential", "call")


class FakeVapi:
    def __init__(self, api_key="vapi-test-key"):
        self.api_key = api_key
        self.store = {c: {} for c in COLLECTIONS}
        self.requests = []
        self.mode = "ok"        # ok | reject | error | slow | garbage
        self.delay = 0.0        # seconds to wait before answering (after storing) in mode "ok"
        self.page_cap = None    # lists answer at most this many per page, whatever `limit` asks
        self.strip_created = False  # lists leave out `createdAt` (the client cannot page on)
        self.received = threading.Event()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path, _, _query = self.path.partition("?")
                parts = [p for p in path.split("/") if p]
                with fake.lock:
                    fake.requests.append({"method": method, "path": path, "body": body,
                                          "auth": self.headers.get("Authorization")})
                fake.received.set()
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._answer(401, {"message": "Invalid Key", "statusCode": 401})
                if fake.mode == "reject":
                    return self._answer(400, {"message": ["model.provider must be one of openai"], "error": "Bad Request", "statusCode": 400})
                if fake.mode == "error":
                    return self._answer(503, {"message": "upstream down"})
                if fake.mode == "slow":
                    time.sleep(5)
                    return self._answer(200, {})
                if fake.mode == "garbage":
                    return self._answer(200, b"<html>not json</html>")
                if parts == ["chat"] and method == "POST":
                    reply = {"id": str(uuid.uuid4()), "assistantId": body["assistantId"],
                             "output": [{"role": "assistant", "content": "Platform says: " + body["input"]}], "cost": 0.002}
                    return self._answer(201, reply)
                if parts == ["call"] and method == "GET":
                    query = dict(p.split("=", 1) for p in _query.split("&") if "=" in p)
                    after = query.get("createdAtGt", "").replace("%3A", ":")
                    calls = sorted((c for c in fake.store["call"].values() if c["createdAt"] > after), key=lambda c: c["createdAt"])
                    return self._answer(200, calls[: int(query.get("limit", 100))])
                if not parts or parts[0] not in COLLECTIONS:
                    return self._answer(404, {"message": "Not Found"})
                items = fake.store[parts[0]]
                result = None
                status = 200
                with fake.lock:
                    if method == "GET" and len(parts) == 1:
                        # Like Vapi: newest first, `limit` (default 100) a page, `createdAtLe` to page on.
                        query = dict(p.split("=", 1) for p in _query.split("&") if "=" in p)
                        upto = unquote(query.get("createdAtLe", ""))
                        listed = sorted((o for o in items.values() if not upto or o.get("createdAt", "") <= upto),
                                        key=lambda o: o.get("createdAt", ""), reverse=True)
                        result = listed[: min(int(query.get("limit", 100)), fake.page_cap or 10**9)]
                        if fake.strip_created:
                            result = [{k: v for k, v in o.items() if k != "createdAt"} for o in result]
                    elif method == "POST" and len(parts) == 1:
                        obj = dict(body or {})
                        obj["id"] = str(uuid.uuid4())
                        obj["createdAt"] = "%s.%06dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), len(items))
                        if parts[0] == "phone-number" and obj.get("provider") == "vapi":
                            obj["number"] = "+1%s555%04d" % (obj.get("numberDesiredAreaCode", "786"), len(items) + 1)
                        items[obj["id"]] = obj
                        result, status = obj, 201
                    elif len(parts) == 2 and parts[1] in items:
                        if method == "GET":
                            result = items[parts[1]]
                        elif method == "PATCH":
                            items[parts[1]].update(body or {})
                            result = items[parts[1]]
                        elif method == "DELETE":
                            result = items.pop(parts[1])
                    else:
                        return self._answer(404, {"message": "Not Found"})
                if fake.delay:
                    time.sleep(fake.delay)
                return self._answer(status, result)

            def do_GET(self): self._handle("GET")
            def do_POST(self): self._handle("POST")
            def do_PATCH(self): self._handle("PATCH")
            def do_DELETE(self): self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def calls(self, method=None, prefix=""):
        with self.lock:
            return [r for r in self.requests if (method is None or r["method"] == method) and r["path"].startswith(prefix)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
