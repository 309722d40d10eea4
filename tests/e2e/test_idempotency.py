"""Idempotency-Key through nginx (issue 16): a retry with the same key and body is answered from the store with
`Idempotent-Replayed: true`; another body is a 422; a retry while the first runs is a 409; keys are scoped to
the caller and the route; a key is free again after 24 h; and a crash between the write and the stored answer
never lets a retry apply the change twice. The first request is held, where a test needs it running, by a
fake language model on 127.0.0.1 that answers only when the test lets it."""
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import wait_for

ASSISTANT = {
    "name": "Idempotent Assistant", "firstMessage": "Hi!", "firstMessageMode": "assistant-speaks-first",
    "model": {"provider": "openai", "model": "gpt-4o", "temperature": 0.2,
              "messages": [{"role": "system", "content": "You answer questions."}]},
    "voice": {"provider": "openai", "voiceId": "alloy"},
}


def tool(name):
    return {"type": "function", "function": {"name": name, "description": "Finds a record.",
                                             "parameters": {"type": "object", "properties": {}}}}


def key():
    return str(uuid.uuid4())


class HeldModel:
    """A fake OpenAI chat completions API: each request waits until `release` (or answers at once when open)."""

    def __init__(self):
        self.gate = threading.Event()
        self.received = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.received.set()
                fake.gate.wait(60)
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": "Held answer."}}]}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the server that asked was killed meanwhile

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def hold(self):
        self.gate.clear()
        self.received.clear()

    def release(self):
        self.gate.set()

    def stop(self):
        self.gate.set()
        self.server.shutdown()


@pytest.fixture(scope="module")
def model():
    m = HeldModel()
    m.release()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def keyed(model):
    """A stack whose assistants' model is the held fake; the lease is short so that the crash test's dead
    request is found interrupted soon after the restart."""
    from conftest import Stack
    s = Stack(env={"OPENAI_BASE_URL": model.url, "OPENAI_API_KEY": "test-key", "EDMO_ALLOW_PRIVATE_URLS": "1",
                   "EDMO_IDEMPOTENCY_LEASE_SECONDS": "3"})
    try:
        s.start()
        yield s
    finally:
        s.stop()


def post(session, stack, path, body, idem=None, **headers):
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return session.post(stack.base + "/api" + path, json=body, headers=headers, timeout=60)


def count(stack, query, params=()):
    return stack.sql_one(query, params)[0]


def named(stack, name):
    """Assistants stored with this (unique) name."""
    return count(stack, "SELECT COUNT(*) FROM assistants WHERE body LIKE ?", (f"%{name}%",))


def assistant():
    return dict(ASSISTANT, name=f"Assistant {uuid.uuid4().hex[:12]}")


def test_a_retry_is_answered_from_the_store(keyed):
    admin = keyed.session()
    k, body = key(), assistant()
    first = post(admin, keyed, "/assistants", body, k)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = post(admin, keyed, "/assistants", body, k)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers.get("ETag") == first.headers.get("ETag")
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert named(keyed, body["name"]) == 1

    # Every kind of keyed write: a knowledge entry, a chat turn (one conversation, one user message), its end.
    aid = first.json()["id"]
    entry = {"title": "Parking", "content": "Permits are $150 a semester."}
    k2 = key()
    made = post(admin, keyed, f"/assistants/{aid}/knowledge", entry, k2)
    assert made.status_code == 201, made.text
    replayed = post(admin, keyed, f"/assistants/{aid}/knowledge", entry, k2)
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json() == made.json()
    assert count(keyed, "SELECT COUNT(*) FROM knowledge_entries WHERE assistant_id = ?", (aid,)) == 1

    k3 = key()
    turn = post(admin, keyed, "/chat", {"assistantId": aid, "message": "Where do I park?"}, k3)
    assert turn.status_code == 200, turn.text
    retried = post(admin, keyed, "/chat", {"assistantId": aid, "message": "Where do I park?"}, k3)
    assert retried.headers["Idempotent-Replayed"] == "true" and retried.json() == turn.json()
    chat_id = turn.json()["chatId"]
    assert count(keyed, "SELECT COUNT(*) FROM conversations WHERE assistant_id = ?", (aid,)) == 1
    assert count(keyed, "SELECT COUNT(*) FROM conversation_messages WHERE conversation_id = ? AND role = 'user'", (chat_id,)) == 1

    k4 = key()
    ended = post(admin, keyed, f"/chat/{chat_id}/end", None, k4)
    assert ended.status_code == 200, ended.text
    ended_again = post(admin, keyed, f"/chat/{chat_id}/end", None, k4)
    assert ended_again.headers["Idempotent-Replayed"] == "true" and ended_again.json() == ended.json()

    # Erasing the chat forgets the answers kept for its retries (they hold its text): the retry runs again.
    k6 = key()
    erased = post(admin, keyed, "/erasures", {"chatId": chat_id}, k6)
    assert erased.status_code == 200 and erased.json()["erased"]["conversations"] == 1
    assert post(admin, keyed, "/erasures", {"chatId": chat_id}, k6).headers["Idempotent-Replayed"] == "true"
    assert post(admin, keyed, f"/chat/{chat_id}/end", None, k4).status_code == 404

    # A refused request is kept too: its retry gets the same 400, replayed.
    k5 = key()
    bad = post(admin, keyed, "/assistants", dict(ASSISTANT, maxDurationSeconds=-1), k5)
    assert bad.status_code == 400
    bad_again = post(admin, keyed, "/assistants", dict(ASSISTANT, maxDurationSeconds=-1), k5)
    assert bad_again.status_code == 400 and bad_again.headers["Idempotent-Replayed"] == "true"
    assert bad_again.json() == bad.json()


def test_the_same_key_with_another_body_is_422(keyed):
    admin = keyed.session()
    k = key()
    assert post(admin, keyed, "/tools", tool("lookup_a"), k).status_code == 201
    other = post(admin, keyed, "/tools", tool("lookup_b"), k)
    assert other.status_code == 422, other.text
    assert "another request" in other.json()["error"]
    assert count(keyed, "SELECT COUNT(*) FROM tools WHERE body LIKE ?", ("%lookup_b%",)) == 0


def test_keys_are_scoped_to_the_caller_and_the_route(keyed):
    keyed.add_user("editor@idem.edu", "EDITOR")
    admin, editor = keyed.session(), keyed.session("editor@idem.edu", "user-password-1")
    k = key()
    body = assistant()
    mine = post(admin, keyed, "/assistants", body, k)
    theirs = post(editor, keyed, "/assistants", body, k)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    # The same key on another route is another request, not a 422.
    made = post(admin, keyed, "/tools", tool("scoped"), k)
    assert made.status_code == 201 and "Idempotent-Replayed" not in made.headers
    # A new session of the same user is the same caller.
    again = post(keyed.session(), keyed, "/assistants", body, k)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == mine.json()["id"]
    assert named(keyed, body["name"]) == 2


def test_a_key_is_free_again_after_24_hours(keyed):
    admin = keyed.session()
    k = key()
    body = assistant()
    first = post(admin, keyed, "/assistants", body, k)
    assert first.status_code == 201
    rows = keyed.sql("SELECT created_at, expires_at FROM idempotency_keys WHERE key = ?", (k,))
    assert len(rows) == 1 and rows[0][1] > rows[0][0]
    # As if 24 h had passed: the row expired (the purge removes such rows; a claim takes them over).
    keyed.sql("UPDATE idempotency_keys SET expires_at = '2000-01-01T00:00:00.000Z' WHERE key = ?", (k,))
    later = post(admin, keyed, "/assistants", body, k)
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert post(admin, keyed, "/assistants", body, k).headers["Idempotent-Replayed"] == "true"
    assert named(keyed, body["name"]) == 2


def test_bad_keys_unsupported_routes_and_streams_are_400(keyed):
    admin = keyed.session()
    for bad in ["x" * 256, "caf\u00e9", "tab\there", "with space"]:
        r = admin.post(keyed.base + "/api/tools", json=tool("k"),
                       headers={"Idempotency-Key": bad.encode("utf-8")})
        assert r.status_code == 400, (bad, r.text)
        assert r.json() == {"error": "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces)"}
    assert post(admin, keyed, "/tools", tool("k255"), "~" * 255).status_code == 201
    # Routes whose answer must not be kept (a one-time secret), login, and PATCH refuse a key.
    r = post(admin, keyed, "/analytics-keys", {"name": "reports"}, key())
    assert r.status_code == 400 and r.json() == {"error": "Idempotency-Key is not supported on POST /api/analytics-keys"}
    r = requests.post(keyed.base + "/api/auth/login", json={"email": "a@b.edu", "password": "x"},
                      headers={"Idempotency-Key": key()}, timeout=10)
    assert r.status_code == 400 and "not supported" in r.json()["error"]
    patched = post(admin, keyed, "/tools", tool("patched")).json()
    r = admin.patch(keyed.base + f"/api/tools/{patched['id']}", json={"async": True}, headers={"Idempotency-Key": key()})
    assert r.status_code == 400 and "PATCH /api/tools/{id}" in r.json()["error"]
    # A GET changes nothing: the key is ignored.
    assert admin.get(keyed.base + "/api/tools", headers={"Idempotency-Key": key()}).status_code == 200
    # A streamed chat answer cannot be replayed.
    aid = post(admin, keyed, "/assistants", ASSISTANT).json()["id"]
    r = post(admin, keyed, "/chat", {"assistantId": aid, "message": "hi", "stream": True}, key())
    assert r.status_code == 400 and "stream" in r.json()["error"]
    r = post(admin, keyed, "/chat", {"assistantId": aid, "message": "hi"}, key(), Accept="text/event-stream")
    assert r.status_code == 400 and "stream" in r.json()["error"]
    # Nothing was stored for any of them.
    assert count(keyed, "SELECT COUNT(*) FROM idempotency_keys WHERE route LIKE '%analytics-keys%' OR route LIKE 'PATCH%'") == 0


def test_a_retry_while_the_first_runs_is_409(keyed, model):
    admin = keyed.session()
    aid = post(admin, keyed, "/assistants", ASSISTANT).json()["id"]
    k, body = key(), {"assistantId": aid, "message": "Is the library open?"}
    model.hold()
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=post(admin, keyed, "/chat", body, k)))
    worker.start()
    try:
        assert model.received.wait(30)
        running = post(admin, keyed, "/chat", body, k)
        assert running.status_code == 409, running.text
        assert "still in progress" in running.json()["error"] and running.headers["Retry-After"] == "1"
        # Another body is still a 422, not a 409.
        assert post(admin, keyed, "/chat", dict(body, message="other"), k).status_code == 422
    finally:
        model.release()
        worker.join(60)
    assert result["r"].status_code == 200
    replay = post(admin, keyed, "/chat", body, k)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == result["r"].json()
    assert count(keyed, "SELECT COUNT(*) FROM conversations WHERE assistant_id = ?", (aid,)) == 1


def test_a_crash_between_the_write_and_the_stored_answer_never_applies_twice(keyed, model):
    """The chat turn stores the conversation and its user message, then waits for the model: killed there, the
    change is written and no answer is stored. A retry with the key gets a 409 (in progress while the lease
    runs, then interrupted: outcome unknown) and never starts a second conversation."""
    admin = keyed.session()
    aid = post(admin, keyed, "/assistants", ASSISTANT).json()["id"]
    k, body = key(), {"assistantId": aid, "message": "When are exams?"}
    model.hold()
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=post(admin, keyed, "/chat", body, k)))
    worker.start()
    try:
        assert model.received.wait(30)
        assert count(keyed, "SELECT COUNT(*) FROM conversations WHERE assistant_id = ?", (aid,)) == 1
        keyed.crash()
        worker.join(60)
        assert result["r"].status_code == 502  # nginx: the server went away; the client never saw an answer
    finally:
        model.release()
    keyed.launch()
    answers = []

    def interrupted():
        r = post(admin, keyed, "/chat", body, k)
        answers.append(r)
        return r.status_code == 409 and "stopped before its answer was stored" in r.json()["error"]

    wait_for(interrupted, timeout=30, what="the retry to find the first request interrupted")
    assert all(r.status_code == 409 for r in answers), [r.text for r in answers]
    assert count(keyed, "SELECT COUNT(*) FROM conversations WHERE assistant_id = ?", (aid,)) == 1
    chat_id = keyed.sql_one("SELECT id FROM conversations WHERE assistant_id = ?", (aid,))[0]
    assert count(keyed, "SELECT COUNT(*) FROM conversation_messages WHERE conversation_id = ? AND role = 'user'", (chat_id,)) == 1
    # A new key runs the request again, as the answer says.
    fresh = post(admin, keyed, "/chat", body, key())
    assert fresh.status_code == 200 and fresh.json()["chatId"] != chat_id


@pytest.mark.postgres_only("several hosts on one database need a database server; SQLite is one file on one host")
def test_keys_hold_across_hosts_and_one_of_racing_retries_runs(fresh_fleet):
    """Two hosts on one PostgreSQL database: an answer kept by one host is replayed by the other, and of
    retries sent at once through the upstream (both hosts), exactly one runs."""
    fleet = fresh_fleet()
    on = [requests.Session(), requests.Session()]
    for i, s in enumerate(on):
        r = s.post(fleet.hosts[i].base + "/api/auth/login", json={"email": "admin@example.edu", "password": "admin-password-1"}, timeout=10)
        assert r.status_code == 200, r.text
    k, body = key(), assistant()
    first = on[0].post(fleet.hosts[0].base + "/api/assistants", json=body, headers={"Idempotency-Key": k}, timeout=30)
    assert first.status_code == 201
    other = on[1].post(fleet.hosts[1].base + "/api/assistants", json=body, headers={"Idempotency-Key": k}, timeout=30)
    assert other.headers["Idempotent-Replayed"] == "true" and other.json() == first.json()

    k2, raced = key(), assistant()
    barrier = threading.Barrier(8)

    def send(i):
        barrier.wait()
        return on[i % 2].post(fleet.base + "/api/assistants", json=raced, headers={"Idempotency-Key": k2}, timeout=30)

    threads, answers = [], [None] * 8
    for i in range(8):
        t = threading.Thread(target=lambda i=i: answers.__setitem__(i, send(i)))
        t.start()
        threads.append(t)
    for t in threads:
        t.join(60)
    ran = [r for r in answers if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
    assert len(ran) == 1, [(r.status_code, r.headers.get("Idempotent-Replayed")) for r in answers]
    assert all(r.status_code == 409 or (r.status_code == 201 and r.json() == ran[0].json()) for r in answers)
    assert named(fleet, raced["name"]) == 1
